"""The test harness itself: a port taken between picking it and the child binding it."""

from __future__ import annotations

import socket
import urllib.request

from hub.supervise import Influxd


def test_a_service_whose_picked_port_was_taken_meanwhile_starts_on_another(tmp_path):
    # (Mosquitto binds with SO_REUSEPORT and shares a taken port; InfluxDB exits.)
    for cls in (Influxd,):
        svc = cls(tmp_path / cls.name)
        squatter = socket.socket()
        squatter.bind(("127.0.0.1", svc.port))
        squatter.listen()
        taken = svc.port
        try:
            svc.start()
            assert svc.port != taken and svc.running
            with urllib.request.urlopen(f"{svc.url}/ping", timeout=5) as r:
                assert r.status == 204
        finally:
            squatter.close()
            svc.close()
