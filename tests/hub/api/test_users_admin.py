"""An admin looks after people through the API: resets a password (the old one and every
token issued with it stop working), changes a user's role, scope and language with the
checks `roshni user add` applies, and can neither disable nor demote themselves. Each
change is in the audit log, the password never."""

from __future__ import annotations

import httpx

from tests.hub.api.conftest import PASSWORD, World, add_user


def _user_id(world: World, name: str) -> int:
    users = world.get("ayesha", "/api/v1/users", limit=500).json()["data"]
    return next(u["id"] for u in users if u["name"] == name)


def _audit(world: World, user_id: int) -> list[tuple[str, str, dict]]:
    entries = world.get("ayesha", "/api/v1/audit", target=f"user:{user_id}").json()["data"]
    return [(e["actor"], e["action"], e["detail"]) for e in entries]


def test_an_admin_resets_a_password_and_old_sessions_end(world: World):
    assert add_user(world.hub, "saima", "crew", "--district", "malir").returncode == 0
    uid = _user_id(world, "saima")
    old = world.login("saima").json()["access_token"]
    with world.as_("ayesha") as c:
        short = c.patch(f"/api/v1/users/{uid}", json={"password": "short"})
        assert short.status_code == 422 and "at least 8 characters" in short.json()["detail"]
        r = c.patch(f"/api/v1/users/{uid}", json={"password": "new-lamp-post-77"})
        assert r.status_code == 200, r.text
        # not the admin's to read back, and not an API for anyone else
        assert "password" not in r.json()
    assert world.login("saima").status_code == 401
    assert world.login("saima", "new-lamp-post-77").status_code == 200
    stale = httpx.get(f"{world.url}/api/v1/me", headers={"Authorization": f"Bearer {old}"})
    assert stale.status_code == 401
    with world.as_("kamran") as c:  # only admins
        assert c.patch(f"/api/v1/users/{uid}", json={"password": "x" * 12}).status_code == 403
    log = _audit(world, uid)
    assert log[0][:2] == ("ayesha", "user.password")
    assert "new-lamp-post-77" not in repr(log) and PASSWORD not in repr(log)


def test_an_admin_changes_role_scope_and_language_with_the_same_checks(world: World):
    assert add_user(world.hub, "bilal", "crew", "--district", "korangi").returncode == 0
    uid = _user_id(world, "bilal")
    with world.as_("ayesha") as c:
        moved = c.patch(f"/api/v1/users/{uid}", json={"district": "malir"})
        assert moved.status_code == 200, moved.text
        assert (moved.json()["role"], moved.json()["district"]) == ("crew", "malir")
        # the new district holds at once: Malir's tickets, not Korangi's
        ticket_districts = {t["district"] for t in world.get(
            "bilal", "/api/v1/tickets").json()["data"]}
        assert ticket_districts == {"malir"}
        bad = c.patch(f"/api/v1/users/{uid}", json={"district": "lahore"})
        assert bad.status_code == 422 and "unknown district 'lahore'" in bad.json()["detail"]
        bad = c.patch(f"/api/v1/users/{uid}", json={"role": "committee"})
        assert bad.status_code == 422 and "at least one" in bad.json()["detail"]
        committee = c.patch(f"/api/v1/users/{uid}", json={
            "role": "committee", "district": "korangi", "areas": ["Korangi 5", "Korangi 7"],
            "language": "ur"})
        assert committee.status_code == 200, committee.text
        body = committee.json()
        assert (body["role"], body["district"], body["areas"], body["language"]) == (
            "committee", None, ["korangi-5", "korangi-7"], "ur")
        assert c.patch(f"/api/v1/users/{uid}", json={}).status_code == 422
        assert c.patch(f"/api/v1/users/{uid}", json={"language": "fr"}).status_code == 422
        assert c.patch("/api/v1/users/99999", json={"language": "ur"}).status_code == 404
    assert world.get("bilal", "/api/v1/me").json()["areas"] == ["korangi-5", "korangi-7"]
    log = _audit(world, uid)
    assert [a for _, a, _ in log] == ["user.language", "user.scope", "user.scope", "user.add"]
    assert log[1][2]["from"] == {"role": "crew", "district": "malir", "areas": []}
    assert log[1][2]["to"] == {"role": "committee", "district": None,
                               "areas": ["korangi-5", "korangi-7"]}


def test_an_admin_cannot_disable_or_demote_themselves(world: World):
    me = world.get("ayesha", "/api/v1/me").json()["id"]
    with world.as_("ayesha") as c:
        r = c.patch(f"/api/v1/users/{me}", json={"disabled": True})
        assert r.status_code == 422 and "yourself" in r.json()["detail"]
        r = c.patch(f"/api/v1/users/{me}", json={"role": "technician"})
        assert r.status_code == 422 and "yourself" in r.json()["detail"]
        assert c.get("/api/v1/me").json()["role"] == "admin"
