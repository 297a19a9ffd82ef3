"""`roshni node selftest` on a simulated pole against the deployed broker and a running
hub: what the technician on the ladder reads, its exit status, and what the hub records
(DESIGN.md §1: "run the commissioning self-test, see the hub receive it")."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from hub.supervise import _roshni
from node.lock import AgentLock
from tests.field.broker import DeployedBroker
from tests.field.kit import Field, Operator


def selftest(field_or_env: dict[str, str], bundle: Path, *args: str
             ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_roshni(), "node", "selftest", "--config", str(bundle / "node.toml"),
                           "--wait", "8", *args], env=field_or_env, capture_output=True,
                          text=True, timeout=120)


def items(output: str) -> dict[str, str]:
    """Checklist lines as {title: PASS|FAIL|SKIP}."""
    found = {}
    for line in output.splitlines():
        m = re.match(r"^  (PASS|FAIL|SKIP)  (.+?)\s{2,}", line)
        if m:
            found[m.group(2)] = m.group(1)
    return found


def remedy_after(output: str, title: str) -> str:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if title in line)
    rest = []
    for line in lines[start + 1:]:
        if not line.startswith("        "):
            break
        rest.append(line.strip())
    return " ".join(rest)


def test_a_healthy_pole_passes_every_item_and_the_hub_marks_it_commissioned(
        field: Field, tmp_path: Path):
    bundle = field.operator.provision("khi-kor-0101", "--pole", "K5-101")
    result = selftest(field.node_env(bundle, tmp_path), bundle, "--simulate", "default")
    assert result.returncode == 0, result.stdout + result.stderr
    checklist = items(result.stdout)
    assert set(checklist.values()) == {"PASS"}, result.stdout
    for title in ("lamp sensor reads", "lamp sensor responds", "energy meter reads",
                  "broker accepts this node over TLS", "hub acknowledges the self-test",
                  "clock is synchronised", "spool is writable and has room"):
        assert checklist.get(title) == "PASS", f"{title} missing:\n{result.stdout}"
    assert "registered in Korangi 5 (korangi); commissioned" in result.stdout
    assert "NODE IS READY" in result.stdout
    node = field.api("GET", "/nodes/khi-kor-0101", "tariq").json()
    assert node["commissioned_at"] is not None and node["selftest_ok"] is True
    assert {c["name"]: c["status"] for c in node["selftest"]}["lamp_responds"] == "pass"
    # The technicians' to-do list no longer has it.
    waiting = field.api("GET", "/nodes", "tariq", params={"commissioned": "false",
                                                           "limit": 500}).json()["data"]
    done = field.api("GET", "/nodes", "tariq", params={"commissioned": "true"}).json()["data"]
    assert "khi-kor-0101" in {n["id"] for n in done}
    assert "khi-kor-0101" not in {n["id"] for n in waiting}


def test_an_unplugged_lamp_sensor_fails_with_its_remedy_and_is_not_commissioned(
        field: Field, tmp_path: Path):
    bundle = field.operator.provision("khi-kor-0102")
    result = selftest(field.node_env(bundle, tmp_path), bundle, "--simulate", "lamp-unplugged")
    assert result.returncode == 1
    checklist = items(result.stdout)
    assert checklist["lamp sensor responds"] == "FAIL"
    assert checklist["lamp sensor reads"] == "FAIL"
    assert "photodiode" in remedy_after(result.stdout, "FAIL  lamp sensor responds")
    # Everything else about the pole is fine, and the hub still hears the result.
    assert checklist["hub acknowledges the self-test"] == "PASS"
    assert "not commissioned" in result.stdout
    node = field.api("GET", "/nodes/khi-kor-0102", "tariq").json()
    assert node["selftest_ok"] is False and node["commissioned_at"] is None
    failed = {c["name"] for c in node["selftest"] if c["status"] == "fail"}
    assert failed == {"lamp_sensor", "lamp_responds"}


def test_a_wrong_password_fails_the_broker_item_and_says_how_to_fix_it(
        field: Field, tmp_path: Path):
    bundle = field.operator.provision("khi-kor-0103")
    env = {**field.node_env(bundle, tmp_path),
           "ROSHNI_MQTT__URL": f"mqtts://khi-kor-0103:not-the-password@localhost:"
                               f"{field.broker.tls_port}"}
    result = selftest(env, bundle, "--simulate", "default", "--no-interactive")
    assert result.returncode == 1
    checklist = items(result.stdout)
    assert checklist["broker accepts this node over TLS"] == "FAIL"
    assert "refused the credentials" in result.stdout
    assert "--new-password" in remedy_after(result.stdout, "FAIL  broker accepts")
    assert checklist["lamp sensor responds"] == "SKIP"


def test_with_the_broker_down_the_broker_item_fails(tmp_path: Path):
    broker = DeployedBroker(tmp_path / "mosquitto")
    broker.start()
    operator = Operator(tmp_path / "hub", broker)
    bundle = operator.provision("khi-kor-0104")
    broker.close()
    env = Field.node_env(bundle, tmp_path / "node")
    result = selftest(env, bundle, "--simulate", "default", "--no-interactive")
    assert result.returncode == 1
    assert items(result.stdout)["broker accepts this node over TLS"] == "FAIL"
    assert "systemctl status mosquitto" in remedy_after(result.stdout, "FAIL  broker accepts")
    # The pole itself is fine: the technician knows the problem is not on the ladder.
    assert items(result.stdout)["lamp sensor reads"] == "PASS"


def test_a_running_agent_is_named_instead_of_fighting_it_for_the_pins(
        field: Field, tmp_path: Path):
    bundle = field.operator.provision("khi-kor-0105")
    with AgentLock(tmp_path, "khi-kor-0105"):
        result = selftest(field.node_env(bundle, tmp_path), bundle, "--simulate", "default")
    assert result.returncode == 1
    assert items(result.stdout) == {"hardware profile": "PASS",
                                    "node agent is stopped": "FAIL"}
    assert "systemctl stop roshni-node" in result.stdout


def test_settings_that_cannot_be_used_exit_2(tmp_path: Path):
    bad = tmp_path / "node.toml"
    bad.write_text('[node]\nid = "Not A Node"\n')
    result = subprocess.run([*_roshni(), "node", "selftest", "--config", str(bad)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "node.id" in result.stdout and "FAIL" in result.stdout


def test_over_plain_mqtt_on_a_bench_nothing_claims_tls(field: Field, tmp_path: Path):
    """The demo's and a bench's broker is plain MQTT on loopback: the checklist says the
    broker took the node, and that the connection was not encrypted — never a TLS PASS."""
    bundle = field.operator.provision("khi-kor-0106")
    url = re.search(r'url = "mqtts://([^@]+)@', (bundle / "node.toml").read_text())
    assert url, (bundle / "node.toml").read_text()
    env = {**field.node_env(bundle, tmp_path),
           "ROSHNI_MQTT__URL": f"mqtt://{url.group(1)}@127.0.0.1:{field.broker.port}"}
    result = selftest(env, bundle, "--simulate", "default", "--no-interactive")
    checklist = items(result.stdout)
    assert "broker accepts this node over TLS" not in checklist, result.stdout
    assert checklist["broker accepts this node"] == "PASS", result.stdout
    assert checklist["connection is encrypted (TLS)"] == "SKIP", result.stdout
    assert checklist["hub acknowledges the self-test"] == "PASS", result.stdout


def test_without_settings_the_error_names_the_key_and_where_it_goes(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROSHNI_")}
    result = subprocess.run([*_roshni(), "node", "selftest"], capture_output=True, text=True,
                            timeout=60, env=env, cwd=tmp_path)
    assert result.returncode == 2
    text = " ".join(result.stdout.split())
    assert "node.id: required, not set" in text, result.stdout
    assert "ROSHNI_NODE__ID" in text and "--config" in text, result.stdout
    (tmp_path / "node.toml").write_text("[node]\n")
    result = subprocess.run([*_roshni(), "node", "selftest", "--config", "node.toml"],
                            capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    text = " ".join(result.stdout.split())
    assert "Set it in node.toml as `[node] id = …`" in text, result.stdout
