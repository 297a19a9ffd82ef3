"""What every route depends on, and the one place that decides who may see and do what.

`authorize("tickets:write")` is the dependency of every route and export: it answers 401
without a valid token, 403 when the user's role may never do that, and otherwise gives the
route a `Scope`. Routes pass the scope's `Place` to their queries (lists are filtered)
and ask `Scope.covers` about single objects (404 outside the scope, never 403, so a
Korangi crew cannot even learn that Malir ticket 17 exists).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import ColumnElement, Connection, and_, true

from hub.api.state import Api
from hub.auth import ADMIN, COMMITTEE, CREW, ROLES, TECHNICIAN, TokenError, UserInfo
from hub.auth import users as user_store
from hub.core.names import slug

ALL = frozenset(ROLES)
# What each role may do at all; *which* objects is the Scope's business.
PERMISSIONS: dict[str, frozenset[str]] = {
    "nodes:read": ALL,
    "nodes:write": frozenset({ADMIN, TECHNICIAN}),  # register, assign
    "nodes:command": frozenset({ADMIN, TECHNICIAN}),  # identify, selftest, set_interval
    "alerts:read": ALL,
    "alerts:ack": frozenset({ADMIN, TECHNICIAN, COMMITTEE}),
    "tickets:read": frozenset({ADMIN, COMMITTEE, CREW}),
    "tickets:write": frozenset({ADMIN, CREW}),  # status transitions
    "spots:read": ALL,
    "reports:read": ALL,  # citizens' Open311 reports, with who sent them
    "reports:write": ALL,  # close one after checking
    "users:read": frozenset({ADMIN}),
    "users:write": frozenset({ADMIN}),
    "audit:read": frozenset({ADMIN}),
}


def permissions_of(role: str) -> list[str]:
    return sorted(p for p, roles in PERMISSIONS.items() if role in roles)


# --- plumbing ---


def get_api(request: Request) -> Api:
    return request.app.state.api  # type: ignore[no-any-return]


ApiDep = Annotated[Api, Depends(get_api)]


def get_conn(api: ApiDep) -> Iterator[Connection]:
    """A connection for reading; changes go through `Api.transact`."""
    with api.engine.connect() as conn:
        yield conn


ConnDep = Annotated[Connection, Depends(get_conn)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


ClientIp = Annotated[str, Depends(client_ip)]

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)

_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def get_current_user(api: ApiDep, conn: ConnDep,
                     token: Annotated[str | None, Depends(oauth2_scheme)]) -> UserInfo:
    if not token:
        raise HTTPException(401, "not logged in: send the bearer token from "
                                 "POST /api/v1/auth/token", headers=_UNAUTHORIZED)
    try:
        claims = api.tokens.decode(token)
    except TokenError as err:
        raise HTTPException(401, str(err), headers=_UNAUTHORIZED) from None
    user = user_store.get(conn, claims.user_id)
    if user is None or user.disabled or user.token_version != claims.version:
        raise HTTPException(401, "the token is no longer valid; log in again",
                            headers=_UNAUTHORIZED)
    return user


CurrentUser = Annotated[UserInfo, Depends(get_current_user)]


# --- the scope ---


@dataclass(frozen=True, slots=True)
class Place:
    """Where a query may look: a district and/or a set of areas (None: no limit)."""

    district: str | None = None
    areas: tuple[str, ...] | None = None

    def where(self, district_col: Any, area_col: Any) -> ColumnElement[bool]:
        conds = []
        if self.district is not None:
            conds.append(district_col == self.district)
        if self.areas is not None:
            conds.append(area_col.in_(self.areas))
        return and_(true(), *conds)

    @property
    def area_list(self) -> list[str] | None:
        return None if self.areas is None else list(self.areas)


@dataclass(frozen=True, slots=True)
class Scope:
    user: UserInfo

    @property
    def everywhere(self) -> bool:
        return self.user.role in (ADMIN, TECHNICIAN)

    def covers(self, district: str | None, area: str | None) -> bool:
        """Whether an object in this district and area is the user's to see."""
        role = self.user.role
        if role in (ADMIN, TECHNICIAN):
            return True
        if role == CREW:
            return district is not None and district == self.user.district
        return area is not None and area in self.user.areas  # committee

    def place(self, district: str | None = None, area: str | None = None) -> Place | None:
        """The request's own `district`/`area` filters within the user's scope; None when
        they do not overlap it (the answer is an empty list, not an error)."""
        district = district.strip().lower() if district else None
        area_id = slug(area) if area else None
        role = self.user.role
        if role == CREW:
            if district is not None and district != self.user.district:
                return None
            district = self.user.district
        elif role == COMMITTEE:
            if area_id is not None and area_id not in self.user.areas:
                return None
            if area_id is None:
                return Place(district, self.user.areas)
        return Place(district, None if area_id is None else (area_id,))


_authorizers: dict[str, Callable[..., Scope]] = {}


def authorize(permission: str) -> Callable[..., Scope]:
    """The dependency that guards a route: the user may do `permission` at all (else 403),
    and gets the Scope that limits which objects."""
    if permission not in PERMISSIONS:
        raise KeyError(permission)
    if permission not in _authorizers:
        allowed = PERMISSIONS[permission]

        def dependency(user: CurrentUser) -> Scope:
            if user.role not in allowed:
                raise HTTPException(403, f"a {user.role} may not do {permission}")
            return Scope(user)

        dependency.__name__ = f"authorize_{permission.replace(':', '_')}"
        _authorizers[permission] = dependency
    return _authorizers[permission]


def not_found(what: str, ident: object) -> HTTPException:
    return HTTPException(404, f"no {what} {ident}")


NodesRead = Annotated[Scope, Depends(authorize("nodes:read"))]
NodesWrite = Annotated[Scope, Depends(authorize("nodes:write"))]
NodesCommand = Annotated[Scope, Depends(authorize("nodes:command"))]
AlertsRead = Annotated[Scope, Depends(authorize("alerts:read"))]
AlertsAck = Annotated[Scope, Depends(authorize("alerts:ack"))]
TicketsRead = Annotated[Scope, Depends(authorize("tickets:read"))]
TicketsWrite = Annotated[Scope, Depends(authorize("tickets:write"))]
SpotsRead = Annotated[Scope, Depends(authorize("spots:read"))]
ReportsRead = Annotated[Scope, Depends(authorize("reports:read"))]
ReportsWrite = Annotated[Scope, Depends(authorize("reports:write"))]
UsersRead = Annotated[Scope, Depends(authorize("users:read"))]
UsersWrite = Annotated[Scope, Depends(authorize("users:write"))]
AuditRead = Annotated[Scope, Depends(authorize("audit:read"))]

# Times in query strings: from 1970 to the last nanosecond InfluxDB can hold (2262-04-11).
EPOCH_MAX = 9_223_372_036.0
EpochQuery = Annotated[float | None, Query(ge=0, le=EPOCH_MAX)]

MAX_LIMIT = 500
EXPORT_MAX_LIMIT = 20000


@dataclass(frozen=True, slots=True)
class Pagination:
    limit: int
    offset: int


def pagination(limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
               offset: Annotated[int, Query(ge=0)] = 0) -> Pagination:
    return Pagination(limit, offset)


def export_pagination(limit: Annotated[int, Query(ge=1, le=EXPORT_MAX_LIMIT)] = 5000,
                      offset: Annotated[int, Query(ge=0)] = 0) -> Pagination:
    return Pagination(limit, offset)


PageDep = Annotated[Pagination, Depends(pagination)]
ExportPageDep = Annotated[Pagination, Depends(export_pagination)]
