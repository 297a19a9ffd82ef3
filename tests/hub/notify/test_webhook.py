"""Signed webhooks through the durable outbox, against a real HTTP receiver."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.metrics import Metrics
from hub.models import Outbox
from hub.notify import NotifySettings, Subscriber, enqueue
from hub.notify.service import Notifier
from hub.spots import SpotSettings
from tests.hub.notify.kit import SECRET, T0, Clock, WebhookReceiver, lamp_out, state_db
from tests.support import wait_for

TZ = SpotSettings().tz


@pytest.fixture
def receiver():
    r = WebhookReceiver()
    yield r
    r.close()


def committee_hook(receiver: WebhookReceiver, **extra) -> Subscriber:
    return Subscriber(name="korangi-5-committee", channel="webhook", url=receiver.url,
                      secret=SECRET, audience=["committee"], areas=["Korangi 5"], **extra)


def settings(*subscribers: Subscriber, **extra) -> NotifySettings:
    return NotifySettings(subscribers=list(subscribers), retry_initial_s=10, retry_factor=2,
                          retry_max_s=120, **extra)


def test_a_receiver_down_for_ten_minutes_gets_every_notification_once_signed_in_order(
        db_url, receiver):
    engine = state_db(db_url)
    cfg = settings(committee_hook(receiver))
    clock = Clock()
    metrics = Metrics()
    worker = Notifier(engine, cfg, TZ, metrics=metrics, clock=clock).outbox
    with engine.begin() as conn:
        for ticket in range(1, 6):
            assert enqueue(conn, lamp_out(conn, "khi-kor-0042", ticket)) == 1

    # Down (connection refused) for 5 minutes, then 503 for 5 more, then up; two more
    # notifications arrive while it is down. The worker's clock moves a second at a time.
    for second in range(0, 15 * 60 + 1):
        clock.t = T0 + second
        if second == 300:
            receiver.listen("unavailable")
        if second == 600:
            receiver.state = "up"
        if second == 180:
            with engine.begin() as conn:
                for ticket in (6, 7):
                    enqueue(conn, lamp_out(conn, "khi-kor-0043", ticket))
        worker.run_once()

    keys = [f"alert_opened:{t}" for t in range(1, 8)]
    assert [b["key"] for b in receiver.received] == keys  # each once, in order
    assert receiver.bad_signatures == 0
    # One attempt per backoff step, not one per notification: 0, 10, 30, 70, 150, then
    # every 120 s (the cap); the receiver saw those that fell in its 503 phase.
    schedule, t, delay = [], 0, 10
    while t <= 15 * 60:
        schedule.append(t)
        t, delay = t + delay, min(delay * 2, 120)
    assert schedule[:6] == [0, 10, 30, 70, 150, 270]
    refused = [ts - T0 for ts, _, status in receiver.attempts if status == 503]
    assert refused == [s for s in schedule if 300 <= s < 600]
    back = next(s for s in schedule if s >= 600)
    assert {b["sent_at"] - T0 for b in receiver.received} == {back}

    with engine.connect() as conn:
        rows = conn.execute(select(Outbox.delivered_at, Outbox.attempts)
                            .order_by(Outbox.id)).all()
    assert all(r.delivered_at == T0 + back for r in rows)
    failures = len([s for s in schedule if s < back])
    assert [r.attempts for r in rows] == [failures + 1] + [1] * 6
    sample = metrics.registry.get_sample_value
    assert sample("roshni_notifications_sent_total", {"channel": "webhook"}) == 7
    assert sample("roshni_notifications_failed_total", {"channel": "webhook"}) == failures
    assert sample("roshni_notifications_pending") == 0


def test_a_webhook_body_names_the_place_and_the_ticket_and_is_signed(db_url, receiver):
    engine = state_db(db_url)
    worker = Notifier(engine, settings(committee_hook(receiver)), TZ, clock=Clock()).outbox
    receiver.listen()
    with engine.begin() as conn:
        enqueue(conn, lamp_out(conn, "khi-kor-0042", 34, kind="ticket_opened"))
    worker.run_once()

    (body,) = receiver.received
    assert body["kind"] == "ticket_opened" and body["key"] == "ticket_opened:34"
    assert body["body"]["place"] == {
        "node": "khi-kor-0042", "pole": "K5-117", "lat": 24.83, "lon": 67.13,
        "area": "Korangi 5", "area_id": "korangi-5", "district": "korangi",
        "district_name": "Korangi"}
    assert body["body"]["ticket_id"] == 34 and body["body"]["link"] == "/tickets/34"
    # The receiver recomputed the HMAC over the raw body with its secret and accepted it.
    (ts, delivery, status), = receiver.attempts
    assert status == 204 and receiver.bad_signatures == 0
    assert delivery == body["delivery"] and ts == body["sent_at"] == T0


def test_a_receiver_with_another_secret_gets_nothing_it_would_accept(db_url):
    receiver = WebhookReceiver(secret="a-different-secret-entirely")
    try:
        engine = state_db(db_url)
        cfg = settings(committee_hook(receiver))
        clock = Clock()
        worker = Notifier(engine, cfg, TZ, clock=clock).outbox
        receiver.listen()
        with engine.begin() as conn:
            enqueue(conn, lamp_out(conn, "khi-kor-0042", 1))
        worker.run_once()
        assert receiver.received == [] and receiver.bad_signatures == 1
        with engine.connect() as conn:
            row = conn.execute(select(Outbox.delivered_at, Outbox.last_error)).one()
        assert row.delivered_at is None and "401" in row.last_error  # kept, will retry
    finally:
        receiver.close()


def test_a_refused_notification_does_not_hold_back_the_others(db_url, receiver):
    engine = state_db(db_url)
    clock = Clock()
    worker = Notifier(engine, settings(committee_hook(receiver)), TZ, clock=clock).outbox
    receiver.listen()
    receiver.refuse_keys = {"alert_opened:1"}
    with engine.begin() as conn:
        for ticket in (1, 2, 3):
            enqueue(conn, lamp_out(conn, "khi-kor-0042", ticket))
    worker.run_once()
    assert [b["key"] for b in receiver.received] == ["alert_opened:2", "alert_opened:3"]

    receiver.refuse_keys = set()  # the committee fixed its receiver
    clock.t += 5
    worker.run_once()
    assert len(receiver.received) == 2  # not due yet: backoff
    clock.t += 10
    worker.run_once()
    assert receiver.keys() == {"alert_opened:1": 1, "alert_opened:2": 1, "alert_opened:3": 1}


def test_the_worker_thread_delivers_on_its_own(db_url, receiver):
    engine = state_db(db_url)
    # Real clock: no digest, which would come at 07:00 Karachi time whenever that is.
    notifier = Notifier(engine, settings(committee_hook(receiver, digest=False), poll_s=0.05),
                        TZ)
    receiver.listen()
    notifier.start()
    try:
        with engine.begin() as conn:
            enqueue(conn, lamp_out(conn, "khi-kor-0042", 1))
        wait_for(lambda: receiver.received, timeout=10, what="the webhook delivery")
    finally:
        notifier.stop()
    assert receiver.keys() == {"alert_opened:1": 1}


def test_a_restarted_worker_keeps_to_the_backoff(db_url, receiver):
    engine = state_db(db_url)
    clock = Clock()
    cfg = settings(committee_hook(receiver))
    receiver.listen("unavailable")
    first = Notifier(engine, cfg, TZ, clock=clock).outbox
    with engine.begin() as conn:
        for ticket in (1, 2, 3):
            enqueue(conn, lamp_out(conn, "khi-kor-0042", ticket))
    first.run_once()
    assert [(ts - T0, status) for ts, _, status in receiver.attempts] == [(0, 503)]

    # A new hub process (or a second worker) knows nothing of the first one's backoff
    # but the outbox: it waits for the next step too.
    other = Notifier(engine, cfg, TZ, clock=clock).outbox
    for _ in range(9):
        clock.t += 1
        other.run_once()
    assert len(receiver.attempts) == 1
    clock.t += 1
    receiver.state = "up"
    other.run_once()
    assert [(ts - T0, status) for ts, _, status in receiver.attempts] == [
        (0, 503), (10, 204), (10, 204), (10, 204)]
