"""Mosquitto's password file, written by the hub so `mosquitto` accepts it unchanged.

Each line is ``username:$7$<iterations>$<salt>$<hash>``: PBKDF2-HMAC-SHA512 with a 12-byte
salt, base64 — what `mosquitto_passwd` of Mosquitto 2.x writes. Mosquitto has no library
for it and `mosquitto_passwd` may not be installed where `roshni provision` runs, so the
format is reproduced here (hashlib) and checked against both in the tests.

Edits take an exclusive lock and replace the file atomically, so a batch provisioning run
and a single `roshni provision` never lose each other's lines, and Mosquitto never reads a
half-written file.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ITERATIONS = 101  # mosquitto_passwd's default for $7$
SALT_BYTES = 12


class PasswordFileError(OSError):
    """The password file cannot be read or written; the message names the file."""


def hash_password(password: str, *, salt: bytes | None = None,
                  iterations: int = ITERATIONS) -> str:
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, hashed: str) -> bool:
    try:
        _, kind, iterations, salt, digest = hashed.split("$")
        if kind != "7":
            return False
        expected = hashlib.pbkdf2_hmac("sha512", password.encode(), base64.b64decode(salt),
                                       int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(_b64(expected), digest)


def new_password() -> str:
    """A password for a node: 192 random bits in URL-safe characters (no escaping in a URL)."""
    return secrets.token_urlsafe(24)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class PasswordFile:
    """`username -> hash` entries of one Mosquitto password file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, str]:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return {}
        except OSError as err:
            raise PasswordFileError(f"{self.path}: cannot read: {err.strerror}") from None
        entries: dict[str, str] = {}
        for line in text.splitlines():
            name, sep, hashed = line.partition(":")
            if sep and name and not name.startswith("#"):
                entries[name] = hashed
        return entries

    def has(self, username: str) -> bool:
        return username in self.read()

    def check(self, username: str, password: str) -> bool:
        hashed = self.read().get(username)
        return hashed is not None and verify_password(password, hashed)

    @contextmanager
    def editing(self) -> Iterator[dict[str, str]]:
        """The entries to change in place; written back (atomically) when the block ends
        without an exception."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            lock = open(lock_path, "a")  # noqa: SIM115 - held for the whole block
        except OSError as err:
            raise PasswordFileError(f"{lock_path}: cannot lock the password file: "
                                    f"{err.strerror}") from None
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            entries = self.read()
            before = dict(entries)
            yield entries
            if entries != before:
                self._write(entries)

    def _write(self, entries: dict[str, str]) -> None:
        text = "".join(f"{name}:{hashed}\n" for name, hashed in sorted(entries.items()))
        try:
            st = self.path.stat()
        except FileNotFoundError:
            st = None
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            # Mosquitto reads the file as its own user: keep the owner and mode it had.
            if st is not None:
                os.chmod(tmp, st.st_mode & 0o7777)
                if os.geteuid() == 0:
                    os.chown(tmp, st.st_uid, st.st_gid)
            else:
                os.chmod(tmp, 0o640)
            os.replace(tmp, self.path)
        except OSError as err:
            Path(tmp).unlink(missing_ok=True)
            raise PasswordFileError(f"{self.path}: cannot write: {err.strerror}") from None
