from __future__ import annotations

import threading

from sqlalchemy import text

from hub.db import make_engine, migrate, writing


def test_racing_read_then_write_transactions_wait_instead_of_failing(tmp_path):
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    migrate(url)
    engine = make_engine(url)
    errors: list[BaseException] = []

    def bump(worker: int) -> None:
        try:
            for i in range(20):
                with writing(engine) as conn:
                    n = conn.execute(text("SELECT count(*) FROM dead_letters")).scalar()
                    conn.execute(text(
                        "INSERT INTO dead_letters (received_at, topic, reason, detail, payload)"
                        " VALUES (:n, 't', 'r', :d, x'00')"), {"n": n, "d": f"{worker}-{i}"})
        except BaseException as err:  # noqa: BLE001 - collected for the assertion
            errors.append(err)

    threads = [threading.Thread(target=bump, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engine.connect() as conn:
        counts = [r[0] for r in conn.execute(text(
            "SELECT received_at FROM dead_letters ORDER BY id"))]
    # each transaction saw every earlier one: no two read the same count
    assert counts == list(range(80))
