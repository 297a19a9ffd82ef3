"""The broker accounts that belong to the hub, never to a node.

The deployed broker makes a client's id its account, and the hub logs in under its client
id: the receiver as `<client_id>`, the command sender as `<client_id>-cmd`, and further
workers as `<client_id>-<n>` and `<client_id>-<n>-cmd`. Giving one of these names to a node
would hand it the hub's password entry (locking the hub out) or its ACL rights; revoking
one would cut the hub off.
"""

from __future__ import annotations

# What deploy/mosquitto/roshni.acl grants the hub's rights to, whatever hub.toml says.
SHIPPED_CLIENT_ID = "roshni-hub"


def is_hub_account(name: str, client_id: str) -> bool:
    """True when `name` is, or may be, one of the hub's own accounts."""
    return any(name == base or name.startswith(f"{base}-")
               for base in {client_id, SHIPPED_CLIENT_ID})
