"""`GET /healthz` and `GET /metrics` (DESIGN.md §7, §10)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hub.api.access import metrics_allowed

router = APIRouter(tags=["health"])


@router.get("/healthz")
def read_health(request: Request) -> JSONResponse:
    """200 while the hub can take readings (InfluxDB may be down: readings are spooled);
    503 when an ingest worker cannot reach the broker, since then nothing arrives."""
    hub = request.app.state.hub
    body = hub.health()
    ok = body.get("mqtt", "connected") == "connected"
    return JSONResponse({"status": "ok" if ok else "degraded", **body},
                        status_code=200 if ok else 503)


@router.get("/metrics", dependencies=[Depends(metrics_allowed)])
def read_metrics(request: Request) -> Response:
    """Prometheus text format; who may read it is `[http] metrics` (hub.api.access)."""
    hub = request.app.state.hub
    gauge = hub.metrics.nodes
    counts = hub.registry.counts()
    for state in ("pending", "online", "offline", "unknown", *counts):
        gauge.labels(state).set(counts.get(state, 0))
    return Response(generate_latest(hub.metrics.registry), media_type=CONTENT_TYPE_LATEST)
