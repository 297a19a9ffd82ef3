"""The admin's pages in a real browser against a real hub: an admin adds a crew member,
resets a password (the user signs in with the new one only), disables a user (who can no
longer sign in), assigns a node the hub heard from over MQTT but nobody registered (it
leaves the list and is a lamp in its area), and finds those changes in the audit log —
in English and in Urdu, on a phone."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from hub.models import Node
from tests.browser.conftest import PASSWORD, PHONE, World, _roshni_cmd, login, shot
from tests.support import Publisher, reading, wait_for


def can_log_in(world: World, user: str, password: str) -> bool:
    body = urllib.parse.urlencode({"grant_type": "password", "username": user,
                                   "password": password}).encode()
    try:
        with urllib.request.urlopen(f"{world.url}/api/v1/auth/token", body, timeout=10):
            return True
    except urllib.error.HTTPError as err:
        assert err.code == 401, err.read()
        return False


def node_state(world: World, node: str) -> tuple[str, str] | None:
    with world.db.connect() as conn:
        row = conn.execute(select(Node.state, Node.area_id).where(Node.id == node)).first()
    return None if row is None else (row.state, row.area_id)


@pytest.fixture(scope="module")
def admins(world: World) -> World:
    """Two admins (one speaking Urdu) and two nodes the hub heard from but does not know."""
    for name, language in (("admin-amna", "en"), ("admin-urdu", "ur")):
        _roshni_cmd(world.hub, "user", "add", name, "--role", "admin", "--language", language,
                    "--password-stdin", stdin=PASSWORD + "\n")
    pub = Publisher(world.broker.host, world.broker.port, client_id="strangers")
    try:
        for node in ("khi-new-0041", "khi-new-0042"):
            pub.send(f"roshni/v1/{node}/reading", reading(node, 1))
    finally:
        pub.close()
    for node in ("khi-new-0041", "khi-new-0042"):
        wait_for(lambda n=node: node_state(world, n) == ("pending", "unassigned"),
                 timeout=60, what=f"{node} pending at the hub")
    return world


def add_user(page: Any, name: str, role: str, password: str, *, district: str | None = None,
             areas: str | None = None) -> None:
    box = page.locator("#add-user-box")
    if box.get_attribute("open") is None:
        box.locator("summary").click()
    page.fill("#new-name", name)
    page.select_option("#new-role", role)
    if district:
        page.select_option("#new-district", district)
    if areas:
        page.fill("#new-areas", areas)
    page.fill("#new-password", password)
    page.click("#add-user button[type=submit]")


def edit(page: Any, name: str) -> None:
    page.locator(f'#users tr[data-user="{name}"] button.edit').click()
    expect(page.locator("#edit-user")).to_have_attribute("data-user", name)


def assign(page: Any, node: str, district: str, area: str, pole: str) -> None:
    page.locator(f'#pending tr[data-node="{node}"] button.assign').click()
    page.select_option("#assign-district", district)
    page.fill("#assign-area", area)
    page.fill("#assign-lat", "24.8361")
    page.fill("#assign-lon", "67.1372")
    page.fill("#assign-pole", pole)
    page.click("#assign-form button[type=submit]")


def test_an_admin_adds_resets_disables_assigns_and_reads_the_log(admins, open_page, guard):
    world = admins
    page = open_page(PHONE)
    login(page, world, "admin-amna")
    page.locator("#nav a", has_text="Admin").click()
    expect(page.locator("#users tr[data-user='crew-korangi']")).to_be_visible()

    # the hub's refusal, in its own words: a crew member needs a district
    add_user(page, "crew-sadia", "crew", "first-pass-123")
    expect(page.locator("#add-user-msg.error")).to_contain_text("exactly one district")
    add_user(page, "crew-sadia", "crew", "first-pass-123", district="korangi")
    expect(page.locator("#add-user-msg.notice")).to_contain_text("crew-sadia")
    row = page.locator("#users tr[data-user='crew-sadia']")
    expect(row).to_contain_text("Repair crew")
    expect(row).to_contain_text("Korangi")
    assert can_log_in(world, "crew-sadia", "first-pass-123")

    edit(page, "crew-sadia")
    page.fill("#edit-password", "second-pass-456")
    page.click("#password-form button[type=submit]")
    expect(page.locator("#edit-user-msg.notice")).to_contain_text("New password set")
    assert not can_log_in(world, "crew-sadia", "first-pass-123")
    assert can_log_in(world, "crew-sadia", "second-pass-456")

    edit(page, "crew-malir")
    page.click("#toggle-disabled")
    expect(page.locator("#users tr[data-user='crew-malir']")).to_contain_text("Disabled")
    expect(page.locator("#toggle-disabled")).to_have_text("Enable user")
    assert not can_log_in(world, "crew-malir", PASSWORD)
    # an admin has no button to lock themselves out
    edit(page, "admin-amna")
    expect(page.locator("#toggle-disabled")).to_have_count(0)
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "admin-users-phone")

    page.locator(".tabs a", has_text="Nodes to assign").click()
    expect(page.locator("#pending tr[data-node='khi-new-0041']")).to_be_visible()
    assign(page, "khi-new-0041", "korangi", "Korangi 5", "K5-141")
    expect(page.locator("#pending-msg.notice")).to_contain_text("khi-new-0041")
    expect(page.locator("#pending tr[data-node='khi-new-0041']")).to_have_count(0)
    assert node_state(world, "khi-new-0041") == ("active", "korangi-5")
    shot(page, "admin-pending-phone")

    page.locator(".tabs a", has_text="Audit log").click()
    page.fill("#audit-actor", "admin-amna")
    page.click("#audit-filter button[type=submit]")
    expect(page.locator("#audit tbody tr").first).to_have_attribute("data-action", "node.assign")
    actions = page.locator("#audit tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.action)")
    assert actions[:4] == ["node.assign", "user.disable", "user.password", "user.add"]
    expect(page.locator("#audit tbody tr[data-action='user.password']")).to_contain_text(
        "Password reset")
    shot(page, "admin-audit-phone")
    guard.check(page)


def test_in_urdu_the_admin_pages_read_right_to_left(admins, open_page, guard):
    world = admins
    page = open_page(PHONE, locale="ur-PK")
    login(page, world, "admin-urdu")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    page.locator("#nav a", has_text="انتظام").click()
    add_user(page, "k6-committee", "committee", "committee-pass-1", district="korangi",
             areas="Korangi 6, Korangi 7")
    expect(page.locator("#add-user-msg.notice")).to_contain_text("شامل ہو گیا")
    row = page.locator("#users tr[data-user='k6-committee']")
    expect(row).to_contain_text("کمیٹی")
    # names and ids keep their own direction inside Urdu
    expect(row.locator("bdi.user-name")).to_have_text("k6-committee")

    edit(page, "k6-committee")
    page.fill("#edit-password", "committee-pass-2")
    page.click("#password-form button[type=submit]")
    expect(page.locator("#edit-user-msg.notice")).to_contain_text("نیا پاس ورڈ")
    page.click("#toggle-disabled")
    expect(row).to_contain_text("غیر فعال")
    assert not can_log_in(world, "k6-committee", "committee-pass-2")
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "admin-users-phone-urdu")

    page.locator(".tabs a", has_text="تفویض طلب نوڈز").click()
    # a place the hub refuses is said in plain words, and the node stays pending
    assign(page, "khi-new-0042", "malir", "Korangi 5", "M-142")
    expect(page.locator("#assign-msg.error")).to_contain_text("belongs to district")
    page.select_option("#assign-district", "korangi")
    page.click("#assign-form button[type=submit]")
    expect(page.locator("#pending-msg.notice")).to_contain_text("تفویض ہو گیا")
    expect(page.locator("#pending tr[data-node='khi-new-0042']")).to_have_count(0)
    assert node_state(world, "khi-new-0042") == ("active", "korangi-5")
    shot(page, "admin-pending-phone-urdu")

    page.locator(".tabs a", has_text="تبدیلیوں کا ریکارڈ").click()
    page.select_option("#audit-action", "node.assign")
    page.click("#audit-filter button[type=submit]")
    rows = page.locator("#audit tbody tr")
    # the filtered answer replaces the unfiltered table: wait for it rather than read the old rows
    expect(page.locator("#audit tbody tr:not([data-action='node.assign'])")).to_have_count(0)
    expect(rows.first.locator("bdi.actor")).to_have_text("admin-urdu")
    expect(rows.first).to_contain_text("نوڈ تفویض ہوا")
    assert set(rows.evaluate_all("rows => rows.map(r => r.dataset.action)")) == {"node.assign"}
    shot(page, "admin-audit-phone-urdu")
    guard.check(page)
