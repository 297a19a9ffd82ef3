"""The hub's state in SQL (SQLite by default, PostgreSQL by URL). Schema changes go
through migrations in hub/migrations, never by deleting the database."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
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
    # The electricity feeder the lamp hangs on (a slug; migration 0007): its nodes going
    # dark together are one power cut, like an area's (DESIGN.md §6). None: not known.
    feeder: Mapped[str | None] = mapped_column(String(64), index=True)
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
    session: Mapped[int] = mapped_column(BigInteger, default=-1)  # the node's own number
    fw: Mapped[str | None] = mapped_column(String(64))
    reported_profile: Mapped[str | None] = mapped_column(String(128))
    config_sha: Mapped[str | None] = mapped_column(String(128))
    clock_faults: Mapped[int] = mapped_column(Integer, default=0)
    lamp_model: Mapped[str | None] = mapped_column(String(64))
    # The technician's on-site self-test (`roshni node selftest`) as the hub received it;
    # commissioned once one passed while the node was registered (migration 0006).
    commissioned_at: Mapped[float | None] = mapped_column(Float)
    selftest_at: Mapped[float | None] = mapped_column(Float)
    selftest_ok: Mapped[bool | None] = mapped_column()
    selftest: Mapped[str | None] = mapped_column(Text)  # JSON: the checklist
    # Set whenever a person or tool changes the registration, so every hub worker's
    # in-memory registry can pick up just the changed rows.
    updated_at: Mapped[float] = mapped_column(Float, default=0.0, index=True)


class Command(Base):
    """A command sent to a node over `roshni/v1/<id>/cmd`, and the node's answer."""

    __tablename__ = "commands"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # uuid, also on the wire
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id"), index=True)
    cmd: Mapped[str] = mapped_column(String(32))
    args: Mapped[str] = mapped_column(Text)  # JSON
    issued_by: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[float] = mapped_column(Float, index=True)
    status: Mapped[str] = mapped_column(String(16))  # sent | answered
    ok: Mapped[bool | None] = mapped_column()
    result: Mapped[str | None] = mapped_column(Text)  # JSON: the node's detail
    answered_at: Mapped[float | None] = mapped_column(Float)


class NodeSeq(Base):
    """Highest sequence number stored per node and message kind, and which of the seqs
    below it were seen, for deduplication across workers (hub/dedup.py)."""

    __tablename__ = "node_seq"
    node_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    max_seq: Mapped[int] = mapped_column(BigInteger)  # 64 bits: see migration 0008
    last_ts: Mapped[float] = mapped_column(Float)
    seen: Mapped[bytes | None] = mapped_column(LargeBinary)  # migration 0009w
    # When the node's newest message of this kind was received (migration 0011): its
    # `last_seen`, written with the mark instead of a second row per message.
    heard_at: Mapped[float | None] = mapped_column(Float)


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


# --- detection (issue: rules, alerts, tickets, notifications; migration 0002) ---


class Alert(Base):
    """What the committee sees: one open alert per (node, rule) or (area, rule).

    `open_key` is set while the alert is not cleared and is unique, so two readings
    10 ms apart can never open two alerts, on SQLite or PostgreSQL, with several workers."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule: Mapped[str] = mapped_column(String(32), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)  # active|acknowledged|cleared
    node_id: Mapped[str | None] = mapped_column(ForeignKey("nodes.id"), index=True)
    district_id: Mapped[str] = mapped_column(ForeignKey("districts.id"), index=True)
    area_id: Mapped[str] = mapped_column(ForeignKey("areas.id"), index=True)
    started_at: Mapped[float] = mapped_column(Float, index=True)  # event time
    ended_at: Mapped[float | None] = mapped_column(Float)
    ticket_id: Mapped[int | None] = mapped_column(Integer)
    # Found in replayed history: a past incident, never notified as live (DESIGN.md §4).
    historical: Mapped[bool] = mapped_column(default=False)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    open_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float, index=True)


class Ticket(Base):
    """What the DMC crew works on: `open → assigned → in_progress → fixed → verified`,
    or `fixed → reopened` when the sensor still sees the lamp dark (DESIGN.md §6)."""

    __tablename__ = "tickets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), index=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id"), index=True)
    district_id: Mapped[str] = mapped_column(ForeignKey("districts.id"), index=True)
    area_id: Mapped[str] = mapped_column(ForeignKey("areas.id"), index=True)
    fault: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), index=True)
    priority: Mapped[int] = mapped_column(Integer, index=True)  # 1 = most urgent
    opened_at: Mapped[float] = mapped_column(Float)
    sla_due: Mapped[float] = mapped_column(Float, index=True)
    assigned_to: Mapped[str | None] = mapped_column(String(64))
    fixed_at: Mapped[float | None] = mapped_column(Float)
    verified_at: Mapped[float | None] = mapped_column(Float)
    escalated_at: Mapped[float | None] = mapped_column(Float)
    evidence: Mapped[str] = mapped_column(Text, default="[]")  # JSON: the last readings
    # One open ticket per (node, fault), like alerts.
    open_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    updated_at: Mapped[float] = mapped_column(Float, index=True)


class TicketEvent(Base):
    """A ticket's history: who (a user, `sensor` or `system`) did what, when, and why."""

    __tablename__ = "ticket_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[float] = mapped_column(Float)
    actor: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    # A person's update sent with a key (a phone's queued update): applied once, however
    # often it is sent. `at` is when they acted, `recorded_at` when the hub heard of it.
    idempotency_key: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)
    recorded_at: Mapped[float | None] = mapped_column(Float)


class TicketPhoto(Base):
    """A photo a crew took of a repair, attached to the ticket update it proves. Kept in
    the database (resized on the phone, size-capped), so every hub worker can serve it.
    `key` is the phone's (an upload sent again is stored once); `token` is the photo's
    public, unguessable name for Open311's media_url."""

    __tablename__ = "ticket_photos"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    history_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_history.id"), index=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[float] = mapped_column(Float)


class RuleState(Base):
    """Half-elapsed dwell timers and counters per (subject, rule), so a restarted hub
    carries on where it stopped. `subject` is a node id or `area:<id>`."""

    __tablename__ = "rule_state"
    subject: Mapped[str] = mapped_column(String(128), primary_key=True)
    rule: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(Text)  # JSON
    updated_at: Mapped[float] = mapped_column(Float)


class LampStats(Base):
    """TALQ-style counters per lamp: operatingHours, switchOnCounter, activeEnergy; and
    lamp control's energy against the full-on baseline (sunset to sunrise at rated
    power): saved = baseline_wh - used_wh (DESIGN.md §11)."""

    __tablename__ = "lamp_stats"
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id"), primary_key=True)
    burning_s: Mapped[float] = mapped_column(Float, default=0.0)
    switch_on_count: Mapped[int] = mapped_column(Integer, default=0)
    energy_wh: Mapped[float] = mapped_column(Float, default=0.0)
    lamp_on: Mapped[bool | None] = mapped_column()
    last_ts: Mapped[float | None] = mapped_column(Float)
    last_energy_wh: Mapped[float | None] = mapped_column(Float)
    used_wh: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    baseline_wh: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")


class SpotScore(Base):
    """Unsafe-spot score per node per night (DESIGN.md §6)."""

    __tablename__ = "spot_scores"
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id"), primary_key=True)
    night: Mapped[str] = mapped_column(String(10), primary_key=True)  # local date of dusk
    dark_minutes: Mapped[float] = mapped_column(Float, default=0.0)
    exposure: Mapped[float] = mapped_column(Float, default=0.0)  # footfall in dark minutes
    score: Mapped[float] = mapped_column(Float, default=0.0, index=True)  # weighted
    updated_at: Mapped[float] = mapped_column(Float)


class Incident(Base):
    """Imported from the committee's own crime data (CSV: timestamp, lat, lon, category)."""

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[float] = mapped_column(Float, index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    category: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(256))
    # Re-importing the same file must not count an incident twice.
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)


class Outbox(Base):
    """Durable notifications: written in the transaction that decided them, delivered by a
    worker with retries; (`event_key`, `subscriber`) is unique so each subscriber gets a
    notification at most once."""

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("event_key", "subscriber"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_key: Mapped[str] = mapped_column(String(160))
    subscriber: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))  # webhook | email
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)  # JSON
    created_at: Mapped[float] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float, index=True)
    delivered_at: Mapped[float | None] = mapped_column(Float, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)


# --- lamp control (DESIGN.md §11; migration 0009_lamp_control) ---


class Program(Base):
    """One version of a named lighting program; a new version is a new row, never an edit,
    so what a node was sent can always be looked up."""

    __tablename__ = "programs"
    __table_args__ = (UniqueConstraint("name", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)  # JSON: protocol.payloads.Program
    sha: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)


class ProgramAssignment(Base):
    """A named program (its newest version) for a district, an area or one node; the most
    specific assignment of a node wins."""

    __tablename__ = "program_assignments"
    scope: Mapped[str] = mapped_column(String(8), primary_key=True)  # district|area|node
    target: Mapped[str] = mapped_column(String(64), primary_key=True)
    program: Mapped[str] = mapped_column(String(64), index=True)
    assigned_by: Mapped[str] = mapped_column(String(64))
    assigned_at: Mapped[float] = mapped_column(Float)


class NodeConfig(Base):
    """The retained config a node was sent and what it acknowledged. `version` only grows
    (bumped by UPDATE in the database, so two hub workers never send the same number for
    different content); `published_version` says which version the broker has taken."""

    __tablename__ = "node_config"
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    sha: Mapped[str | None] = mapped_column(String(64))
    content: Mapped[str | None] = mapped_column(Text)  # JSON: the effective program sent
    program: Mapped[str | None] = mapped_column(String(64))  # name (None: the default)
    program_version: Mapped[int | None] = mapped_column(Integer)
    floor: Mapped[bool] = mapped_column(default=False)  # min_level raised at an unsafe spot
    changed_at: Mapped[float | None] = mapped_column(Float)
    published_version: Mapped[int] = mapped_column(Integer, default=0, index=True)
    published_at: Mapped[float | None] = mapped_column(Float)
    # From the node: its `config_applied` / `config_rejected` events and its birth.
    acked_version: Mapped[int | None] = mapped_column(Integer)
    running_sha: Mapped[str | None] = mapped_column(String(128))
    acked_at: Mapped[float | None] = mapped_column(Float)
    rejected_version: Mapped[int | None] = mapped_column(Integer)
    rejected_reason: Mapped[str | None] = mapped_column(String(256))


class Override(Base):
    """The override a node was last told to run (a new one replaces it; `ended_at` is set
    by a resume). The node itself returns to its program at `until`."""

    __tablename__ = "overrides"
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id"), primary_key=True)
    level: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[float] = mapped_column(Float)
    until: Mapped[float] = mapped_column(Float, index=True)
    issued_by: Mapped[str] = mapped_column(String(64))
    command_id: Mapped[str] = mapped_column(String(64))
    ended_at: Mapped[float | None] = mapped_column(Float)


class RuleInbox(Base):
    """What ingest stored that the rules have not judged yet, per partition of the city
    (hub/rules/partitions.py). The partition's owner judges and deletes rows in one
    transaction, so nothing is judged twice or lost when a partition changes hands."""

    __tablename__ = "rule_inbox"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    part: Mapped[int] = mapped_column(Integer)
    # p(ack): a batch's entries of the partition; before 0011 one r(eading), e(vent) or
    # s(tatus) per row
    kind: Mapped[str] = mapped_column(String(1))
    node_id: Mapped[str | None] = mapped_column(String(63))  # a single entry's node
    # newest event time in it; None: status changes only, judged whenever they come
    ts: Mapped[float | None] = mapped_column(Float)
    n: Mapped[int] = mapped_column(Integer, server_default="1")  # entries
    body: Mapped[str] = mapped_column(Text)  # JSON


class RuleLease(Base):
    """Which worker owns a partition of the rules, until when. `epoch` grows with every
    change of hands: a worker whose epoch is no longer the row's has lost the partition
    and commits nothing more for it (a fencing token)."""

    __tablename__ = "rule_leases"
    part: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    owner: Mapped[str] = mapped_column(String(128))
    epoch: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Float)


class HubWorker(Base):
    """Each running `roshni hub run`, as it last said: its roles, whether it hears the
    broker and how far behind it is, how far in event time it has filed readings for the
    rules, and whether it leaves a broker session behind that another worker must drain
    if it dies (MQTT; none with RabbitMQ's shared queue)."""

    __tablename__ = "hub_workers"
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    roles: Mapped[str] = mapped_column(String(64))
    heard_at: Mapped[float] = mapped_column(Float)
    listening: Mapped[bool] = mapped_column(Boolean)
    backlog: Mapped[int] = mapped_column(Integer)
    session: Mapped[bool] = mapped_column(Boolean)
    # The newest event time this worker has filed for the rules (ingest, hub/rules/inbox.py)
    watermark: Mapped[float | None] = mapped_column(Float)
    adopted_by: Mapped[str | None] = mapped_column(String(128))
    adopted_at: Mapped[float | None] = mapped_column(Float)
