"""`/api/v1/nodes/{id}/commands`: send a node `identify`, `selftest`, `set_interval`,
`override` or `resume` (technicians and admins only) and read its answers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import ValidationError
from sqlalchemy import Connection, select

from hub import audit
from hub.api.deps import (
    ApiDep,
    ClientIp,
    ConnDep,
    NodesCommand,
    NodesRead,
    PageDep,
    Scope,
    not_found,
)
from hub.api.nodes import visible_node
from hub.api.schemas import CommandCreate, CommandPublic, Page
from hub.api.state import Api
from hub.commands import NotSent, get_command, list_commands, send_command
from hub.control import overrides
from hub.models import Node
from protocol.payloads import COMMAND_ARGS, OverrideArgs

router = APIRouter(prefix="/nodes", tags=["commands"])


@router.post("/{node_id}/commands", response_model=CommandPublic, status_code=202)
def create_command(node_id: str, body: CommandCreate, scope: NodesCommand, api: ApiDep,
                   conn: ConnDep, ip: ClientIp) -> CommandPublic:
    """Send a command; 202 once the broker has it. The node's answer shows up in
    `GET …/commands/{id}` (status `answered`, `ok`, `result`)."""
    visible_node(conn, scope, node_id)
    given = body.model_dump(exclude={"cmd"}, exclude_none=True)
    return CommandPublic(**send(api, scope, conn, node_id, body.cmd, given, ip))


def send(api: Api, scope: Scope, conn: Connection, node_id: str, cmd: str,
         given: dict[str, Any], ip: str) -> dict[str, Any]:
    """Validate, send and audit one command to a node the user may see; an override or
    resume is also recorded as the node's override (hub.control.overrides)."""
    status = conn.execute(select(Node.status).where(Node.id == node_id)).scalar()
    if status != "online":
        # A node starts every connection with a clean session: a command sent while it is
        # away would never reach it.
        raise HTTPException(409, f"node {node_id} is {status}: it would not receive the "
                                 "command; send it when the node is online")
    try:
        args = COMMAND_ARGS[cmd].model_validate(given)
    except ValidationError as err:
        raise HTTPException(422, [{"loc": ["body", *e["loc"]], "msg": e["msg"],
                                   "type": e["type"]} for e in err.errors(include_url=False)]
                            ) from None
    try:
        sent = send_command(api.engine, api.hub.commands, node_id, cmd, args,
                            actor=scope.user.name)
    except NotSent as err:
        raise HTTPException(503, f"the command was not sent: {err}; try again") from None

    def record(c: Connection) -> None:
        audit.record(c, actor=scope.user.name, action="node.command", target=f"node:{node_id}",
                     detail={"cmd": cmd, "id": sent["id"], **args.model_dump()}, ip=ip)
        if isinstance(args, OverrideArgs):
            overrides.record(c, node_id, level=args.level, minutes=args.minutes,
                             actor=scope.user.name, command_id=sent["id"],
                             at=sent["issued_at"])
        elif cmd == "resume":
            overrides.end(c, node_id, at=sent["issued_at"])

    api.transact(record)
    return sent


@router.get("/{node_id}/commands", response_model=Page[CommandPublic])
def read_commands(node_id: str, scope: NodesRead, conn: ConnDep,
                  page: PageDep) -> Page[CommandPublic]:
    """Newest first."""
    visible_node(conn, scope, node_id)
    rows, count = list_commands(conn, node_id, limit=page.limit, offset=page.offset)
    return Page(data=[CommandPublic(**r) for r in rows], count=count)


@router.get("/{node_id}/commands/{command_id}", response_model=CommandPublic)
def read_command(node_id: str, command_id: str, scope: NodesRead,
                 conn: ConnDep) -> CommandPublic:
    visible_node(conn, scope, node_id)
    found = get_command(conn, node_id, command_id)
    if found is None:
        raise not_found("command", command_id)
    return CommandPublic(**found)
