"""Checklist items for the way to the hub: the broker takes this node's credentials over
TLS, and the hub answers a self-test event (DESIGN.md §4: event, cmd/result)."""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from node.config import NodeSettings
from node.selftest.checks import Check, failed, passed, skipped
from protocol.topics import Kind, topic
from protocol.wire import CommandResult, parse

BROKER = ("broker", "broker accepts this node over TLS")
# On a test bench (plain MQTT on loopback) the broker item says only what it proved, and
# encryption is its own item, skipped: a PASS must never claim TLS that was not used.
BROKER_PLAIN = ("broker", "broker accepts this node")
TLS = ("tls", "connection is encrypted (TLS)")
HUB = ("hub", "hub acknowledges the self-test")


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@dataclass
class HubAnswer:
    detail: dict[str, Any]
    offset_s: float  # hub clock minus ours


class BrokerSession:
    """A short MQTT connection of its own (client id `<node>-selftest`, so a running agent's
    session is not taken over), as the node's user with the node's credentials."""

    def __init__(self, settings: NodeSettings) -> None:
        self.settings = settings
        self.endpoint = settings.mqtt_endpoint()
        self.node_id = settings.node.id
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id=f"{self.node_id}-selftest", protocol=mqtt.MQTTv5)
        self.client.username_pw_set(self.endpoint.username, self.endpoint.password)
        self._connack: Any = None
        self._answered = threading.Event()
        self._results: dict[str, tuple[dict[str, Any], float]] = {}
        self._result_arrived = threading.Condition()
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *_: self._answered.set()
        self.client.on_message = self._on_message

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason_code: Any, _p: Any) -> None:
        self._connack = reason_code
        self._answered.set()

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            result = parse(CommandResult, json.loads(msg.payload))
        except ValueError:
            return
        with self._result_arrived:
            self._results[result.id] = (result.detail, time.time())
            self._result_arrived.notify_all()

    def connect(self, wait_s: float) -> Check:
        ep = self.endpoint
        name_title = BROKER if ep.tls else BROKER_PLAIN
        where = f"{ep.host}:{ep.port}"
        if not ep.tls and not _loopback(ep.host):
            return failed(*name_title, f"mqtt.url is plain MQTT to {where}: the password "
                          "would cross the street unencrypted", "Use the bundle's node.toml: "
                          "mqtts://…:8883 with ca_file set to the hub's CA certificate.")
        ca = self.settings.mqtt.ca_file
        try:
            if ep.tls:
                if ca is not None and not ca.is_file():
                    return failed(*name_title, f"mqtt.ca_file {ca} does not exist",
                                  "Copy the bundle's ca.crt to the path node.toml names.")
                self.client.tls_set(ca_certs=str(ca) if ca else None,
                                    cert_reqs=ssl.CERT_REQUIRED)
            self.client.connect(ep.host, ep.port, keepalive=30)
        except socket.gaierror:
            return failed(*name_title, f"cannot find the host {ep.host!r}", "Check the hub's "
                          "name in mqtt.url and that the Pi is online (ping it; check the "
                          "SIM's data or the Wi-Fi).")
        except ssl.SSLCertVerificationError as err:
            return failed(*name_title, f"the broker at {where} is not who it should be: "
                          f"{err.verify_message}", "Copy the bundle's ca.crt to "
                          f"{ca or 'mqtt.ca_file'}; the host in mqtt.url must be the name on "
                          "the broker's certificate.")
        except ConnectionRefusedError:
            return failed(*name_title, f"nothing answers at {where}", "The broker is down or "
                          "the port is wrong: check mqtt.url, and on the hub `systemctl "
                          "status mosquitto`.")
        except OSError as err:
            return failed(*name_title, f"cannot reach {where}: {err}", "Check the Pi's "
                          "network (SIM data, Wi-Fi) and that the hub's firewall lets port "
                          f"{ep.port} in.")
        self.client.loop_start()
        if not self._answered.wait(wait_s):
            return failed(*name_title, f"no answer from {where} within {wait_s:.0f} s",
                          "The network is too slow or a firewall swallows the connection.")
        code = self._connack
        if code is None:
            return failed(*name_title, f"{where} closed the connection during the "
                          "handshake", "Check that mqtt.url's port is the broker's TLS "
                          "listener (8883) and the scheme is mqtts://.")
        if code.is_failure:
            if code.value in (0x86, 0x87, 4, 5):
                return failed(*name_title, f"the broker refused the credentials ({code})",
                              "The password in node.toml does not match the hub's: copy the "
                              "bundle's node.toml again, or ask the operator for a new one "
                              f"(roshni provision {self.node_id} --new-password).")
            return failed(*name_title, f"the broker refused the connection ({code})",
                          "Tell the hub's operator what it said.")
        self.client.subscribe(topic(self.node_id, Kind.CMD_RESULT), qos=1)
        security = "TLS" if ep.tls else "plain MQTT on loopback"
        return passed(*name_title, f"{where} over {security} as {ep.username}")

    def encryption(self) -> Check | None:
        """Only on a plain loopback bench (a plain URL to anywhere else already failed)."""
        if self.endpoint.tls:
            return None
        return skipped(*TLS, f"plain MQTT to {self.endpoint.host}, a test bench; on a pole "
                       "use the bundle's node.toml (mqtts://…:8883 and the hub's CA)")

    def round_trip(self, event: dict[str, Any], wait_s: float) -> tuple[Check, HubAnswer | None]:
        """Publish the self-test `event` and wait for the hub's cmd/result with its id."""
        event_id = event["id"]
        sent = time.time()
        info = self.client.publish(topic(self.node_id, Kind.EVENT), json.dumps(event), qos=1)
        deadline = time.monotonic() + wait_s
        with self._result_arrived:
            while event_id not in self._results and time.monotonic() < deadline:
                self._result_arrived.wait(0.2)
            got = self._results.get(event_id)
        if got is None:
            acked = info.is_published()
            return failed(*HUB, f"no answer within {wait_s:.0f} s (the broker "
                          f"{'took' if acked else 'did not take'} the event)",
                          "Check that the hub runs (its /healthz says mqtt connected) and "
                          "that the broker lets roshni-hub write roshni/v1/+/cmd/result "
                          "(deploy/mosquitto/roshni.acl)."), None
        detail, received = got
        offset = float(detail.get("hub_ts", received)) - (sent + received) / 2
        answer = HubAnswer(detail, offset)
        state = detail.get("state")
        if state == "pending":
            return failed(*HUB, "the hub hears this node but it is not registered (pending)",
                          "Ask the hub's operator to register it: roshni provision "
                          f"{self.node_id} --district … --area … --lat … --lon …"), answer
        if state != "active":
            return failed(*HUB, f"the hub answered that this node is {state}",
                          "Ask the hub's operator: a revoked node must be provisioned again."
                          ), answer
        place = f"{detail.get('area', '?')} ({detail.get('district', '?')})"
        done = ("commissioned" if detail.get("commissioned")
                else "not commissioned until every item passes")
        return passed(*HUB, f"registered in {place}; {done}"), answer

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def selftest_event(node_id: str, seq: int, checks: list[Check]) -> dict[str, Any]:
    failures = sum(c.failed for c in checks)
    return {"v": 1, "node": node_id, "seq": seq, "ts": time.time(), "type": "selftest",
            "id": str(uuid.uuid4()), "ok": failures == 0,
            "passed": sum(c.status == "pass" for c in checks), "failed": failures,
            "checks": [c.as_dict() for c in checks]}
