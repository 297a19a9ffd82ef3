"""Ingest end to end: MQTT messages into a running hub process, into a real InfluxDB, with
the hub's state on each backend (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import create_engine, text

from hub.supervise import HubProcess, Influxd, Mosquitto
from tests.hub.conftest import hub_env, roshni
from tests.support import Publisher, influx_query, influx_rows, metrics, reading, wait_for


@pytest.fixture
def hub(tmp_path, mosquitto: Mosquitto, influxd: Influxd, db_url: str):
    """The hub, and every `roshni` command run beside it, on the backend under test."""
    env = {**hub_env(mosquitto, influxd), "ROSHNI_DB__URL": db_url}
    with HubProcess(tmp_path / "hub", env) as proc:
        yield proc


@pytest.fixture
def pub(mosquitto: Mosquitto):
    p = Publisher(mosquitto.host, mosquitto.port)
    yield p
    p.close()


def stored_count(influxd: Influxd, where: str = "") -> int:
    series = influx_query(influxd.url, f"SELECT count(seq) FROM reading {where}")
    return int(series[0]["values"][0][1]) if series else 0


def node_row(hub: HubProcess, node_id: str) -> dict:
    engine = create_engine(hub.env["ROSHNI_DB__URL"])
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM nodes WHERE id = :id"), {"id": node_id})
        result = row.mappings().first()
    engine.dispose()
    return dict(result) if result else {}


def dead_letters(hub: HubProcess) -> list[dict]:
    out = roshni(hub, "hub", "dead-letters", "--json", "--limit", "1000").stdout
    return [json.loads(line) for line in out.splitlines()]


def test_provisioned_node_readings_are_stored_with_registry_tags_and_schema_types(
        hub, influxd, pub):
    roshni(hub, "provision", "khi-kor-0042", "--district", "korangi", "--area", "Korangi 5",
           "--lat", "24.83", "--lon", "67.13", "--rated-w", "60", "--feeder", "KE Korangi 12")
    assert node_row(hub, "khi-kor-0042")["feeder"] == "ke-korangi-12"
    t0 = time.time()  # after provisioning: earlier times would be a clock fault
    for seq in range(1, 6):
        # lux as a JSON integer must still land as a float field
        pub.send("roshni/v1/khi-kor-0042/reading",
                 reading("khi-kor-0042", seq, t0 + seq * 10, lux=3, lamp_on=seq != 3,
                         footfall=seq, lamp_w=58.5))
    wait_for(lambda: stored_count(influxd) == 5, what="5 readings in InfluxDB")

    rows = influx_rows(influxd.url, "SELECT * FROM reading GROUP BY *")
    assert {(r["node"], r["district"], r["area"]) for r in rows} == {
        ("khi-kor-0042", "korangi", "korangi-5")}
    assert sorted(r["seq"] for r in rows) == [1, 2, 3, 4, 5]
    assert [r["lamp_on"] for r in sorted(rows, key=lambda r: r["seq"])] == [
        True, True, False, True, True]
    # timestamps are the node's (event time), to the microsecond
    assert sorted(r["time"] for r in rows) == [int((t0 + s * 10) * 1e6) for s in range(1, 6)]

    types = {v[0]: v[1] for s in influx_query(influxd.url, "SHOW FIELD KEYS FROM reading")
             for v in s["values"]}
    assert types["lamp_on"] == "boolean"
    assert types["lux"] == "float"
    assert types["lamp_w"] == "float"
    assert types["footfall"] == "integer"
    assert types["seq"] == "integer"


def test_a_node_cannot_move_itself_to_another_district(hub, influxd, pub):
    roshni(hub, "provision", "khi-mal-0001", "--district", "malir", "--area", "Model Colony",
           "--lat", "24.88", "--lon", "67.18")
    pub.send("roshni/v1/khi-mal-0001/reading",
             reading("khi-mal-0001", 1, district="south", area="Clifton"))
    wait_for(lambda: stored_count(influxd) == 1, what="the reading")
    rows = influx_rows(influxd.url, "SELECT * FROM reading GROUP BY *")
    assert (rows[0]["district"], rows[0]["area"]) == ("malir", "model-colony")


def test_unknown_node_is_stored_and_listed_as_pending_in_unassigned(hub, influxd, pub):
    pub.send("roshni/v1/khi-new-0007/reading", reading("khi-new-0007", 1))
    wait_for(lambda: stored_count(influxd) == 1, what="the pending node's reading")
    # InfluxDB has the reading before the batch's state commits: wait for the commit
    row = wait_for(lambda: node_row(hub, "khi-new-0007"), what="the node in the registry")
    assert row["state"] == "pending"
    assert row["district_id"] == "unassigned"
    wait_for(lambda: metrics(hub.url)['roshni_nodes{state="pending"}'] == 1,
             what="the pending node counted")


def test_a_repeated_reading_is_stored_once(hub, influxd, pub):
    r = reading("khi-kor-0100", 7)
    for _ in range(3):
        pub.send("roshni/v1/khi-kor-0100/reading", r)
    # a replay batch that overlaps what was already sent; seq 6, below the mark, was not
    # stored yet: with several workers "below the mark" no longer means "stored"
    batch = [reading("khi-kor-0100", s, r["ts"] + (s - 7) * 60) for s in (6, 7, 8)]
    pub.send("roshni/v1/khi-kor-0100/reading", batch)
    wait_for(lambda: metrics(hub.url)["roshni_readings_received_total"] == 6,
             what="all six readings received")
    m = metrics(hub.url)
    assert m["roshni_readings_stored_total"] == 3  # seq 7, 6 and 8
    assert m["roshni_readings_duplicate_total"] == 3  # 7 twice more, then 7 again
    assert stored_count(influxd) == 3


def test_a_node_counting_seq_and_sessions_in_milliseconds_is_stored_and_deduplicated(
        hub, influxd, pub):
    """Other firmware may number its readings and connections by the clock in ms: past
    32 bits, which PostgreSQL's INTEGER would refuse, jamming ingest on the batch."""
    node = "khi-ms-0001"
    seq = int(time.time() * 1000)
    pub.send(f"roshni/v1/{node}/status", {"v": 1, "state": "online", "session": seq,
                                          "ts": time.time(), "fw": "other-1.0"})
    r = reading(node, seq)
    pub.send(f"roshni/v1/{node}/reading", r)
    pub.send(f"roshni/v1/{node}/reading", r)  # again: a duplicate
    pub.send(f"roshni/v1/{node}/reading", reading(node, seq + 60_000, r["ts"] + 60))
    wait_for(lambda: metrics(hub.url)["roshni_readings_received_total"] == 3,
             what="the three readings received")
    wait_for(lambda: metrics(hub.url)["roshni_readings_stored_total"] == 2,
             what="the two new readings committed")
    assert metrics(hub.url)["roshni_readings_duplicate_total"] == 1
    assert node_row(hub, node)["session"] == seq


def test_implausible_clock_is_stored_at_receive_time_and_counted(hub, influxd, pub):
    roshni(hub, "provision", "khi-eas-0003", "--district", "east", "--area", "Gulshan",
           "--lat", "24.92", "--lon", "67.09")
    before = time.time()
    pub.send("roshni/v1/khi-eas-0003/reading",
             reading("khi-eas-0003", 1, before + 3600))  # an hour in the future
    pub.send("roshni/v1/khi-eas-0003/reading",
             reading("khi-eas-0003", 2, 1_500_000_000.0))  # 2017: before provisioning
    wait_for(lambda: stored_count(influxd) == 2, what="both readings stored")
    after = time.time()
    times = [r["time"] / 1e6 for r in influx_rows(influxd.url, "SELECT * FROM reading")]
    assert all(before - 1 <= t <= after + 1 for t in times), times
    # counted once the batch's state has committed, which is after InfluxDB has it
    wait_for(lambda: metrics(hub.url)["roshni_clock_faults_total"] == 2,
             what="both clock faults counted")
    assert node_row(hub, "khi-eas-0003")["clock_faults"] == 2


BAD_MESSAGES = [
    ("not_json", "roshni/v1/khi-bad-0001/reading", b"lamp on, lux 3"),
    ("not_json", "roshni/v1/khi-bad-0001/reading", b"\xff\xfe\x00garbage"),
    ("wrong_type", "roshni/v1/khi-bad-0001/reading",
     {"v": 1, "node": "khi-bad-0001", "seq": "12", "ts": 1795370700.0}),
    ("wrong_type", "roshni/v1/khi-bad-0001/reading",
     {"v": 1, "node": "khi-bad-0001", "seq": 12, "ts": 1795370700.0, "lamp_on": "yes"}),
    ("wrong_type", "roshni/v1/khi-bad-0001/reading", b"42"),
    ("missing_field", "roshni/v1/khi-bad-0001/reading",
     {"v": 1, "node": "khi-bad-0001", "ts": 1795370700.0}),
    ("bad_timestamp", "roshni/v1/khi-bad-0001/reading",
     {"v": 1, "node": "khi-bad-0001", "seq": 13, "ts": 1e300}),
    ("bad_timestamp", "roshni/v1/khi-bad-0001/reading",
     {"v": 1, "node": "khi-bad-0001", "seq": 14, "ts": -5}),
    ("bad_value", "roshni/v1/khi-bad-0001/reading",
     {"v": 1, "node": "khi-bad-0001", "seq": 15, "ts": 1795370700.0, "footfall": -3}),
    ("unsupported_version", "roshni/v1/khi-bad-0001/reading",
     {"v": 2, "node": "khi-bad-0001", "seq": 16, "ts": 1795370700.0}),
    ("bad_node_id", "roshni/v1/khi-bad-0001/reading",
     {"v": 1, "node": "khi-+/#", "seq": 17, "ts": 1795370700.0}),
    ("bad_topic", "roshni/v1/KHI_Bad_01/reading",
     {"v": 1, "node": "khi-bad-0001", "seq": 18, "ts": 1795370700.0}),
    ("bad_topic", "roshni/v1/khi-bad-0001/telemetry",
     {"v": 1, "node": "khi-bad-0001", "seq": 18, "ts": 1795370700.0}),
    ("node_mismatch", "roshni/v1/khi-bad-0001/reading",
     {"v": 1, "node": "khi-oth-0002", "seq": 19, "ts": 1795370700.0}),
    ("oversized", "roshni/v1/khi-bad-0001/reading", b"[" + b" " * 70_000 + b"]"),
    ("empty_batch", "roshni/v1/khi-bad-0001/reading", b"[]"),
    ("wrong_type", "roshni/v1/khi-bad-0001/status", {"v": 1, "state": "online",
                                                     "session": "3"}),
]


def test_each_kind_of_bad_message_is_dead_lettered_with_its_reason_and_ingest_goes_on(
        hub, influxd, pub):
    for _, topic, payload in BAD_MESSAGES:
        pub.send(topic, payload)
    # a replay batch with one bad reading among good ones: the good ones are kept
    good_and_bad = [reading("khi-bad-0001", 20), {"v": 1, "node": "khi-bad-0001", "seq": 21},
                    reading("khi-bad-0001", 22)]
    pub.send("roshni/v1/khi-bad-0001/reading", good_and_bad)
    pub.send("roshni/v1/khi-ok-0001/reading", reading("khi-ok-0001", 1))

    wait_for(lambda: stored_count(influxd) == 3, what="the three good readings")
    expected = len(BAD_MESSAGES) + 1
    wait_for(lambda: len(dead_letters(hub)) >= expected,
             what="every bad message in the dead-letter store")
    letters = dead_letters(hub)
    got = sorted(d["reason"] for d in letters)
    assert got == sorted([r for r, _, _ in BAD_MESSAGES] + ["missing_field"])
    # each is kept with something a person can act on
    for d in letters:
        assert d["detail"]
        assert d["payload"]
    mismatch = next(d for d in letters if d["reason"] == "node_mismatch")
    assert "khi-oth-0002" in mismatch["detail"]
    m = metrics(hub.url)
    assert m['roshni_readings_rejected_total{reason="not_json"}'] == 2
    assert m['roshni_readings_rejected_total{reason="bad_topic"}'] == 2
    assert sum(v for k, v in m.items()
               if k.startswith("roshni_readings_rejected_total")) == len(letters)
    assert influx_rows(influxd.url, "SELECT seq FROM reading WHERE node = 'khi-bad-0001'") \
        and sorted(r["seq"] for r in influx_rows(
            influxd.url, "SELECT seq FROM reading WHERE node = 'khi-bad-0001'")) == [20, 22]


def test_one_node_flooding_junk_cannot_fill_the_hubs_disk(tmp_path, mosquitto, influxd,
                                                          pg_url, pub):
    """Each dead letter keeps its reason and a bounded prefix of the payload; one node's
    keep at most its budget (its oldest dropped and counted); every rejection is counted.
    On PostgreSQL, the backend several hub workers share (the SQL is the same on SQLite)."""
    db_url = pg_url
    env = {**hub_env(mosquitto, influxd), "ROSHNI_DB__URL": db_url,
           "ROSHNI_INGEST__DEAD_LETTERS_PER_NODE": "25",
           "ROSHNI_INGEST__DEAD_LETTER_PAYLOAD_BYTES": "512"}
    with HubProcess(tmp_path / "hub", env) as hub:
        pub.send("roshni/v1/khi-oth-0001/reading", b"{one honest mistake")
        junk = 60
        for i in range(junk):
            pub.send("roshni/v1/khi-bad-0001/reading", b"{junk %04d " % i + b"x" * 30_000)
        wait_for(lambda: sum(v for k, v in metrics(hub.url).items()
                             if k.startswith("roshni_readings_rejected_total{")) == junk + 1,
                 what="every junk message counted as rejected")
        engine = create_engine(db_url)
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT node_id, reason, detail, payload FROM dead_letters ORDER BY id"
            )).mappings().all()
        engine.dispose()
        m = metrics(hub.url)
    flood = [r for r in rows if r["node_id"] == "khi-bad-0001"]
    assert len(flood) == 25, "one node's dead letters are not held to its budget"
    assert [bytes(r["payload"])[:10] for r in flood] == [
        b"{junk %04d" % i for i in range(junk - 25, junk)], "not the newest that were kept"
    assert all(len(r["payload"]) <= 512 and r["reason"] == "not_json" for r in flood)
    assert "30011 bytes" in flood[0]["detail"], "the payload's real size is not told"
    assert [r["node_id"] for r in rows if r["node_id"] != "khi-bad-0001"] == ["khi-oth-0001"]
    assert m["roshni_dead_letters_dropped_total"] == junk - 25


def test_dead_letters_are_listed_for_the_operator(hub, pub):
    pub.send("roshni/v1/khi-bad-0001/reading", b"{not json")
    wait_for(lambda: dead_letters(hub), what="a dead letter")
    out = roshni(hub, "hub", "dead-letters").stdout
    assert "not_json" in out and "roshni/v1/khi-bad-0001/reading" in out and "{not json" in out


def test_late_will_from_an_old_session_does_not_mark_a_reconnected_node_offline(hub, pub):
    node = "khi-sou-0009"
    status = f"roshni/v1/{node}/status"
    pub.send(status, {"v": 1, "state": "online", "session": 4, "ts": time.time(),
                      "fw": "1.0", "profile": "pi-zero-2w"}, retain=True)
    pub.send(status, {"v": 1, "state": "offline", "session": 5, "reason": "lost"})
    pub.send(status, {"v": 1, "state": "online", "session": 6, "ts": time.time(),
                      "fw": "1.0", "profile": "pi-zero-2w"}, retain=True)
    # the will of session 5's dead connection, delivered late by the broker
    pub.send(status, {"v": 1, "state": "offline", "session": 5, "reason": "lost"})
    wait_for(lambda: metrics(hub.url)["roshni_status_stale_total"] == 1,
             what="the late will to be seen")
    row = node_row(hub, node)
    assert (row["status"], row["session"]) == ("online", 6)
    # a clean stop of the current session does mark it offline
    pub.send(status, {"v": 1, "state": "offline", "session": 6, "reason": "shutdown"})
    wait_for(lambda: node_row(hub, node)["status"] == "offline", what="clean stop")
    assert node_row(hub, node)["status_reason"] == "shutdown"


def test_healthz_reports_broker_and_influx_state(hub):
    body = wait_for(lambda: (b := __import__("tests.support", fromlist=["get_json"])
                             .get_json(f"{hub.url}/healthz")) and b[0] == 200 and b,
                    what="healthy hub")
    assert body[1]["mqtt"] == "connected"
    assert body[1]["influx"] == "ok"
