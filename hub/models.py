"""The hub's state in SQL (SQLite by default, PostgreSQL by URL). Schema changes go
through migrations in hub/migrations, never by deleting the database."""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class District(Base):
    __tablename__ = "districts"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class Area(Base):
    __tablename__ = "areas"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    district_id: Mapped[str] = mapped_column(ForeignKey("districts.id"))
    name: Mapped[str] = mapped_column(String(100))


class Node(Base):
    __tablename__ = "nodes"
    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    # pending: heard from but not yet assigned by a technician (DESIGN.md §10)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    district_id: Mapped[str] = mapped_column(ForeignKey("districts.id"), index=True)
    area_id: Mapped[str] = mapped_column(ForeignKey("areas.id"), index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    pole: Mapped[str | None] = mapped_column(String(32))
    rated_w: Mapped[float | None] = mapped_column(Float)
    profile: Mapped[str | None] = mapped_column(String(128))
    provisioned_at: Mapped[float | None] = mapped_column(Float)
    first_seen: Mapped[float | None] = mapped_column(Float)
    last_seen: Mapped[float | None] = mapped_column(Float)
    # From birth / will messages; `session` guards against late wills (DESIGN.md §4).
    status: Mapped[str] = mapped_column(String(16), default="unknown")
    status_reason: Mapped[str | None] = mapped_column(String(16))
    status_at: Mapped[float | None] = mapped_column(Float)
    session: Mapped[int] = mapped_column(Integer, default=-1)
    fw: Mapped[str | None] = mapped_column(String(64))
    reported_profile: Mapped[str | None] = mapped_column(String(128))
    config_sha: Mapped[str | None] = mapped_column(String(128))
    clock_faults: Mapped[int] = mapped_column(Integer, default=0)
    # Set whenever a person or tool changes the registration, so every hub worker's
    # in-memory registry can pick up just the changed rows.
    updated_at: Mapped[float] = mapped_column(Float, default=0.0, index=True)


class NodeSeq(Base):
    """Highest sequence number stored per node and message kind, for deduplication."""

    __tablename__ = "node_seq"
    node_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    max_seq: Mapped[int] = mapped_column(Integer)
    last_ts: Mapped[float] = mapped_column(Float)


class IngestCursor(Base):
    """How far each hub worker's spool has been stored in InfluxDB."""

    __tablename__ = "ingest_cursor"
    worker: Mapped[str] = mapped_column(String(128), primary_key=True)
    cursor: Mapped[str] = mapped_column(String(64))


class DeadLetter(Base):
    __tablename__ = "dead_letters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[float] = mapped_column(Float, index=True)
    topic: Mapped[str] = mapped_column(String(256))
    node_id: Mapped[str | None] = mapped_column(String(256), index=True)
    reason: Mapped[str] = mapped_column(String(32), index=True)
    detail: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
