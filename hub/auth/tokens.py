"""Bearer tokens: JWTs signed with HMAC-SHA256 (PyJWT), short-lived.

The signing key comes from `[auth] secret_key` (ROSHNI_AUTH__SECRET_KEY). Without one, a
random key is made on first start and kept in `data_dir/auth-secret` (mode 0600), which
serves one hub; several workers behind one address need the same configured key. A
placeholder or short key is refused (hub.config.AuthSettings) unless `[auth] development`.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import jwt

from hub.config import HubSettings

log = logging.getLogger(__name__)

ALGORITHM = "HS256"
ISSUER = "roshni-hub"


class TokenError(ValueError):
    """A token that does not let anyone in; the message says why (for the 401 detail)."""


@dataclass(frozen=True, slots=True)
class Claims:
    user_id: int
    version: int
    expires_at: float


def signing_key(settings: HubSettings) -> str:
    """The key tokens are signed with: the configured one (a weak one is refused when the
    settings load), or one made for this data directory."""
    if settings.auth.secret_key is not None:
        return settings.auth.secret_key
    return _stored_key(settings.data_dir / "auth-secret")


def _stored_key(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    log.info("made a token signing key in %s (set auth.secret_key to share one between "
             "hub workers)", path)
    return key


class Tokens:
    def __init__(self, key: str, ttl_s: float) -> None:
        self._key = key
        self.ttl_s = ttl_s

    def issue(self, user_id: int, version: int, now: float | None = None) -> tuple[str, float]:
        """(token, expiry epoch seconds)."""
        now = time.time() if now is None else now
        exp = now + self.ttl_s
        token = jwt.encode({"sub": str(user_id), "ver": version, "iat": int(now),
                            "exp": int(exp), "iss": ISSUER}, self._key, algorithm=ALGORITHM)
        return token, float(int(exp))

    def decode(self, token: str) -> Claims:
        try:
            claims = jwt.decode(token, self._key, algorithms=[ALGORITHM], issuer=ISSUER,
                                options={"require": ["sub", "exp", "iss"]})
        except jwt.ExpiredSignatureError:
            raise TokenError("the token has expired; log in again") from None
        except jwt.InvalidTokenError:
            raise TokenError("the token is not valid; log in again") from None
        try:
            return Claims(int(claims["sub"]), int(claims.get("ver", 0)), float(claims["exp"]))
        except (TypeError, ValueError):
            raise TokenError("the token is not valid; log in again") from None
