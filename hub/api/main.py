"""The API's routers under /api/v1 (one per resource) and Open311 under /open311/v2."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI

from hub.api import (
    alerts,
    areas,
    audit,
    auth,
    commands,
    control,
    exports,
    me,
    nodes,
    open311,
    readings,
    reports,
    spots,
    tickets,
    users,
)
from hub.api.state import Api

if TYPE_CHECKING:
    from hub.app import Hub

API_PREFIX = "/api/v1"
ROUTERS = (auth.router, me.router, users.router, nodes.router, commands.router, readings.router,
           alerts.router, tickets.router, spots.router, reports.router, exports.router,
           audit.router, control.router, areas.router)


def install_api(app: FastAPI, hub: Hub) -> Api:
    """Include every router and keep the API's state on `app.state.api`."""
    api = Api(hub)
    app.state.api = api
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(open311.router)
    return api
