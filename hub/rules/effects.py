"""What the rules do about a condition, in the ingest (or tick) transaction: open and clear
alerts, open, reopen, verify and escalate tickets, and enqueue the notifications, so the
decision and its consequences commit together or not at all."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from hub import alerts, tickets
from hub.core.rules_settings import RulesSettings
from hub.notify import Notification, enqueue, place
from hub.rules.policy import POLICIES, Audience
from hub.rules.sites import Site
from hub.spots import current_score

EVIDENCE_FIELDS = ("ts", "lamp_on", "lamp_w", "mains_v", "lux", "footfall")


def evidence_rows(ring: list[tuple]) -> list[dict[str, Any]]:
    return [{k: v for k, v in zip(EVIDENCE_FIELDS, r, strict=True) if v is not None}
            for r in ring]


@dataclass(frozen=True)
class PowerCut:
    """An area's or a feeder's power cut, as it is filed and told."""

    district: str
    area: str  # filed under (for a feeder: see Sites.filed_under)
    nodes_down: int
    nodes: int
    feeder: str | None = None
    areas: tuple[str, ...] = ()  # a feeder's: every area it supplies

    def detail(self) -> dict[str, Any]:
        out: dict[str, Any] = {"nodes_down": self.nodes_down, "nodes": self.nodes}
        if self.feeder is not None:
            out.update(feeder=self.feeder, areas=list(self.areas))
        return out


@dataclass
class Raised:
    alert_id: int
    created: bool
    ticket_id: int | None = None


class Effects:
    def __init__(self, conn: Connection, settings: RulesSettings,
                 wall: Callable[[], float] = time.time) -> None:
        self.conn = conn
        self.settings = settings
        self.now = wall()

    # --- alerts ---

    def raise_alert(self, rule: str, site: Site, *, started_at: float, at: float,
                    historical: bool, evidence: list[tuple]) -> Raised:
        """Open the alert; if it is live, tell people and open its ticket."""
        alert_id, created = alerts.open_alert(
            self.conn, rule=rule, node=site.id, district=site.district, area=site.area,
            started_at=started_at, historical=historical, now=self.now,
            detail={"raised_at": at})
        raised = Raised(alert_id, created)
        if created and not historical:
            raised.ticket_id = self.announce(rule, site, alert_id, started_at, at, evidence)
        return raised

    def make_live(self, rule: str, site: Site, alert_id: int, *, started_at: float,
                  at: float, evidence: list[tuple]) -> int | None:
        """A condition raised from replayed history that live readings still find."""
        alerts.make_live(self.conn, alert_id, self.now)
        return self.announce(rule, site, alert_id, started_at, at, evidence)

    def announce(self, rule: str, site: Site, alert_id: int, started_at: float, at: float,
                 evidence: list[tuple]) -> int | None:
        """Tell people of a live alert and open its repair ticket; the ticket's id."""
        policy = POLICIES[rule]
        ticket = self._open_ticket(rule, site, alert_id, at, evidence) if policy.ticket \
            else None
        if policy.audience is not None:
            body = {"rule": rule, "alert_id": alert_id, "started_at": started_at,
                    "link": f"/alerts/{alert_id}"}
            if ticket is not None:
                body["ticket_id"] = ticket["ticket_id"]
            self._notify("alert_opened", f"alert:{alert_id}:opened", policy.audience, site,
                         f"{policy.title}: {{where}}", body)
        if ticket is None:
            return None
        if ticket.pop("created"):
            self._notify("ticket_opened", f"ticket:{ticket['ticket_id']}:opened", "crew",
                         site, f"Repair ticket #{ticket['ticket_id']} (priority "
                         f"{ticket['priority']}): {policy.title}, {{where}}",
                         {**ticket, "started_at": started_at})
        return int(ticket["ticket_id"])

    def raise_cut_alert(self, cut: PowerCut, *, started_at: float, at: float,
                        historical: bool) -> int:
        alert_id, created = alerts.open_alert(
            self.conn, rule="area_power_cut", node=None, district=cut.district, area=cut.area,
            feeder=cut.feeder, started_at=started_at, historical=historical, now=self.now,
            detail={"raised_at": at, **cut.detail()})
        if created and not historical:
            self.announce_cut(cut, alert_id, started_at)
        return alert_id

    def make_cut_live(self, cut: PowerCut, alert_id: int, *, started_at: float) -> None:
        alerts.make_live(self.conn, alert_id, self.now)
        self.announce_cut(cut, alert_id, started_at)

    def announce_cut(self, cut: PowerCut, alert_id: int, started_at: float) -> None:
        policy = POLICIES["area_power_cut"]
        where = place(self.conn, area=cut.area)
        if cut.feeder is None:
            what = f"{policy.title}, {where.get('area', cut.area)}"
            note = ("Load-shedding or a feeder fault: one incident for the area, no repair "
                    "tickets for its lamps while it lasts.")
        else:
            names = [place(self.conn, area=a).get("area", a) for a in cut.areas]
            what = f"Power cut on feeder {cut.feeder} ({', '.join(names)})"
            note = (f"Load-shedding or a fault on feeder {cut.feeder}: one incident for its "
                    "lamps in every area it supplies, no repair tickets for them while it "
                    "lasts.")
        self._send(Notification(
            kind="alert_opened", key=f"alert:{alert_id}:opened", audience="committee",
            district=cut.district, area=cut.area, node=None,
            subject=f"{what}: {cut.nodes_down} of {cut.nodes} lamps dark or offline",
            body={"rule": "area_power_cut", "alert_id": alert_id, "started_at": started_at,
                  "link": f"/alerts/{alert_id}", "place": where, **cut.detail(),
                  "note": note}))

    def clear_alert(self, rule: str, site: Site | None, alert_id: int, *, ended_at: float,
                    at: float, ticket_id: int | None, historical: bool) -> None:
        """The condition has been gone long enough: the alert clears, and its ticket (for
        a lamp fault the lamp now works) is verified by the sensor."""
        alerts.clear(self.conn, alert_id, ended_at=ended_at, now=self.now)
        if ticket_id is None or site is None:
            return
        minutes = round(self.settings.verify_after_s / 60)
        note = (f"the lamp has stayed off by day for {minutes} min" if rule == "day_burner"
                else f"the lamp has worked at night for {minutes} min")
        if tickets.sensor_transition(self.conn, ticket_id, tickets.VERIFIED, note, at=at,
                                     now=self.now) and not historical:
            self._notify("ticket_verified", f"ticket:{ticket_id}:verified", "committee", site,
                         "Repair verified: {where}",
                         {"fault": rule, "ticket_id": ticket_id, "alert_id": alert_id,
                          "status": tickets.VERIFIED, "note": note,
                          "link": f"/tickets/{ticket_id}"})

    # --- tickets ---

    def _open_ticket(self, fault: str, site: Site, alert_id: int, at: float,
                     evidence: list[tuple]) -> dict[str, Any]:
        s = self.settings
        score = current_score(self.conn, site.id)
        priority = tickets.priority_for(fault, score, base=s.priority,
                                        busy_score=s.busy_spot_score)
        sla_due = at + s.sla_s(priority)
        ticket_id, created = tickets.open_ticket(
            self.conn, alert_id=alert_id, node=site.id, district=site.district,
            area=site.area, fault=fault, priority=priority, opened_at=at, sla_due=sla_due,
            evidence=evidence_rows(evidence), now=self.now,
            note=f"{POLICIES[fault].title}, found by the sensor")
        alerts.link_ticket(self.conn, alert_id, ticket_id)
        return {"fault": fault, "ticket_id": ticket_id, "alert_id": alert_id,
                "priority": priority, "sla_due": sla_due, "status": tickets.OPEN,
                "score": score, "link": f"/tickets/{ticket_id}", "created": created}

    def reopen(self, fault: str, site: Site, ticket_id: int, *, at: float) -> bool:
        minutes = round(self.settings.reopen_after_s / 60)
        note = f"the fault is still there {minutes} min after the ticket was marked fixed"
        if not tickets.sensor_transition(self.conn, ticket_id, tickets.REOPENED, note, at=at,
                                         now=self.now):
            return False
        self._notify("ticket_reopened", f"ticket:{ticket_id}:reopened:{at:.0f}", "crew", site,
                     f"Repair ticket #{ticket_id} reopened: {POLICIES[fault].title}, "
                     "{where}",
                     {"fault": fault, "ticket_id": ticket_id, "status": tickets.REOPENED,
                      "note": note, "link": f"/tickets/{ticket_id}"})
        return True

    def escalate(self, ticket_id: int, site: Site | None, *, at: float) -> bool:
        if not tickets.escalate(self.conn, ticket_id, at=at):
            return False
        t = tickets.get(self.conn, ticket_id)
        body = {"fault": t["fault"], "ticket_id": ticket_id, "alert_id": t["alert_id"],
                "priority": t["priority"], "sla_due": t["sla_due"], "status": t["status"],
                "link": f"/tickets/{ticket_id}"}
        where = place(self.conn, node=t["node"])
        subject = (f"Repair overdue: ticket #{ticket_id}, {POLICIES[t['fault']].title}, "
                   f"{_where(where)}")
        for audience in ("crew", "committee"):
            self._send(Notification(
                kind="sla_missed", key=f"ticket:{ticket_id}:sla_missed:{audience}",
                audience=audience, district=t["district"], area=t["area"], node=t["node"],
                subject=subject, body={**body, "place": where}))
        return True

    # --- notifications ---

    def _notify(self, kind: str, key: str, audience: Audience, site: Site, subject: str,
                body: dict[str, Any]) -> None:
        """`{where}` in the subject becomes the pole, area and node, as people know them."""
        where = place(self.conn, node=site.id)
        self._send(Notification(kind=kind, key=key, audience=audience, district=site.district,
                                area=site.area, node=site.id,
                                subject=subject.replace("{where}", _where(where)),
                                body={**body, "place": where}))

    def _send(self, n: Notification) -> None:
        enqueue(self.conn, n)


def _where(place: dict[str, Any]) -> str:
    pole = f"pole {place['pole']}, " if place.get("pole") else ""
    return f"{pole}{place.get('area', place.get('area_id', '?'))} ({place.get('node')})"
