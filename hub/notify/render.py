"""What a notification looks like on the wire: a signed JSON body for webhooks, a plain
text e-mail that names the place, the fault and the ticket."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from zoneinfo import ZoneInfo

from hub.notify.settings import NotifySettings, Subscriber

RULES = {
    "lamp_out": "Lamp out (dark spot)",
    "area_power_cut": "Area power cut (load-shedding)",
    "day_burner": "Lamp burning by day",
    "flicker": "Flickering / failing lamp",
    "low_power": "Lamp drawing too little power",
    "node_offline": "Sensor node offline",
    "tamper": "Tamper",
    "supply_loss": "Mains supply lost",
    "control_fault": "Lamp not following its command",
}
HEADLINES = {
    "alert_opened": "New alert",
    "alert_cleared": "Alert cleared",
    "ticket_opened": "Repair ticket opened",
    "ticket_reopened": "Repair ticket reopened: the lamp is still dark",
    "ticket_verified": "Repair verified by the sensor",
    "sla_missed": "Repair overdue: SLA missed",
    "digest": "Daily digest",
}


def signature(secret: str, body: bytes) -> str:
    """`X-Roshni-Signature`: sha256=<hex HMAC-SHA256 of the raw body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_request(delivery: int, sub: Subscriber, n: dict[str, Any], sent_at: float
                    ) -> tuple[bytes, dict[str, str]]:
    """Body and headers. `sent_at` is in the body too, so the signature covers it and a
    receiver can refuse replays of old deliveries."""
    body = json.dumps({"delivery": delivery, "subscriber": sub.name, **n,
                       "sent_at": int(sent_at)}, separators=(",", ":")).encode()
    assert sub.secret is not None
    return body, {
        "Content-Type": "application/json",
        "User-Agent": "roshni-hub",
        "X-Roshni-Event": n.get("kind", ""),
        "X-Roshni-Delivery": str(delivery),
        "X-Roshni-Timestamp": str(int(sent_at)),
        "X-Roshni-Signature": signature(sub.secret, body),
    }


class Text:
    """Formatting shared by the e-mail renderers."""

    def __init__(self, settings: NotifySettings, tz: ZoneInfo) -> None:
        self.settings = settings
        self.tz = tz

    def when(self, ts: Any) -> str:
        if not isinstance(ts, int | float):
            return str(ts)
        return dt.datetime.fromtimestamp(ts, self.tz).strftime("%a %d %b %Y %H:%M %Z")

    def link(self, path: str | None) -> str | None:
        if not path:
            return None
        base = self.settings.public_url
        return base.rstrip("/") + path if base and path.startswith("/") else path

    def map(self, p: dict[str, Any]) -> str | None:
        if p.get("lat") is None or p.get("lon") is None:
            return None
        return self.settings.maps_url.format(lat=f"{p['lat']:.6f}", lon=f"{p['lon']:.6f}")

    @staticmethod
    def place(p: dict[str, Any], fallback_area: str = "", fallback_district: str = "") -> str:
        area = p.get("area") or fallback_area or "unknown area"
        district = p.get("district_name") or p.get("district") or fallback_district
        return f"{area}, {district} district" if district else area

    @staticmethod
    def pole(p: dict[str, Any]) -> str | None:
        if not p.get("node"):
            return None
        return f"pole {p['pole']} (node {p['node']})" if p.get("pole") else f"node {p['node']}"

    @staticmethod
    def rule(name: str | None) -> str | None:
        return f"{RULES.get(name, name)} [{name}]" if name else None


def event_text(t: Text, sub: Subscriber, n: dict[str, Any]) -> str:
    b = n.get("body") or {}
    p = dict(b.get("place") or {})
    p.setdefault("node", n.get("node"))
    lines = [f"{HEADLINES.get(n['kind'], n['kind'])}: "
             f"{RULES.get(b.get('fault') or b.get('rule'), n.get('subject', ''))}", ""]

    def row(label: str, value: Any) -> None:
        if value not in (None, ""):
            lines.append(f"{label + ':':<10}{value}")

    row("Place", t.place(p, n.get("area", ""), n.get("district", "")))
    if p.get("pole"):
        row("Pole", f"{p['pole']} (node {p.get('node')})")
    else:
        row("Node", p.get("node"))
    row("Map", t.map(p))
    row("Fault", t.rule(b.get("fault") or b.get("rule")))
    if b.get("ticket_id") is not None:
        ticket = f"#{b['ticket_id']}"
        if b.get("priority") is not None:
            ticket += f", priority {b['priority']}"
        if b.get("sla_due") is not None:
            ticket += f", SLA due {t.when(b['sla_due'])}"
        row("Ticket", ticket)
    if b.get("alert_id") is not None:
        row("Alert", f"#{b['alert_id']}")
    row("Status", b.get("status"))
    if b.get("started_at") is not None:
        row("Since", t.when(b["started_at"]))
    row("Note", b.get("note"))
    row("Open", t.link(b.get("link")))
    lines += ["", "-- ", f"Roshni street-light monitoring; sent to subscriber {sub.name!r}."]
    return "\n".join(lines) + "\n"


def digest_text(t: Text, sub: Subscriber, n: dict[str, Any]) -> str:
    b = n.get("body") or {}
    where = ", ".join(b.get("scope") or []) or "your areas"
    night = b.get("night", "")
    lines = [f"Roshni daily digest for {where}, {b.get('date', '')}", ""]
    spots = b.get("dark_spots") or []
    lines.append(f"Dark spots last night ({night}): {len(spots)}, most unsafe first"
                 if spots else f"Dark spots last night ({night}): none")
    for i, s in enumerate(spots, start=1):
        lines.append(f"  {i}. {t.place(s)}, {t.pole(s)}: dark {s['dark_minutes']:.0f} min, "
                     f"{s['exposure']:.0f} people passed, score {s['score']:.1f}")
        if (m := t.map(s)) is not None:
            lines.append(f"     {m}")
    lines.append("")
    overdue = b.get("overdue") or []
    lines.append(f"Repair tickets overdue: {len(overdue)}" if overdue
                 else "Repair tickets overdue: none")
    for k in overdue:
        lines.append(f"  #{k['id']} {RULES.get(k['fault'], k['fault'])} at {t.place(k)}, "
                     f"{t.pole(k)}: priority {k['priority']}, SLA due {t.when(k['sla_due'])}, "
                     f"status {k['status']}")
    lines.append("")
    verified = b.get("verified") or []
    lines.append(f"Repairs verified by the sensors: {len(verified)}" if verified
                 else "Repairs verified by the sensors: none")
    for k in verified:
        lines.append(f"  #{k['id']} {RULES.get(k['fault'], k['fault'])} at {t.place(k)}, "
                     f"{t.pole(k)}: verified {t.when(k['verified_at'])}")
    if (link := t.link(b.get("link"))) is not None:
        lines += ["", f"Ranking: {link}"]
    lines += ["", "-- ", f"Roshni street-light monitoring; sent to subscriber {sub.name!r}."]
    return "\n".join(lines) + "\n"


def email_message(settings: NotifySettings, tz: ZoneInfo, delivery: int, sub: Subscriber,
                  n: dict[str, Any], sent_at: float) -> EmailMessage:
    t = Text(settings, tz)
    msg = EmailMessage()
    msg["From"] = settings.smtp.from_address
    assert sub.address is not None
    msg["To"] = sub.address
    msg["Subject"] = n.get("subject") or HEADLINES.get(n["kind"], n["kind"])
    msg["Date"] = format_datetime(dt.datetime.fromtimestamp(sent_at, dt.UTC))
    # The same Message-ID on a resend lets mail systems drop the copy.
    domain = settings.smtp.from_address.rpartition("@")[2] or "roshni"
    msg["Message-ID"] = f"<roshni-outbox-{delivery}@{domain}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Roshni-Delivery"] = str(delivery)
    msg["X-Roshni-Event"] = n["kind"]
    render = digest_text if n["kind"] == "digest" else event_text
    msg.set_content(render(t, sub, n))
    return msg
