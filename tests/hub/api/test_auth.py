"""Logging in: `roshni user add`, the OAuth2 password flow, what a token is good for and
for how long, throttled guessing, and the user's language for the dashboard."""

from __future__ import annotations

import subprocess
import time

import httpx
import jwt
import pytest
from sqlalchemy import select

from hub.auth.users import User
from hub.supervise import _roshni
from tests.hub.api.conftest import PASSWORD, SECRET_KEY, World, add_user, roshni_cmd


def test_a_user_logs_in_and_sees_who_they_are(world: World):
    r = world.login("kamran")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert 0 < body["expires_at"] - time.time() <= body["expires_in"] + 5
    me = httpx.get(f"{world.url}/api/v1/me",
                   headers={"Authorization": f"Bearer {body['access_token']}"}).json()
    assert (me["name"], me["role"], me["district"], me["district_name"]) == (
        "kamran", "crew", "korangi", "Korangi")
    assert me["language"] == "en"
    assert "tickets:write" in me["permissions"] and "users:read" not in me["permissions"]
    # The token comes with the same answer, so a phone on a slow network shows the first
    # page one round trip sooner.
    assert body["me"] == me
    kiran = world.get("kiran", "/api/v1/me").json()
    assert kiran["areas"] == ["korangi-5"]
    assert kiran["area_names"] == [{"id": "korangi-5", "name": "Korangi 5"}]


def test_passwords_are_stored_as_argon2_hashes(world: World):
    with world.db.connect() as conn:
        stored = conn.execute(select(User.password_hash).where(User.name == "kamran")).scalar()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_a_user_chooses_urdu_and_the_choice_is_kept(world: World):
    assert add_user(world.hub, "nadia", "committee", "--area", "Korangi 6", "--language",
                    "ur").returncode == 0
    assert world.get("nadia", "/api/v1/me").json()["language"] == "ur"
    with world.as_("nadia") as c:
        r = c.patch("/api/v1/me", json={"language": "en"})
        assert r.status_code == 200 and r.json()["language"] == "en"
        assert c.patch("/api/v1/me", json={"language": "fr"}).status_code == 422
        assert c.get("/api/v1/me").json()["language"] == "en"


def test_a_wrong_password_or_unknown_user_is_401_with_the_same_words(world: World):
    wrong = world.login("mehwish", "not-the-password")
    nobody = world.login("no-such-person", "whatever-it-is")
    assert wrong.status_code == nobody.status_code == 401
    assert wrong.json() == nobody.json() == {"detail": "wrong user name or password"}


def test_guessing_is_stopped_after_five_failures_per_user_and_address(world: World):
    assert add_user(world.hub, "guessed", "crew", "--district", "east").returncode == 0
    for i in range(5):
        r = world.login("guessed", f"guess-{i}-wrong", address="127.0.0.3")
        assert r.status_code == 401, (i, r.text)
    blocked = world.login("guessed", "guess-5-wrong", address="127.0.0.3")
    assert blocked.status_code == 429
    retry_after = int(blocked.headers["retry-after"])
    assert 0 < retry_after <= 300
    assert "too many failed logins" in blocked.json()["detail"]
    # even the right password waits now: the throttle does not tell whether it was right
    assert world.login("guessed", address="127.0.0.3").status_code == 429
    # another user from the same address is not affected
    assert world.login("mehwish").status_code == 200


def test_a_successful_login_forgets_earlier_failures(world: World):
    assert add_user(world.hub, "forgetful", "crew", "--district", "south").returncode == 0
    for _ in range(4):
        assert world.login("forgetful", "wrong-password", address="127.0.0.4").status_code == 401
    assert world.login("forgetful", address="127.0.0.4").status_code == 200
    for _ in range(4):
        assert world.login("forgetful", "wrong-password", address="127.0.0.4").status_code == 401
    assert world.login("forgetful", address="127.0.0.4").status_code == 200


def bearer(world: World, token: str, path: str = "/api/v1/me") -> httpx.Response:
    return httpx.get(f"{world.url}{path}", headers={"Authorization": f"Bearer {token}"})


def test_tokens_that_are_expired_forged_or_garbage_are_401(world: World):
    uid = world.get("kamran", "/api/v1/me").json()["id"]
    now = int(time.time())
    claims = {"sub": str(uid), "ver": 0, "iss": "roshni-hub", "iat": now - 7200}
    expired = jwt.encode({**claims, "exp": now - 60}, SECRET_KEY, algorithm="HS256")
    forged = jwt.encode({**claims, "exp": now + 3600}, "another-key-" * 4, algorithm="HS256")
    unsigned = jwt.encode({**claims, "exp": now + 3600}, None, algorithm="none")
    valid = jwt.encode({**claims, "exp": now + 3600}, SECRET_KEY, algorithm="HS256")
    r = bearer(world, expired)
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    for token in (forged, unsigned, "garbage"):
        r = bearer(world, token)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert bearer(world, valid).json()["name"] == "kamran"


def test_a_disabled_user_is_locked_out_at_once(world: World):
    assert add_user(world.hub, "leaver", "crew", "--district", "west").returncode == 0
    token = world.login("leaver").json()["access_token"]
    assert bearer(world, token).status_code == 200
    uid = bearer(world, token).json()["id"]
    with world.as_("ayesha") as c:
        assert c.patch(f"/api/v1/users/{uid}", json={"disabled": True}).status_code == 200
    assert bearer(world, token).status_code == 401
    assert world.login("leaver").status_code == 401
    entries = world.get("ayesha", "/api/v1/audit", target=f"user:{uid}").json()["data"]
    assert [e["action"] for e in entries] == ["user.disable", "user.add"]
    assert entries[0]["actor"] == "ayesha" and entries[1]["actor"].startswith("cli:")


def test_an_admin_adds_a_user_through_the_api(world: World):
    with world.as_("ayesha") as c:
        r = c.post("/api/v1/users", json={"name": "farhan", "role": "crew",
                                          "district": "keamari", "password": "a-long-secret"})
        assert r.status_code == 201, r.text
        assert (r.json()["role"], r.json()["district"]) == ("crew", "keamari")
        dup = c.post("/api/v1/users", json={"name": "farhan", "role": "crew",
                                            "district": "keamari",
                                            "password": "a-long-secret"})
        assert dup.status_code == 409
        bad = c.post("/api/v1/users", json={"name": "farida", "role": "crew",
                                            "password": "a-long-secret"})
        assert bad.status_code == 422 and "--district" in bad.json()["detail"]
    assert world.login("farhan", "a-long-secret").status_code == 200
    entry = world.get("ayesha", "/api/v1/audit", action="user.add").json()["data"][0]
    assert entry["actor"] == "ayesha" and entry["detail"]["name"] == "farhan"


@pytest.mark.parametrize(("args", "message"), [
    (["--role", "crew"], "give --district"),
    (["--role", "crew", "--district", "korangi", "--area", "Korangi 5"], "give no --area"),
    (["--role", "crew", "--district", "lahore"], "unknown district 'lahore'"),
    (["--role", "committee"], "at least one --area"),
    (["--role", "committee", "--area", "Nowhere Town"], "unknown area 'Nowhere Town'"),
    (["--role", "committee", "--district", "malir", "--area", "Korangi 5"],
     "belongs to district 'korangi'"),
    (["--role", "admin", "--district", "korangi"], "sees every district"),
    (["--role", "superuser"], "invalid choice"),
])
def test_user_add_refuses_a_scope_that_does_not_fit_the_role(world: World, args, message):
    r = roshni_cmd(world.hub, "user", "add", "someone-new", *args, "--password-stdin",
                   stdin=PASSWORD + "\n")
    assert r.returncode == 2
    assert message in r.stderr


def test_user_add_refuses_short_passwords_duplicates_and_reserved_names(world: World):
    r = add_user(world.hub, "shorty", "technician", password="short")
    assert r.returncode == 2 and "at least 8 characters" in r.stderr
    r = add_user(world.hub, "kamran", "technician")
    assert r.returncode == 2 and "already exists" in r.stderr
    r = add_user(world.hub, "sensor", "technician")
    assert r.returncode == 2 and "reserved" in r.stderr
    ok = add_user(world.hub, "new-tech", "technician")
    assert ok.returncode == 0 and "added technician new-tech" in ok.stdout


def test_a_placeholder_secret_is_refused_outside_development(tmp_path, world: World):
    env = {**world.hub.env, "ROSHNI_AUTH__SECRET_KEY": "changethis",
           "ROSHNI_DATA_DIR": str(tmp_path), "ROSHNI_HTTP__PORT": "0"}
    r = subprocess.run([*_roshni(), "hub", "run"], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode != 0
    assert "secret_key is a placeholder" in r.stderr


GUESSABLE = {
    "weak-one": "12345678",
    "saleem": "saleem12345",  # the user's own name
    "weak-two": "korangi2026",  # the user's own district
    "weak-three": "roshni123",  # the project's name
}


def test_guessable_passwords_are_refused_by_the_cli_and_the_api(world: World):
    r = add_user(world.hub, "saleem", "crew", "--district", "korangi", password="saleem12345")
    assert r.returncode == 2 and "too easy to guess" in r.stderr, r.stderr
    with world.as_("ayesha") as c:
        for name, password in GUESSABLE.items():
            r = c.post("/api/v1/users", json={"name": name, "role": "crew",
                                              "district": "korangi", "password": password})
            assert r.status_code == 422 and "too easy to guess" in r.json()["detail"], r.text
    assert world.login("saleem", "saleem12345", address="127.0.0.5").status_code == 401


def test_user_list_passwd_disable_and_enable_on_the_hub_host(world: World):
    assert add_user(world.hub, "rotating", "committee", "--area", "Korangi 6").returncode == 0
    listed = roshni_cmd(world.hub, "user", "list")
    assert listed.returncode == 0
    line = next(x for x in listed.stdout.splitlines() if x.startswith("rotating "))
    assert "committee" in line and "korangi-6" in line and "DISABLED" not in line
    old = world.login("rotating").json()["access_token"]

    weak = roshni_cmd(world.hub, "user", "passwd", "rotating", "--password-stdin",
                      stdin="rotating123\n")
    assert weak.returncode == 2 and "too easy to guess" in weak.stderr
    new_password = "blue-kettle-monsoon-7"
    r = roshni_cmd(world.hub, "user", "passwd", "rotating", "--password-stdin",
                   stdin=new_password + "\n")
    assert r.returncode == 0, r.stderr
    assert bearer(world, old).status_code == 401  # earlier logins have ended
    assert world.login("rotating", address="127.0.0.6").status_code == 401
    token = world.login("rotating", new_password).json()["access_token"]

    assert roshni_cmd(world.hub, "user", "disable", "rotating").returncode == 0
    assert bearer(world, token).status_code == 401
    assert world.login("rotating", new_password).status_code == 401
    line = next(x for x in roshni_cmd(world.hub, "user", "list").stdout.splitlines()
                if x.startswith("rotating "))
    assert "DISABLED" in line
    assert roshni_cmd(world.hub, "user", "enable", "rotating").returncode == 0
    assert world.login("rotating", new_password).status_code == 200
    missing = roshni_cmd(world.hub, "user", "disable", "nobody-such")
    assert missing.returncode == 2 and "no user 'nobody-such'" in missing.stderr
    uid = bearer(world, world.login("rotating", new_password).json()["access_token"]
                 ).json()["id"]
    actions = [e["action"] for e in world.get("ayesha", "/api/v1/audit",
                                               target=f"user:{uid}").json()["data"]]
    assert actions == ["user.enable", "user.disable", "user.passwd", "user.add"]
