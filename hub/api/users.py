"""`/api/v1/users` (admin): list, create, disable. `roshni user add` does the same on the
hub host."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict

from hub import audit
from hub.api.deps import ApiDep, ClientIp, ConnDep, PageDep, UsersRead, UsersWrite, not_found
from hub.api.schemas import Page, Role, UserCreate, UserPublic
from hub.auth import UserError, create_user
from hub.auth import users as user_store

router = APIRouter(prefix="/users", tags=["users"])


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    disabled: bool


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
    if user_id == scope.user.id and body.disabled:
        raise HTTPException(422, "you cannot disable yourself")

    def change(conn):  # type: ignore[no-untyped-def]
        if user_store.get(conn, user_id) is None:
            raise not_found("user", user_id)
        user_store.set_disabled(conn, user_id, body.disabled)
        audit.record(conn, actor=scope.user.name,
                     action="user.disable" if body.disabled else "user.enable",
                     target=f"user:{user_id}", ip=ip)
        return user_store.get(conn, user_id)

    return UserPublic(**api.transact(change).public())
