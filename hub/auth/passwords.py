"""Password hashing with Argon2id (argon2-cffi, the library's RFC 9106 low-memory profile),
and the password policy: at least MIN_LENGTH characters and not guessable by zxcvbn
(Dropbox's estimator: common passwords, names, keyboard walks, dates, l33t spellings),
which is also told the user's own name, role and places and the project's words."""

from __future__ import annotations

from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

_hasher = PasswordHasher()
# Verified against when the user does not exist, so a login takes as long either way and
# its timing does not tell which names exist.
_DUMMY = _hasher.hash("not a password anyone has")

MIN_LENGTH = 8
# zxcvbn's score 0-4; 3 is "safely unguessable: moderate protection from offline
# slow-hash scenario" (about 10^8 guesses), what Argon2 hashes are there to slow down.
MIN_SCORE = 3
# Words anyone guessing at this hub would try first.
CONTEXT_WORDS = ("roshni", "karachi", "lamp", "street", "light", "dmc", "cplc", "hub")
# zxcvbn's matching grows with the square of the length; what lies beyond this is extra.
_CHECKED_CHARS = 100


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


def check_password(password: str, user_inputs: Iterable[str | None] = (), *,
                   development: bool = False) -> None:
    """Refuse a password that is too easy to guess; ValueError says why. `user_inputs`:
    what is known about its user (name, role, district, areas). `development` checks the
    length only: the demo's shared password, printed on its console."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"the password must have at least {MIN_LENGTH} characters")
    if password.strip() != password:
        raise ValueError("the password must not start or end with spaces")
    if development:
        return
    words = [w for w in (*user_inputs, *CONTEXT_WORDS) if w]
    words += [part for w in words for part in w.replace("_", "-").split("-") if part]
    verdict = zxcvbn(password[:_CHECKED_CHARS], user_inputs=words)
    if verdict["score"] < MIN_SCORE:
        feedback = verdict.get("feedback") or {}
        why = feedback.get("warning") or "it is too easy to guess"
        tips = " ".join(feedback.get("suggestions") or [])
        raise ValueError(f"the password is too easy to guess: {why.rstrip('.')}. "
                         f"{tips or 'Use a few unrelated words.'}".strip())
