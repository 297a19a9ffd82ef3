"""Password hashing with Argon2id (argon2-cffi, the library's RFC 9106 low-memory profile)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified against when the user does not exist, so a login takes as long either way and
# its timing does not tell which names exist.
_DUMMY = _hasher.hash("not a password anyone has")

MIN_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """The hash was made with weaker parameters than today's: store a new one at login."""
    return _hasher.check_needs_rehash(stored)


def check_password(password: str) -> None:
    """Refuse a password that is too easy; ValueError says why."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"the password must have at least {MIN_LENGTH} characters")
    if password.strip() != password:
        raise ValueError("the password must not start or end with spaces")
