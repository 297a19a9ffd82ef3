"""E-mail through a real SMTP server (aiosmtpd): the message names the place, the fault
and the ticket, and survives the server being down."""

from __future__ import annotations

from sqlalchemy import select

from hub.broker.certs import make_certs
from hub.models import Outbox
from hub.notify import NotifySettings, SmtpSettings, Subscriber, enqueue
from hub.notify.service import Notifier
from hub.spots import SpotSettings
from tests.hub.notify.kit import Clock, SmtpSink, lamp_out, state_db

TZ = SpotSettings().tz


def depot(port: int, **smtp) -> NotifySettings:
    return NotifySettings(
        subscribers=[Subscriber(name="dmc-korangi-depot", channel="email",
                                address="depot@dmc-korangi.example.pk", audience=["crew"],
                                districts=["korangi"])],
        smtp=SmtpSettings(**{"host": "127.0.0.1", "port": port, "security": "none",
                             "from_address": "roshni@hub.example.pk", **smtp}),
        public_url="https://roshni.example.pk", retry_initial_s=10)


def test_a_ticket_email_names_the_place_the_fault_and_the_ticket(db_url):
    sink = SmtpSink().start()
    try:
        engine = state_db(db_url)
        notifier = Notifier(engine, depot(sink.port), TZ, clock=Clock())
        with engine.begin() as conn:
            enqueue(conn, lamp_out(conn, "khi-kor-0042", 34, kind="ticket_opened",
                                   audience="crew"))
        notifier.outbox.run_once()
    finally:
        sink.stop()

    (msg,) = sink.messages
    assert sink.envelopes == [("roshni@hub.example.pk", ["depot@dmc-korangi.example.pk"])]
    assert msg["To"] == "depot@dmc-korangi.example.pk"
    assert msg["Subject"] == "Lamp out: Korangi 5, pole K5-117"
    text = msg.get_content()
    # the place: area, district, pole and node, a map link with the coordinates
    assert "Korangi 5, Korangi district" in text
    assert "Pole:     K5-117 (node khi-kor-0042)" in text
    assert "https://www.google.com/maps/search/?api=1&query=24.830000,67.130000" in text
    # the fault and the ticket: id, priority, SLA due in local time, a link
    assert "Lamp out (dark spot)" in text
    assert "#34, priority 1, SLA due Sun 15 Mar 2026 19:53 PKT" in text
    assert "https://roshni.example.pk/tickets/34" in text
    # a resend after a crash carries the same Message-ID, so mail systems can drop it
    with engine.connect() as conn:
        row_id = conn.execute(select(Outbox.id)).scalar_one()
    assert msg["Message-ID"] == f"<roshni-outbox-{row_id}@hub.example.pk>"


def test_an_email_waits_for_the_smtp_server_and_goes_once(db_url):
    engine = state_db(db_url)
    sink = SmtpSink()  # not started yet: connection refused
    clock = Clock()
    notifier = Notifier(engine, depot(sink.port), TZ, clock=clock)
    with engine.begin() as conn:
        enqueue(conn, lamp_out(conn, "khi-kor-0042", 1, kind="ticket_opened", audience="crew"))
    notifier.outbox.run_once()
    with engine.connect() as conn:
        row = conn.execute(select(Outbox.delivered_at, Outbox.last_error)).one()
    assert row.delivered_at is None and "Connection" in row.last_error

    sink.start()
    try:
        clock.t += 5
        notifier.outbox.run_once()
        assert sink.messages == []  # backing off
        clock.t += 5
        notifier.outbox.run_once()
        clock.t += 600
        notifier.outbox.run_once()
    finally:
        sink.stop()
    assert len(sink.messages) == 1


def test_email_over_starttls_with_login(db_url, tmp_path):
    certs, _ = make_certs(tmp_path, [], ["127.0.0.1"], days=1)
    cert, key = certs.cert, certs.key
    sink = SmtpSink(tls=(cert, key), login=("roshni", "mail-password")).start()
    try:
        engine = state_db(db_url)
        cfg = depot(sink.port, security="starttls", ca_file=str(certs.ca_cert), username="roshni",
                    password="mail-password")
        notifier = Notifier(engine, cfg, TZ, clock=Clock())
        with engine.begin() as conn:
            enqueue(conn, lamp_out(conn, "khi-kor-0042", 7, kind="ticket_opened",
                                   audience="crew"))
        notifier.outbox.run_once()
    finally:
        sink.stop()
    (msg,) = sink.messages
    assert "#7, priority 1" in msg.get_content()
