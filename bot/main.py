"""The composition root: settings → storage → commands → adapters → one web app.

``build_service`` wires one replica; tests call it with fakes (a settings object that
points the platform clients at fake servers, a frozen clock). ``run_service`` serves it
under uvicorn; ``kpibot run`` (bot/cli/run.py) calls that.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.engine import Engine
from starlette.applications import Starlette

from bot.settings import Settings
from bot.web import build_web_app
from commands.context import AppConfig
from commands.i18n import normalize_lang
from commands.router import Router, build_router
from storage.db import make_engine

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


class Adapter(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def app_config(settings: Settings, secret: str | None = None) -> AppConfig:
    """The few settings commands need, taken once from the settings object."""
    config = AppConfig(
        public_url=settings.public_url.rstrip("/"),
        default_lang=normalize_lang(settings.default_lang),
    )
    if secret is None and settings.kpibot_secret is not None:
        secret = settings.kpibot_secret.get_secret_value()
    return replace(config, secret=secret) if secret else config


@dataclass
class Service:
    settings: Settings
    engine: Engine
    config: AppConfig
    router: Router
    web: Starlette
    adapters: list[Adapter] = field(default_factory=list)

    async def start(self) -> None:
        for adapter in self.adapters:
            await adapter.start()

    async def stop(self) -> None:
        for adapter in reversed(self.adapters):
            try:
                await adapter.stop()
            except Exception:  # one adapter failing to stop must not keep the others running
                log.exception("adapter %s did not stop cleanly", type(adapter).__name__)


def database_ready(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        log.warning("database not reachable", exc_info=True)
        return False


def build_service(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
    secret: str | None = None,
) -> Service:
    """Wire one replica. Nothing connects to a platform until ``Service.start``."""
    from bot.secrets import resolve_secret
    from bot.survey_page import survey_routes

    engine = engine or make_engine(settings.database_url)
    config = app_config(settings, secret or resolve_secret(settings))
    router = build_router(engine, config, clock or (lambda: datetime.now(UTC)))
    routes: list[Any] = list(survey_routes(engine, config, clock=clock))
    adapters: list[Adapter] = []
    if settings.slack_bot_token:
        from bot.slack import build_slack

        slack = build_slack(settings, router, engine=engine)
        routes += slack.routes()
        adapters.append(slack)
    if settings.telegram_bot_token:
        from bot.telegram import build_telegram

        telegram = build_telegram(settings, router, engine=engine)
        routes += telegram.routes()
        adapters.append(telegram)

    service: Service

    async def on_startup() -> None:
        await service.start()

    async def on_shutdown() -> None:
        await service.stop()

    web = build_web_app(
        routes,
        ready_check=lambda: database_ready(engine),
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
    )
    service = Service(settings, engine, config, router, web, adapters)
    return service


def serve(service: Service, *, host: str = "0.0.0.0", install_signal_handlers: bool = True) -> None:
    """Serve the web app (and start the adapters) until SIGINT/SIGTERM."""
    import uvicorn

    config = uvicorn.Config(
        service.web,
        host=host,
        port=service.settings.port,
        log_level=service.settings.log_level.lower(),
        lifespan="on",
    )
    server = uvicorn.Server(config)
    if not install_signal_handlers:
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    asyncio.run(server.serve())
