"""The unsafe-spot score (DESIGN.md §6): footfall while the lamp is dark at night, weighted
near schools and bus stops and near the committee's incidents; ranked per area and
district."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.incidents import import_incidents
from hub.models import SpotScore
from hub.spots import Site, SpotScorer, SpotSettings, current_score, ranking
from tests.hub.notify.kit import local, minutes, score_readings, state_db


@pytest.fixture
def engine(db_url):
    e = state_db(db_url)
    yield e
    e.dispose()


def scores(engine) -> dict[tuple[str, str], tuple[float, float, float]]:
    with engine.connect() as conn:
        return {(r.node_id, r.night): (r.dark_minutes, r.exposure, r.score) for r in
                conn.execute(select(SpotScore))}


def dark_hour(node: str, footfall: int = 3, day: str = "2026-03-13", at: str = "23:00"):
    return minutes(node, local(day, at), 60, lamp_on=False, footfall=footfall)


def test_footfall_in_dark_minutes_counts_and_lit_or_daytime_minutes_do_not(engine):
    score_readings(engine, SpotScorer(SpotSettings()), [
        *minutes("khi-kor-0042", local("2026-03-13", "23:00"), 10, lamp_on=False, footfall=5),
        *minutes("khi-kor-0042", local("2026-03-13", "23:10"), 10, lamp_on=True, footfall=7),
        # after midnight: still the night of the 13th
        *minutes("khi-kor-0042", local("2026-03-14", "02:00"), 5, lamp_on=False, footfall=2),
        # the lamp off at 1 pm is daylight, not a dark spot
        *minutes("khi-kor-0042", local("2026-03-14", "13:00"), 10, lamp_on=False, footfall=9),
        # a node that cannot tell whether its lamp burns adds nothing
        *minutes("khi-kor-0043", local("2026-03-13", "23:00"), 10, lamp_on=None, footfall=9),
    ])
    assert scores(engine) == {("khi-kor-0042", "2026-03-13"): (15.0, 60.0, 60.0)}


def test_dusk_is_computed_at_the_node(engine):
    # Karachi's sunset on 13 March is about 18:40: a lamp off at 18:30 is daylight, at
    # 18:50 it is a dark spot.
    score_readings(engine, SpotScorer(SpotSettings()), [
        *minutes("khi-kor-0042", local("2026-03-13", "18:20"), 10, lamp_on=False, footfall=1),
        *minutes("khi-kor-0042", local("2026-03-13", "18:50"), 10, lamp_on=False, footfall=1),
    ])
    assert scores(engine) == {("khi-kor-0042", "2026-03-13"): (10.0, 10.0, 10.0)}


def test_batches_add_up_across_the_night(engine):
    scorer = SpotScorer(SpotSettings())
    for at in ("21:00", "22:00", "23:00"):
        score_readings(engine, scorer, dark_hour("khi-kor-0042", footfall=2, at=at))
    assert scores(engine) == {("khi-kor-0042", "2026-03-13"): (180.0, 360.0, 360.0)}


def test_a_lamp_near_a_school_outranks_an_identical_one_far_away(engine):
    school = Site(name="Govt Boys Secondary School Korangi 5", kind="school", lat=24.8302,
                  lon=67.1302, radius_m=150, weight=1.0)
    scorer = SpotScorer(SpotSettings(sites=[school]))
    score_readings(engine, scorer, [*dark_hour("khi-lan-0007"), *dark_hour("khi-kor-0042")])
    with engine.connect() as conn:
        rows, count = ranking(conn, district="korangi")
    assert count == 2
    assert [(r["node"], r["exposure"], r["score"]) for r in rows] == [
        ("khi-kor-0042", 180.0, 360.0), ("khi-lan-0007", 180.0, 180.0)]


def write_csv(path, rows: list[str]) -> None:
    path.write_text("timestamp,lat,lon,category\n" + "\n".join(rows) + "\n")


def test_incidents_near_a_node_raise_its_score(engine, tmp_path):
    # Three snatchings within 250 m of the Landhi lamp in the last 90 days; one there
    # long ago and one across town do not count.
    write_csv(tmp_path / "cplc.csv", [
        "2026-03-01T21:30:00,24.8505,67.2004,snatching",
        "2026-02-20T22:10:00+05:00,24.8497,67.1999,snatching",
        f"{local('2026-01-15', '20:00'):.0f},24.8502,67.2001,harassment",
        "2025-06-01T21:00:00,24.8500,67.2000,snatching",
        "2026-03-02T21:00:00,24.9200,67.0300,snatching",
    ])
    result = import_incidents(engine, tmp_path / "cplc.csv", SpotSettings(), now=1.8e9)
    assert (result.imported, result.duplicates, result.bad) == (5, 0, [])
    score_readings(engine, SpotScorer(SpotSettings()),
                   [*dark_hour("khi-lan-0007"), *dark_hour("khi-kor-0042")])
    got = scores(engine)
    assert got[("khi-kor-0042", "2026-03-13")][2] == 180.0
    assert got[("khi-lan-0007", "2026-03-13")][2] == pytest.approx(180.0 * 1.3)


def test_importing_incidents_rescores_nights_already_scored(engine, tmp_path):
    now = [0.0]
    scorer = SpotScorer(SpotSettings(), monotonic=lambda: now[0])
    score_readings(engine, scorer, dark_hour("khi-lan-0007", at="21:00"))
    assert scores(engine)[("khi-lan-0007", "2026-03-13")][2] == 180.0

    write_csv(tmp_path / "cplc.csv", ["2026-03-10T21:30:00,24.8505,67.2004,snatching"])
    import_incidents(engine, tmp_path / "cplc.csv", SpotSettings(), now=1.8e9)
    assert scores(engine)[("khi-lan-0007", "2026-03-13")][2] == pytest.approx(198.0)

    # The running hub's scorer picks the import up too, for the rest of the night.
    now[0] += 60
    score_readings(engine, scorer, dark_hour("khi-lan-0007", at="22:00"))
    assert scores(engine)[("khi-lan-0007", "2026-03-13")][1:] == (360.0, pytest.approx(396.0))


def test_ranking_per_district_and_area_with_places(engine):
    scorer = SpotScorer(SpotSettings())
    score_readings(engine, scorer, [
        *dark_hour("khi-kor-0042", footfall=1, day="2026-03-12"),  # an older night
        *dark_hour("khi-kor-0042", footfall=4), *dark_hour("khi-kor-0043", footfall=2),
        *dark_hour("khi-lan-0007", footfall=3), *dark_hour("khi-mal-0001", footfall=9)])
    with engine.connect() as conn:
        everywhere, n = ranking(conn)
        korangi, n_korangi = ranking(conn, district="korangi")
        korangi5, n_k5 = ranking(conn, area="Korangi 5")
        second, _ = ranking(conn, area="korangi-5", limit=1, offset=1)
        malir, _ = ranking(conn, district="malir")
        older, _ = ranking(conn, night="2026-03-12")
        nothing = ranking(conn, district="west")
    assert n == 4 and [r["node"] for r in everywhere] == [
        "khi-mal-0001", "khi-kor-0042", "khi-lan-0007", "khi-kor-0043"]
    assert n_korangi == 3 and [r["node"] for r in korangi] == [
        "khi-kor-0042", "khi-lan-0007", "khi-kor-0043"]
    assert n_k5 == 2 and [(r["rank"], r["node"]) for r in korangi5] == [
        (1, "khi-kor-0042"), (2, "khi-kor-0043")]
    assert [(r["rank"], r["node"]) for r in second] == [(2, "khi-kor-0043")]
    assert [r["node"] for r in malir] == ["khi-mal-0001"]
    assert [(r["node"], r["score"]) for r in older] == [("khi-kor-0042", 60.0)]
    assert nothing == ([], 0)
    top = korangi[0]
    assert {k: top[k] for k in ("area", "area_name", "district", "district_name", "pole",
                                "lat", "lon", "night", "dark_minutes")} == {
        "area": "korangi-5", "area_name": "Korangi 5", "district": "korangi",
        "district_name": "Korangi", "pole": "K5-117", "lat": 24.83, "lon": 67.13,
        "night": "2026-03-13", "dark_minutes": 60.0}


def test_current_score_is_the_latest_nights(engine):
    scorer = SpotScorer(SpotSettings())
    with engine.connect() as conn:
        assert current_score(conn, "khi-kor-0042") == 0.0
    score_readings(engine, scorer, [*dark_hour("khi-kor-0042", footfall=5, day="2026-03-12"),
                                    *dark_hour("khi-kor-0042", footfall=2, day="2026-03-13")])
    with engine.connect() as conn:
        assert current_score(conn, "khi-kor-0042") == 120.0
        assert current_score(conn, "khi-kor-0043") == 0.0
