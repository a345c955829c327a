"""Serving one replica under uvicorn: ``serve`` until SIGTERM/SIGINT, then a graceful stop.

On SIGTERM uvicorn stops accepting connections and lets the requests in flight finish (half
of ``SHUTDOWN_GRACE_S``); then ``Service.stop`` (:mod:`bot.service`) marks the replica draining
(``/readyz`` 503), stops the adapters and closes the database connections, which releases any
PostgreSQL session lock this replica held. A watchdog ends the process once the grace is
over, whatever still hangs.
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
from collections.abc import Callable, Generator
from types import FrameType
from typing import Protocol

import uvicorn
from starlette.applications import Starlette

from bot.settings import Settings

log = logging.getLogger(__name__)


class Served(Protocol):
    """What serving needs of a replica (:class:`bot.service.Service`): its web app and settings."""

    @property
    def web(self) -> Starlette: ...

    @property
    def settings(self) -> Settings: ...


def uvicorn_config(service: Served, *, host: str = "0.0.0.0") -> uvicorn.Config:
    """The server's settings: forwarded headers trusted only from ``FORWARDED_ALLOW_IPS``."""
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


class Server(uvicorn.Server):
    """uvicorn's server, whose exit (by a signal or by :meth:`stop`) starts the watchdog that
    bounds the shutdown by ``grace`` seconds; ``signals=False``: it leaves the process's signal
    handlers alone (uvicorn captures SIGINT and SIGTERM while it serves, from the main thread)."""

    def __init__(self, config: uvicorn.Config, *, grace: float, signals: bool = True) -> None:
        super().__init__(config)
        self.grace = grace
        self.signals = signals

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        watchdog(self.grace)
        super().handle_exit(sig, frame)

    def stop(self) -> None:
        """Stop as SIGINT would: the same graceful stop, bounded by the same watchdog."""
        self.handle_exit(signal.SIGINT, None)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if not self.signals:
            yield
            return
        with super().capture_signals():
            yield


def serve(
    service: Served,
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
    server = Server(
        uvicorn_config(service, host=host),
        grace=service.settings.shutdown_grace_s,
        signals=install_signal_handlers,
    )
    if on_start is not None:
        on_start(server.stop)
    if install_signal_handlers and threading.current_thread() is threading.main_thread():
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
