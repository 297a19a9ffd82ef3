"""The `api = "v2"` write path (influxdb-client, /api/v2/write with token, org and bucket)
against a real server that speaks it: VictoriaMetrics, read back through its export API."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request

import pytest

from hub.supervise import HubProcess, Mosquitto, VictoriaMetrics
from tests.support import Publisher, metrics, reading, wait_for


def exported(vm: VictoriaMetrics, metric: str) -> list[dict]:
    qs = urllib.parse.urlencode({"match[]": metric, "start": "0"})
    with urllib.request.urlopen(f"{vm.url}/api/v1/export?{qs}", timeout=10) as r:
        return [json.loads(line) for line in r.read().decode().splitlines() if line]


@pytest.fixture
def hub_v2(tmp_path, mosquitto: Mosquitto, victoria: VictoriaMetrics):
    env = {"ROSHNI_MQTT__URL": mosquitto.url, "ROSHNI_INFLUX__API": "v2",
           "ROSHNI_INFLUX__URL": victoria.url, "ROSHNI_INFLUX__TOKEN": "s3cret-token",
           "ROSHNI_INFLUX__ORG": "cplc", "ROSHNI_INFLUX__BUCKET": "roshni"}
    with HubProcess(tmp_path / "hub", env) as hub:
        yield hub


def test_v2_writes_every_reading_with_tags_and_values(hub_v2, mosquitto, victoria):
    pub = Publisher(mosquitto.host, mosquitto.port)
    t0 = time.time() - 300
    for seq in range(1, 21):
        pub.send("roshni/v1/khi-wes-0001/reading",
                 reading("khi-wes-0001", seq, t0 + seq, lux=float(seq), footfall=seq))
    pub.close()
    wait_for(lambda: metrics(hub_v2.url)["roshni_readings_stored_total"] == 20,
             what="hub to store 20 readings")

    def series():
        # VictoriaMetrics makes each field a metric `<measurement>_<field>`
        return exported(victoria, '{__name__="reading_lux"}')
    got = wait_for(lambda: (s := series()) and sum(len(x["values"]) for x in s) == 20 and s,
                   timeout=30, what="20 lux points in VictoriaMetrics")
    assert len(got) == 1
    labels = got[0]["metric"]
    assert labels["node"] == "khi-wes-0001"
    assert labels["district"] == "unassigned"
    assert sorted(got[0]["values"]) == [float(s) for s in range(1, 21)]
    # microsecond timestamps survive (VictoriaMetrics keeps milliseconds)
    assert sorted(got[0]["timestamps"]) == [int((t0 + s) * 1000) for s in range(1, 21)]
    footfall = exported(victoria, '{__name__="reading_footfall"}')
    assert sorted(footfall[0]["values"]) == [float(s) for s in range(1, 21)]
