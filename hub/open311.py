"""Open311 GeoReport v2 (DESIGN.md §7): repair tickets as service requests, and citizens'
reports of dark streets coming in (e.g. from FixMyStreet's Open311 adapter).

A citizen's report is matched to the nearest assigned node within `match_radius_m`, and
the lamp's own sensor is asked:

- it agrees (a repair ticket or alert for that fault is open, or its last fresh reading
  shows the complaint): the report *joins* that ticket (or alert) and follows its status;
- it disagrees (the lamp burns), or cannot tell (no fresh reading, daytime, no node near):
  the report stays open for a person to check, with the lamp's last readings attached.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Float, ForeignKey, Integer, String, Text, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column

from hub import alerts as alert_store
from hub import ticket_photos
from hub import tickets as ticket_store
from hub.exports import iso
from hub.influx import Influx, InfluxError
from hub.models import Alert, Area, Base, District, LampStats, Node, Ticket
from hub.rules.sun import SunCache

OPEN, CLOSED = "open", "closed"
TICKET_PREFIX, REPORT_PREFIX = "ticket-", "report-"
EVIDENCE_FIELDS = ("lamp_on", "lamp_w", "mains_v", "lux", "footfall")
EVIDENCE_READINGS = 8


@dataclass(frozen=True, slots=True)
class Service:
    code: str
    name: str
    description: str
    faults: tuple[str, ...]  # the ticket faults (and alert rules) that are this complaint
    lamp_on: bool  # what the sensor sees when the complaint is right
    keywords: tuple[str, ...] = ()

    def public(self) -> dict[str, Any]:
        return {"service_code": self.code, "service_name": self.name,
                "description": self.description, "metadata": False, "type": "realtime",
                "keywords": ", ".join(self.keywords), "group": "Street lighting"}


SERVICES = (
    Service("street_light_out", "Street light out",
            "A street lamp is dark at night.", ("lamp_out", "low_power", "flicker"),
            lamp_on=False, keywords=("street light", "lamp", "dark", "roshni")),
    Service("street_light_flickering", "Street light flickering or dim",
            "A street lamp flickers, switches on and off, or is very dim.",
            ("flicker", "low_power", "lamp_out"), lamp_on=False,
            keywords=("street light", "flicker", "dim")),
    Service("street_light_day", "Street light on by day",
            "A street lamp burns in daylight (wasted energy).", ("day_burner",),
            lamp_on=True, keywords=("street light", "day", "energy")),
)
SERVICE_BY_CODE = {s.code: s for s in SERVICES}
FAULT_SERVICE = {"lamp_out": "street_light_out", "low_power": "street_light_flickering",
                 "flicker": "street_light_flickering", "day_burner": "street_light_day",
                 "control_fault": "street_light_flickering"}
FAULT_TITLE = {"lamp_out": "Dark lamp", "low_power": "Lamp drawing too little power",
               "flicker": "Flickering lamp", "day_burner": "Lamp burning by day",
               "control_fault": "Lamp not following its command"}


class CitizenRequest(Base):
    __tablename__ = "citizen_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_code: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(254))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(50))
    media_url: Mapped[str | None] = mapped_column(String(1000))
    attributes: Mapped[str] = mapped_column(Text, default="{}")
    external_id: Mapped[str | None] = mapped_column(String(100))
    client: Mapped[str | None] = mapped_column(String(64))
    requested_at: Mapped[float] = mapped_column(Float, index=True)
    updated_at: Mapped[float] = mapped_column(Float, index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    status_notes: Mapped[str] = mapped_column(Text, default="")
    node_id: Mapped[str | None] = mapped_column(ForeignKey("nodes.id"), index=True)
    distance_m: Mapped[float | None] = mapped_column(Float)
    verdict: Mapped[str] = mapped_column(String(16))
    district_id: Mapped[str | None] = mapped_column(ForeignKey("districts.id"), index=True)
    area_id: Mapped[str | None] = mapped_column(ForeignKey("areas.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), index=True)
    evidence: Mapped[str] = mapped_column(Text, default="[]")
    closed_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[float | None] = mapped_column(Float)
    # What the person who closed it found: for staff (the reports API), never public.
    check_note: Mapped[str | None] = mapped_column(Text)


class TicketPublicNote(Base):
    """A phrase the crew chose to publish on a ticket's Open311 request; their notes in
    the ticket's history stay internal."""

    __tablename__ = "ticket_public_notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)


class Open311Error(ValueError):
    """A request that cannot be taken as sent; the message says which parameter."""


# --- matching a report to a lamp ---

_EARTH_M = 6371008.8


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_M * math.asin(math.sqrt(a))


def nearest_node(conn: Connection, lat: float, lon: float, radius_m: float
                 ) -> tuple[Any, float] | None:
    """The nearest assigned node within `radius_m`, and how far it is."""
    dlat = math.degrees(radius_m / _EARTH_M)
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
    rows = conn.execute(
        select(Node.id, Node.district_id, Node.area_id, Node.lat, Node.lon, Node.pole,
               Node.feeder)
        .where(Node.state == "active", Node.lat.between(lat - dlat, lat + dlat),
               Node.lon.between(lon - dlon, lon + dlon))).all()
    best = min(((distance_m(lat, lon, r.lat, r.lon), r) for r in rows),
               key=lambda x: x[0], default=None)
    if best is None or best[0] > radius_m:
        return None
    return best[1], best[0]


def last_readings(influx: Influx, node_id: str, n: int = EVIDENCE_READINGS,
                  within_s: float = 86400.0) -> list[dict[str, Any]]:
    """The node's last `n` readings of the last day, oldest first (InfluxQL)."""
    cols = ", ".join(f'"{f}"' for f in EVIDENCE_FIELDS)
    since_ms = int((time.time() - within_s) * 1000)
    results = influx.query(f"SELECT {cols} FROM \"reading\" WHERE \"node\" = '{node_id}' "
                           f"AND time >= {since_ms}ms ORDER BY time DESC LIMIT {int(n)}")
    out = []
    for series in results[0].get("series", []) if results else []:
        cols_ = series["columns"]
        for values in series["values"]:
            row = dict(zip(cols_, values, strict=True))
            point = {"ts": row.pop("time") / 1000.0}
            point.update((k, v) for k, v in row.items() if v is not None)
            out.append(point)
    return sorted(out, key=lambda p: p["ts"])


@dataclass
class Verdict:
    verdict: str  # agrees | disagrees | unknown | no_node | no_location | power_cut
    notes: str
    node: Any = None
    distance_m: float | None = None
    ticket_id: int | None = None
    alert_id: int | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)

    @property
    def joined(self) -> bool:
        return self.ticket_id is not None or self.alert_id is not None


def _where(node: Any) -> str:
    return f"pole {node.pole}, node {node.id}" if node.pole else f"node {node.id}"


def judge(conn: Connection, influx: Influx, sun: SunCache, service: Service,
          lat: float | None, lon: float | None, *, radius_m: float, fresh_s: float,
          now: float | None = None) -> Verdict:
    """What the nearest lamp's sensor says about a citizen's report (module docstring)."""
    now = time.time() if now is None else now
    if lat is None or lon is None:
        return Verdict("no_location", "No coordinates were given, so no lamp sensor could be "
                                      "asked; a person will check the address.")
    found = nearest_node(conn, lat, lon, radius_m)
    if found is None:
        return Verdict("no_node", f"No Roshni lamp sensor within {radius_m:.0f} m; a person "
                                  "will check.")
    node, dist = found
    v = Verdict("unknown", "", node=node, distance_m=round(dist, 1))
    where = _where(node)

    # 1. a repair ticket for this complaint is open: join it
    row = conn.execute(
        select(Ticket.id, Ticket.status, Ticket.alert_id, Ticket.fault)
        .where(Ticket.node_id == node.id, Ticket.status.in_(ticket_store.OUTSTANDING),
               Ticket.fault.in_(service.faults))
        .order_by(Ticket.priority, Ticket.id)).first()
    if row is not None:
        v.verdict, v.ticket_id, v.alert_id = "agrees", row.id, row.alert_id
        v.notes = (f"The lamp's sensor agrees ({FAULT_TITLE[row.fault].lower()}, {where}, "
                   f"{dist:.0f} m away): joined repair ticket #{row.id}.")
    else:
        # 2. an alert for it is open (no ticket yet), or its area or feeder has a power cut
        about = (Alert.node_id == node.id) & Alert.rule.in_(service.faults)
        area_cut = alert_store.open_key("area_power_cut", node=None, area=node.area_id)
        feeder_cut = None if node.feeder is None else alert_store.open_key(
            "area_power_cut", node=None, area=node.area_id, feeder=node.feeder)
        if not service.lamp_on:  # a dark lamp without power is no lamp fault
            # (open_key is set while an alert is open)
            about = about | Alert.open_key.in_([k for k in (area_cut, feeder_cut) if k])
        alert = conn.execute(select(Alert.id, Alert.rule, Alert.ticket_id, Alert.open_key)
                             .where(Alert.state != "cleared", about)
                             .order_by(Alert.id)).first()
        if alert is not None:
            v.alert_id, v.ticket_id = alert.id, alert.ticket_id
            if alert.open_key in (area_cut, feeder_cut):
                lamps = "on its feeder" if alert.open_key == feeder_cut else "of this area"
                v.verdict = "power_cut"
                v.notes = (f"The lamps {lamps} are dark together: a power cut "
                           f"(load-shedding or a feeder fault), alert #{alert.id}. Joined it.")
            else:
                v.verdict = "agrees"
                v.notes = (f"The lamp's sensor agrees ({where}, {dist:.0f} m away): joined "
                           f"alert #{alert.id}.")
    try:
        v.evidence = last_readings(influx, node.id)
    except InfluxError:
        v.evidence = []
    if v.joined:
        return v

    # 3. no ticket or alert: what do the lamp's last readings say?
    latest = v.evidence[-1] if v.evidence else None
    if latest is None or "lamp_on" not in latest:
        stats = conn.execute(select(LampStats.lamp_on, LampStats.last_ts)
                             .where(LampStats.node_id == node.id)).first()
        if stats is not None and stats.lamp_on is not None and stats.last_ts:
            latest = {"ts": stats.last_ts, "lamp_on": stats.lamp_on}
    if latest is None or "lamp_on" not in latest or now - latest["ts"] > fresh_s:
        v.verdict = "unknown"
        v.notes = (f"No recent reading from the nearest lamp's sensor ({where}, {dist:.0f} m "
                   "away); a person will check.")
        return v
    when = iso(latest["ts"])
    state = "burning" if latest["lamp_on"] else "dark"
    night = sun.is_night(node.lat, node.lon, latest["ts"])
    if bool(latest["lamp_on"]) == service.lamp_on and (night or service.lamp_on):
        v.verdict = "agrees"
        v.notes = (f"The lamp's sensor agrees: {state} at {when} ({where}, {dist:.0f} m "
                   "away). No repair ticket yet: one opens when the fault has lasted long "
                   "enough; a person will also check.")
    elif not service.lamp_on and not night and not latest["lamp_on"]:
        v.verdict = "unknown"
        v.notes = (f"It is daytime at the lamp, when it is off anyway ({where}, {dist:.0f} m "
                   "away); the sensor will show tonight whether it lights. A person will "
                   "check; the last readings are attached.")
    else:
        v.verdict = "disagrees"
        v.notes = (f"The lamp's sensor reports it {state} (last reading {when}, {where}, "
                   f"{dist:.0f} m away). The report stays open for a person to check; the "
                   "last readings are attached.")
    return v


def submit(conn: Connection, verdict: Verdict, service: Service, form: Mapping[str, Any], *,
           lat: float | None, lon: float | None, client: str, now: float | None = None
           ) -> int:
    """Store a citizen's report with what the sensor said; returns its id."""
    now = time.time() if now is None else now
    attributes = {k[len("attribute["):-1]: v for k, v in form.items()
                  if k.startswith("attribute[") and k.endswith("]")}
    node = verdict.node
    external = attributes.get("fixmystreet_id") or attributes.get("external_id")

    def text(key: str, limit: int) -> str | None:
        value = form.get(key)
        return str(value)[:limit] if value not in (None, "") else None

    return int(conn.execute(insert(CitizenRequest).values(
        service_code=service.code, description=str(form.get("description") or "")[:5000],
        lat=lat, lon=lon, address=text("address_string", 500), email=text("email", 254),
        first_name=text("first_name", 100), last_name=text("last_name", 100),
        phone=text("phone", 50), media_url=text("media_url", 1000),
        attributes=json.dumps(attributes), external_id=str(external)[:100] if external else None,
        client=client, requested_at=now, updated_at=now, status=OPEN,
        status_notes=verdict.notes, node_id=node.id if node is not None else None,
        distance_m=verdict.distance_m, verdict=verdict.verdict,
        district_id=node.district_id if node is not None else None,
        area_id=node.area_id if node is not None else None, ticket_id=verdict.ticket_id,
        alert_id=verdict.alert_id, evidence=json.dumps(verdict.evidence))
    ).inserted_primary_key[0])


CHECKED = "Checked and closed by the city's staff."


def close(conn: Connection, report_id: int, actor: str, note: str,
          public_note: str | None = None, now: float | None = None) -> bool:
    """A person checked the report: closed, with what they found (kept for staff) and what
    the reporter is told (`public_note`, else CHECKED). False if closed already."""
    now = time.time() if now is None else now
    return conn.execute(update(CitizenRequest).where(
        CitizenRequest.id == report_id, CitizenRequest.closed_at.is_(None)).values(
        status=CLOSED, closed_by=actor, closed_at=now, updated_at=now, check_note=note,
        status_notes=public_note or CHECKED)).rowcount == 1


def publish_note(conn: Connection, ticket_id: int, text: str, now: float | None = None
                 ) -> None:
    """Show `text` on the ticket's public Open311 request from now on."""
    conn.execute(insert(TicketPublicNote).values(
        ticket_id=ticket_id, at=time.time() if now is None else now, text=text))


# --- service requests as GeoReport shows them ---


def _ticket_status(status: str) -> str:
    return CLOSED if status == ticket_store.VERIFIED else OPEN


_STATUS_WORDS = {"open": "Reported to the DMC crew", "assigned": "Assigned to a crew member",
                 "in_progress": "The crew is working on it",
                 "fixed": "Marked fixed by the crew; the lamp's sensor will confirm tonight",
                 "verified": "Repaired: the lamp's sensor confirms it burns at night",
                 "reopened": "Reopened: the lamp's sensor still sees it dark after the repair"}


def _places(conn: Connection, node_ids: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for start in range(0, len(node_ids), 900):
        for r in conn.execute(
                select(Node.id, Node.lat, Node.lon, Node.pole, Area.name.label("area_name"),
                       District.name.label("district_name"))
                .join(Area, Area.id == Node.area_id)
                .join(District, District.id == Node.district_id)
                .where(Node.id.in_(node_ids[start:start + 900]))):
            out[r.id] = r
    return out


def _address(place: Any) -> str | None:
    if place is None:
        return None
    parts = [f"Pole {place.pole}" if place.pole else None, place.area_name, place.district_name]
    return ", ".join(p for p in parts if p)


def _agency(district_name: str | None) -> str | None:
    return f"DMC {district_name}" if district_name else None


def ticket_requests(conn: Connection, rows: list[Any]) -> list[dict[str, Any]]:
    places = _places(conn, sorted({r.node_id for r in rows}))
    notes: dict[int, str] = {}
    ids = [r.id for r in rows]
    photos = ticket_photos.latest_tokens(conn, ids)
    for start in range(0, len(ids), 900):
        # Only what the crew chose to publish: the notes in a ticket's history are staff's.
        for tid, note in conn.execute(
                select(TicketPublicNote.ticket_id, TicketPublicNote.text)
                .where(TicketPublicNote.ticket_id.in_(ids[start:start + 900]))
                .order_by(TicketPublicNote.id)):
            notes[tid] = note  # the latest wins
    out = []
    for r in rows:
        p = places.get(r.node_id)
        words = _STATUS_WORDS.get(r.status, r.status)
        last = notes.get(r.id)
        out.append({
            "service_request_id": f"{TICKET_PREFIX}{r.id}",
            "status": _ticket_status(r.status),
            "status_notes": f"{words}. {last}" if last else f"{words}.",
            "service_name": SERVICE_BY_CODE[FAULT_SERVICE.get(r.fault, "street_light_out")].name,
            "service_code": FAULT_SERVICE.get(r.fault, "street_light_out"),
            "description": f"{FAULT_TITLE.get(r.fault, r.fault)}, found by the lamp's sensor "
                           f"(node {r.node_id}).",
            "agency_responsible": _agency(p.district_name if p else None),
            "service_notice": None,
            "requested_datetime": iso(r.opened_at),
            "updated_datetime": iso(r.updated_at),
            "expected_datetime": iso(r.sla_due),
            "address": _address(p),
            "address_id": r.node_id,
            "zipcode": None,
            "lat": p.lat if p else None,
            "long": p.lon if p else None,
            # the crew's latest repair photo, by its public unguessable name
            # (hub/ticket_photos.py); a path on this hub
            "media_url": (f"/api/v1/tickets/photos/{photos[r.id]}" if r.id in photos
                          else None),
        })
    return out


def report_status(r: Any, ticket_status: str | None, alert_state: str | None
                  ) -> tuple[str, str]:
    """(open|closed, status notes) of a citizen's report: a person's decision, else the
    status of what it joined."""
    if r.closed_at is not None:
        return CLOSED, r.status_notes
    if ticket_status is not None:
        words = _STATUS_WORDS.get(ticket_status, ticket_status)
        return _ticket_status(ticket_status), f"{r.status_notes} {words}."
    if alert_state is not None:
        if alert_state == "cleared":
            return CLOSED, f"{r.status_notes} The lamp's sensor sees the fault gone."
        return OPEN, r.status_notes
    return OPEN, r.status_notes


def _linked(conn: Connection, rows: list[Any]) -> tuple[dict[int, str], dict[int, Any]]:
    alert_ids = sorted({r.alert_id for r in rows if r.alert_id})
    alerts = {a.id: a for a in conn.execute(
        select(Alert.id, Alert.state, Alert.ticket_id).where(Alert.id.in_(alert_ids)))
    } if alert_ids else {}
    ticket_ids = {r.ticket_id for r in rows if r.ticket_id}
    ticket_ids |= {a.ticket_id for a in alerts.values() if a.ticket_id}
    statuses = ticket_store.statuses(conn, sorted(ticket_ids))
    return statuses, alerts


def joined_ticket(r: Any, alerts: dict[int, Any]) -> int | None:
    """The ticket a report follows: the one it joined, or the one its alert got since."""
    if r.ticket_id:
        return int(r.ticket_id)
    a = alerts.get(r.alert_id) if r.alert_id else None
    return int(a.ticket_id) if a is not None and a.ticket_id else None


def report_requests(conn: Connection, rows: list[Any]) -> list[dict[str, Any]]:
    statuses, alerts = _linked(conn, rows)
    places = _places(conn, sorted({r.node_id for r in rows if r.node_id}))
    out = []
    for r in rows:
        tid = joined_ticket(r, alerts)
        a = alerts.get(r.alert_id) if r.alert_id else None
        status, notes = report_status(r, statuses.get(tid) if tid else None,
                                      a.state if a is not None else None)
        p = places.get(r.node_id) if r.node_id else None
        service = SERVICE_BY_CODE.get(r.service_code)
        expected = None
        if tid is not None:
            expected = conn.execute(select(Ticket.sla_due).where(Ticket.id == tid)).scalar()
        out.append({
            "service_request_id": f"{REPORT_PREFIX}{r.id}",
            "status": status,
            "status_notes": notes,
            "service_name": service.name if service else r.service_code,
            "service_code": r.service_code,
            "description": r.description,
            "agency_responsible": _agency(p.district_name if p else None),
            "service_notice": None,
            "requested_datetime": iso(r.requested_at),
            "updated_datetime": iso(r.updated_at),
            "expected_datetime": iso(expected) if expected else None,
            "address": r.address or _address(p),
            "address_id": r.node_id,
            "zipcode": None,
            "lat": r.lat,
            "long": r.lon,
            "media_url": r.media_url,
        })
    return out


def parse_id(service_request_id: str) -> tuple[str, int] | None:
    for kind, prefix in (("ticket", TICKET_PREFIX), ("report", REPORT_PREFIX)):
        if service_request_id.startswith(prefix) and service_request_id[len(prefix):].isdigit():
            return kind, int(service_request_id[len(prefix):])
    return None


TICKET_COLUMNS = (Ticket.id, Ticket.node_id, Ticket.fault, Ticket.status, Ticket.opened_at,
                  Ticket.updated_at, Ticket.sla_due)
REPORT_COLUMNS = tuple(getattr(CitizenRequest, c) for c in (
    "id", "service_code", "description", "lat", "lon", "address", "media_url",
    "requested_at", "updated_at", "status_notes", "node_id", "ticket_id", "alert_id",
    "closed_at"))


def find(conn: Connection, ids: list[str]) -> list[dict[str, Any]]:
    """Service requests by id, in the order asked, unknown ids left out."""
    wanted = [p for i in ids if (p := parse_id(i.strip()))]
    t_ids = [n for k, n in wanted if k == "ticket"]
    r_ids = [n for k, n in wanted if k == "report"]
    found: dict[str, dict[str, Any]] = {}
    if t_ids:
        rows = conn.execute(select(*TICKET_COLUMNS).where(Ticket.id.in_(t_ids))).all()
        found.update((x["service_request_id"], x) for x in ticket_requests(conn, rows))
    if r_ids:
        rows = conn.execute(select(*REPORT_COLUMNS).where(CitizenRequest.id.in_(r_ids))).all()
        found.update((x["service_request_id"], x) for x in report_requests(conn, rows))
    return [found[i.strip()] for i in ids if i.strip() in found]


def search(conn: Connection, *, start: float, end: float, service_code: str | None,
           status: str | None, limit: int) -> list[dict[str, Any]]:
    """Tickets and reports requested in [start, end], newest first, at most `limit`."""
    tq = select(*TICKET_COLUMNS).where(Ticket.opened_at >= start, Ticket.opened_at <= end)
    rq = select(*REPORT_COLUMNS).where(CitizenRequest.requested_at >= start,
                                       CitizenRequest.requested_at <= end)
    if service_code is not None:
        faults = [f for f, s in FAULT_SERVICE.items() if s == service_code]
        tq = tq.where(Ticket.fault.in_(faults))
        rq = rq.where(CitizenRequest.service_code == service_code)
    if status == CLOSED:
        tq = tq.where(Ticket.status == ticket_store.VERIFIED)
    elif status == OPEN:
        tq = tq.where(Ticket.status != ticket_store.VERIFIED)
    out = ticket_requests(conn, conn.execute(
        tq.order_by(Ticket.opened_at.desc()).limit(limit)).all())
    # A report's status follows what it joined, so its status filter is applied here.
    reports = report_requests(conn, conn.execute(
        rq.order_by(CitizenRequest.requested_at.desc()).limit(limit * 4 if status else limit)
    ).all())
    out += [r for r in reports if status is None or r["status"] == status]
    out.sort(key=lambda x: x["requested_datetime"], reverse=True)
    return out[:limit]
