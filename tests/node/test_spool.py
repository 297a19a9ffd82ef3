"""The node spool keeps readings on disk until the broker has them, and never hands out a
seq twice — not after a restart, not after the process is killed mid-write."""

from __future__ import annotations

import logging
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from node.spool import Spool

WRITER = textwrap.dedent(
    """
    import sys
    from node.spool import Spool

    spool = Spool(sys.argv[1], capacity=1_000_000)
    while True:
        reading = spool.append({"v": 1, "node": "khi-test-01", "ts": 1.0, "footfall": 3})
        print(reading["seq"], flush=True)
    """
)


def _stored_seqs(path: Path) -> list[int]:
    with Spool(path, capacity=1_000_000) as spool:
        return [r["seq"] for r in spool.peek(1_000_000)]


def test_seq_increases_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    with Spool(path, capacity=100) as spool:
        first = [spool.append({"n": i})["seq"] for i in range(3)]
    with Spool(path, capacity=100) as spool:
        later = spool.append({"n": 3})["seq"]
        assert spool.last_seq() == later
    assert first == [1, 2, 3]
    assert later == 4


def test_seq_is_never_reused_after_everything_was_acked(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    with Spool(path, capacity=100) as spool:
        for i in range(5):
            spool.append({"n": i})
        assert spool.ack(5) == 5
        assert spool.depth() == 0
    with Spool(path, capacity=100) as spool:
        assert spool.append({"n": 5})["seq"] == 6


def test_peek_is_oldest_first_and_ack_removes_only_up_to_the_seq(tmp_path: Path) -> None:
    with Spool(tmp_path / "spool.sqlite3", capacity=100) as spool:
        for i in range(6):
            spool.append({"n": i})
        assert [r["seq"] for r in spool.peek(4)] == [1, 2, 3, 4]
        assert spool.peek(1)[0] == {"n": 0, "seq": 1}
        spool.ack(3)
        assert [r["seq"] for r in spool.peek(100)] == [4, 5, 6]
        assert spool.depth() == 3


def test_full_spool_drops_the_oldest_and_counts_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "spool.sqlite3"
    with caplog.at_level(logging.WARNING, logger="node.spool"), Spool(path, capacity=5) as spool:
        for i in range(8):
            spool.append({"n": i})
        assert [r["seq"] for r in spool.peek(100)] == [4, 5, 6, 7, 8]
    assert "dropped the oldest 1" in caplog.text
    assert "3 dropped in total" in caplog.text
    with Spool(path, capacity=5) as spool:
        assert spool.dropped_total() == 3
        assert spool.append({"n": 8})["seq"] == 9


def test_refused_reading_does_not_use_up_a_seq(tmp_path: Path) -> None:
    def refuse(reading: dict) -> None:
        raise ValueError("bad reading")

    with Spool(tmp_path / "spool.sqlite3", capacity=100) as spool:
        spool.append({"n": 0})
        with pytest.raises(ValueError, match="bad reading"):
            spool.append({"n": -1}, validate=refuse)
        assert spool.depth() == 1
        assert spool.append({"n": 1})["seq"] == 2


def test_session_numbers_increase_across_reopening(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    with Spool(path, capacity=10) as spool:
        assert [spool.next_session() for _ in range(3)] == [1, 2, 3]
    with Spool(path, capacity=10) as spool:
        assert spool.next_session() == 4


def test_spool_uses_wal_and_full_sync(tmp_path: Path) -> None:
    with Spool(tmp_path / "spool.sqlite3", capacity=10) as spool:
        assert spool._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert spool._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_sigkill_mid_append_loses_no_reported_seq_and_reuses_none(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    rng = random.Random(4)
    reported: list[int] = []
    for _ in range(6):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
        )
        assert writer.stdout is not None
        # Let it write a few, then kill it wherever it happens to be.
        first = writer.stdout.readline()
        assert first, "the writer did not start"
        time.sleep(rng.uniform(0.01, 0.2))
        writer.send_signal(signal.SIGKILL)
        rest, _ = writer.communicate()
        reported += [int(first)] + [int(line) for line in rest.split()]

    stored = _stored_seqs(path)
    assert set(reported) <= set(stored), "a seq the writer saw committed is gone"
    assert stored == list(range(1, len(stored) + 1)), "seqs must be contiguous and unique"
    assert len(reported) == len(set(reported)), "a seq was handed out twice"
    with Spool(path, capacity=1_000_000) as spool:
        assert spool.append({"n": "after"})["seq"] == stored[-1] + 1
