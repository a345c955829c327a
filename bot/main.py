"""The composition root: settings → storage → commands → adapters → one web app.

``build_service`` wires one replica; tests call it with fakes (a settings object that
points the platform clients at fake servers, a frozen clock). ``kpibot run``
(bot/cli/run.py) serves it with :func:`bot.serving.serve`.

Each concern around the features lives in a module of its own, wired here:

* :mod:`bot.service`: the running parts, started and stopped in order (graceful shutdown);
* :mod:`bot.adapters`: the messengers this replica runs, from :data:`bot.messengers.MESSENGERS`;
* :mod:`bot.database_watch`: whether the database answered lately (requests answered at
  once while it is down; one probe a second notices it coming back);
* :mod:`bot.observed_router`: the router as the adapters see it (timed, logged with the
  request's context, a few at a time after the ack, in worker processes when there is a pool);
* :mod:`bot.instrumentation` and :mod:`bot.metrics`: what is counted (messages sent or failed
  by platform, 429s from each messenger — its ``build`` counts them —, the outbox backlog,
  scheduler runs);
* :mod:`bot.serving`: uvicorn, the listening socket, the signals and the shutdown watchdog.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from starlette.routing import BaseRoute

from bot import messengers
from bot.adapters import build_adapters, inbox_for
from bot.database_watch import DatabaseWatch
from bot.instrumentation import outbox_backlog
from bot.messenger import Adapter
from bot.metrics import Metrics
from bot.observed_router import ObservedRouter
from bot.router_pool import RouterPool, default_processes
from bot.scheduler import CycleScheduler
from bot.secrets import resolve_secret
from bot.sender import Sender
from bot.service import Service
from bot.serving import STOPPED
from bot.settings import Settings
from bot.survey_page import survey_routes
from bot.web import build_web_app
from commands.context import AppConfig
from commands.i18n import normalize_lang
from commands.router import build_router
from storage.db import is_memory_sqlite, make_engine

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

WORKER_THREADS = 64
"""Threads for the router and storage calls (``asyncio.to_thread``): enough that a submission
always finds one while background calls wait for their turn."""


def app_config(settings: Settings, secret: str | None = None) -> AppConfig:
    """The few settings commands need, taken once from the settings object."""
    config = AppConfig(
        public_url=settings.public_url.rstrip("/"),
        default_lang=normalize_lang(settings.default_lang),
        extra={"survey_rate_limit": settings.survey_rate_limit, "messengers": messengers.names()},
    )
    if secret is None and settings.kpibot_secret is not None:
        secret = settings.kpibot_secret.get_secret_value()
    return replace(config, secret=secret) if secret else config


def build_service(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
    secret: str | None = None,
    metrics: Metrics | None = None,
) -> Service:
    """Wire one replica. Nothing connects to a platform until ``Service.start``."""
    engine = engine or make_engine(settings.database_url)
    metrics = metrics or Metrics()
    watch = DatabaseWatch(engine, metrics)
    config = app_config(settings, secret or resolve_secret(settings))
    messengers.check(messengers.MESSENGERS)
    router = build_router(
        engine, config, clock or (lambda: datetime.now(UTC)), platforms=messengers.platforms()
    )
    pool = router_pool(settings, engine, config, clock)
    observed = ObservedRouter(router, metrics, watch, config.default_lang, pool=pool)
    routes: list[BaseRoute] = list(survey_routes(engine, config, clock=clock))
    platforms = build_adapters(settings, observed, engine, metrics)
    for adapter in platforms.values():
        routes += adapter.routes()
    metrics.watch_backlog(outbox_backlog(engine))

    async def on_startup() -> None:
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="kpibot")
        )
        if pool is not None:  # before the first request: the workers import and build their routers
            await asyncio.to_thread(pool.start)
        await service.start()

    async def on_shutdown() -> None:
        # uvicorn took up to half the grace for the requests in flight; the rest is ours
        await service.stop(within=service.settings.shutdown_grace_s / 2)
        STOPPED.set()

    def outbox_health() -> dict[str, Any] | None:
        return service.sender.health() if service.sender is not None else None

    web = build_web_app(
        routes,
        ready_check=watch.check,
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        metrics=metrics,
        draining=lambda: service.draining,
        max_body_bytes=settings.max_body_bytes,
        outbox=outbox_health,
    )
    adapters = list(platforms.values())
    service = Service(settings, engine, config, router, web, adapters, metrics, watch, pool=pool)
    service.sender, service.cycle = cycle_parts(settings, engine, platforms, clock, metrics)
    service.inbox = inbox_for(settings, engine, platforms, metrics, service.sender)
    if pool is not None and service.inbox is not None and service.inbox.engine is not engine:
        pool.release_before_fork(service.inbox.engine)  # the inbox's own SQLite file
    return service


def router_pool(
    settings: Settings, engine: Engine, config: AppConfig, clock: Clock | None
) -> RouterPool | None:
    """The router's worker processes, unless ``ROUTER_PROCESSES=0``, a test's clock (which
    other processes cannot share) or an in-memory database (likewise) rule them out."""
    processes = settings.router_processes
    if processes is None:
        processes = default_processes()
    if processes < 1 or clock is not None or is_memory_sqlite(engine.url):
        return None
    url = engine.url.render_as_string(hide_password=False)
    return RouterPool(url, config, processes=processes, log_settings=settings)


def cycle_parts(
    settings: Settings,
    engine: Engine,
    platforms: dict[str, Adapter],
    clock: Clock | None,
    metrics: Metrics | None = None,
) -> tuple[Sender | None, CycleScheduler | None]:
    """Issue 9: the outbox sender (whenever a platform adapter runs) and the cycle scheduler
    (``cycle_enabled``; by default only in production, so tests and trials never publish by
    themselves)."""
    sender = (
        Sender(engine, platforms, clock=clock, default_lang=settings.default_lang, metrics=metrics,
               lease=timedelta(seconds=settings.lease_s))
        if platforms else None
    )  # fmt: skip
    enabled = settings.cycle_enabled
    if enabled is None:
        enabled = settings.environment == "production"
    if not enabled:
        return sender, None
    return sender, CycleScheduler(engine, clock=clock, metrics=metrics)
