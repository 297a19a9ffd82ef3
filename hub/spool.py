"""The hub's disk spool between the broker and InfluxDB (DESIGN.md §2).

Messages are appended, raw, to numbered segment files before the broker is acknowledged;
the ingest pipeline reads them in order and commits a cursor only after InfluxDB
acknowledged the batch. A crash at any point therefore redelivers (broker) or re-reads
(spool) rather than loses; `(node, seq)` deduplication makes the repeat harmless.

Record: ``<u32 payload length><f64 receive time><u16 topic length>`` + topic + payload.
Each writer start opens a fresh segment, so a torn tail left by a power cut is never
appended to; a reader skips an incomplete record only once a newer segment exists.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

HEADER = struct.Struct("<IdH")
SUFFIX = ".seg"
READ_BYTES = 16 * 1024 * 1024
# How a segment read ended: at the end of the file, at an incomplete record, or with more
# to read (the batch or the chunk was full).
_EOF, _TORN, _MORE = "eof", "torn", "more"


@dataclass(frozen=True, order=True, slots=True)
class Cursor:
    segment: int = 0
    offset: int = 0

    def __str__(self) -> str:
        return f"{self.segment}:{self.offset}"

    @classmethod
    def parse(cls, text: str | None) -> Cursor:
        if not text:
            return cls()
        seg, _, off = text.partition(":")
        return cls(int(seg), int(off))


@dataclass(frozen=True, slots=True)
class Record:
    received_at: float
    topic: str
    payload: bytes


def _segments(directory: Path) -> list[int]:
    return sorted(int(p.stem) for p in directory.glob(f"*{SUFFIX}") if p.stem.isdigit())


def _path(directory: Path, number: int) -> Path:
    return directory / f"{number:012d}{SUFFIX}"


class SpoolWriter:
    def __init__(self, directory: Path, *, segment_bytes: int, fsync: bool) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.segment_bytes = segment_bytes
        self.fsync = fsync
        existing = _segments(self.directory)
        self._number = (existing[-1] + 1) if existing else 1
        self._file = open(_path(self.directory, self._number), "ab")  # noqa: SIM115
        self._size = 0
        self._lock = threading.Lock()
        self.appended = 0  # records written by this writer

    def append(self, records: Iterable[tuple[float, str, bytes]]) -> int:
        """Write records and make them durable; return how many. Only then ack the broker."""
        chunks: list[bytes] = []
        n = 0
        for received_at, topic, payload in records:
            t = topic.encode()
            chunks.append(HEADER.pack(len(payload), received_at, len(t)))
            chunks.append(t)
            chunks.append(payload)
            n += 1
        if not n:
            return 0
        data = b"".join(chunks)
        with self._lock:
            self._file.write(data)
            self._file.flush()
            if self.fsync:
                os.fsync(self._file.fileno())
            self._size += len(data)
            self.appended += n
            if self._size >= self.segment_bytes:
                self._rotate()
        return n

    def _rotate(self) -> None:
        self._file.close()
        self._number += 1
        self._file = open(_path(self.directory, self._number), "ab")  # noqa: SIM115
        self._size = 0

    def close(self) -> None:
        with self._lock:
            self._file.close()


class SpoolReader:
    """Reads records after a cursor. Not thread-safe; one reader per spool."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def read(self, cursor: Cursor, max_records: int) -> tuple[list[Record], Cursor]:
        records: list[Record] = []
        segments = _segments(self.directory)
        for i, number in enumerate(segments):
            if number < cursor.segment:
                continue
            offset = cursor.offset if number == cursor.segment else 0
            is_last = i == len(segments) - 1
            got, end, status = self._read_segment(number, offset, max_records - len(records))
            records.extend(got)
            cursor = Cursor(number, end)
            if len(records) >= max_records or status == _MORE:
                return records, cursor
            if status == _TORN:
                if is_last:
                    return records, cursor  # the writer is still filling it
                log.error("spool segment %d has a torn record at %d; skipping its rest",
                          number, end)
            if not is_last:
                cursor = Cursor(segments[i + 1], 0)
        return records, cursor

    def _read_segment(self, number: int, offset: int, limit: int
                      ) -> tuple[list[Record], int, str]:
        """Records from `offset`, at most `limit` of them and about READ_BYTES of data (a
        segment is up to 64 MB; a batch needs a few)."""
        try:
            with open(_path(self.directory, number), "rb") as f:
                f.seek(offset)
                data = f.read(READ_BYTES)
                at_eof = len(data) < READ_BYTES or not f.read(1)
        except FileNotFoundError:
            return [], offset, _EOF
        out: list[Record] = []
        pos = 0
        size = len(data)
        unpack = HEADER.unpack_from
        hsize = HEADER.size
        while pos < size and len(out) < limit:
            end = size + 1
            if pos + hsize <= size:
                plen, received_at, tlen = unpack(data, pos)
                end = pos + hsize + tlen + plen
            if end > size:
                if at_eof:
                    return out, offset + pos, _TORN
                if not out:  # one record larger than a chunk: read it whole
                    return self._read_segment_whole(number, offset, limit)
                return out, offset + pos, _MORE
            t0 = pos + hsize
            out.append(Record(received_at, data[t0:t0 + tlen].decode(errors="replace"),
                              data[t0 + tlen:end]))
            pos = end
        if len(out) >= limit or not at_eof or pos < size:
            return out, offset + pos, _MORE
        return out, offset + pos, _EOF

    def _read_segment_whole(self, number: int, offset: int, limit: int
                            ) -> tuple[list[Record], int, str]:
        with open(_path(self.directory, number), "rb") as f:
            f.seek(offset)
            header = f.read(HEADER.size)
            if len(header) < HEADER.size:
                return [], offset, _TORN
            plen, received_at, tlen = HEADER.unpack(header)
            body = f.read(tlen + plen)
        if len(body) < tlen + plen:
            return [], offset, _TORN
        rec = Record(received_at, body[:tlen].decode(errors="replace"), body[tlen:])
        return [rec], offset + HEADER.size + tlen + plen, _MORE

    def pending(self, cursor: Cursor) -> int:
        """Records not yet committed (a full scan; for start-up and tests)."""
        total = 0
        while True:
            got, nxt = self.read(cursor, 100_000)
            total += len(got)
            if not got or nxt == cursor:
                return total
            cursor = nxt

    def release(self, cursor: Cursor) -> None:
        """Delete segments wholly before the committed cursor."""
        for number in _segments(self.directory):
            if number >= cursor.segment:
                break
            try:
                _path(self.directory, number).unlink()
            except FileNotFoundError:
                pass
