"""What a notification looks like on the wire: a signed JSON body for webhooks, a plain
text e-mail that names the place, the fault and the ticket, in the subscriber's language
(`language = "en"` or `"ur"`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from zoneinfo import ZoneInfo

from hub.core.notify_settings import NotifySettings, Subscriber
from hub.sensor_notes import sensor_note

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


URDU_RULES = {
    "lamp_out": "بتی بند (اندھیرا)",
    "area_power_cut": "علاقے کی بجلی بند (لوڈ شیڈنگ)",
    "day_burner": "دن میں جلتی بتی",
    "flicker": "ٹمٹماتی / خراب بتی",
    "low_power": "کمزور بتی (کم پاور)",
    "node_offline": "سینسر نوڈ آف لائن",
    "tamper": "چھیڑ چھاڑ",
    "supply_loss": "بجلی کی فراہمی منقطع",
}
URDU_HEADLINES = {
    "alert_opened": "نیا الرٹ",
    "alert_cleared": "الرٹ ختم",
    "ticket_opened": "مرمت کا ٹکٹ کھلا",
    "ticket_reopened": "مرمت کا ٹکٹ دوبارہ کھلا: بتی اب بھی بند ہے",
    "ticket_verified": "سینسر نے مرمت کی تصدیق کر دی",
    "sla_missed": "مرمت میں تاخیر: مقررہ وقت گزر گیا",
    "digest": "روزانہ خلاصہ",
}
URDU_STATUSES = {"open": "کھلا", "assigned": "سونپا گیا", "in_progress": "کام جاری ہے",
                 "fixed": "ٹھیک کر دیا", "verified": "سینسر سے تصدیق شدہ",
                 "reopened": "دوبارہ کھولا گیا"}
URDU_NOTES = {
    "sensor_found": "{fault}، سینسر نے پکڑا",
    "sensor_verified_night": "بتی رات میں {minutes} منٹ سے ٹھیک جل رہی ہے",
    "sensor_verified_day": "بتی دن میں {minutes} منٹ سے بجھی ہوئی ہے",
    "sensor_reopened": "ٹکٹ کو ٹھیک قرار دینے کے {minutes} منٹ بعد بھی خرابی موجود ہے",
}
URDU_MONTHS = ("جنوری", "فروری", "مارچ", "اپریل", "مئی", "جون", "جولائی", "اگست", "ستمبر",
               "اکتوبر", "نومبر", "دسمبر")
# Row labels of an event e-mail, by language (English is the label itself).
URDU_LABELS = {"Place": "مقام", "Pole": "کھمبا", "Node": "نوڈ", "Map": "نقشہ",
               "Fault": "خرابی", "Ticket": "ٹکٹ", "Alert": "الرٹ", "Status": "حالت",
               "Since": "کب سے", "Note": "نوٹ", "Open": "کھولیں"}


class Text:
    """Formatting shared by the e-mail renderers, in the recipient's language (`en`, `ur`).
    Names, ids, numbers and links stay as they are in both."""

    def __init__(self, settings: NotifySettings, tz: ZoneInfo, language: str = "en") -> None:
        self.settings = settings
        self.tz = tz
        self.ur = language == "ur"

    def when(self, ts: Any) -> str:
        if not isinstance(ts, int | float):
            return str(ts)
        d = dt.datetime.fromtimestamp(ts, self.tz)
        if self.ur:  # 24-hour clock, Urdu month names
            return f"{d.day} {URDU_MONTHS[d.month - 1]} {d.year}، {d:%H:%M} {d:%Z}"
        return d.strftime("%a %d %b %Y %H:%M %Z")

    def link(self, path: str | None) -> str | None:
        if not path:
            return None
        base = self.settings.public_url
        return base.rstrip("/") + path if base and path.startswith("/") else path

    def map(self, p: dict[str, Any]) -> str | None:
        if p.get("lat") is None or p.get("lon") is None:
            return None
        return self.settings.maps_url.format(lat=f"{p['lat']:.6f}", lon=f"{p['lon']:.6f}")

    def place(self, p: dict[str, Any], fallback_area: str = "", fallback_district: str = ""
              ) -> str:
        area = p.get("area") or fallback_area or ("نامعلوم علاقہ" if self.ur else "unknown area")
        district = p.get("district_name") or p.get("district") or fallback_district
        if not district:
            return area
        return f"{area}، ضلع {district}" if self.ur else f"{area}, {district} district"

    def pole(self, p: dict[str, Any]) -> str | None:
        if not p.get("node"):
            return None
        if self.ur:
            return (f"کھمبا {p['pole']} (نوڈ {p['node']})" if p.get("pole")
                    else f"نوڈ {p['node']}")
        return f"pole {p['pole']} (node {p['node']})" if p.get("pole") else f"node {p['node']}"

    def rule_name(self, name: str | None) -> str:
        return (URDU_RULES if self.ur else RULES).get(name or "", name or "")

    def rule(self, name: str | None) -> str | None:
        return f"{self.rule_name(name)} [{name}]" if name else None

    def headline(self, kind: str) -> str:
        return (URDU_HEADLINES if self.ur else HEADLINES).get(kind, kind)

    def label(self, english: str) -> str:
        return URDU_LABELS.get(english, english) if self.ur else english

    def status(self, status: str | None) -> str | None:
        return URDU_STATUSES.get(status, status) if self.ur and status else status

    def note(self, note: str | None) -> str | None:
        """The sensor's notes in the recipient's language; a person's words as written."""
        if not note or not self.ur or (found := sensor_note(note)) is None:
            return note
        code, params = found
        if "fault" in params:
            params = {**params, "fault": URDU_RULES.get(params["fault"], params["fault"])}
        return URDU_NOTES[code].format(**params)

    def footer(self, sub: Subscriber) -> list[str]:
        if self.ur:
            return ["", "-- ", f"روشنی اسٹریٹ لائٹ نگرانی؛ سبسکرائبر {sub.name!r} کو بھیجا گیا۔"]
        return ["", "-- ", f"Roshni street-light monitoring; sent to subscriber {sub.name!r}."]


def event_text(t: Text, sub: Subscriber, n: dict[str, Any]) -> str:
    b = n.get("body") or {}
    p = dict(b.get("place") or {})
    p.setdefault("node", n.get("node"))
    fault = b.get("fault") or b.get("rule")
    what = t.rule_name(fault) if fault else n.get("subject", "")
    lines = [f"{t.headline(n['kind'])}: {what}", ""]

    def row(label: str, value: Any) -> None:
        if value not in (None, ""):
            lines.append(f"{t.label(label) + ':':<10}{value}")

    row("Place", t.place(p, n.get("area", ""), n.get("district", "")))
    if p.get("pole"):
        row("Pole", f"{p['pole']} ({'نوڈ' if t.ur else 'node'} {p.get('node')})")
    else:
        row("Node", p.get("node"))
    row("Map", t.map(p))
    row("Fault", t.rule(fault))
    if b.get("ticket_id") is not None:
        ticket = f"#{b['ticket_id']}"
        if b.get("priority") is not None:
            ticket += (f"، ترجیح {b['priority']}" if t.ur else f", priority {b['priority']}")
        if b.get("sla_due") is not None:
            ticket += (f"، مقررہ وقت {t.when(b['sla_due'])}" if t.ur
                       else f", SLA due {t.when(b['sla_due'])}")
        row("Ticket", ticket)
    if b.get("alert_id") is not None:
        row("Alert", f"#{b['alert_id']}")
    row("Status", t.status(b.get("status")))
    if b.get("started_at") is not None:
        row("Since", t.when(b["started_at"]))
    row("Note", t.note(b.get("note")))
    row("Open", t.link(b.get("link")))
    lines += t.footer(sub)
    return "\n".join(lines) + "\n"


def _digest_lines_en(t: Text, b: dict[str, Any]) -> list[str]:
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
        lines.append(f"  #{k['id']} {t.rule_name(k['fault'])} at {t.place(k)}, "
                     f"{t.pole(k)}: priority {k['priority']}, SLA due {t.when(k['sla_due'])}, "
                     f"status {k['status']}")
    lines.append("")
    verified = b.get("verified") or []
    lines.append(f"Repairs verified by the sensors: {len(verified)}" if verified
                 else "Repairs verified by the sensors: none")
    for k in verified:
        lines.append(f"  #{k['id']} {t.rule_name(k['fault'])} at {t.place(k)}, "
                     f"{t.pole(k)}: verified {t.when(k['verified_at'])}")
    if (link := t.link(b.get("link"))) is not None:
        lines += ["", f"Ranking: {link}"]
    return lines


def _digest_lines_ur(t: Text, b: dict[str, Any]) -> list[str]:
    where = "، ".join(b.get("scope") or []) or "آپ کے علاقے"
    night = b.get("night", "")
    lines = [f"روشنی کا روزانہ خلاصہ: {where}، {b.get('date', '')}", ""]
    spots = b.get("dark_spots") or []
    lines.append(f"گزشتہ رات ({night}) کے تاریک مقامات: {len(spots)}، سب سے غیر محفوظ پہلے"
                 if spots else f"گزشتہ رات ({night}) کے تاریک مقامات: کوئی نہیں")
    for i, s in enumerate(spots, start=1):
        lines.append(f"  {i}. {t.place(s)}، {t.pole(s)}: {s['dark_minutes']:.0f} منٹ اندھیرا، "
                     f"{s['exposure']:.0f} لوگ گزرے، اسکور {s['score']:.1f}")
        if (m := t.map(s)) is not None:
            lines.append(f"     {m}")
    lines.append("")
    overdue = b.get("overdue") or []
    lines.append(f"تاخیر والے مرمت کے ٹکٹ: {len(overdue)}" if overdue
                 else "تاخیر والے مرمت کے ٹکٹ: کوئی نہیں")
    for k in overdue:
        lines.append(f"  #{k['id']} {t.rule_name(k['fault'])}، {t.place(k)}، {t.pole(k)}: "
                     f"ترجیح {k['priority']}، مقررہ وقت {t.when(k['sla_due'])}، "
                     f"حالت {t.status(k['status'])}")
    lines.append("")
    verified = b.get("verified") or []
    lines.append(f"سینسر سے تصدیق شدہ مرمتیں: {len(verified)}" if verified
                 else "سینسر سے تصدیق شدہ مرمتیں: کوئی نہیں")
    for k in verified:
        lines.append(f"  #{k['id']} {t.rule_name(k['fault'])}، {t.place(k)}، {t.pole(k)}: "
                     f"تصدیق {t.when(k['verified_at'])}")
    if (link := t.link(b.get("link"))) is not None:
        lines += ["", f"درجہ بندی: {link}"]
    return lines


def digest_text(t: Text, sub: Subscriber, n: dict[str, Any]) -> str:
    b = n.get("body") or {}
    lines = (_digest_lines_ur if t.ur else _digest_lines_en)(t, b)
    lines += t.footer(sub)
    return "\n".join(lines) + "\n"


def subject(t: Text, n: dict[str, Any]) -> str:
    """The producer's English subject; in Urdu, the headline, the fault and the place."""
    if not t.ur:
        return str(n.get("subject") or HEADLINES.get(n["kind"], n["kind"]))
    b = n.get("body") or {}
    if n["kind"] == "digest":
        return f"روشنی {t.headline('digest')} {b.get('date', '')}".strip()
    p = dict(b.get("place") or {})
    p.setdefault("node", n.get("node"))
    parts = [t.headline(n["kind"])]
    if fault := b.get("fault") or b.get("rule"):
        parts.append(t.rule_name(fault))
    where = t.place(p, n.get("area", ""), n.get("district", ""))
    return f"{': '.join(parts)} — {where}"


def email_message(settings: NotifySettings, tz: ZoneInfo, delivery: int, sub: Subscriber,
                  n: dict[str, Any], sent_at: float) -> EmailMessage:
    t = Text(settings, tz, sub.language)
    msg = EmailMessage()
    msg["From"] = settings.smtp.from_address
    assert sub.address is not None
    msg["To"] = sub.address
    msg["Subject"] = subject(t, n)
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
