"""E-mails and the daily digest go out in the subscriber's language: a committee or a
depot that reads Urdu gets its alerts, the sensor's notes, times and digest in Urdu,
through a real SMTP server; names, ids and links stay as they are."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from hub.notify import NotifySettings, SmtpSettings, Subscriber, enqueue, render
from hub.notify.digest import build
from hub.notify.service import Notifier
from hub.spots import SpotSettings
from tests.hub.notify.kit import Clock, SmtpSink, lamp_out, state_db

TZ = SpotSettings().tz


DEPOT = Subscriber(name="korangi-depot-ur", channel="email", address="depot@dmc.example.pk",
                   audience=["crew"], districts=["korangi"], language="ur")
COMMITTEE = Subscriber(name="k5-committee-ur", channel="email", address="k5@cplc.example.pk",
                       audience=["committee"], areas=["Korangi 5"], language="ur")


def settings(port: int) -> NotifySettings:
    return NotifySettings(
        subscribers=[DEPOT, COMMITTEE],
        smtp=SmtpSettings(host="127.0.0.1", port=port, security="none",
                          from_address="roshni@hub.example.pk"),
        public_url="https://roshni.example.pk")


def test_an_urdu_depot_gets_its_ticket_email_in_urdu(db_url):
    sink = SmtpSink().start()
    try:
        engine = state_db(db_url)
        notifier = Notifier(engine, settings(sink.port), TZ, clock=Clock())
        with engine.begin() as conn:
            n = lamp_out(conn, "khi-kor-0042", 34, kind="ticket_reopened", audience="crew")
            n.body["note"] = "the fault is still there 30 min after the ticket was marked fixed"
            enqueue(conn, n)
        notifier.outbox.run_once()
    finally:
        sink.stop()
    (msg,) = sink.messages
    assert msg["Subject"].startswith("مرمت کا ٹکٹ دوبارہ کھلا")
    assert "Korangi 5" in msg["Subject"]
    text = msg.get_content()
    assert "بتی بند (اندھیرا) [lamp_out]" in text
    assert "Korangi 5، ضلع" in text and "K5-117" in text
    # the sensor's note in Urdu, the time on the 24-hour clock with an Urdu month
    assert "ٹکٹ کو ٹھیک قرار دینے کے 30 منٹ بعد بھی خرابی موجود ہے" in text
    assert "مارچ 2026، 19:53 PKT" in text
    assert "SLA due" not in text and "Place:" not in text and " PM" not in text
    assert "https://roshni.example.pk/tickets/34" in text


def test_the_urdu_digest_is_in_urdu_and_the_english_one_unchanged(db_url):
    engine = state_db(db_url)
    ur = COMMITTEE
    en = ur.model_copy(update={"language": "en"})
    with engine.connect() as conn:
        n = asdict(build(conn, ur, dt.date(2026, 3, 14), Clock()()))
    s = settings(1)
    urdu = render.digest_text(render.Text(s, TZ, "ur"), ur, n)
    english = render.digest_text(render.Text(s, TZ, "en"), en, n)
    assert urdu.startswith("روشنی کا روزانہ خلاصہ: Korangi 5، 2026-03-14")
    assert "تاخیر والے مرمت کے ٹکٹ" in urdu and "Repair tickets" not in urdu
    assert english.startswith("Roshni daily digest for Korangi 5, 2026-03-14")
    assert render.subject(render.Text(s, TZ, "ur"), n).startswith("روشنی روزانہ خلاصہ")
