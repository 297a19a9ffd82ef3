"""Who gets what is configuration: committees by area, crews by district, technicians for
node faults; an event enqueued twice goes out once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.config import HubSettings
from hub.models import Outbox
from hub.notify import NotifySettings, Subscriber, enqueue
from hub.notify.service import Notifier
from hub.spots import SpotSettings
from protocol.settings import ConfigError
from tests.hub.notify.kit import SECRET, Clock, WebhookReceiver, lamp_out, state_db

TZ = SpotSettings().tz


@pytest.fixture
def receivers():
    made: dict[str, WebhookReceiver] = {}

    def make(name: str) -> WebhookReceiver:
        made[name] = WebhookReceiver()
        made[name].listen()
        return made[name]

    yield make
    for r in made.values():
        r.close()


def hook(name: str, r: WebhookReceiver, **scope) -> Subscriber:
    return Subscriber(name=name, channel="webhook", url=r.url, secret=SECRET, **scope)


def test_each_subscriber_gets_its_own_areas_district_and_audience(db_url, receivers):
    korangi5 = receivers("korangi5")
    malir = receivers("malir")
    crew_korangi = receivers("crew_korangi")
    crew_malir = receivers("crew_malir")
    techs = receivers("techs")
    cfg = NotifySettings(subscribers=[
        hook("korangi-5-committee", korangi5, audience=["committee"], areas=["Korangi 5"]),
        hook("malir-committee", malir, audience=["committee"], districts=["malir"]),
        hook("dmc-korangi", crew_korangi, audience=["crew"], districts=["korangi"]),
        hook("dmc-malir", crew_malir, audience=["crew"], districts=["Malir"]),
        hook("technicians", techs, audience=["technician"]),
    ])
    engine = state_db(db_url)
    notifier = Notifier(engine, cfg, TZ, clock=Clock())
    with engine.begin() as conn:
        # A lamp out in Korangi 5: the committee's alert and the crew's ticket.
        enqueue(conn, lamp_out(conn, "khi-kor-0042", 1))
        enqueue(conn, lamp_out(conn, "khi-kor-0042", 1, kind="ticket_opened", audience="crew"))
        # Landhi is Korangi district but not Korangi 5.
        enqueue(conn, lamp_out(conn, "khi-lan-0007", 2))
        enqueue(conn, lamp_out(conn, "khi-lan-0007", 2, kind="ticket_opened", audience="crew"))
        # Malir.
        enqueue(conn, lamp_out(conn, "khi-mal-0001", 3))
        enqueue(conn, lamp_out(conn, "khi-mal-0001", 3, kind="ticket_opened", audience="crew"))
        # A node offline in Malir is for technicians only.
        enqueue(conn, lamp_out(conn, "khi-mal-0001", 4, kind="alert_opened",
                               audience="technician", rule="node_offline"))
    notifier.outbox.run_once()

    assert set(korangi5.keys()) == {"alert_opened:1"}
    assert set(malir.keys()) == {"alert_opened:3"}
    assert set(crew_korangi.keys()) == {"ticket_opened:1", "ticket_opened:2"}
    assert set(crew_malir.keys()) == {"ticket_opened:3"}
    assert set(techs.keys()) == {"alert_opened:4"}
    assert all(body["body"]["place"]["district"] == "malir"
               for body in crew_malir.received + malir.received)


def test_kinds_narrow_what_a_subscriber_gets(db_url, receivers):
    r = receivers("r")
    cfg = NotifySettings(subscribers=[hook(
        "korangi-escalations", r, audience=["committee", "crew"], districts=["korangi"],
        kinds=["sla_missed"])])
    engine = state_db(db_url)
    notifier = Notifier(engine, cfg, TZ, clock=Clock())
    with engine.begin() as conn:
        enqueue(conn, lamp_out(conn, "khi-kor-0042", 1))
        enqueue(conn, lamp_out(conn, "khi-kor-0042", 1, kind="sla_missed", audience="crew"))
    notifier.outbox.run_once()
    assert set(r.keys()) == {"sla_missed:1"}


def test_the_same_event_enqueued_twice_is_delivered_once(db_url, receivers):
    r = receivers("r")
    cfg = NotifySettings(subscribers=[
        hook("korangi-5-committee", r, audience=["committee"], areas=["korangi-5"])])
    engine = state_db(db_url)
    notifier = Notifier(engine, cfg, TZ, clock=Clock())
    with engine.begin() as conn:
        assert enqueue(conn, lamp_out(conn, "khi-kor-0042", 1)) == 1
    notifier.outbox.run_once()
    # Again, e.g. from a batch re-evaluated after a crash, before and after delivery.
    with engine.begin() as conn:
        assert enqueue(conn, lamp_out(conn, "khi-kor-0042", 1)) == 0
    notifier.outbox.run_once()
    assert r.keys() == {"alert_opened:1": 1}


def test_an_enqueue_rolled_back_with_its_transaction_sends_nothing(db_url, receivers):
    r = receivers("r")
    cfg = NotifySettings(subscribers=[
        hook("korangi-5-committee", r, audience=["committee"], areas=["Korangi 5"])])
    engine = state_db(db_url)
    notifier = Notifier(engine, cfg, TZ, clock=Clock())
    with pytest.raises(RuntimeError), engine.begin() as conn:
        enqueue(conn, lamp_out(conn, "khi-kor-0042", 1))
        raise RuntimeError("the rules engine failed after deciding")
    notifier.outbox.run_once()
    assert r.received == []
    with engine.connect() as conn:
        assert conn.execute(select(Outbox.id)).all() == []


def test_incomplete_subscribers_are_refused_with_their_names(tmp_path):
    committee = """
[[notify.subscribers]]
name = "korangi-committee"
channel = "webhook"
url = "https://cplc.example.pk/roshni"
secret = "long-enough-secret-123"
audience = ["committee"]
"""
    crew = """
[[notify.subscribers]]
name = "dmc-east"
channel = "email"
address = "depot@dmc-east.example.pk"
audience = ["crew"]
districts = ["east"]
"""
    bad = tmp_path / "hub.toml"
    bad.write_text(committee)  # a committee without areas would hear about the whole city
    with pytest.raises(ConfigError) as err:
        HubSettings.load(bad)
    assert "korangi-committee" in str(err.value) and "areas" in str(err.value)

    bad.write_text(committee + 'areas = ["Korangi 5"]\n' + crew)
    with pytest.raises(ConfigError) as err:
        HubSettings.load(bad)
    assert "smtp.host" in str(err.value)

    bad.write_text(committee + 'areas = ["Korangi 5"]\n' + crew
                   + '[notify.smtp]\nhost = "mail.example.pk"\n')
    loaded = HubSettings.load(bad)
    assert loaded.notify.subscribers[0].areas == ["korangi-5"]
    assert loaded.notify.smtp.effective_port == 587  # STARTTLS unless told otherwise
