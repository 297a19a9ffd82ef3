"""`/api/v1/users` (admin): list, create, and change (disable or enable, reset the
password, change role, scope or language), each change audited. `roshni user add` creates
users on the hub host too."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from hub import audit
from hub.api.deps import ApiDep, ClientIp, ConnDep, PageDep, UsersRead, UsersWrite, not_found
from hub.api.schemas import Language, Page, Role, UserCreate, UserPublic
from hub.auth import ADMIN, UserError, create_user
from hub.auth import users as user_store

router = APIRouter(prefix="/users", tags=["users"])


class UserUpdate(BaseModel):
    """What an admin changes about a user; fields left out stay as they are. A new role
    without a district or areas starts from none (a crew's district means nothing to a
    committee); the same role keeps what it had unless given."""

    model_config = ConfigDict(extra="forbid")
    disabled: bool | None = None
    password: str | None = Field(default=None, max_length=1024)
    role: Role | None = None
    district: str | None = None
    areas: list[str] | None = None
    language: Language | None = None


@router.get("", response_model=Page[UserPublic])
def read_users(scope: UsersRead, conn: ConnDep, page: PageDep,
               role: Annotated[Role | None, Query()] = None) -> Page[UserPublic]:
    found, count = user_store.list_users(conn, role=role, limit=page.limit,
                                         offset=page.offset)
    return Page(data=[UserPublic(**u.public()) for u in found], count=count)


@router.post("", response_model=UserPublic, status_code=201)
def create_user_route(body: UserCreate, scope: UsersWrite, api: ApiDep,
                      ip: ClientIp) -> UserPublic:
    def change(conn):  # type: ignore[no-untyped-def]
        user = create_user(conn, body.name, role=body.role, password=body.password,
                           district=body.district, areas=body.areas, language=body.language)
        audit.record(conn, actor=scope.user.name, action="user.add", target=f"user:{user.id}",
                     detail={"name": user.name, "role": user.role, "district": user.district,
                             "areas": list(user.areas), "language": user.language}, ip=ip)
        return user

    try:
        return UserPublic(**api.transact(change).public())
    except UserError as err:
        status = 409 if "already exists" in str(err) else 422
        raise HTTPException(status, str(err)) from None


@router.patch("/{user_id}", response_model=UserPublic)
def update_user(user_id: int, body: UserUpdate, scope: UsersWrite, api: ApiDep,
                ip: ClientIp) -> UserPublic:
    given = body.model_fields_set - {f for f in ("disabled", "password", "role", "language")
                                     if getattr(body, f) is None}
    if not given:
        raise HTTPException(422, "nothing to change: give disabled, password, role, "
                                 "district, areas or language")
    if user_id == scope.user.id and body.disabled:
        raise HTTPException(422, "you cannot disable yourself")
    if user_id == scope.user.id and body.role not in (None, ADMIN):
        raise HTTPException(422, "you cannot take the admin role from yourself")

    def change(conn):  # type: ignore[no-untyped-def]
        user = user_store.get(conn, user_id)
        if user is None:
            raise not_found("user", user_id)

        def record(action: str, detail: dict[str, Any] | None = None) -> None:
            audit.record(conn, actor=scope.user.name, action=action,
                         target=f"user:{user_id}", detail={"name": user.name, **(detail or {})},
                         ip=ip)

        if given & {"role", "district", "areas"}:
            role = body.role or user.role
            same = role == user.role
            district = body.district if "district" in given else (user.district if same else None)
            areas = body.areas if "areas" in given else (list(user.areas) if same else [])
            after = user_store.set_scope(conn, user_id, role, district, areas or [])
            record("user.scope", {
                "from": {"role": user.role, "district": user.district, "areas": list(user.areas)},
                "to": {"role": after.role, "district": after.district, "areas": list(after.areas)}})
        if "language" in given and body.language != user.language:
            user_store.set_language(conn, user_id, str(body.language))
            record("user.language", {"language": body.language})
        if "password" in given:
            user_store.set_password(conn, user, str(body.password))
            record("user.password")  # never the password itself
        if "disabled" in given and body.disabled != user.disabled:
            user_store.set_disabled(conn, user_id, bool(body.disabled))
            record("user.disable" if body.disabled else "user.enable")
        return user_store.get(conn, user_id)

    try:
        return UserPublic(**api.transact(change).public())
    except UserError as err:
        raise HTTPException(422, str(err)) from None
