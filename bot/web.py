"""The one Starlette app: Slack HTTP mode, the Telegram webhook, the survey page, health.

Each feature contributes its routes (``routes=[...]``) from the composition root
(``bot/main.py``); this module only assembles them with the routes every replica has.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route


async def healthz(_: Request) -> Response:
    return PlainTextResponse("ok")


def build_web_app(
    routes: Sequence[BaseRoute] = (),
    *,
    ready_check: Callable[[], bool] | None = None,
    on_startup: Sequence[Callable[[], Any]] = (),
    on_shutdown: Sequence[Callable[[], Any]] = (),
) -> Starlette:
    async def readyz(_: Request) -> Response:
        ok = ready_check() if ready_check else True
        return JSONResponse({"ready": ok}, status_code=200 if ok else 503)

    base: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        for hook in on_startup:
            result = hook()
            if inspect.isawaitable(result):
                await result
        try:
            yield
        finally:
            for hook in on_shutdown:
                result = hook()
                if inspect.isawaitable(result):
                    await result

    return Starlette(routes=[*base, *routes], lifespan=lifespan)
