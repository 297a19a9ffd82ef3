"""The running hub: dark readings over MQTT become a live unsafe-spot score, and what is
enqueued in its database reaches a subscriber's webhook."""

from __future__ import annotations

import json
import time

from astral import Observer
from astral.sun import elevation
from sqlalchemy import create_engine, select

from hub.db import make_engine
from hub.models import SpotScore
from hub.notify import NotifySettings, Subscriber, bind, enqueue
from hub.supervise import HubProcess
from tests.hub.conftest import hub_env, roshni
from tests.hub.notify.kit import SECRET, WebhookReceiver, lamp_out
from tests.support import Publisher, metrics, reading, wait_for


def where_it_is_night_now(lat: float = 24.86) -> float:
    """A longitude at Karachi's latitude where the sun is now far below the horizon: the
    hub must judge night by the node's coordinates, and the test cannot wait for dusk."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    lon = min(range(-180, 180, 5), key=lambda lon: elevation(Observer(lat, lon), now))
    assert elevation(Observer(lat, lon), now) < -30
    return float(lon)


def test_dark_readings_score_live_and_the_outbox_reaches_a_webhook(tmp_path, mosquitto,
                                                                   influxd):
    receiver = WebhookReceiver()
    receiver.listen()
    committee = dict(name="night-side-committee", channel="webhook", url=receiver.url,
                     secret=SECRET, audience=["committee"], areas=["Night Side"],
                     digest=False)
    env = hub_env(mosquitto, influxd)
    env["ROSHNI_NOTIFY__SUBSCRIBERS"] = json.dumps([committee])
    env["ROSHNI_NOTIFY__POLL_S"] = "0.1"
    # The lamp stands wherever on Karachi's latitude it is night now: its hub serves the
    # whole band, not Karachi's default service area.
    env |= {"ROSHNI_SERVICE_AREA__WEST": "-180", "ROSHNI_SERVICE_AREA__EAST": "180"}
    pub = Publisher(mosquitto.host, mosquitto.port)
    try:
        with HubProcess(tmp_path / "hub", env) as hub:
            lon = where_it_is_night_now()
            roshni(hub, "provision", "khi-ngt-0001", "--district", "korangi", "--area",
                   "Night Side", "--lat", "24.86", "--lon", str(lon), "--pole", "N-1")
            t0 = time.time()
            for seq, (lamp_on, footfall) in enumerate(
                    [(False, 4), (False, 6), (True, 50), (False, 2)], start=1):
                pub.send("roshni/v1/khi-ngt-0001/reading",
                         reading("khi-ngt-0001", seq, t0 + 60 * seq, lamp_on=lamp_on,
                                 footfall=footfall, interval_s=60))

            url = f"sqlite:///{hub.workdir / 'data' / 'hub.db'}"
            db = create_engine(url)

            def score():
                with db.connect() as conn:
                    row = conn.execute(select(SpotScore.dark_minutes, SpotScore.exposure,
                                              SpotScore.score)).first()
                return tuple(row) if row else None

            # The four readings may be stored in more than one batch: the score counts them
            # as they come, three dark minutes with 12 people in the end.
            wait_for(lambda: score() == (3.0, 12.0, 12.0), what="the night's score")
            assert score() == (3.0, 12.0, 12.0)
            db.dispose()

            # The rules engine enqueues in the hub's database; the hub delivers.
            engine = make_engine(url)
            bind(engine, NotifySettings(subscribers=[Subscriber(**committee)]))
            with engine.connect() as conn:
                alert = lamp_out(conn, "khi-ngt-0001", 1)
            # a transaction that only writes: the hub is writing to the same SQLite file
            with engine.begin() as conn:
                assert enqueue(conn, alert) == 1
            engine.dispose()
            wait_for(lambda: receiver.received, what="the webhook delivery")
            assert receiver.keys() == {"alert_opened:1": 1} and receiver.bad_signatures == 0
            assert receiver.received[0]["body"]["place"]["pole"] == "N-1"
            m = wait_for(lambda: (m := metrics(hub.url))
                         and m['roshni_notifications_sent_total{channel="webhook"}'] == 1
                         and m, what="the metrics")
            assert m["roshni_notifications_pending"] == 0
    finally:
        pub.close()
        receiver.close()
