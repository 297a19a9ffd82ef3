"""`/api/v1/nodes/{id}/commands`: send a node `identify`, `selftest` or `set_interval`
(technicians and admins only) and read its answers."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import ValidationError
from sqlalchemy import select

from hub import audit
from hub.api.deps import ApiDep, ClientIp, ConnDep, NodesCommand, NodesRead, PageDep, not_found
from hub.api.nodes import visible_node
from hub.api.schemas import CommandCreate, CommandPublic, Page
from hub.commands import NotSent, get_command, list_commands, send_command
from hub.models import Node
from protocol.payloads import COMMAND_ARGS

router = APIRouter(prefix="/nodes", tags=["commands"])


@router.post("/{node_id}/commands", response_model=CommandPublic, status_code=202)
def create_command(node_id: str, body: CommandCreate, scope: NodesCommand, api: ApiDep,
                   conn: ConnDep, ip: ClientIp) -> CommandPublic:
    """Send a command; 202 once the broker has it. The node's answer shows up in
    `GET …/commands/{id}` (status `answered`, `ok`, `result`)."""
    visible_node(conn, scope, node_id)
    status = conn.execute(select(Node.status).where(Node.id == node_id)).scalar()
    if status != "online":
        # A node starts every connection with a clean session: a command sent while it is
        # away would never reach it.
        raise HTTPException(409, f"node {node_id} is {status}: it would not receive the "
                                 "command; send it when the node is online")
    given = body.model_dump(exclude={"cmd"}, exclude_none=True)
    try:
        args = COMMAND_ARGS[body.cmd].model_validate(given)
    except ValidationError as err:
        raise HTTPException(422, [{"loc": ["body", *e["loc"]], "msg": e["msg"],
                                   "type": e["type"]} for e in err.errors(include_url=False)]
                            ) from None
    try:
        sent = send_command(api.engine, api.hub.commands, node_id, body.cmd, args,
                            actor=scope.user.name)
    except NotSent as err:
        raise HTTPException(503, f"the command was not sent: {err}; try again") from None
    api.transact(lambda c: audit.record(c, actor=scope.user.name, action="node.command",
                                        target=f"node:{node_id}",
                                        detail={"cmd": body.cmd, "id": sent["id"], **given}, ip=ip))
    return CommandPublic(**sent)


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
