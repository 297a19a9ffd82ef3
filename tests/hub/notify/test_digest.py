"""The daily digest per committee: dark spots last night, tickets overdue, repairs
verified; sent once per day."""

from __future__ import annotations

import json

from sqlalchemy import insert

from hub.models import Ticket
from hub.notify import NotifySettings, SmtpSettings, Subscriber
from hub.notify.digest import DigestScheduler
from hub.notify.service import Notifier
from hub.spots import SpotScorer, SpotSettings
from tests.hub.notify.kit import (
    SECRET,
    Clock,
    SmtpSink,
    WebhookReceiver,
    local,
    minutes,
    score_readings,
    state_db,
)

TZ = SpotSettings().tz


def ticket(id: int, node: str, district: str, area: str, status: str, sla_due: float,
           verified_at: float | None = None) -> dict:
    return dict(id=id, node_id=node, district_id=district, area_id=area, fault="lamp_out",
                status=status, priority=1, opened_at=sla_due - 86400, sla_due=sla_due,
                verified_at=verified_at, evidence="[]", updated_at=sla_due - 86400)


def test_a_committee_digest_lists_its_dark_spots_overdue_and_verified_repairs_once_a_day(
        db_url):
    engine = state_db(db_url)
    # Last night (Friday 13th): two dark lamps in Korangi 5, one in Landhi, one in Malir.
    score_readings(engine, SpotScorer(SpotSettings()), [
        *minutes("khi-kor-0042", local("2026-03-13", "23:00"), 60, lamp_on=False, footfall=3),
        *minutes("khi-kor-0043", local("2026-03-14", "02:00"), 30, lamp_on=False, footfall=1),
        *minutes("khi-lan-0007", local("2026-03-13", "22:00"), 30, lamp_on=False, footfall=9),
        *minutes("khi-mal-0001", local("2026-03-13", "21:00"), 30, lamp_on=False, footfall=9),
    ])
    digest_at = local("2026-03-14", "07:00")
    with engine.begin() as conn:
        conn.execute(insert(Ticket), [
            ticket(1, "khi-kor-0042", "korangi", "korangi-5", "assigned", digest_at - 3600),
            ticket(2, "khi-kor-0043", "korangi", "korangi-5", "verified", digest_at - 7200,
                   verified_at=local("2026-03-13", "22:00")),
            ticket(3, "khi-mal-0001", "malir", "model-colony", "open", digest_at - 3600),
            ticket(4, "khi-kor-0042", "korangi", "korangi-5", "open", digest_at + 3600),
            ticket(5, "khi-kor-0043", "korangi", "korangi-5", "verified", digest_at - 9e5,
                   verified_at=digest_at - 3 * 86400),
            ticket(6, "khi-kor-0043", "korangi", "korangi-5", "fixed", digest_at - 3600),
        ])

    sink = SmtpSink().start()
    malir = WebhookReceiver()
    malir.listen()
    try:
        cfg = NotifySettings(
            subscribers=[
                Subscriber(name="korangi-5-committee", channel="email",
                           address="cplc-korangi5@example.pk", audience=["committee"],
                           areas=["Korangi 5"]),
                Subscriber(name="malir-committee", channel="webhook", url=malir.url,
                           secret=SECRET, audience=["committee"], districts=["malir"]),
                Subscriber(name="landhi-quiet", channel="webhook", url=malir.url,
                           secret=SECRET, audience=["committee"], areas=["Landhi"],
                           digest=False),
                Subscriber(name="dmc-korangi", channel="webhook", url=malir.url,
                           secret=SECRET, audience=["crew"], districts=["korangi"]),
            ],
            smtp=SmtpSettings(host="127.0.0.1", port=sink.port, security="none"),
            digest_time="07:00", public_url="https://roshni.example.pk")
        clock = Clock(local("2026-03-14", "06:59"))
        notifier = Notifier(engine, cfg, TZ, clock=clock)
        assert notifier.digest.run_once() == 0  # not yet
        clock.t = digest_at
        assert notifier.digest.run_once() == 2  # the two committees that want one
        notifier.outbox.run_once()
        clock.t = local("2026-03-14", "07:30")
        assert notifier.digest.run_once() == 0
        # a restarted hub does not send today's digest again
        restarted = DigestScheduler(engine, cfg, TZ, clock=clock)
        clock.t = local("2026-03-14", "08:00")
        assert restarted.run_once() == 0
        notifier.outbox.run_once()

        assert len(sink.messages) == 1
        (msg,) = sink.messages
        text = msg.get_content()
        assert msg["Subject"] == "Roshni digest 2026-03-14: 2 dark spots, 1 overdue, 1 repaired"
        spots = text.split("Dark spots last night (2026-03-13): 2, most unsafe first\n")[1]
        assert spots.index("pole K5-117 (node khi-kor-0042): dark 60 min, 180 people passed") \
            < spots.index("pole K5-118 (node khi-kor-0043): dark 30 min, 30 people passed")
        assert "query=24.830000,67.130000" in text
        assert ("Repair tickets overdue: 1\n  #1 Lamp out (dark spot) at Korangi 5, Korangi "
                "district, pole K5-117 (node khi-kor-0042): priority 1, "
                "SLA due Sat 14 Mar 2026 06:00 PKT, status assigned") in text
        assert ("Repairs verified by the sensors: 1\n  #2 Lamp out (dark spot) at Korangi 5, "
                "Korangi district, pole K5-118 (node khi-kor-0043): "
                "verified Fri 13 Mar 2026 22:00 PKT") in text
        # nothing from other areas, nothing not yet due, nothing verified days ago
        for absent in ("Landhi", "Model Colony", "L-07", "MC-01", "#3", "#4", "#5", "#6"):
            assert absent not in text

        (malir_digest,) = malir.received
        body = malir_digest["body"]
        assert malir_digest["kind"] == "digest" and malir_digest["key"] == "digest:2026-03-14"
        assert [s["node"] for s in body["dark_spots"]] == ["khi-mal-0001"]
        assert [t["id"] for t in body["overdue"]] == [3] and body["verified"] == []

        # The next morning, the next digest.
        clock.t = local("2026-03-15", "07:05")
        assert notifier.digest.run_once() == 2
        notifier.outbox.run_once()
        assert len(sink.messages) == 2
        assert "Dark spots last night (2026-03-14): none" in sink.messages[1].get_content()
        assert json.dumps(malir.keys()) == json.dumps(
            {"digest:2026-03-14": 1, "digest:2026-03-15": 1})
    finally:
        sink.stop()
        malir.close()
