"""`POST /api/v1/auth/token`: the OAuth2 password flow (form fields `username`,
`password`) → a bearer token. Failed logins are throttled per user name and address, per
user name and per address (hub.auth.throttle)."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi.security import OAuth2PasswordRequestForm

from hub.api.deps import ApiDep, ClientIp, ConnDep
from hub.api.me import me_of
from hub.api.schemas import Token
from hub.auth import needs_rehash, verify_password
from hub.auth import throttle as throttling
from hub.auth import users as user_store
from hub.auth.passwords import hash_password

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=Token,
             responses={401: {"description": "wrong user name or password"},
                        429: {"description": "too many failed logins; see Retry-After"}})
def login_access_token(form: Annotated[OAuth2PasswordRequestForm, Depends()], api: ApiDep,
                       conn: ConnDep, ip: ClientIp) -> Token:
    key = throttling.attempt(form.username, ip)
    wait = api.throttle.retry_after(conn, key)
    if wait > 0:
        raise HTTPException(429, f"too many failed logins for {form.username[:64]!r} or from "
                                 f"this address; try again in {math.ceil(wait)} s",
                            headers={"Retry-After": str(math.ceil(wait))})
    found = user_store.credentials(conn, form.username)
    conn.rollback()  # end the read before the (slow) hash check and the write after it
    # Checked even when there is no such user, so the answer takes as long either way.
    ok = verify_password(found[1] if found else None, form.password)
    if not ok or found is None:
        api.transact(lambda c: api.throttle.failed(c, key))
        raise HTTPException(401, "wrong user name or password",
                            headers={"WWW-Authenticate": "Bearer"})
    user, stored = found

    def succeeded(c):  # type: ignore[no-untyped-def]
        api.throttle.succeeded(c, key)
        if needs_rehash(stored):
            user_store.set_password_hash(c, user.id, hash_password(form.password))

    api.transact(succeeded)
    token, expires_at = api.tokens.issue(user.id, user.token_version)
    return Token(access_token=token, expires_at=expires_at,
                 expires_in=int(api.tokens.ttl_s), me=me_of(conn, user))
