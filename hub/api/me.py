"""`/api/v1/me`: who is logged in, their scope, what they may do, their language."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from hub import audit
from hub.api.deps import ApiDep, ClientIp, ConnDep, CurrentUser, permissions_of
from hub.api.schemas import AreaRef, Me, MeUpdate
from hub.auth import UserInfo
from hub.auth import users as user_store
from hub.models import Area, District

router = APIRouter(prefix="/me", tags=["me"])


def me_of(conn, user: UserInfo) -> Me:  # type: ignore[no-untyped-def]
    names = dict(conn.execute(select(Area.id, Area.name).where(Area.id.in_(user.areas))).all()
                 ) if user.areas else {}
    district_name = conn.execute(select(District.name).where(
        District.id == user.district)).scalar() if user.district else None
    return Me(**user.public(), area_names=[AreaRef(id=a, name=names.get(a, a))
                                           for a in user.areas],
              district_name=district_name, permissions=permissions_of(user.role))


@router.get("", response_model=Me)
def read_me(user: CurrentUser, conn: ConnDep) -> Me:
    return me_of(conn, user)


@router.patch("", response_model=Me)
def update_me(body: MeUpdate, user: CurrentUser, api: ApiDep, ip: ClientIp) -> Me:
    def change(conn):  # type: ignore[no-untyped-def]
        user_store.set_language(conn, user.id, body.language)
        audit.record(conn, actor=user.name, action="user.language", target=f"user:{user.id}",
                     detail={"from": user.language, "to": body.language}, ip=ip)
        fresh = user_store.get(conn, user.id)
        assert fresh is not None
        return me_of(conn, fresh)

    return api.transact(change)
