"""People who use the hub and what they may see (DESIGN.md §1, §7).

Roles: `admin` (everything), `technician` (every node and its faults), `committee`
(scoped to its areas), `crew` (scoped to exactly one district). Passwords are stored as
Argon2id hashes only.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Float,
    ForeignKey,
    Integer,
    String,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.auth.passwords import check_password, hash_password
from hub.core.names import slug
from hub.models import Area, Base, District
from hub.registry import UNASSIGNED, ensure_area

ADMIN, TECHNICIAN, COMMITTEE, CREW = "admin", "technician", "committee", "crew"
ROLES = (ADMIN, TECHNICIAN, COMMITTEE, CREW)
LANGUAGES = ("en", "ur")
# Ticket history names these as actors; a person must never be mistaken for them.
RESERVED = frozenset({"sensor", "system", "cli", "public", "open311"})
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    district_id: Mapped[str | None] = mapped_column(ForeignKey("districts.id"))
    language: Mapped[str] = mapped_column(String(8), default="en")
    password_hash: Mapped[str] = mapped_column(String(255))
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class UserArea(Base):
    __tablename__ = "user_areas"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    area_id: Mapped[str] = mapped_column(ForeignKey("areas.id"), primary_key=True)


class UserError(ValueError):
    """A user that cannot be created or changed as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    name: str
    role: str
    district: str | None
    areas: tuple[str, ...]
    language: str
    token_version: int
    disabled: bool

    def public(self) -> dict[str, Any]:
        return dict(id=self.id, name=self.name, role=self.role, district=self.district,
                    areas=list(self.areas), language=self.language, disabled=self.disabled)


def _check_scope(conn: Connection, role: str, district: str | None,
                 areas: Iterable[str]) -> tuple[str | None, list[str]]:
    """The (district, area ids) a role may have, created or checked; UserError if not."""
    areas = [a for a in areas if a.strip()]
    if role not in ROLES:
        raise UserError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
    if district is not None:
        district = district.strip().lower()
        if district == UNASSIGNED or conn.execute(
                select(District.id).where(District.id == district)).first() is None:
            known = [d for (d,) in conn.execute(select(District.id).order_by(District.id))
                     if d != UNASSIGNED]
            raise UserError(f"unknown district {district!r} (districts: {', '.join(known)})")
    if role in (ADMIN, TECHNICIAN):
        if district or areas:
            raise UserError(f"a {role} sees every district: give no --district or --area")
        return None, []
    if role == CREW:
        if not district:
            raise UserError("a crew member works in exactly one district: give --district")
        if areas:
            raise UserError("a crew member sees their whole district: give no --area")
        return district, []
    # committee
    if not areas:
        raise UserError("a committee member sees their areas only: give at least one --area")
    ids = []
    for name in areas:
        if district:
            try:
                ids.append(ensure_area(conn, district, name))
            except ValueError as err:
                raise UserError(str(err)) from None
            continue
        area_id = slug(name)
        if conn.execute(select(Area.id).where(Area.id == area_id)).first() is None:
            raise UserError(f"unknown area {name!r}: give --district to create it, or "
                            f"provision a node in it first")
        ids.append(area_id)
    return None, sorted(set(ids))


def _check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise UserError(f"user name {name!r}: 2-64 characters, lower-case letters, digits "
                        "and . _ @ -, starting with a letter or digit")
    if name in RESERVED:
        raise UserError(f"user name {name!r} is reserved")
    return name


def create_user(conn: Connection, name: str, *, role: str, password: str,
                district: str | None = None, areas: Iterable[str] = (),
                language: str = "en", now: float | None = None,
                development: bool = False) -> UserInfo:
    """Create a user with a role and scope, in the caller's transaction. The password must
    pass the policy (hub.auth.passwords.check_password); `development` (the demo's
    printed password only) checks its length alone."""
    _check_name(name)
    if language not in LANGUAGES:
        raise UserError(f"unknown language {language!r} (languages: {', '.join(LANGUAGES)})")
    areas = list(areas)
    _check_password(password, (name, role, district, *areas), development=development)
    district, area_ids = _check_scope(conn, role, district, areas)
    if conn.execute(select(User.id).where(User.name == name)).first() is not None:
        raise UserError(f"user {name!r} already exists")
    now = time.time() if now is None else now
    user_id = conn.execute(insert(User).values(
        name=name, role=role, district_id=district, language=language,
        password_hash=hash_password(password), token_version=0, disabled=False,
        created_at=now, updated_at=now)).inserted_primary_key[0]
    if area_ids:
        conn.execute(insert(UserArea), [dict(user_id=user_id, area_id=a) for a in area_ids])
    info = get(conn, int(user_id))
    assert info is not None
    return info


def _check_password(password: str, user_inputs: Iterable[str | None], *,
                    development: bool = False) -> None:
    try:
        check_password(password, user_inputs, development=development)
    except ValueError as err:
        raise UserError(str(err)) from None


def _info(conn: Connection, row: Any) -> UserInfo:
    areas = tuple(a for (a,) in conn.execute(
        select(UserArea.area_id).where(UserArea.user_id == row.id).order_by(UserArea.area_id)))
    return UserInfo(id=row.id, name=row.name, role=row.role, district=row.district_id,
                    areas=areas, language=row.language, token_version=row.token_version,
                    disabled=bool(row.disabled))


_COLUMNS = (User.id, User.name, User.role, User.district_id, User.language,
            User.token_version, User.disabled)


def get(conn: Connection, user_id: int) -> UserInfo | None:
    row = conn.execute(select(*_COLUMNS).where(User.id == user_id)).first()
    return None if row is None else _info(conn, row)


def by_name(conn: Connection, name: str) -> UserInfo | None:
    row = conn.execute(select(*_COLUMNS).where(User.name == name)).first()
    return None if row is None else _info(conn, row)


def credentials(conn: Connection, name: str) -> tuple[UserInfo, str] | None:
    """(user, stored hash) for a login, or None for no such (enabled) user."""
    row = conn.execute(select(*_COLUMNS, User.password_hash)
                       .where(User.name == name, User.disabled.is_(False))).first()
    return None if row is None else (_info(conn, row), row.password_hash)


def list_users(conn: Connection, *, role: str | None = None, limit: int = 50,
               offset: int = 0) -> tuple[list[UserInfo], int]:
    q = select(*_COLUMNS)
    if role is not None:
        q = q.where(User.role == role)
    count = conn.execute(select(func.count()).select_from(q.subquery())).scalar_one()
    rows = conn.execute(q.order_by(User.name).limit(limit).offset(offset)).all()
    return [_info(conn, r) for r in rows], count


def set_language(conn: Connection, user_id: int, language: str) -> None:
    if language not in LANGUAGES:
        raise UserError(f"unknown language {language!r} (languages: {', '.join(LANGUAGES)})")
    conn.execute(update(User).where(User.id == user_id)
                 .values(language=language, updated_at=time.time()))


def set_password_hash(conn: Connection, user_id: int, password_hash: str) -> None:
    """Store a rehashed password (same password, stronger parameters); tokens stay valid."""
    conn.execute(update(User).where(User.id == user_id).values(password_hash=password_hash))


def set_password(conn: Connection, user: UserInfo, password: str) -> None:
    """A new password (checked by the policy); every token issued so far stops working."""
    _check_password(password, (user.name, user.role, user.district, *user.areas))
    conn.execute(update(User).where(User.id == user.id).values(
        password_hash=hash_password(password), token_version=User.token_version + 1,
        updated_at=time.time()))


def set_scope(conn: Connection, user_id: int, role: str, district: str | None,
              areas: Iterable[str]) -> UserInfo:
    """Change a user's role and scope with the checks `create_user` applies; UserError if
    the role cannot have that scope. Takes effect on their next request (each request
    reads the user), so their tokens stay valid."""
    district, area_ids = _check_scope(conn, role, district, areas)
    conn.execute(update(User).where(User.id == user_id).values(
        role=role, district_id=district, updated_at=time.time()))
    conn.execute(delete(UserArea).where(UserArea.user_id == user_id))
    if area_ids:
        conn.execute(insert(UserArea), [dict(user_id=user_id, area_id=a) for a in area_ids])
    info = get(conn, user_id)
    assert info is not None
    return info


def set_disabled(conn: Connection, user_id: int, disabled: bool) -> None:
    """Disable (or enable) a user; every token issued to them so far stops working."""
    conn.execute(update(User).where(User.id == user_id).values(
        disabled=disabled, token_version=User.token_version + 1, updated_at=time.time()))
