"""The composition root: settings → storage → commands → adapters → one web app.

``build_service`` wires one replica; tests call it with fakes (a settings object that
points the platform clients at fake servers, a frozen clock). ``serve`` runs it under
uvicorn; ``kpibot run`` (bot/cli/run.py) calls that.

What a replica does around the features:

* **metrics** (:class:`bot.metrics.Metrics`, one registry per service): HTTP requests by
  route and status, router latency by command, messages sent/failed by platform
  (``send_outgoing`` of every adapter is counted here), 429s from each messenger (its ``build`` counts them),
  the outbox backlog, scheduler runs (the scheduler calls ``service.metrics.scheduler_run``);
* **the database watch** (:class:`DatabaseWatch`): once the database stops answering,
  requests are answered at once with "the database cannot be reached, nothing was saved"
  instead of each waiting for its own connection attempt; one probe a second notices
  the database coming back, and the service carries on by itself;
* **graceful shutdown**: on SIGTERM uvicorn stops accepting connections and lets the
  requests in flight finish (``SHUTDOWN_GRACE_S``); then ``Service.stop`` marks the
  replica draining (``/readyz`` 503), stops the adapters (each waits for the replies and
  the message it is sending) and closes the database connections, which releases any
  PostgreSQL session lock this replica held.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from starlette.applications import Starlette

from bot import messengers
from bot.logs import current_context, request_context
from bot.messenger import Adapter
from bot.metrics import Metrics
from bot.router_pool import RouterPool, connection_lost, default_processes
from bot.settings import Settings
from bot.web import build_web_app
from commands.context import AppConfig
from commands.i18n import normalize_lang, translator
from commands.messages import Incoming, Outgoing, Reply
from commands.router import Router, build_router, split_command
from storage.db import is_memory_sqlite, make_engine

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

BACKGROUND_ROUTER_CALLS = 3
"""Router calls whose answer goes out after the ack (commands, buttons, messages) run at most
this many at a time; a modal submission, whose ack waits for the router, never waits for them."""
WORKER_THREADS = 64
"""Threads for the router and storage calls (``asyncio.to_thread``): enough that a submission
always finds one while background calls wait for their turn."""

LANG_MEMO_S = 600.0
DATABASE_DOWN = "kpibot cannot reach its database right now, so nothing was saved. Please try again in a few minutes."
APOLOGY = "Sorry, something went wrong on our side. Please try again; if it keeps happening, give the admin this reference: {ref}"


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


# -- the database watch ------------------------------------------------------------------


class DatabaseWatch:
    """Whether the database answered lately; see the module docstring."""

    def __init__(
        self, engine: Engine, metrics: Metrics | None = None, *, probe_every_s: float = 1.0
    ) -> None:
        self.engine = engine
        self.metrics = metrics
        self.probe_every_s = probe_every_s
        self.down_since: float | None = None
        self.outages = 0
        self._last_probe = 0.0
        self._lock = threading.Lock()
        self._local = threading.local()
        event.listen(engine, "handle_error", self._on_error)
        if metrics is not None:
            metrics.database_up.set(1)

    def _on_error(self, context: Any) -> None:
        if connection_lost(context):
            self._local.lost = True
            self.mark_down()

    def mark_down(self) -> None:
        with self._lock:
            if self.down_since is not None:
                return
            self.down_since = time.monotonic()
            self._last_probe = self.down_since
            self.outages += 1
        log.error("database: connection lost; answering requests with 'try again later'")
        if self.metrics is not None:
            self.metrics.database_up.set(0)

    def _mark_up(self) -> None:
        with self._lock:
            since, self.down_since = self.down_since, None
        if since is not None:
            log.warning("database: reachable again after %.1f s", time.monotonic() - since)
        if self.metrics is not None:
            self.metrics.database_up.set(1)

    def check(self) -> bool:
        """``SELECT 1`` now (``/readyz``)."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            self.mark_down()
            return False
        self._mark_up()
        return True

    def available(self) -> bool:
        """``True`` unless the database is known to be down; while it is, at most one caller
        a second probes it (the others are told at once)."""
        if self.down_since is None:
            return True
        with self._lock:
            now = time.monotonic()
            if now - self._last_probe < self.probe_every_s:
                return False
            self._last_probe = now
        return self.check()

    def begin_request(self) -> None:
        self._local.lost = False

    def lost_during_request(self) -> bool:
        return bool(getattr(self._local, "lost", False))


# -- the router, observed ---------------------------------------------------------------


class ObservedRouter:
    """The router as the adapters see it: timed, logged with the request's context, and
    answering at once while the database is down. Everything else is the router's."""

    def __init__(
        self,
        router: Router,
        metrics: Metrics,
        watch: DatabaseWatch,
        default_lang: str,
        *,
        background: int | None = None,
        pool: RouterPool | None = None,
    ) -> None:
        self.router = router
        self.metrics = metrics
        self.watch = watch
        self.default_lang = default_lang
        self.pool = pool
        if background is None:
            background = pool.processes if pool is not None else BACKGROUND_ROUTER_CALLS
        self._background = threading.BoundedSemaphore(background)
        self._langs: OrderedDict[tuple[str, str], tuple[str, float]] = OrderedDict()
        """The language each person was last answered in: "the database is down" in their
        language even then (read once per person and LANG_MEMO_S, while it is up)."""

    def lang_for(self, incoming: Incoming) -> str:
        """The person's language: as stored (remembered from when the database answered),
        else the platform's hint, else the default."""
        known = self._langs.get((incoming.platform, incoming.user_id))
        if known is not None:
            return known[0]
        return normalize_lang(incoming.lang_hint, self.default_lang)

    def _learn_lang(self, incoming: Incoming) -> None:
        key = (incoming.platform, incoming.user_id)
        known = self._langs.get(key)
        if known is not None and time.monotonic() - known[1] < LANG_MEMO_S:
            return
        stored = self.router._lang_after_failure(incoming)  # noqa: SLF001 - one read, reused
        if stored is None:
            return
        self._langs[key] = (normalize_lang(stored, self.default_lang), time.monotonic())
        self._langs.move_to_end(key)
        while len(self._langs) > 50_000:
            self._langs.popitem(last=False)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.router, name)

    def kind(self, incoming: Incoming) -> str:
        """A bounded label: a known command or button prefix, ``text``, or ``other``."""
        if incoming.action:
            prefix = incoming.action.split(":", 1)[0]
            return f"button:{prefix}" if prefix in self.router.registry.actions else "button:other"
        if incoming.values:
            return "form"
        parsed = split_command(incoming.text)
        if parsed is None:
            return "text"
        return f"/{parsed[0]}" if parsed[0] in self.router.commands else "/other"

    def handle(self, incoming: Incoming) -> list[Reply]:
        context = current_context()
        request_id = context.get("request_id") or uuid.uuid4().hex[:12]
        with request_context(request_id=request_id, platform=incoming.platform):
            lang = self.lang_for(incoming)
            if not self.watch.available():
                return [Reply(text=translator(lang)(DATABASE_DOWN), ephemeral=True)]
            started = time.perf_counter()
            try:
                if incoming.values:  # a modal submission: Slack's ack waits for this answer
                    replies, lost = self._run(incoming, lang)
                else:  # answered after the ack: a few at a time, so a submission never queues
                    with self._background:
                        replies, lost = self._run(incoming, lang)
            finally:
                self.metrics.command(
                    incoming.platform, self.kind(incoming), time.perf_counter() - started
                )
            if lost and _is_apology(replies):
                # The router rolled the request back whole; say why instead of "something went wrong".
                return [Reply(text=translator(lang)(DATABASE_DOWN), ephemeral=True)]
            if not lost:
                with contextlib.suppress(Exception):  # a memo only
                    self._learn_lang(incoming)
            return replies

    def _run(self, incoming: Incoming, lang: str) -> tuple[list[Reply], bool]:
        """The router's replies, in a worker process when there is a pool, and whether the
        database connection was lost meanwhile."""
        if self.pool is None:
            self.watch.begin_request()
            replies = self.router.handle(incoming)
            return replies, self.watch.lost_during_request()
        try:
            replies, lost = self.pool.handle(incoming, current_context())
        except Exception:  # a worker died, or a reply could not cross the process boundary
            ref = uuid.uuid4().hex[:8]
            log.exception(
                "request %s: the router worker failed (text=%r action=%r)",
                ref,
                incoming.text[:80],
                incoming.action,
            )
            return [Reply(text=translator(lang)(APOLOGY, ref=ref), ephemeral=True)], False
        if lost:
            self.watch.mark_down()
        return replies, lost


def _is_apology(replies: list[Reply]) -> bool:
    if len(replies) != 1:
        return False
    heads = {translator(lang)(APOLOGY, ref="\0").split("\0")[0] for lang in ("zh", "en")}
    return any(replies[0].text.startswith(h) for h in heads)


# -- counting what adapters send ----------------------------------------------------------


def count_outgoing(adapter: Any, platform: str, metrics: Metrics) -> None:
    """Wrap ``adapter.send_outgoing`` so every outbox message is counted, sent or failed."""
    send: Callable[[Outgoing], Awaitable[str | None]] | None = getattr(
        adapter, "send_outgoing", None
    )
    if send is None:
        return

    async def counted(outgoing: Outgoing) -> str | None:
        try:
            ref = await send(outgoing)
        except Exception:
            metrics.message_failed(platform, "error")
            raise
        if ref is None:
            metrics.message_failed(platform, "unreachable")
        else:
            metrics.message_sent(platform)
        return ref

    adapter.send_outgoing = counted


def outbox_backlog(engine: Engine) -> Callable[[], int | None]:
    """Messages waiting in the outbox, pending or being sent (``None`` without an outbox)."""

    def read() -> int | None:
        try:
            from storage import outbox as store
        except ImportError:
            return None
        from storage.db import unit_of_work

        with unit_of_work(engine) as session:
            counts = store.status_counts(session=session)
        return int(counts.get("pending", 0) + counts.get("claimed", 0))

    return read


# -- the service -----------------------------------------------------------------------


@dataclass
class Service:
    settings: Settings
    engine: Engine
    config: AppConfig
    router: Router
    web: Starlette
    adapters: list[Adapter] = field(default_factory=list)
    metrics: Metrics = field(default_factory=Metrics)
    database: DatabaseWatch | None = None
    draining: bool = False
    sender: Any = None
    """The outbox sender (bot.sender.Sender), when a platform adapter runs."""
    cycle: Any = None
    """The monthly cycle's scheduler (bot.scheduler.CycleScheduler), when enabled."""
    pool: RouterPool | None = None
    """The router's worker processes (``ROUTER_PROCESSES``); ``None``: threads of this process."""
    inbox: Any = None
    """Acknowledged requests, stored (bot.inbox.Inbox), when a platform adapter runs."""

    async def start(self) -> None:
        for adapter in self.adapters:
            await adapter.start()
        for part in (
            self.sender,
            self.cycle,
            self.inbox,
        ):  # issue 9: after the adapters they send through
            if part is not None:
                await part.start()

    async def stop(self, *, within: float | None = None) -> None:
        """Stop taking work, let what is in flight finish, release the database — all within
        ``within`` seconds (default ``SHUTDOWN_GRACE_S``), whatever the database does: a
        part that has not stopped by its share of the time is left behind (logged)."""
        budget = self.settings.shutdown_grace_s if within is None else within
        deadline = time.monotonic() + max(budget, 1.0)

        def left(share: float = 1.0) -> float:
            return max((deadline - time.monotonic()) * share, 0.1)

        self.draining = True
        self.metrics.draining.set(1)
        for part in (
            self.inbox,
            self.cycle,
            self.sender,
        ):  # before the adapters; unsent rows go back
            if part is not None:
                stop = part.stop(grace=left(0.5)) if part is self.sender else part.stop()
                await _bounded(stop, left(0.6), type(part).__name__)
        for adapter in reversed(self.adapters):
            # one adapter failing to stop must not keep the others running
            await _bounded(adapter.stop(), left(0.7), type(adapter).__name__)
        if self.pool is not None:  # after the adapters: nothing is asked of it any more
            await _bounded(asyncio.to_thread(self.pool.shutdown), left(0.8), "the router pool")
        # Closing the pooled connections ends their sessions: PostgreSQL releases every
        # session-level advisory lock this replica still held.
        await _bounded(asyncio.to_thread(self.engine.dispose), left(), "the database pool")


async def _bounded(work: Awaitable[Any], seconds: float, what: str) -> None:
    try:
        await asyncio.wait_for(work, seconds)
    except TimeoutError:
        log.error("shutdown: %s did not stop within %.1f s; going on without it", what, seconds)
    except Exception:
        log.exception("%s did not stop cleanly", what)


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
    metrics: Metrics | None = None,
) -> Service:
    """Wire one replica. Nothing connects to a platform until ``Service.start``."""
    from bot.secrets import resolve_secret
    from bot.survey_page import survey_routes

    engine = engine or make_engine(settings.database_url)
    metrics = metrics or Metrics()
    watch = DatabaseWatch(engine, metrics)
    config = app_config(settings, secret or resolve_secret(settings))
    messengers.check(messengers.MESSENGERS)
    router = build_router(
        engine, config, clock or (lambda: datetime.now(UTC)), platforms=messengers.platforms()
    )
    pool = router_pool(settings, engine, config, clock)
    observed: Any = ObservedRouter(router, metrics, watch, config.default_lang, pool=pool)
    routes: list[Any] = list(survey_routes(engine, config, clock=clock))
    platforms: dict[str, Adapter] = {}
    for messenger in messengers.MESSENGERS:
        if messenger.enabled(settings):
            adapter = messenger.build(settings, observed, engine, metrics)
            count_outgoing(adapter, messenger.platform, metrics)
            routes += adapter.routes()
            platforms[messenger.platform] = adapter
    adapters = list(platforms.values())
    metrics.watch_backlog(outbox_backlog(engine))

    service: Service

    async def on_startup() -> None:
        from concurrent.futures import ThreadPoolExecutor

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
    service = Service(settings, engine, config, router, web, adapters, metrics, watch, pool=pool)
    service.sender, service.cycle = cycle_parts(settings, engine, platforms, clock, metrics)
    service.inbox = inbox_for(settings, engine, platforms, metrics, service.sender)
    return service


def inbox_for(
    settings: Settings,
    engine: Engine,
    platforms: dict[str, Adapter],
    metrics: Metrics,
    sender: Any,
) -> Any:
    """Acknowledged means stored: each platform adapter stores what it acks (the Telegram
    webhook's updates, Slack's slash commands) and answers it again after a crash."""
    from datetime import timedelta

    from bot.inbox import Inbox

    if not platforms:
        return None
    worker = sender.worker if sender is not None else f"{socket.gethostname()}:{os.getpid()}"
    inbox = Inbox(engine, worker=worker, lease=timedelta(seconds=settings.lease_s), metrics=metrics)
    for name, adapter in platforms.items():
        found = messengers.messenger(name)
        if found is None or not found.stores_requests(adapter):
            continue  # e.g. Telegram's long polling: an update is kept until getUpdates confirms it
        adapter.inbox = inbox  # type: ignore[attr-defined]
        inbox.register(name, adapter.recover)  # type: ignore[attr-defined]
    return inbox


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
) -> tuple[Any, Any]:
    """Issue 9: the outbox sender (whenever a platform adapter runs) and the cycle scheduler
    (``cycle_enabled``; by default only in production, so tests and trials never publish by
    themselves)."""
    from datetime import timedelta

    from bot.sender import Sender

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
    from bot.scheduler import CycleScheduler

    return sender, CycleScheduler(engine, clock=clock, metrics=metrics)


def uvicorn_config(service: Service, *, host: str = "0.0.0.0") -> Any:
    """The server's settings: forwarded headers trusted only from ``FORWARDED_ALLOW_IPS``."""
    import uvicorn

    return uvicorn.Config(
        service.web,
        host=host,
        port=service.settings.port,
        log_level=service.settings.log_level.lower(),
        log_config=None,  # bot.logs owns the handlers (JSON, redacted)
        access_log=False,  # bot.web logs each request with its route, never a survey token
        lifespan="on",
        # half the grace for the requests in flight, the rest for Service.stop (see below)
        timeout_graceful_shutdown=max(int(service.settings.shutdown_grace_s / 2), 1),
        proxy_headers=True,
        forwarded_allow_ips=service.settings.forwarded_allow_ips,
    )


def serve(
    service: Service,
    *,
    host: str = "0.0.0.0",
    install_signal_handlers: bool = True,
    on_start: Callable[[Callable[[], None]], None] | None = None,
) -> None:
    """Serve the web app (and start the adapters) until SIGINT/SIGTERM, then shut down
    gracefully: no new connections, in-flight requests finish, then ``Service.stop``.

    Served from a thread (the terminal chat's ``kpibot run``), no signal reaches it: the caller
    gets from ``on_start`` the function that stops it as SIGINT would (the same graceful stop,
    the same watchdog bounding it by ``SHUTDOWN_GRACE_S``)."""
    import uvicorn

    config = uvicorn_config(service, host=host)
    server = uvicorn.Server(config)
    original_exit = server.handle_exit

    def handle_exit(sig: int, frame: Any) -> None:
        watchdog(service.settings.shutdown_grace_s)
        original_exit(sig, frame)

    server.handle_exit = handle_exit  # type: ignore[method-assign]
    if on_start is not None:
        on_start(lambda: handle_exit(signal.SIGINT, None))
    if not install_signal_handlers:
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    elif threading.current_thread() is threading.main_thread():
        # uvicorn handles SIGTERM/SIGINT while serving, then raises the signal again for the
        # handler that was there before. A graceful shutdown is a normal end: exit code 0.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, _stopped)
    # Everything imported and built so far lives as long as the process: out of the
    # collector's sight, a full collection no longer stops the event loop for ~0.1-0.2 s.
    gc.collect()
    gc.freeze()
    # The port is taken before the start-up work (the router's worker processes take a
    # second or two to start): a port that is not free fails at once, before any of it.
    asyncio.run(server.serve(sockets=[listen(host, service.settings.port)]))


def listen(host: str, port: int) -> socket.socket:
    """The replica's listening socket, made as asyncio makes its own: with the TCP protocol
    number, so that every accepted connection gets ``TCP_NODELAY`` (without it, an answer
    with a body waited for the client's delayed ACK: 40 ms per modal submission)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        log.error("cannot listen on %s:%s: %s", host, port, exc)
        raise SystemExit(3) from exc
    sock.set_inheritable(False)
    return sock


_WATCHDOG: list[threading.Thread] = []
STOPPED = threading.Event()
"""Set once ``Service.stop`` has finished (the watchdog's exit code says whether it had)."""


def watchdog(grace: float) -> None:
    """From the first SIGTERM on, the process ends within ``grace`` seconds, whatever hangs:
    a thread blocked on a silent database keeps asyncio.run (and the interpreter) from
    ending, so past the grace the process exits: 0 when the service had stopped cleanly
    and only such threads were left behind, 1 when it had not."""
    if _WATCHDOG:
        return

    def guard() -> None:
        if STOPPED.wait(grace):
            time.sleep(max(0.0, grace - (time.monotonic() - started)))
        code = 0 if STOPPED.is_set() else 1
        log.error(
            "shutdown: still running %.0f s after SIGTERM; exiting now (code %d)", grace, code
        )
        for handler in logging.getLogger().handlers:
            with contextlib.suppress(Exception):
                handler.flush()
        os._exit(code)

    started = time.monotonic()
    thread = threading.Thread(target=guard, name="shutdown-watchdog", daemon=True)
    _WATCHDOG.append(thread)
    thread.start()


def _stopped(sig: int, _frame: object) -> None:
    log.info("stopped by signal %s after a graceful shutdown", signal.Signals(sig).name)
