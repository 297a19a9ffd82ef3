"""Real parts for the notification tests: a state database migrated like the hub's, a
webhook receiver that checks signatures, an SMTP server, and a clock the test turns."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import Counter
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from hub.db import make_engine, migrate
from hub.registry import provision
from hub.supervise import free_port

SECRET = "s3cret-for-the-korangi-committee"
T0 = 1_773_500_000.0  # Sat 14 Mar 2026 19:53 PKT: night in Karachi


class Clock:
    """The worker's clock, turned by the test."""

    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def state_db(url: str) -> Engine:
    """The state at `url` (the `db_url` fixture: each backend in turn), migrated, with four
    nodes in two districts."""
    migrate(url)
    engine = make_engine(url)
    # Korangi 5 and Landhi in Korangi, Model Colony in Malir.
    for node, district, area, lat, lon, pole in (
            ("khi-kor-0042", "korangi", "Korangi 5", 24.8300, 67.1300, "K5-117"),
            ("khi-kor-0043", "korangi", "Korangi 5", 24.8310, 67.1310, "K5-118"),
            ("khi-lan-0007", "korangi", "Landhi", 24.8500, 67.2000, "L-07"),
            ("khi-mal-0001", "malir", "Model Colony", 24.8800, 67.1800, "MC-01")):
        provision(engine, node, district=district, area=area, lat=lat, lon=lon, pole=pole,
                  rated_w=60)
    return engine


class WebhookReceiver:
    """A webhook endpoint on 127.0.0.1 as a committee would run it: verifies the
    signature, records what it was sent. `state`: "down" (port bound, not listening:
    connection refused), "unavailable" (503), "up"."""

    def __init__(self, secret: str = SECRET) -> None:
        self.secret = secret
        self.state = "down"
        self.received: list[dict[str, Any]] = []  # accepted bodies, in arrival order
        self.attempts: list[tuple[int, int, int]] = []  # (X-Roshni-Timestamp, delivery, status)
        self.bad_signatures = 0
        self.refuse_keys: set[str] = set()  # event keys answered with 400
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver._handle(raw, self.headers)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        self.server.allow_reuse_address = True
        self.server.server_bind()
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/roshni"
        self._thread: threading.Thread | None = None

    def _handle(self, raw: bytes, headers: Any) -> int:
        expected = "sha256=" + hmac.new(self.secret.encode(), raw, hashlib.sha256).hexdigest()
        body = json.loads(raw)
        if self.state == "unavailable":
            status = 503
        elif not hmac.compare_digest(expected, headers.get("X-Roshni-Signature", "")):
            self.bad_signatures += 1
            status = 401
        elif body["key"] in self.refuse_keys:
            status = 400
        else:
            # The timestamp header is in the signed body too.
            assert int(headers["X-Roshni-Timestamp"]) == body["sent_at"]
            self.received.append(body)
            status = 204
        self.attempts.append((int(headers["X-Roshni-Timestamp"]),
                              int(headers["X-Roshni-Delivery"]), status))
        return status

    def listen(self, state: str = "up") -> None:
        self.state = state
        if self._thread is None:
            self.server.server_activate()
            self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
            self._thread.start()

    def keys(self) -> Counter[str]:
        return Counter(b["key"] for b in self.received)

    def close(self) -> None:
        if self._thread is not None:
            self.server.shutdown()
        self.server.server_close()


class SmtpSink:
    """aiosmtpd on 127.0.0.1, keeping every message it accepts. With `tls` (cert, key)
    it offers STARTTLS and requires it; with `login` (user, password) it requires AUTH."""

    def __init__(self, tls: tuple[Path, Path] | None = None,
                 login: tuple[str, str] | None = None) -> None:
        import ssl

        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                # SMTP carries CRLF line ends; read the message as a mail client shows it.
                raw = envelope.original_content.replace(b"\r\n", b"\n")
                sink.messages.append(message_from_bytes(  # type: ignore[arg-type]
                    raw, policy=policy.default))
                return "250 OK"

        kwargs: dict[str, Any] = {}
        if tls is not None:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(str(tls[0]), str(tls[1]))
            kwargs.update(tls_context=ctx, require_starttls=True)
        if login is not None:
            def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                             auth_data: Any) -> AuthResult:
                ok = (auth_data.login.decode(), auth_data.password.decode()) == login
                return AuthResult(success=ok, handled=False)

            kwargs.update(authenticator=authenticate, auth_required=True)
        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **kwargs)

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


def lamp_out(conn: Any, node: str, ticket: int, *, kind: str = "alert_opened",
             audience: str = "committee", rule: str = "lamp_out") -> Any:
    """A notification as the rules engine sends it for a dark lamp and its ticket."""
    from hub.notify import Notification, place

    p = place(conn, node=node)
    return Notification(
        kind=kind, key=f"{kind}:{ticket}", audience=audience,  # type: ignore[arg-type]
        district=p["district"], area=p["area_id"], node=node,
        subject=f"Lamp out: {p['area']}, pole {p['pole']}",
        body={"place": p, "rule": rule, "fault": rule, "alert_id": 100 + ticket,
              "ticket_id": ticket, "priority": 1, "sla_due": T0 + 86400, "status": "open",
              "started_at": T0 - 600, "link": f"/tickets/{ticket}"})


def local(day: str, hhmm: str) -> float:
    """Epoch seconds of a Karachi wall-clock time, e.g. local("2026-03-13", "23:00")."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    return dt.datetime.fromisoformat(f"{day}T{hhmm}").replace(
        tzinfo=ZoneInfo("Asia/Karachi")).timestamp()


def readings_batch(engine: Engine, rows: list[tuple[str, float, bool | None, int]],
                   interval_s: int = 60) -> Any:
    """An ingest Batch as the pipeline hands it to its stages: (node, ts, lamp_on,
    footfall) per stored reading."""
    from hub.pipeline import Batch, Stored
    from hub.registry import Registry
    from protocol.payloads import Reading

    registry = Registry(engine)
    batch = Batch()
    for seq, (node, ts, lamp_on, footfall) in enumerate(rows, start=1):
        fields: dict[str, Any] = {"v": 1, "node": node, "seq": seq, "ts": ts,
                                  "interval_s": interval_s, "footfall": footfall}
        if lamp_on is not None:
            fields["lamp_on"] = lamp_on
        info = registry.get(node)
        assert info is not None
        batch.stored.append(Stored(info, Reading.model_validate(fields), ts, ts))
    return batch


def minutes(node: str, start: float, count: int, *, lamp_on: bool | None,
            footfall: int) -> list[tuple[str, float, bool | None, int]]:
    """`count` one-minute readings ending at start+60, start+120, …"""
    return [(node, start + 60 * (i + 1), lamp_on, footfall) for i in range(count)]


def score_readings(engine: Engine, scorer: Any, rows: list[tuple[str, float, bool | None, int]]
                   ) -> None:
    """Run the spot-scoring Stage over stored readings in one ingest-like transaction."""
    batch = readings_batch(engine, rows)
    with engine.begin() as conn:
        scorer.evaluate(conn, batch)
    scorer.committed()
