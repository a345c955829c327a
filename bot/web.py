"""The one Starlette app: Slack HTTP mode, the Telegram webhook, the survey page, health.

Each feature contributes its routes (``routes=[...]``) from the composition root
(``bot/main.py``); this module only assembles them with the routes every replica has:

* ``GET /healthz`` — the process answers (the container's HEALTHCHECK);
* ``GET /readyz`` — the database answers (within :data:`READY_TIMEOUT_S`, even when it is
  silent), the outbox sender runs and the replica is not shutting down (a load balancer
  sends traffic only while this is 200); the body says whether the outbox drains;
* ``GET /metrics`` — Prometheus text format (when a :class:`~bot.metrics.Metrics` is given).

Every request gets a request id (``X-Request-ID`` from the proxy, or a new one), which
is on every log line written while serving it and on the answer's ``X-Request-ID``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import messengers
from bot.bodies import DEFAULT_MAX_BODY_BYTES
from bot.logs import request_context
from bot.metrics import Metrics, MetricsMiddleware, metrics_response

log = logging.getLogger(__name__)

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
PLATFORM_PREFIXES = (("/s/", "survey"),)
"""Paths that are not a messenger's (each messenger's is its ``path_prefix``)."""


async def healthz(_: Request) -> Response:
    return PlainTextResponse("ok")


def platform_of(path: str) -> str | None:
    mine = tuple((m.path_prefix, m.platform) for m in messengers.MESSENGERS if m.path_prefix)
    for prefix, platform in (*mine, *PLATFORM_PREFIXES):
        if path.startswith(prefix):
            return platform
    return None


class RequestContextMiddleware:
    """A request id per request (on the log lines and the answer), the platform by path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                given = value.decode("latin-1")
                break
        request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex[:12]
        path = scope.get("path", "")
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        with request_context(request_id=request_id, platform=platform_of(path)):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                if path not in ("/healthz", "/readyz", "/metrics"):
                    log.info(
                        "%s %s -> %s in %.0f ms", scope.get("method"), _shown_path(path), status,
                        (time.perf_counter() - started) * 1000,
                    )  # fmt: skip


class BodyLimitMiddleware:
    """A request body over ``max_bytes`` is answered 413 without being read: at once when its
    ``Content-Length`` says so, else as soon as the chunks read so far pass the limit (the app
    then sees a disconnect and stops reading). Applies to every route: Slack, Telegram, survey."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await _too_large(scope, receive, send)
                return
        seen = 0
        started = False
        refused = False

        async def counted() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    refused = True
                    return {"type": "http.disconnect"}
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if refused and not started:
                return  # the 413 below answers instead
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except Exception:
            if not refused:
                raise
        if refused and not started:
            await PlainTextResponse("request body too large", status_code=413)(scope, receive, send)


async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
    log.info(
        "refused a request body over the limit (%s %s)",
        scope.get("method"),
        _shown_path(scope.get("path", "")),
    )
    await PlainTextResponse("request body too large", status_code=413)(scope, receive, send)


def _shown_path(path: str) -> str:
    """A survey link's token is a capability: never in a log line."""
    return "/s/{token}" if path.startswith("/s/") else path


READY_TIMEOUT_S = 2.0
"""``/readyz`` answers within about this long, even while the database is silent."""


class SingleFlight:
    """A blocking check run on a thread of its own, at most one at a time, with a deadline:
    while one is still running (a frozen database), callers are told ``False`` at once
    instead of piling up threads behind it."""

    def __init__(self, check: Callable[[], bool], timeout: float = READY_TIMEOUT_S) -> None:
        self.check = check
        self.timeout = timeout
        self._running: asyncio.Future[bool] | None = None

    async def __call__(self) -> bool:
        if self._running is None or self._running.done():
            loop = asyncio.get_running_loop()
            self._running = loop.create_future()
            threading.Thread(target=self._run, args=(loop, self._running), daemon=True,
                             name="ready-check").start()  # fmt: skip
        try:
            return await asyncio.wait_for(asyncio.shield(self._running), self.timeout)
        except TimeoutError:
            log.warning("readyz: the database did not answer within %g s", self.timeout)
            return False

    def _run(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[bool]) -> None:
        try:
            ok = bool(self.check())
        except Exception:  # noqa: BLE001 - not ready, that is all
            ok = False

        def settle() -> None:
            if not future.done():
                future.set_result(ok)

        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle)


def build_web_app(
    routes: Sequence[BaseRoute] = (),
    *,
    ready_check: Callable[[], bool] | None = None,
    on_startup: Sequence[Callable[[], Any]] = (),
    on_shutdown: Sequence[Callable[[], Any]] = (),
    metrics: Metrics | None = None,
    draining: Callable[[], bool] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    outbox: Callable[[], dict[str, Any] | None] | None = None,
) -> Starlette:
    # The check talks to the database: never on the event loop, never more than one at a time.
    check = SingleFlight(ready_check) if ready_check else None

    async def readyz(_: Request) -> Response:
        if draining is not None and draining():
            return JSONResponse({"ready": False, "draining": True}, status_code=503)
        ok = await check() if check is not None else True
        body: dict[str, Any] = {"ready": ok}
        health = outbox() if outbox is not None else None
        if health is not None:
            # Not ready when this replica's sender cannot work (stopped, or its database
            # rounds failing); a platform that holds messages up shows here but keeps it ready.
            body["outbox"] = health
            if not health["running"] or not health["database"]:
                body["ready"] = ok = False
        return JSONResponse(body, status_code=200 if ok else 503)

    base: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    if metrics is not None:

        async def metrics_page(_: Request) -> Response:
            return await asyncio.to_thread(metrics_response, metrics)

        base.append(Route("/metrics", metrics_page, methods=["GET"]))

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

    middleware = [
        Middleware(RequestContextMiddleware),
        Middleware(BodyLimitMiddleware, max_bytes=max_body_bytes),
    ]
    if metrics is not None:
        middleware.append(Middleware(MetricsMiddleware, metrics=metrics))
    return Starlette(routes=[*base, *routes], lifespan=lifespan, middleware=middleware)
