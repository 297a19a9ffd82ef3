"""Bulk writes: what one row of a batch's upsert costs the hub and PostgreSQL, written
row by row (SQLAlchemy's executemany, the way below `hub.upsert.COPY_FROM_ROWS` rows)
and staged with COPY (the way from that many rows on), in one run.

    .venv/bin/python bench/bulk.py [--rows 100000] [--batch 2000]

It starts PostgreSQL (hub.supervise, the tests' settings) in a temp dir, migrates a
database, and upserts `--rows` rows of the dedup marks (`node_seq`, as ingest writes them
for every reading) in transactions of `--batch` rows: first inserting them, then updating
them, each way. Wall time includes PostgreSQL's work; "hub CPU" is this process's alone.
It measures, it never asserts: exit 0 whatever the figures are. Results:
bench/results/bulk.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and `hub` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "bulk.json"


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=2000)
    args = ap.parse_args()

    from sqlalchemy import text

    from hub import upsert as bulk
    from hub.db import make_engine, migrate
    from hub.models import NodeSeq
    from hub.supervise import Postgres

    results: dict[str, Any] = {
        "bench": "bulk", "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": common.machine_info(), "config": dict(vars(args)), "ways": {}}
    copy_from = bulk.COPY_FROM_ROWS
    with tempfile.TemporaryDirectory(prefix="roshni-bulk-") as tmp:
        pg = Postgres(Path(tmp) / "postgres")
        pg.start()
        try:
            ways = {"row by row": args.rows + 1, "COPY": copy_from}
            for name, threshold in ways.items():
                url = pg.create_database("bulk_" + name.replace(" ", "_").lower())
                migrate(url)
                engine = make_engine(url)
                bulk.COPY_FROM_ROWS = threshold
                figures = {}
                for step, seq in (("insert", 1), ("update", 2)):
                    rows = [dict(node_id=common.node_id(i), kind="reading", max_seq=seq,
                                 last_ts=float(seq), seen=b"\x01\x02", heard_at=float(seq))
                            for i in range(args.rows)]
                    t0, c0 = time.perf_counter(), _cpu()
                    for start in range(0, args.rows, args.batch):
                        with engine.begin() as conn:
                            bulk.upsert(conn, NodeSeq.__table__,
                                        rows[start:start + args.batch],
                                        keys=("node_id", "kind"))
                    wall, cpu = time.perf_counter() - t0, _cpu() - c0
                    with engine.connect() as conn:
                        n, top = conn.execute(text(
                            "SELECT count(*), min(max_seq) FROM node_seq")).one()
                    assert (n, top) == (args.rows, seq), "the rows were not all written"
                    figures[step] = {"us_per_row": round(1e6 * wall / args.rows, 1),
                                     "hub_cpu_us_per_row": round(1e6 * cpu / args.rows, 1)}
                    print(f"{name:10s} {step}: {figures[step]['us_per_row']:6.1f} µs/row, "
                          f"hub CPU {figures[step]['hub_cpu_us_per_row']:5.1f} µs/row",
                          flush=True)
                results["ways"][name] = figures
                engine.dispose()
        finally:
            bulk.COPY_FROM_ROWS = copy_from
            pg.close()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(f"results: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
