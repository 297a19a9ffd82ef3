"""The production broker configuration with credentials made by `roshni provision`:
nodes get in over TLS with their own bundle, nobody else does, and a node can speak only
for itself (DESIGN.md §4)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from hub.broker.passwords import PasswordFile, hash_password, verify_password
from node.config import NodeSettings
from tests.field.broker import HUB_PASSWORD, HUB_USER, DeployedBroker
from tests.field.kit import Client
from tests.support import reading, wait_for


def node_client(bundle: Path, **kw: object) -> Client:
    """Connect the way the node agent will: the bundle's node.toml, its CA (and, for an
    intruder, any client id it likes)."""
    settings = NodeSettings.load(bundle / "node.toml",
                                 environ={"ROSHNI_MQTT__CA_FILE": str(bundle / "ca.crt")})
    ep = settings.mqtt_endpoint()
    assert ep.tls, "a bundle's node.toml must connect over TLS"
    return Client(ep.host, ep.port, username=ep.username, password=ep.password,
                  ca_file=settings.mqtt.ca_file, **{"client_id": settings.node.id, **kw})


def hub_client(broker: DeployedBroker) -> Client:
    return Client(broker.host, broker.port, username=HUB_USER, password=HUB_PASSWORD,
                  client_id="test-hub")


def hub_sender(broker: DeployedBroker) -> Client:
    """The hub's command sender, under its own account."""
    return Client(broker.host, broker.port, username=f"{HUB_USER}-cmd", password=HUB_PASSWORD)


def test_a_provisioned_node_gets_in_over_tls_and_the_hub_hears_it(broker, operator):
    bundle = operator.provision("khi-kor-0042")
    assert sorted(p.name for p in bundle.iterdir()) == ["ca.crt", "label.svg", "node.toml"]
    hub = hub_client(broker)
    assert hub.connect()
    hub.subscribe("roshni/v1/#")
    node = node_client(bundle)
    assert node.connect(), f"the broker refused the node's own credentials: {node.connack}"
    assert node.publish("roshni/v1/khi-kor-0042/reading",
                        json.dumps(reading("khi-kor-0042", 1)))
    got = wait_for(lambda: [m for m in hub.messages
                            if m.topic == "roshni/v1/khi-kor-0042/reading"],
                   what="the node's reading at the hub")
    assert json.loads(got[0].payload)["seq"] == 1
    node.close()
    hub.close()


def test_the_tls_listener_shows_a_certificate_the_bundles_ca_vouches_for(broker, operator):
    bundle = operator.provision("khi-kor-0042")
    other_ca = Path(broker.workdir) / "other"
    from hub.broker.certs import make_certs

    paths, _ = make_certs(other_ca, ["localhost"])
    settings = NodeSettings.load(bundle / "node.toml",
                                 environ={"ROSHNI_MQTT__CA_FILE": str(paths.ca_cert)})
    ep = settings.mqtt_endpoint()
    impostor_check = Client(ep.host, ep.port, username=ep.username, password=ep.password,
                            ca_file=paths.ca_cert)
    with pytest.raises(OSError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        impostor_check.connect()


@pytest.mark.parametrize("listener", ["tls", "loopback"])
def test_anonymous_clients_are_refused(broker, listener):
    port, ca = ((broker.tls_port, broker.certs.ca_cert) if listener == "tls"
                else (broker.port, None))
    anonymous = Client("localhost" if ca else broker.host, port, ca_file=ca)
    assert not anonymous.connect()
    assert anonymous.connack is None or anonymous.connack.is_failure
    anonymous.close()


def test_a_wrong_password_is_refused(broker, operator):
    operator.provision("khi-kor-0042")
    intruder = Client("localhost", broker.tls_port, username="khi-kor-0042",
                      password="guessed", ca_file=broker.certs.ca_cert)
    assert not intruder.connect()
    assert intruder.connack is not None and intruder.connack.is_failure
    intruder.close()


def test_node_a_cannot_speak_for_node_b_nor_read_its_commands(broker, operator):
    bundle_a = operator.provision("khi-kor-0001")
    operator.provision("khi-kor-0002")
    hub = hub_client(broker)
    assert hub.connect()
    hub.subscribe("roshni/v1/#")
    a = node_client(bundle_a)
    assert a.connect()
    a.subscribe("roshni/v1/khi-kor-0002/cmd")
    time.sleep(0.2)  # let the SUBSCRIBE land before the hub publishes
    sender = hub_sender(broker)
    assert sender.connect()
    sender.publish("roshni/v1/khi-kor-0002/cmd",
                   json.dumps({"v": 1, "id": "c1", "cmd": "identify"}))
    time.sleep(0.3)
    assert a.messages == [], "node A read node B's commands"
    # Mosquitto answers a publish outside the ACL by closing the connection.
    a.client.publish("roshni/v1/khi-kor-0002/reading", json.dumps(reading("khi-kor-0002", 1)),
                     qos=1)
    assert a.disconnected.wait(10), "the broker kept a node that spoke for another"
    a.close()
    again = node_client(bundle_a)
    assert again.connect()
    assert again.publish("roshni/v1/khi-kor-0001/reading",
                         json.dumps(reading("khi-kor-0001", 1)))
    wait_for(lambda: any(m.topic == "roshni/v1/khi-kor-0001/reading" for m in hub.messages),
             what="node A's own reading")
    assert [m.topic for m in hub.messages if "khi-kor-0002" in m.topic] == [
        "roshni/v1/khi-kor-0002/cmd"], "node A's message as node B reached the hub"
    again.close()
    sender.close()
    hub.close()


def test_a_revoked_node_is_cut_off_and_cannot_come_back(broker, operator):
    bundle = operator.provision("khi-kor-0042")
    old = NodeSettings.load(bundle / "node.toml").mqtt_endpoint()
    node = node_client(bundle)
    assert node.connect()
    result = operator.run("provision", "khi-kor-0042", "--revoke")
    assert "revoked khi-kor-0042" in result.stdout
    assert "reloaded" in result.stdout
    # Mosquitto re-checks connected clients against the reloaded password file.
    assert node.disconnected.wait(10), "the revoked node stayed connected"
    node.close()
    again = Client("localhost", broker.tls_port, username=old.username, password=old.password,
                   ca_file=broker.certs.ca_cert)
    assert not again.connect(), "the revoked node's password still works"
    assert not PasswordFile(broker.passwd.path).has("khi-kor-0042")
    assert not bundle.exists(), "the revoked node's bundle still holds its password"


def test_passwords_are_in_mosquittos_own_format(tmp_path):
    """Both ways: mosquitto_passwd's hash checks out here, and ours is what the broker
    accepted in the tests above."""
    path = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(path), "khi-kor-0042", "s3cret"],
                   check=True)
    hashed = PasswordFile(path).read()["khi-kor-0042"]
    assert verify_password("s3cret", hashed)
    assert not verify_password("s3cre", hashed)
    ours = hash_password("s3cret")
    assert ours.startswith("$7$101$") and verify_password("s3cret", ours)


def test_editing_keeps_other_entries_and_the_files_mode(tmp_path):
    path = tmp_path / "passwd"
    pf = PasswordFile(path)
    with pf.editing() as entries:
        entries["a-node"] = hash_password("a")
        entries["b-node"] = hash_password("b")
    path.chmod(0o640)
    with pf.editing() as entries:
        del entries["a-node"]
    assert list(pf.read()) == ["b-node"] and pf.check("b-node", "b")
    assert path.stat().st_mode & 0o777 == 0o640


def test_the_hubs_session_keeps_every_reading_while_the_hub_is_away(broker, operator):
    """Mosquitto's default queue of 1 000 messages per client would drop the rest silently,
    even at QoS 1; the deploy configuration must keep them all."""
    node = node_client(operator.provision("khi-kor-0042"))
    # The hub's persistent session, as hub/receiver.py keeps it.
    hub = Client(broker.host, broker.port, username=HUB_USER, password=HUB_PASSWORD,
                 client_id="roshni-hub", clean_session=False)
    assert hub.connect()
    hub.subscribe("roshni/v1/+/reading")
    time.sleep(0.3)
    hub.close()  # the hub restarts
    assert node.connect()
    for seq in range(1, 2501):
        node.client.publish("roshni/v1/khi-kor-0042/reading",
                            json.dumps(reading("khi-kor-0042", seq)), qos=1)
    assert node.publish("roshni/v1/khi-kor-0042/reading",
                        json.dumps(reading("khi-kor-0042", 2501)))
    back = Client(broker.host, broker.port, username=HUB_USER, password=HUB_PASSWORD,
                  client_id="roshni-hub", clean_session=False)
    assert back.connect()
    wait_for(lambda: len(back.messages) >= 2501, what="every queued reading", timeout=60)
    seqs = sorted(json.loads(m.payload)["seq"] for m in back.messages)
    assert seqs[:2501] == list(range(1, 2502))
    back.close()
    node.close()


def test_no_node_can_take_the_hubs_or_another_nodes_client_id(broker, operator):
    """A node with valid credentials connecting under the hub's client id must neither
    disconnect the hub nor take its persistent session (the readings queued for it), and
    under another node's id must neither disconnect it nor fire its last will."""
    attacker_bundle = operator.provision("khi-kor-0001")
    victim = node_client(operator.provision("khi-kor-0002"))
    victim.client.will_set("roshni/v1/khi-kor-0002/status", '{"state":"offline"}', qos=1,
                           retain=True)
    assert victim.connect()
    hub = Client(broker.host, broker.port, username=HUB_USER, password=HUB_PASSWORD,
                 client_id="roshni-hub", clean_session=False)
    assert hub.connect()
    hub.subscribe("roshni/v1/#")
    time.sleep(0.3)

    as_hub = node_client(attacker_bundle, client_id="roshni-hub", clean_session=False)
    as_hub.connect()
    as_node = node_client(attacker_bundle, client_id="khi-kor-0002")
    as_node.connect()
    time.sleep(0.5)
    assert not hub.disconnected.is_set(), "a node's connection disconnected the hub"
    assert not victim.disconnected.is_set(), "a node's connection disconnected another node"
    assert not [m for m in hub.messages if m.topic.endswith("/status")], \
        "another node's last will fired"
    as_hub.close()
    as_node.close()

    # The hub restarts; readings queue in its session while a node claims the hub's id.
    hub.close()
    for seq in range(1, 21):
        assert victim.publish("roshni/v1/khi-kor-0002/reading",
                              json.dumps(reading("khi-kor-0002", seq)))
    thief = node_client(attacker_bundle, client_id="roshni-hub", clean_session=False)
    thief.connect()
    time.sleep(0.5)
    thief.close()
    back = Client(broker.host, broker.port, username=HUB_USER, password=HUB_PASSWORD,
                  client_id="roshni-hub", clean_session=False)
    assert back.connect()
    wait_for(lambda: sum(m.topic.endswith("/reading") for m in back.messages) >= 20,
             what="the readings queued in the hub's session", timeout=10)
    seqs = sorted(json.loads(m.payload)["seq"] for m in back.messages
                  if m.topic.endswith("/reading"))
    assert seqs == list(range(1, 21))
    back.close()
    victim.close()


def test_the_hubs_receiver_and_command_sender_do_not_kick_each_other(broker):
    """Each of the hub's connections has its own account (the deployed broker ties a
    client id to its account), so both stay connected side by side."""
    receiver = Client(broker.host, broker.port, username=HUB_USER, password=HUB_PASSWORD,
                      client_id="roshni-hub", clean_session=False)
    sender = hub_sender(broker)
    assert receiver.connect() and sender.connect()
    receiver.subscribe("roshni/v1/#")
    time.sleep(0.3)
    assert sender.publish("roshni/v1/khi-kor-0042/cmd", '{"v":1,"id":"c1","cmd":"identify"}')
    wait_for(lambda: [m for m in receiver.messages if m.topic.endswith("/cmd")],
             what="the command at the receiver")
    assert not receiver.disconnected.is_set() and not sender.disconnected.is_set()
    receiver.close()
    sender.close()


def test_the_hub_logs_in_as_its_client_id_and_refuses_a_url_naming_another_account():
    from pydantic import ValidationError

    from hub.config import HubMqttSettings

    worker = HubMqttSettings(url="mqtt://:pw@127.0.0.1:1883", client_id="roshni-hub-2")
    assert worker.login(worker.client_id) == ("roshni-hub-2", "pw")
    assert worker.login(worker.command_client_id) == ("roshni-hub-2-cmd", "pw")
    assert HubMqttSettings(url="mqtt://127.0.0.1:1883").login("roshni-hub") is None
    with pytest.raises(ValidationError, match="username 'roshni-hub' is not client_id"):
        HubMqttSettings(url="mqtt://roshni-hub:pw@127.0.0.1:1883", client_id="roshni-hub-2")
