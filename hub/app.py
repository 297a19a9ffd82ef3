"""The hub's FastAPI application: wiring only; routes live in hub/api/."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from hub import dashboard, longlived
from hub.adoption import SessionAdoption
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
from hub.membership import ROLE_NAMES, Membership
from hub.metrics import Metrics
from hub.notify.service import Notifier
from hub.registry import Registry
from hub.rules import Packs, RulesInbox, RulesOwner
from hub.rules.partitions import Partitions
from hub.rules.priority import PriorityFollowsScore
from hub.spots import SpotScorer

ROLES = frozenset(ROLE_NAMES)


def parse_roles(text: str) -> frozenset[str]:
    """`--role ingest,rules`: the roles a worker takes (all of them by default)."""
    roles = frozenset(r.strip() for r in text.split(",") if r.strip())
    unknown = roles - ROLES
    if unknown or not roles:
        raise ValueError(f"unknown role {', '.join(sorted(unknown)) or '(none)'}; "
                         f"roles: {', '.join(ROLE_NAMES)}")
    return roles


class Hub:
    """Everything one hub process runs, in start order: the composition root. Roles
    (DESIGN.md §9): `ingest` takes the broker's messages into InfluxDB and files them for
    the rules; `rules` judges the partitions it leases; `notify` sends what the rules
    raised; `api` serves the API and the dashboard. Any number of workers may take each
    role; what must happen once is decided by the database."""

    def __init__(self, settings: HubSettings, roles: frozenset[str] = ROLES) -> None:
        self.settings = settings
        self.roles = roles
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # Held while the process lives: `roshni hub restore` refuses while a hub runs.
        self.running = hold_while_running(settings.db_url)
        migrate(settings.db_url)
        self.engine = make_engine(settings.db_url)
        self.metrics = Metrics()
        self.registry = Registry(self.engine)
        name = settings.mqtt.client_id
        # Commands to nodes, and answers to their self-tests, on a connection of their own.
        self.commands = CommandBus(settings.mqtt)
        self.control = Control(settings.control, self.engine, self.commands)
        filed = threading.Event()
        # What this process's ingest filed for the partitions its rules owner holds.
        packs = Packs() if {"ingest", "rules"} <= set(roles) else None
        self.ingest: Ingest | None = None
        if "ingest" in roles:
            self.ingest = Ingest(settings, self.engine, self.metrics, self.registry)
            stages = self.ingest.pipeline.stages
            # Scores before the rules judge: a ticket opens at the priority the lamp's
            # score calls for once this batch's darkness is counted.
            stages.append(SpotScorer(settings.spots))
            stages.append(RulesInbox(Partitions(settings.rules.partitions), settings.rules,
                                     filed, worker=name, packs=packs))
            stages.append(Commissioning(self.commands))
            stages.append(self.control.stage)
        self.rules: RulesOwner | None = None
        if "rules" in roles:
            self.rules = RulesOwner(settings.rules, self.engine, name=name,
                                    after=[PriorityFollowsScore(settings.rules)],
                                    batch_size=settings.ingest.batch_size, filed=filed,
                                    metrics=self.metrics, packs=packs)
        self.notifier = (Notifier(self.engine, settings.notify, settings.spots.tz,
                                  metrics=self.metrics) if "notify" in roles else None)
        ingest = self.ingest
        # A persistent MQTT session is left behind by a worker that dies (hub/adoption.py);
        # RabbitMQ's shared queue leaves nothing.
        self.adoption = (SessionAdoption(settings.mqtt, ingest.writer, name, self.engine,
                                         on_spooled=ingest.wakeup)
                         if ingest is not None and not settings.mqtt.amqp_url else None)
        self.membership = Membership(
            self.engine, name, roles, session=self.adoption is not None,
            status=lambda: (ingest.listening(), ingest.filing()) if ingest else (False, 0),
            on_beat=self.adoption.consider if self.adoption else None,
            ttl=settings.rules.lease_s)

    def start(self) -> None:
        self.commands.start()
        self.control.start()
        # Listed before ingest files anything: the filing moves this worker's watermark.
        self.membership.start()
        if self.ingest:
            self.ingest.start()
        if self.notifier:
            self.notifier.start()
        if self.rules:
            self.rules.start()

    def stop(self) -> None:
        if self.rules:
            self.rules.stop()
        if self.ingest:
            self.ingest.stop()
        if self.adoption:
            self.adoption.stop()
        # A worker with a broker session stays listed: back soon (a restart, an upgrade),
        # it carries on with its session; not back within `[rules] lease_s`, another
        # worker drains the session for it.
        self.membership.stop(leave=self.adoption is None)
        if self.notifier:
            self.notifier.stop()
        self.control.stop()
        self.commands.stop()
        self.engine.dispose()
        self.running.release()

    def health(self) -> dict[str, object]:
        """What `/healthz` says: the broker and InfluxDB for ingest; the roles for all."""
        body: dict[str, object] = {"roles": sorted(self.roles)}
        if self.ingest:
            body.update(self.ingest.health())
        if self.rules:
            body["rules_partitions"] = sorted(self.rules.engines)
        return body


def create_app(settings: HubSettings, roles: frozenset[str] = ROLES) -> FastAPI:
    hub = Hub(settings, roles)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        longlived.tune()
        hub.start()
        # The registry and the rules' sites (100 000 nodes in a city) live as long as the
        # process: keep them out of the garbage collector's full passes, which the API's
        # short-lived objects set off and which otherwise walk them all (p99 of a large
        # GeoJSON export: 250 -> 90 ms in bench/api.py).
        longlived.settled()
        try:
            yield
        finally:
            hub.stop()
            if api is not None:
                api.close()

    # /docs and /openapi.json are hub.api.docs' (served locally, behind [http] docs).
    app = FastAPI(title="Roshni hub", version="1", lifespan=lifespan, docs_url=None,
                  redoc_url=None, openapi_url=None)
    app.state.hub = hub
    app.include_router(health.router)
    api = None
    if "api" in roles:
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
