"""`roshni hub backup` and `roshni hub restore`: the hub's state in SQL (nodes, areas,
users, alerts, tickets, the ingest cursor), not the time series (InfluxDB has its own
`influxd backup`).

- SQLite: the backup is taken with SQLite's online backup API in one step, so it is one
  consistent snapshot while the hub goes on writing (WAL: readers never block the
  writer). The file is a plain SQLite database (rollback journal, no -wal beside it).
- PostgreSQL: `pg_dump --format=custom`, restored with `pg_restore`.

A running hub holds a shared lock on its database for as long as it runs (`hold_while_
running`): on SQLite an flock on ``<database>.lock`` next to the file, on PostgreSQL a
session-level advisory lock. The kernel and the server drop them when the process dies,
however it dies. A restore takes the same lock exclusively and without waiting, so it
refuses while any hub runs on that database, and a hub that starts meanwhile waits until
the restore is done.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from hub.db import MIGRATIONS, migrate

log = logging.getLogger(__name__)

# Advisory lock key of "a hub runs on this database" (distinct from hub.db's write lock).
RUNNING_LOCK_KEY = 0x526F73686E6952  # "RoshniR"
SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


class BackupError(RuntimeError):
    """Backup or restore cannot be done; the message says why and what to do."""


# --- which database ----------------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    url: str

    @property
    def kind(self) -> str:
        backend = make_url(self.url).get_backend_name()
        if backend in ("sqlite", "postgresql"):
            return backend
        raise BackupError(f"backup and restore know SQLite and PostgreSQL, not {backend}")

    @property
    def path(self) -> Path:
        database = make_url(self.url).database
        if not database or database == ":memory:":
            raise BackupError(f"{self.url}: not a database file")
        return Path(database)

    def libpq(self) -> tuple[str, dict[str, str]]:
        """A libpq connection URL without the password, and the environment with it."""
        url = make_url(self.url)
        env = {**os.environ}
        if url.password is not None:
            env["PGPASSWORD"] = str(url.password)
        plain = url.set(drivername="postgresql", password=None)
        return plain.render_as_string(hide_password=False), env

    def __str__(self) -> str:
        return str(self.path) if self.kind == "sqlite" else make_url(self.url).render_as_string()


# --- "a hub is running on it" --------------------------------------------------------------


class RunningLock:
    """Shared: held by each running hub. Exclusive: held by a restore."""

    def __init__(self, db: Database, fd: int | None = None,
                 conn: Connection | None = None) -> None:
        self.db, self._fd, self._conn = db, fd, conn

    @classmethod
    def acquire(cls, url: str, *, exclusive: bool, wait: bool) -> RunningLock | None:
        db = Database(url)
        if db.kind == "sqlite":
            lock_path = db.path.with_name(db.path.name + ".lock")
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            # Read-only suffices for flock, so a lock file made by root (a restore) is
            # still usable by the hub's own user, and the other way round.
            fd = os.open(lock_path, os.O_RDONLY | os.O_CREAT, 0o644)
            mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | (
                0 if wait else fcntl.LOCK_NB)
            try:
                fcntl.flock(fd, mode)
            except BlockingIOError:
                os.close(fd)
                return None
            return cls(db, fd=fd)
        engine = create_engine(url, poolclass=NullPool)
        conn = engine.connect()
        fn = {(True, True): "pg_advisory_lock", (True, False): "pg_try_advisory_lock",
              (False, True): "pg_advisory_lock_shared",
              (False, False): "pg_try_advisory_lock_shared"}[(exclusive, wait)]
        got = conn.execute(text(f"SELECT {fn}(:key)"), {"key": RUNNING_LOCK_KEY}).scalar()
        conn.commit()
        if got is False:
            conn.close()
            return None
        return cls(db, conn=conn)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None
        if self._conn is not None:
            self._conn.close()  # ending the session drops the advisory lock
            self._conn = None


def hold_while_running(url: str) -> RunningLock:
    """For the hub: the shared lock, waiting while a restore of its database runs."""
    lock = RunningLock.acquire(url, exclusive=False, wait=False)
    if lock is None:
        log.warning("the database is being restored (roshni hub restore); waiting for it")
        lock = RunningLock.acquire(url, exclusive=False, wait=True)
        assert lock is not None
    return lock


# --- backup -------------------------------------------------------------------------------


def backup(url: str, dest: Path) -> str:
    """Write a backup of the database at `url` to `dest` (replaced atomically); returns a
    line for the operator."""
    db = Database(url)
    dest = Path(dest)
    if dest.exists() and dest.is_dir():
        raise BackupError(f"{dest} is a directory; give the backup file's name")
    tmp = dest.with_name(f".{dest.name}.partial")
    try:
        if db.kind == "sqlite":
            revisions = _sqlite_backup(db.path, tmp)
        else:
            _tool("pg_dump")  # before anything else: the likeliest thing to be missing
            revisions = _current_revisions(db)
            _pg_dump(db, tmp)
        os.replace(tmp, dest)
        _fsync_dir(dest.parent)
    finally:
        tmp.unlink(missing_ok=True)
    size = dest.stat().st_size
    at = f" at revision {', '.join(revisions)}" if revisions else ""
    return f"backed up {db} to {dest} ({size / 1e6:.1f} MB{at})"


def _sqlite_backup(path: Path, tmp: Path) -> list[str]:
    if not path.is_file():
        raise BackupError(f"{path} does not exist: is this the hub's settings file (--config)?")
    # Created 0600 before SQLite opens it: the state holds password hashes and tokens.
    tmp.parent.mkdir(parents=True, exist_ok=True)
    tmp.unlink(missing_ok=True)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    src = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=rw", uri=True, timeout=30)
    dst = sqlite3.connect(tmp)
    try:
        src.backup(dst)  # pages=-1: one step, one read transaction, one snapshot
        # A self-contained file: no -wal next to it when it is opened later.
        dst.execute("PRAGMA journal_mode=DELETE")
        _check(dst, tmp)
        revisions = _revisions(dst)
    finally:
        dst.close()
        src.close()
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    return revisions


def _pg_dump(db: Database, tmp: Path) -> None:
    pg_dump = _tool("pg_dump")
    conninfo, env = db.libpq()
    done = subprocess.run([pg_dump, "--format=custom", "--no-owner", f"--file={tmp}",
                           f"--dbname={conninfo}"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
    os.chmod(tmp, 0o600)


# --- restore ------------------------------------------------------------------------------


def restore(url: str, source: Path, *, force: bool = False) -> str:
    """Put the backup `source` in place of the database at `url` and migrate it to this
    version's schema; returns a line for the operator."""
    db = Database(url)
    source = Path(source)
    try:
        with open(source, "rb") as f:
            head = f.read(16)
    except OSError as err:
        raise BackupError(f"{source}: {err.strerror}") from None
    kind = ("sqlite" if head.startswith(SQLITE_MAGIC) else
            "postgresql" if head.startswith(PGDUMP_MAGIC) else None)
    if kind is None:
        raise BackupError(f"{source} is not a backup made by `roshni hub backup`")
    if kind != db.kind:
        raise BackupError(f"{source} is a {_name(kind)} backup, but the hub's database "
                          f"({db}) is {_name(db.kind)}")
    if kind == "sqlite":
        _backup_revisions(source)
    lock = RunningLock.acquire(url, exclusive=True, wait=False)
    if lock is None:
        raise BackupError(f"a hub is running on {db}: stop it first "
                          f"(systemctl stop roshni-hub), then restore")
    try:
        if _exists(db) and not force:
            raise BackupError(f"{db} exists and would be replaced by {source}; give --force "
                              f"to replace it")
        if kind == "sqlite":
            _sqlite_restore(source, db.path)
        else:
            _pg_restore(source, db)
        before = _current_revisions(db)
        migrate(url)
        after = _current_revisions(db)
        if kind == "sqlite":
            _own_like_parent(db.path)
    finally:
        lock.release()
    moved = (f", migrated from revision {', '.join(before)} to {', '.join(after)}"
             if before != after else f", revision {', '.join(after)}")
    return f"restored {source} into {db}{moved}"


def _backup_revisions(source: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{quote(str(source.resolve()))}?mode=ro", uri=True)
    try:
        _check(conn, source)
        revisions = _revisions(conn)
    finally:
        conn.close()
    if not revisions:
        raise BackupError(f"{source} is a SQLite file but not a Roshni hub's database")
    _known_revisions(revisions, source)
    return revisions


def _known_revisions(revisions: list[str], source: Path) -> None:
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    script = ScriptDirectory(str(MIGRATIONS))
    for rev in revisions:
        try:
            known = script.get_revision(rev) is not None
        except CommandError:
            known = False
        if not known:
            raise BackupError(f"{source} was made by a newer Roshni (schema revision {rev} "
                              "is unknown here); install that version first")


def _sqlite_restore(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{quote(str(source.resolve()))}?mode=ro", uri=True)
    # Into the database through SQLite itself: it takes the locks, deals with a -wal left
    # beside the old file, and keeps the file (its owner and mode) when it exists.
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=WAL")  # as the hub runs it
        _check(dst, target)
    finally:
        dst.close()
        src.close()


def _pg_restore(source: Path, db: Database) -> None:
    pg_restore = _tool("pg_restore")
    conninfo, env = db.libpq()
    done = subprocess.run([pg_restore, "--clean", "--if-exists", "--no-owner",
                           "--single-transaction", f"--dbname={conninfo}", str(source)],
                          env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed: {done.stderr.strip()}")


def _exists(db: Database) -> bool:
    if db.kind == "sqlite":
        return db.path.exists() and db.path.stat().st_size > 0
    return bool(_current_revisions(db))


def _current_revisions(db: Database) -> list[str]:
    if db.kind == "sqlite":
        if not db.path.exists():
            return []
        conn = sqlite3.connect(f"file:{quote(str(db.path.resolve()))}?mode=ro", uri=True)
        try:
            return _revisions(conn)
        finally:
            conn.close()
    engine = create_engine(db.url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            present = conn.execute(text("SELECT to_regclass('alembic_version')")).scalar()
            if present is None:
                return []
            return sorted(r[0] for r in conn.execute(text(
                "SELECT version_num FROM alembic_version")))
    finally:
        engine.dispose()


# --- helpers ------------------------------------------------------------------------------


def _revisions(conn: sqlite3.Connection) -> list[str]:
    try:
        return sorted(r[0] for r in conn.execute("SELECT version_num FROM alembic_version"))
    except sqlite3.DatabaseError:
        return []


def _check(conn: sqlite3.Connection, path: Path) -> None:
    try:
        result = conn.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as err:
        raise BackupError(f"{path}: not a usable SQLite database: {err}") from None
    if result != "ok":
        raise BackupError(f"{path} is damaged: {result}")


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed; the hub's database is PostgreSQL, whose "
                          f"own tool makes the backup (apt-get install postgresql-client, "
                          f"of the server's major version or newer)")
    return found


def _name(kind: str) -> str:
    return {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[kind]


def _own_like_parent(path: Path) -> None:
    """Run as root, a restore must leave the files to the user the hub runs as: the owner
    of the data directory."""
    if os.geteuid() != 0:
        return
    st = path.parent.stat()
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"),
              path.with_name(path.name + ".lock")):
        if p.exists():
            os.chown(p, st.st_uid, st.st_gid)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- commands -----------------------------------------------------------------------------


def add_commands(hsub: argparse._SubParsersAction) -> None:
    b = hsub.add_parser(
        "backup", help="copy the hub's state (SQL database) to a file, while the hub runs",
        description="SQLite: one consistent snapshot taken with SQLite's backup API, while "
                    "the hub goes on; the file is a plain SQLite database, mode 0600. "
                    "PostgreSQL: pg_dump --format=custom. FILE is replaced if it exists. "
                    "InfluxDB's readings are not in it: use `influxd backup -portable`.")
    b.add_argument("file", type=Path, metavar="FILE")
    b.add_argument("--config", type=Path, help="the hub's hub.toml")
    b.set_defaults(func=_backup_command)
    r = hsub.add_parser(
        "restore", help="put a backup in place of the hub's state (the hub must be stopped)",
        description="Refuses while a hub runs on the database (each running hub holds a "
                    "lock on it) and, without --force, when the database exists. After "
                    "restoring, the schema is migrated to this version's, so a backup made "
                    "by an older Roshni can be restored; one made by a newer one is refused.")
    r.add_argument("file", type=Path, metavar="FILE")
    r.add_argument("--config", type=Path, help="the hub's hub.toml")
    r.add_argument("--force", action="store_true", help="replace an existing database")
    r.set_defaults(func=_restore_command)


def _backup_command(args: argparse.Namespace) -> int:
    from hub.cli import _settings

    settings = _settings(args.config)
    try:
        print(backup(settings.db_url, args.file))
    except OperationalError as err:
        print(f"roshni hub backup: cannot reach the database: {err.orig}", file=sys.stderr)
        return 1
    except BackupError as err:
        print(f"roshni hub backup: {err}", file=sys.stderr)
        return 1
    return 0


def _restore_command(args: argparse.Namespace) -> int:
    from hub.cli import _settings

    settings = _settings(args.config)
    try:
        print(restore(settings.db_url, args.file, force=args.force))
    except OperationalError as err:
        print(f"roshni hub restore: cannot reach the database: {err.orig}", file=sys.stderr)
        return 1
    except BackupError as err:
        print(f"roshni hub restore: {err}", file=sys.stderr)
        return 1
    return 0
