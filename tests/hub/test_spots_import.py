"""`roshni hub import-incidents FILE.csv`, as an operator runs it on the hub host."""

from __future__ import annotations

import os
import subprocess

import pytest
from sqlalchemy import create_engine, text

from hub.supervise import _roshni


@pytest.fixture
def run(tmp_path, db_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROSHNI_")}
    env["ROSHNI_DATA_DIR"] = str(tmp_path / "data")
    env["ROSHNI_DB__URL"] = db_url

    def roshni(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*_roshni(), *args], env=env, capture_output=True, text=True,
                              timeout=60)

    return roshni


def incidents(db_url: str) -> list[tuple]:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT ts, lat, lon, category, source FROM incidents "
                                 "ORDER BY ts")).all()
    engine.dispose()
    return [tuple(r) for r in rows]


GOOD = """\ufeffTimestamp,Lat,Lon,Category,Reported by
2026-03-01T21:30:00,24.8505,67.2004,snatching,SHO Landhi
2026-03-02 22:10:00+05:00,24.8497,67.1999,harassment,CPLC
1772470800,24.8502,67.2001,"vehicle theft, motorcycle",CPLC
"""


def test_a_good_file_is_imported_and_importing_it_again_adds_nothing(run, tmp_path, db_url):
    path = tmp_path / "cplc-march.csv"
    path.write_text(GOOD)  # with the byte-order mark spreadsheets write
    first = run("hub", "import-incidents", str(path))
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"{path}: imported 3, duplicate 0, skipped 0 bad rows"
    rows = incidents(db_url)
    assert [(r[3], r[4]) for r in rows] == [("snatching", "cplc-march.csv"),
                                            ("vehicle theft, motorcycle", "cplc-march.csv"),
                                            ("harassment", "cplc-march.csv")]
    # local time unless the row says otherwise: 21:30 in Karachi is 16:30 UTC
    assert rows[0][0] == 1772382600.0

    again = run("hub", "import-incidents", str(path), "--source", "cplc export 2")
    assert again.returncode == 0
    assert again.stdout.strip() == f"{path}: imported 0, duplicate 3, skipped 0 bad rows"
    assert len(incidents(db_url)) == 3


def test_bad_rows_are_reported_with_line_numbers_and_the_rest_imported(run, tmp_path, db_url):
    path = tmp_path / "cplc.csv"
    path.write_text(
        "timestamp,lat,lon,category\n"
        "2026-03-01T21:30:00,24.8505,67.2004,snatching\n"  # 2: good
        "yesterday evening,24.85,67.20,snatching\n"  # 3
        "2026-03-01T21:30:00,95.0,67.20,snatching\n"  # 4
        "\n"  # 5: blank, ignored
        "2026-03-01T22:00:00,24.85,sixty-seven,snatching\n"  # 6
        "2026-03-01T22:30:00,24.85,67.20,\n"  # 7
        "2026-03-01T23:00:00,24.85\n"  # 8
        "2999-01-01T00:00:00,24.85,67.20,snatching\n"  # 9
        "2026-03-02T20:00:00,24.86,67.21,harassment\n"  # 10: good
    )
    result = run("hub", "import-incidents", str(path))
    assert result.returncode == 1
    assert result.stdout.strip() == f"{path}: imported 2, duplicate 0, skipped 6 bad rows"
    assert result.stderr.splitlines() == [
        f"{path}:3: timestamp 'yesterday evening' is neither ISO 8601 "
        "(2026-03-14T22:15:00+05:00) nor epoch seconds",
        f"{path}:4: lat 95.0 is outside -90..90",
        f"{path}:6: lon 'sixty-seven' is not a number",
        f"{path}:7: category is empty",
        f"{path}:8: 2 fields, the header has 4",
        f"{path}:9: timestamp '2999-01-01T00:00:00' is in the future",
    ]
    assert len(incidents(db_url)) == 2


def test_a_file_without_the_columns_is_refused_whole(run, tmp_path, db_url):
    path = tmp_path / "export.csv"
    path.write_text("when,where,what\n2026-03-01,Landhi,snatching\n")
    result = run("hub", "import-incidents", str(path))
    assert result.returncode == 2
    assert "line 1: missing columns timestamp, lat, lon, category" in result.stderr
    missing = run("hub", "import-incidents", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
