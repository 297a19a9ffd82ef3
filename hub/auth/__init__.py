"""Who may use the hub: users and roles, password hashing, bearer tokens, login throttling.

What each role may see and do is decided in one place, `hub.api.deps` (`authorize`,
`Scope`)."""

from hub.auth.passwords import hash_password, needs_rehash, verify_password
from hub.auth.throttle import Throttle
from hub.auth.tokens import Claims, TokenError, Tokens, signing_key
from hub.auth.users import (
    ADMIN,
    COMMITTEE,
    CREW,
    LANGUAGES,
    ROLES,
    TECHNICIAN,
    UserError,
    UserInfo,
    create_user,
)

__all__ = ["ADMIN", "COMMITTEE", "CREW", "LANGUAGES", "ROLES", "TECHNICIAN", "Claims",
           "Throttle", "TokenError", "Tokens", "UserError", "UserInfo", "create_user",
           "hash_password", "needs_rehash", "signing_key", "verify_password"]
