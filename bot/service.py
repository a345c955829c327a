"""One replica's running parts (:class:`Service`), started and stopped in order.

Started: the adapters, then what sends through them (the outbox sender, the cycle's
scheduler, the inbox). Stopped (``SIGTERM``, :mod:`bot.serving`): the replica marked draining
(``/readyz`` 503), the inbox, the scheduler and the sender first (unsent rows go back), then
the adapters (each waits for the replies and the message it is sending), the router's worker
processes, and last the database connections, which releases any PostgreSQL session lock
this replica held; all within ``SHUTDOWN_GRACE_S`` whatever hangs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from starlette.applications import Starlette

from bot.database_watch import DatabaseWatch
from bot.inbox import Inbox
from bot.messenger import Adapter
from bot.metrics import Metrics
from bot.router_pool import RouterPool
from bot.scheduler import CycleScheduler
from bot.sender import Sender
from bot.settings import Settings
from commands.context import AppConfig
from commands.router import Router

log = logging.getLogger(__name__)


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
    sender: Sender | None = None
    """The outbox sender, when a platform adapter runs."""
    cycle: CycleScheduler | None = None
    """The monthly cycle's scheduler, when enabled."""
    pool: RouterPool | None = None
    """The router's worker processes (``ROUTER_PROCESSES``); ``None``: threads of this process."""
    inbox: Inbox | None = None
    """Acknowledged requests, stored, when a platform adapter runs."""

    def __post_init__(self) -> None:
        if self.pool is not None:
            # the workers are forked (bot.router_pool) only while this process holds no
            # connection to a SQLite database: the idle ones are closed first
            self.pool.release_before_fork(self.engine)

    async def start(self) -> None:
        for adapter in self.adapters:
            await adapter.start()
        # issue 9: after the adapters they send through
        for part in (self.sender, self.cycle, self.inbox):
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
        # before the adapters; unsent rows go back
        for part in (self.inbox, self.cycle):
            if part is not None:
                await _bounded(part.stop(), left(0.6), type(part).__name__)
        if self.sender is not None:
            await _bounded(self.sender.stop(grace=left(0.5)), left(0.6), "Sender")
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
