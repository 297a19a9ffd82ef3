"""Registering nodes (hub.registry.provision, behind `roshni provision` and the nodes API)
on each state backend: what is refused is refused the same way on both."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from hub.db import make_engine, migrate
from hub.models import Area, Node
from hub.registry import Registry, provision

PLACE = dict(district="korangi", area="Korangi 5", lat=24.83, lon=67.13)


@pytest.fixture
def db(db_url) -> Engine:
    migrate(db_url)
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def nodes(db: Engine) -> dict[str, tuple]:
    with db.connect() as conn:
        return {r[0]: tuple(r[1:]) for r in conn.execute(
            select(Node.id, Node.area_id, Node.feeder, Node.pole))}


def test_a_node_is_registered_with_its_feeder_as_a_slug_and_re_registered_without(db):
    provision(db, "khi-kor-0001", **PLACE, pole="K5-01", feeder="KE Korangi 12")
    assert nodes(db) == {"khi-kor-0001": ("korangi-5", "ke-korangi-12", "K5-01")}
    provision(db, "khi-kor-0001", **PLACE, pole="K5-01")  # the feeder is not known after all
    assert nodes(db) == {"khi-kor-0001": ("korangi-5", None, "K5-01")}


@pytest.mark.parametrize(("change", "message"), [
    ({"pole": "K5-" + "9" * 40}, "pole 'K5-999"),
    ({"area": "Korangi " + "x" * 100}, "area name 'Korangi xxx.*longer than 100"),
    ({"area": "Korangi " + "x" * 60}, "area id 'korangi-xxx.*longer than 64"),
    ({"feeder": "F" * 65}, "feeder 'fff.*longer than 64"),
    ({"feeder": "--"}, "feeder name '--' has no letters or digits"),
])
def test_what_a_column_cannot_hold_is_refused_with_a_reason_and_nothing_is_written(
        db, change, message):
    with pytest.raises(ValueError, match=message):
        provision(db, "khi-kor-0002", **{**PLACE, **change})
    assert nodes(db) == {}
    with db.connect() as conn:
        assert conn.execute(select(Area.id).where(Area.id.like("korangi-x%"))).all() == []


def test_the_nodes_gauge_follows_nodes_registered_heard_and_gone_offline(db):
    registry = Registry(db)
    assert registry.counts() == {}
    provision(db, "khi-kor-0001", **PLACE)
    provision(db, "khi-kor-0002", **PLACE)
    registry.refresh()
    heard = Registry.new_pending("khi-xxx-0009", 1_767_000_000.0)
    registry.apply([heard], {"khi-kor-0001": {"session": 1, "status": "online"}})
    assert registry.counts() == {"unknown": 1, "online": 1, "pending": 1}
    registry.apply([], {"khi-kor-0001": {"session": 1, "status": "offline"}})
    provision(db, "khi-xxx-0009", **PLACE)  # the technician assigns the node it heard
    registry.refresh()
    assert registry.counts() == {"unknown": 2, "online": 0, "offline": 1, "pending": 0}
