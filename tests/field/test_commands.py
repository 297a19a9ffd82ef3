"""Commands from the hub to a node over `roshni/v1/<id>/cmd` (DESIGN.md §4): who may send
them, and a simulated node that carries them out and answers on `cmd/result`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.supervise import NodeProcess
from node.config import NodeSettings
from tests.field.kit import Client, Field
from tests.support import wait_for


@pytest.fixture(scope="module")
def pole(field: Field, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """khi-kor-0201 on its pole, provisioned and running its agent (one reading a second)."""
    bundle = field.operator.provision("khi-kor-0201", "--pole", "K5-201")
    workdir = tmp_path_factory.mktemp("pole")
    env = {**Field.node_env(bundle, workdir / "data"), "ROSHNI_NODE__INTERVAL_S": "1"}
    with NodeProcess(workdir, env, "default", config=bundle / "node.toml"):
        wait_for(lambda: field.api("GET", "/nodes/khi-kor-0201", "tariq").json()["status"]
                 == "online", what="the node online at the hub")
        yield "khi-kor-0201"


def answered(field: Field, node: str, command: dict[str, Any]) -> dict[str, Any]:
    return wait_for(lambda: (c := field.api("GET", f"/nodes/{node}/commands/{command['id']}",
                                            "tariq").json())["status"] == "answered" and c,
                    what=f"the node's answer to {command['cmd']}")


@pytest.mark.parametrize("user", ["kamran", "kiran"])
def test_crews_and_committees_may_not_command_a_node(field: Field, pole: str, user: str):
    before = field.api("GET", f"/nodes/{pole}/commands", "tariq").json()["count"]
    r = field.api("POST", f"/nodes/{pole}/commands", user, json={"cmd": "identify"})
    assert r.status_code == 403
    assert "nodes:command" in r.json()["detail"]
    assert field.api("GET", f"/nodes/{pole}/commands", "tariq").json()["count"] == before


def test_identify_reaches_the_node_which_blinks_and_answers(field: Field, pole: str):
    r = field.api("POST", f"/nodes/{pole}/commands", "tariq",
                  json={"cmd": "identify", "seconds": 20})
    assert r.status_code == 202, r.text
    sent = r.json()
    assert sent["status"] == "sent" and sent["issued_by"] == "tariq"
    got = answered(field, pole, sent)
    assert got["ok"] is True
    assert got["result"] == {"blinking_s": 20, "led": "GPIO23"}


def test_set_interval_changes_how_often_the_node_reports(field: Field, pole: str):
    sent = field.api("POST", f"/nodes/{pole}/commands", "tariq",
                     json={"cmd": "set_interval", "interval_s": 5}).json()
    got = answered(field, pole, sent)
    assert got["ok"] is True and got["result"] == {"interval_s": 5, "was_s": 1.0}

    def reports_every_5_s() -> bool:
        r = field.api("GET", f"/nodes/{pole}/readings", "tariq",
                      params={"start": got["answered_at"]})
        return any(p.get("interval_s") == 5 for p in r.json()["data"])
    wait_for(reports_every_5_s, timeout=40, what="a reading with interval_s 5")


def test_a_remote_selftest_answers_with_the_checklist(field: Field, pole: str):
    sent = field.api("POST", f"/nodes/{pole}/commands", "tariq", json={"cmd": "selftest"}).json()
    got = answered(field, pole, sent)
    assert got["ok"] is True, got
    names = {c["name"]: c["status"] for c in got["result"]["checks"]}
    assert names["lamp_sensor"] == names["energy_meter"] == names["spool"] == "pass"


def test_bad_arguments_are_refused_before_anything_is_sent(field: Field, pole: str):
    r = field.api("POST", f"/nodes/{pole}/commands", "tariq",
                  json={"cmd": "set_interval", "interval_s": 1})
    assert r.status_code == 422
    assert "interval_s" in json.dumps(r.json()["detail"])
    r = field.api("POST", f"/nodes/{pole}/commands", "tariq", json={"cmd": "reboot"})
    assert r.status_code == 422
    r = field.api("POST", "/nodes/khi-kor-9999/commands", "tariq", json={"cmd": "identify"})
    assert r.status_code == 404


def test_a_node_that_is_not_online_is_not_sent_a_command_it_would_never_get(field: Field):
    field.operator.provision("khi-kor-0202")  # registered, never connected
    r = field.api("POST", "/nodes/khi-kor-0202/commands", "tariq", json={"cmd": "identify"})
    assert r.status_code == 409
    assert "unknown: it would not receive the command" in r.json()["detail"]
    assert field.api("GET", "/nodes/khi-kor-0202/commands", "tariq").json()["count"] == 0


def test_an_answer_to_a_command_never_sent_is_kept_as_a_dead_letter(field: Field, pole: str,
                                                                     tmp_path: Path):
    bundle = field.operator.bundle(pole)
    settings = NodeSettings.load(bundle / "node.toml",
                                 environ={"ROSHNI_MQTT__CA_FILE": str(bundle / "ca.crt")})
    ep = settings.mqtt_endpoint()
    stray = Client(ep.host, ep.port, username=ep.username, password=ep.password,
                   ca_file=settings.mqtt.ca_file, client_id=f"{pole}-stray")
    assert stray.connect()
    made_up = str(uuid.uuid4())
    stray.publish(f"roshni/v1/{pole}/cmd/result",
                  json.dumps({"v": 1, "id": made_up, "ok": True, "detail": {}}))
    stray.close()

    def dead_letter() -> list[dict[str, Any]]:
        out = field.operator.run("hub", "dead-letters", "--reason", "unknown_command", "--json")
        return [d for line in out.stdout.splitlines() if made_up in (d := json.loads(line))[
            "detail"]]
    found = wait_for(dead_letter, what="the stray answer among the dead letters")
    assert found[0]["node_id"] == pole
