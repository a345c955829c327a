"""The one Starlette app: Slack HTTP mode, the Telegram webhook, the survey page, health.

Each feature contributes its routes (``routes=[...]``) from the composition root
(``bot/main.py``); this module only assembles them with the routes every replica has.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    return Starlette(
        routes=[*base, *routes],
        on_startup=list(on_startup),
        on_shutdown=list(on_shutdown),
    )
