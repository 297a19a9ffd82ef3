"""Helpers for the field tests: the hub operator's `roshni` commands, and plain MQTT
clients standing in for nodes, the hub or an intruder."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from hub.supervise import _roshni
from tests.field.broker import DeployedBroker


class Operator:
    """`roshni …` commands run on the hub host, with the hub's settings."""

    def __init__(self, data_dir: Path, broker: DeployedBroker, **env: str) -> None:
        self.data_dir = data_dir
        self.env = {
            "ROSHNI_DATA_DIR": str(data_dir),
            "ROSHNI_BROKER__PASSWORD_FILE": str(broker.passwd.path),
            "ROSHNI_BROKER__PID_FILE": str(broker.pid_file),
            "ROSHNI_BROKER__NODE_URL": broker.node_url,
            "ROSHNI_BROKER__CA_FILE": str(broker.certs.ca_cert),
            **env,
        }

    def run(self, *args: str, check: bool = True, stdin: str | None = None
            ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([*_roshni(), *args], env={**os.environ, **self.env},
                                capture_output=True, text=True, timeout=120, input=stdin)
        if check and result.returncode != 0:
            raise AssertionError(f"roshni {' '.join(args)} exited {result.returncode}:\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def provision(self, node_id: str, *extra: str) -> Path:
        self.run("provision", node_id, "--district", "korangi", "--area", "Korangi 5",
                 "--lat", "24.8315", "--lon", "67.1311", *extra)
        return self.bundle(node_id)

    def bundle(self, node_id: str) -> Path:
        return self.data_dir / "bundles" / node_id


class Client:
    """A plain MQTT client: a node, the hub or an intruder, as the test needs."""

    def __init__(self, host: str, port: int, *, username: str | None = None,
                 password: str | None = None, ca_file: Path | None = None,
                 client_id: str = "", protocol: int = mqtt.MQTTv311,
                 clean_session: bool = True) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=protocol, clean_session=clean_session)
        if username is not None:
            self.client.username_pw_set(username, password)
        if ca_file is not None:
            self.client.tls_set(ca_certs=str(ca_file))
        self.connack: Any = None
        self.connected = threading.Event()
        self.answered = threading.Event()
        self.disconnected = threading.Event()
        self.messages: list[mqtt.MQTTMessage] = []
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = lambda _c, _u, msg: self.messages.append(msg)
        self.host, self.port = host, port

    def _on_connect(self, _c, _u, _flags, reason_code, _props) -> None:  # type: ignore[no-untyped-def]
        self.connack = reason_code
        if not reason_code.is_failure:
            self.connected.set()
        self.answered.set()

    def _on_disconnect(self, _c, _u, _flags, _rc, _props) -> None:  # type: ignore[no-untyped-def]
        self.disconnected.set()
        self.answered.set()

    def connect(self, timeout: float = 10.0) -> bool:
        """True when the broker accepted the connection."""
        self.client.reconnect_delay_set(60, 120)  # one attempt per test step
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        self.answered.wait(timeout)
        return self.connected.is_set() and not self.disconnected.is_set()

    def publish(self, topic: str, payload: str, timeout: float = 10.0) -> bool:
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout)
        return info.is_published()

    def subscribe(self, topic: str) -> None:
        result, mid = self.client.subscribe(topic, qos=1)
        assert result == mqtt.MQTT_ERR_SUCCESS

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


PASSWORD = "lamp-post-42"
SECRET_KEY = "field-test-signing-key-that-is-long-enough-0123"


class Field:
    """A hub as deployed: the production broker configuration, InfluxDB, `roshni hub run`,
    and its operator; people log in to its API as they would from a phone."""

    def __init__(self, broker: DeployedBroker, hub: Any, operator: Operator) -> None:
        import httpx

        self.broker, self.hub, self.operator = broker, hub, operator
        self.http = httpx.Client(base_url=hub.url, timeout=30)
        self._tokens: dict[str, str] = {}

    def add_user(self, name: str, role: str, *scope: str) -> None:
        self.operator.run("user", "add", name, "--role", role, *scope, "--password-stdin",
                          stdin=PASSWORD + "\n")

    def token(self, user: str) -> str:
        if user not in self._tokens:
            r = self.http.post("/api/v1/auth/token",
                               data={"username": user, "password": PASSWORD})
            assert r.status_code == 200, r.text
            self._tokens[user] = r.json()["access_token"]
        return self._tokens[user]

    def api(self, method: str, path: str, user: str, **kw: Any) -> Any:
        return self.http.request(method, f"/api/v1{path}",
                                 headers={"Authorization": f"Bearer {self.token(user)}"}, **kw)

    @staticmethod
    def node_env(bundle: Path, data_dir: Path) -> dict[str, str]:
        """How the technician's Pi runs: the bundle's node.toml and CA, its own data dir."""
        return {**os.environ, "ROSHNI_MQTT__CA_FILE": str(bundle / "ca.crt"),
                "ROSHNI_DATA_DIR": str(data_dir)}

    def close(self) -> None:
        self.http.close()
