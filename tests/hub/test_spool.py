"""The hub's disk spool: what the broker was told is safe must be readable after a crash."""

from __future__ import annotations

from hub.spool import Cursor, SpoolReader, SpoolWriter


def records(n: int, start: int = 0) -> list[tuple[float, str, bytes]]:
    return [(1795370700.0 + i, f"roshni/v1/khi-kor-{i:04d}/reading", b'{"seq": %d}' % i)
            for i in range(start, start + n)]


def test_records_come_back_in_order_across_segments_and_restarts(tmp_path):
    w = SpoolWriter(tmp_path, segment_bytes=4096, fsync=False)
    w.append(records(100))
    w.close()
    w2 = SpoolWriter(tmp_path, segment_bytes=4096, fsync=True)  # a restarted hub
    w2.append(records(50, start=100))
    reader = SpoolReader(tmp_path)
    got, cur = [], Cursor()
    while True:
        batch, cur = reader.read(cur, 33)
        if not batch:
            break
        got.extend(batch)
    assert [r.payload for r in got] == [p for _, _, p in records(150)]
    assert got[7].topic == "roshni/v1/khi-kor-0007/reading"
    assert got[7].received_at == 1795370707.0


def test_torn_tail_from_a_power_cut_is_skipped_once_a_new_segment_exists(tmp_path):
    w = SpoolWriter(tmp_path, segment_bytes=1 << 20, fsync=False)
    w.append(records(3))
    w.close()
    seg = sorted(tmp_path.glob("*.seg"))[0]
    seg.write_bytes(seg.read_bytes()[:-5])  # the last record was half written
    reader = SpoolReader(tmp_path)
    got, _ = reader.read(Cursor(), 100)
    assert len(got) == 2  # still being written, as far as the reader can tell
    SpoolWriter(tmp_path, segment_bytes=1 << 20, fsync=False).append(records(1, start=9))
    got, cur = reader.read(Cursor(), 100)
    assert [r.payload for r in got] == [b'{"seq": 0}', b'{"seq": 1}', b'{"seq": 9}']


def test_released_segments_are_deleted_and_pending_counts_the_rest(tmp_path):
    w = SpoolWriter(tmp_path, segment_bytes=512, fsync=False)
    for start in range(0, 40, 5):  # the receiver appends a burst at a time
        w.append(records(5, start))
    reader = SpoolReader(tmp_path)
    assert reader.pending(Cursor()) == 40
    before = len(list(tmp_path.glob("*.seg")))
    got, cur = reader.read(Cursor(), 30)
    reader.release(cur)
    assert len(list(tmp_path.glob("*.seg"))) < before
    assert reader.pending(cur) == 10
    assert Cursor.parse(str(cur)) == cur


def test_reads_in_bounded_chunks_even_past_records_larger_than_a_chunk(tmp_path, monkeypatch):
    import hub.spool

    monkeypatch.setattr(hub.spool, "READ_BYTES", 100)
    w = SpoolWriter(tmp_path, segment_bytes=1 << 20, fsync=False)
    big = (1.0, "roshni/v1/khi-kor-0001/reading", b"[" + b" " * 500 + b"]")
    w.append(records(5) + [big] + records(5, start=5))
    reader = SpoolReader(tmp_path)
    got, cur = [], Cursor()
    for _ in range(100):
        batch, cur = reader.read(cur, 1000)
        got.extend(batch)
    assert [r.payload for r in got] == [p for _, _, p in records(5) + [big] + records(5, 5)]
    assert reader.pending(cur) == 0
