"""The hub's FastAPI application: wiring only; routes live in hub/api/."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from hub import dashboard
from hub.api import docs, health
from hub.api.errors import install_error_handlers
from hub.api.headers import SecurityHeaders
from hub.api.inputs import CheckedRequests
from hub.api.main import install_api
from hub.backup import hold_while_running
from hub.commands import CommandBus
from hub.commissioning import Commissioning
from hub.config import HubSettings
from hub.control.service import Control
from hub.db import make_engine, migrate
from hub.ingest import Ingest
from hub.metrics import Metrics
from hub.notify.service import Notifier
from hub.registry import Registry
from hub.rules import RulesEngine, Ticker, listening
from hub.rules.priority import PriorityFollowsScore
from hub.spots import SpotScorer


class Hub:
    """Everything one hub process runs, in start order."""

    def __init__(self, settings: HubSettings) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # Held while the process lives: `roshni hub restore` refuses while a hub runs.
        self.running = hold_while_running(settings.db_url)
        migrate(settings.db_url)
        self.engine = make_engine(settings.db_url)
        self.metrics = Metrics()
        self.registry = Registry(self.engine)
        self.ingest = Ingest(settings, self.engine, self.metrics, self.registry)
        # Rules before scores: a ticket opens with the lamp's unsafe-spot score as it stood
        # before this batch; once the batch is scored, its priority is raised if the score
        # now calls for it (hub/rules/priority.py), so batching never changes a priority.
        self.rules = RulesEngine(settings.rules, self.engine)
        self.ingest.pipeline.stages.append(self.rules)
        self.ingest.pipeline.stages.append(SpotScorer(settings.spots))
        self.ingest.pipeline.stages.append(PriorityFollowsScore(settings.rules))
        # Commands to nodes, and answers to their self-tests, on a connection of their own.
        self.commands = CommandBus(settings.mqtt)
        self.ingest.pipeline.stages.append(Commissioning(self.commands))
        self.control = Control(settings.control, settings.rules, self.engine, self.commands)
        self.ingest.pipeline.stages.append(self.control.stage)
        self.notifier = Notifier(self.engine, settings.notify, settings.spots.tz,
                                 metrics=self.metrics)
        self.ticker = Ticker(self.rules, self.engine, interval_s=settings.rules.tick_s,
                             metrics=self.metrics, listening=lambda: listening(
                                 self.ingest, max_backlog=settings.ingest.batch_size))

    def start(self) -> None:
        self.commands.start()
        self.control.start()
        self.ingest.start()
        self.notifier.start()
        self.ticker.start()

    def stop(self) -> None:
        self.ticker.stop()
        self.ingest.stop()
        self.notifier.stop()
        self.control.stop()
        self.commands.stop()
        self.engine.dispose()
        self.running.release()


def create_app(settings: HubSettings) -> FastAPI:
    hub = Hub(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub.start()
        # The registry and the rules' sites (100 000 nodes in a city) live as long as the
        # process: keep them out of the garbage collector's full passes, which the API's
        # short-lived objects set off and which otherwise walk them all (p99 of a large
        # GeoJSON export: 250 -> 90 ms in bench/api.py).
        gc.freeze()
        try:
            yield
        finally:
            hub.stop()
            api.close()

    # /docs and /openapi.json are hub.api.docs' (served locally, behind [http] docs).
    app = FastAPI(title="Roshni hub", version="1", lifespan=lifespan, docs_url=None,
                  redoc_url=None, openapi_url=None)
    app.state.hub = hub
    app.include_router(health.router)
    app.include_router(docs.router)
    api = install_api(app, hub)
    app.include_router(dashboard.router)
    install_error_handlers(app)
    # Innermost first: the last one added sees a request first.
    # Lists and the dashboard's files travel compressed to phones on slow connections.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(CheckedRequests)
    app.add_middleware(SecurityHeaders)
    if settings.http.trusted_proxies:
        # The client's address is what a trusted proxy says it is; from anyone else,
        # X-Forwarded-For is ignored (the server itself is run with proxy_headers off).
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.http.trusted_proxies)
    return app
