"""Delivery over the wire: webhooks (HTTP POST) and e-mail (SMTP).

A failure is either `Unreachable` (the receiver is down, busy or misconfigured: nothing
for this subscriber can go through, so all its deliveries wait) or `Refused` (the
receiver refused this one message: retry it later, go on with the rest)."""

from __future__ import annotations

import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage

from hub.core.notify_settings import SmtpSettings


class DeliveryError(Exception):
    pass


class Unreachable(DeliveryError):
    pass


class Refused(DeliveryError):
    pass


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib would follow a 302 with a GET and drop the body: a moved receiver is an error.
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


_opener = urllib.request.build_opener(_NoRedirect)
# Statuses that say "not now" rather than "not this".
_RETRY_ALL = {408, 421, 425, 429}


def post_webhook(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST; returns the 2xx status or raises."""
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(req, timeout=timeout) as resp:
            resp.read(65536)
            return int(resp.status)
    except urllib.error.HTTPError as err:
        detail = f"HTTP {err.code} {err.reason}"
        if 400 <= err.code < 500 and err.code not in _RETRY_ALL:
            raise Refused(detail) from None
        raise Unreachable(detail) from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise Unreachable(f"{type(reason).__name__}: {reason}") from None


def send_email(smtp: SmtpSettings, msg: EmailMessage) -> dict[str, tuple[int, bytes]]:
    """Send one message; returns the recipients refused while others were accepted."""
    assert smtp.host is not None
    context = ssl.create_default_context(cafile=smtp.ca_file)
    try:
        server: smtplib.SMTP
        if smtp.security == "ssl":
            server = smtplib.SMTP_SSL(smtp.host, smtp.effective_port, timeout=smtp.timeout_s,
                                      context=context)
        else:
            server = smtplib.SMTP(smtp.host, smtp.effective_port, timeout=smtp.timeout_s)
        with server:
            if smtp.security == "starttls":
                server.starttls(context=context)
            if smtp.username:
                server.login(smtp.username, smtp.password or "")
            return server.send_message(msg)
    except smtplib.SMTPRecipientsRefused as err:
        codes = [code for code, _ in err.recipients.values()]
        detail = "; ".join(f"{a}: {c} {m.decode(errors='replace')}"
                           for a, (c, m) in err.recipients.items())
        raise (Refused if all(c >= 500 for c in codes) else Unreachable)(detail) from None
    except smtplib.SMTPDataError as err:  # about this message (5xx) or not now (4xx)
        detail = f"SMTP {err.smtp_code} {err.smtp_error.decode(errors='replace')}"
        raise (Refused if err.smtp_code >= 500 else Unreachable)(detail) from None
    except (smtplib.SMTPException, OSError) as err:
        raise Unreachable(f"{type(err).__name__}: {err}") from None
