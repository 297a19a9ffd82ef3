"""Request and response bodies of the API (DESIGN.md §7: shapes named there are a
contract; extra fields are additions). Times are UTC epoch seconds."""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.sensor_notes import sensor_note
from protocol.topics import NODE_ID_RE

T = TypeVar("T")

Role = Literal["admin", "technician", "committee", "crew"]
Language = Literal["en", "ur"]


class Page(BaseModel, Generic[T]):
    """Every list: one page of `data` and the `count` of all matches."""

    data: list[T]
    count: int


# --- auth and users ---


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: float
    expires_in: int
    # Who logged in, as GET /api/v1/me says: the dashboard needs no second round trip
    # before it can show the user's first page (on slow 3G each costs seconds).
    me: Me | None = None


class AreaRef(BaseModel):
    id: str
    name: str


class UserPublic(BaseModel):
    id: int
    name: str
    role: Role
    district: str | None
    areas: list[str]
    language: Language
    disabled: bool


class Me(UserPublic):
    area_names: list[AreaRef]
    district_name: str | None
    # What this user may do (`tickets:write`, …), so a client can show the right buttons.
    permissions: list[str]


class MeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    language: Language


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    role: Role
    password: str = Field(min_length=8, max_length=1024)
    district: str | None = None
    areas: list[str] = Field(default_factory=list)
    language: Language = "en"


# --- nodes ---


class LampStats(BaseModel):
    burning_hours: float
    switch_on_count: int
    energy_wh: float
    lamp_on: bool | None
    last_ts: float | None


class NodePublic(BaseModel):
    id: str
    state: str  # pending | active | revoked
    district: str
    area: str
    feeder: str | None  # the electricity feeder, if known (its power cuts are one incident)
    lat: float | None
    lon: float | None
    pole: str | None
    rated_w: float | None
    profile: str | None
    status: str  # online | offline | unknown (from the node's birth and will)
    last_seen: float | None
    clock_faults: int
    # What a map colours the lamp by: dark | on | off | offline | unknown
    lamp: str
    open_alerts: list[str]


class NodeDetail(NodePublic):
    status_reason: str | None
    status_at: float | None
    first_seen: float | None
    provisioned_at: float | None
    fw: str | None
    reported_profile: str | None
    config_sha: str | None
    lamp_stats: LampStats | None
    open_tickets: list[int]
    lamp_model: str | None
    # The technician's on-site self-test: when it last ran, whether it passed, its
    # checklist (name, title, status, detail, remedy), and when the node was commissioned.
    commissioned_at: float | None
    selftest_at: float | None
    selftest_ok: bool | None
    selftest: list[dict[str, Any]] | None


class NodeAssign(BaseModel):
    model_config = ConfigDict(extra="forbid")
    district: str
    area: str = Field(min_length=1, max_length=100)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    rated_w: float | None = Field(default=None, gt=0)
    profile: str | None = Field(default=None, max_length=128)
    pole: str | None = Field(default=None, max_length=32)
    lamp_model: str | None = Field(default=None, max_length=64)
    feeder: str | None = Field(default=None, min_length=1, max_length=64)


class NodeCreate(NodeAssign):
    id: str = Field(pattern=NODE_ID_RE.pattern)


class CommandCreate(BaseModel):
    """A command for a node: `identify` (`seconds`, default 30), `selftest`,
    `set_interval` (`interval_s`, 5-3600), `override` (`level` 0-100 %, `minutes`, default
    120: then back to the program by itself) or `resume` (back to the program now)."""

    model_config = ConfigDict(extra="forbid")
    cmd: Literal["identify", "selftest", "set_interval", "override", "resume"]
    seconds: int | None = None
    interval_s: int | None = None
    level: int | None = None
    minutes: int | None = None


class CommandPublic(BaseModel):
    id: str
    node: str
    cmd: str
    args: dict[str, Any]
    issued_by: str
    issued_at: float
    status: str  # sent | answered | not_sent
    ok: bool | None
    result: dict[str, Any] | None
    answered_at: float | None


class Readings(BaseModel):
    node: str
    start: float
    stop: float
    every: str | None
    # Per point: `ts` and the fields; downsampled points carry the aggregate of each
    # field over the bucket (see `aggregates`) and `lamp_on_ratio`.
    aggregates: dict[str, str]
    data: list[dict[str, Any]]
    count: int


# --- alerts and tickets ---


class AlertPublic(BaseModel):
    id: int
    rule: str
    state: str
    node: str | None
    district: str
    area: str
    started_at: float
    ended_at: float | None
    ticket_id: int | None
    historical: bool
    acknowledged_by: str | None
    acknowledged_at: float | None
    detail: dict[str, Any]


class PhotoRef(BaseModel):
    id: int
    url: str  # for people who may see the ticket (bearer token)


class TicketEvent(BaseModel):
    at: float
    actor: str
    from_status: str | None
    to_status: str
    note: str
    # when the hub heard of a person's update (later than `at` if made offline)
    recorded_at: float | None = None
    photos: list[PhotoRef] = []  # that prove this update

    # The sensor's note as a code and its parameters, for the dashboard to say in the
    # reader's language (`note` stays the English text); None for people's notes.
    note_code: str | None = None
    note_params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _sensor_note(self) -> TicketEvent:
        if self.actor == "sensor" and self.note_code is None and (
                found := sensor_note(self.note)) is not None:
            self.note_code, self.note_params = found
        return self


class TicketPublic(BaseModel):
    id: int
    node: str
    district: str
    area: str
    fault: str
    status: str
    priority: int
    opened_at: float
    sla_due: float
    alert_id: int | None
    assigned_to: str | None
    fixed_at: float | None
    verified_at: float | None
    escalated_at: float | None
    evidence: list[dict[str, Any]]
    history: list[TicketEvent]
    # where, for people: the lamp's pole number, its place, the names of its area and district
    pole: str | None = None
    lat: float | None = None
    lon: float | None = None
    area_name: str | None = None
    district_name: str | None = None


class TicketUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # People set assigned, in_progress or fixed; verified and reopened are the sensor's
    # (asking for them is a 409 that says so).
    status: Literal["open", "assigned", "in_progress", "fixed", "verified", "reopened"]
    note: str = Field(default="", max_length=2000)
    assignee: str | None = Field(default=None, max_length=64)
    # An update a phone queued offline and sends (perhaps again) when back online:
    # applied once per key; `acted_at` is when the crew acted (unix seconds).
    idempotency_key: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{8,64}$")
    acted_at: float | None = None
    # keys of photos uploaded for this ticket (PUT …/photos/{key}) that prove this update
    photos: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")]] = Field(
        default_factory=list, max_length=4)
    # Shown to the public on the ticket's Open311 request (the note above never is).
    public_note: str | None = Field(default=None, min_length=1, max_length=280)


# --- spots, reports, audit ---


class Spot(BaseModel):
    rank: int
    node: str
    district: str
    district_name: str
    area: str
    area_name: str
    pole: str | None
    lat: float | None
    lon: float | None
    night: str
    dark_minutes: float
    exposure: float
    score: float


class ReportPublic(BaseModel):
    """A citizen's report (Open311 POST) as the people who act on it see it."""

    id: int
    service_request_id: str
    service_code: str
    description: str
    lat: float | None
    lon: float | None
    address: str | None
    requested_at: float
    updated_at: float
    status: Literal["open", "closed"]
    status_notes: str
    node: str | None
    distance_m: float | None
    verdict: str
    district: str | None
    area: str | None
    ticket_id: int | None
    alert_id: int | None
    evidence: list[dict[str, Any]]
    closed_by: str | None
    closed_at: float | None
    check_note: str | None = None


class ReportUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["closed"]
    note: str = Field(min_length=1, max_length=2000)
    # What the reporter reads on Open311 (default: that it was checked and closed); the
    # note above is for staff only.
    public_note: str | None = Field(default=None, min_length=1, max_length=280)


class AuditEntry(BaseModel):
    id: int
    at: float
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    ip: str | None


# --- lamp control (DESIGN.md §11) ---


class ProgramCreate(BaseModel):
    """A new version of the named program (the first if the name is new): `program` as in
    the node's config (`steps`, `presence`, `min_level`, `tz`)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    program: dict[str, Any]


class ProgramPublic(BaseModel):
    name: str
    version: int
    sha: str
    program: dict[str, Any]
    created_by: str
    created_at: float
    # how many assignments name it (districts, areas, nodes)
    assigned: int = 0


class AssignmentSet(BaseModel):
    """Give a district, an area or a node a program (`program`: null removes it)."""

    model_config = ConfigDict(extra="forbid")
    scope: Literal["district", "area", "node"]
    target: str = Field(min_length=1, max_length=100)
    program: str | None


class AssignmentPublic(BaseModel):
    scope: str
    target: str
    program: str
    assigned_by: str
    assigned_at: float


class OverridePublic(BaseModel):
    level: int
    started_at: float
    until: float
    issued_by: str
    command_id: str


class NodeControl(BaseModel):
    """What a node was sent and what it runs. `outdated`: it has not acknowledged the
    newest config (it runs an older program)."""

    node: str
    program: str | None  # the assigned program's name; null: the node's default
    program_version: int | None
    version: int | None  # of the config sent (increasing per node)
    sha: str | None
    content: dict[str, Any] | None
    floor: bool  # min_level raised at one of the area's most unsafe spots
    published: bool  # the broker holds it (retained)
    acked_version: int | None
    running_sha: str | None
    acked_at: float | None
    rejected_version: int | None
    rejected_reason: str | None
    outdated: bool
    override: OverridePublic | None


class NodeControlRow(BaseModel):
    """One node in the list of what nodes were sent and run."""

    node: str
    district: str
    area: str
    program: str | None
    program_version: int | None
    version: int
    acked_version: int | None
    floor: bool
    published: bool
    outdated: bool


class ControlSummary(BaseModel):
    configured: int
    outdated: int
    unpublished: int
    rejected: int
    overrides: int


class AreaOverride(BaseModel):
    """Override several nodes at once ("this street"): the `nodes` given, or every node of
    an `area` (id or name)."""

    model_config = ConfigDict(extra="forbid")
    nodes: list[str] | None = Field(default=None, min_length=1, max_length=500)
    area: str | None = None
    level: int = Field(ge=0, le=100)
    minutes: int = Field(default=120, ge=1, le=24 * 60)


class OverrideOutcome(BaseModel):
    node: str
    sent: bool
    command_id: str | None = None
    detail: str | None = None


class EnergyRow(BaseModel):
    """kWh used, the full-on baseline (rated power sunset to sunrise), saved = baseline -
    used, and their cost at `[control] tariff_pkr_per_kwh`."""

    group: str  # district | area | node
    id: str
    name: str
    nodes: int
    used_kwh: float
    baseline_kwh: float
    saved_kwh: float
    cost_pkr: float
    saved_pkr: float


class Energy(Page[EnergyRow]):
    tariff_pkr_per_kwh: float
    total: EnergyRow


Token.model_rebuild()
