"""Acknowledged means stored: the replica's side of :mod:`storage.inbox`.

    inbox = Inbox(engine, metrics=metrics)
    inbox.register("telegram", adapter.recover)   # how a stored request is answered again
    row_id = await inbox.store("telegram", str(update_id), payload)   # before the 200
    ...                                                               # the work
    await inbox.done(row_id)

:meth:`Inbox.store` writes the row (claimed by this replica) before the platform is told
"received"; ``None`` means a redelivery of a request already stored (answer 200, do
nothing), and an exception means the database cannot take it (answer 503: the platform
delivers it again later). While the work goes on the sweeper renews its rows; every
:data:`SWEEP_S` it takes over the rows of replicas that died (their lease ran out) and
hands them to the registered ``recover`` (the payload as stored). A request taken over
:data:`storage.inbox.MAX_ATTEMPTS` times is given up: ``recover(row, given_up=True)`` tells
the person it could not be done.

The rows are written through :func:`storage.db.inbox_engine`: on a SQLite file, a file of
their own beside the database, so that storing a request before its ack never waits for a
router transaction holding SQLite's one write lock (issue 16); on PostgreSQL, the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from storage import inbox as store
from storage.db import inbox_engine, unit_of_work
from storage.models.inbox import InboxEvent

log = logging.getLogger(__name__)

SWEEP_S = 5.0
STORE_TIMEOUT_S = 2.0
"""A request whose row cannot be written this fast is refused (503), not acknowledged."""

Recover = Callable[[InboxEvent, bool], Awaitable[None]]


class Inbox:
    def __init__(
        self, engine: Engine, *, worker: str, lease: timedelta = store.DEFAULT_LEASE,
        sweep_s: float = SWEEP_S, metrics: Any = None,
    ) -> None:  # fmt: skip
        self.engine = inbox_engine(engine)
        """Where the rows are: ``engine``, or the inbox's own file beside a SQLite file."""
        self._own_engine = self.engine is not engine
        self.worker = worker
        self.lease = lease
        self.sweep_s = min(sweep_s, max(lease.total_seconds() / 3, 0.1))
        self.metrics = metrics
        self._recover: dict[str, Recover] = {}
        self._working: set[int] = set()
        self._task: asyncio.Task[None] | None = None

    def register(self, platform: str, recover: Recover) -> None:
        self._recover[platform] = recover

    async def store(
        self,
        platform: str,
        event_id: str,
        payload: dict[str, Any],
        *,
        timeout: float = STORE_TIMEOUT_S,
    ) -> int | None:
        def write() -> int | None:
            with unit_of_work(self.engine) as session:
                return store.store_event(
                    session=session,
                    platform=platform,
                    event_id=event_id,
                    payload=payload,
                    worker=self.worker,
                    now=datetime.now(UTC),
                )

        row_id = await asyncio.wait_for(asyncio.to_thread(write), timeout)
        if row_id is not None:
            self._working.add(row_id)
        return row_id

    async def done(self, row_id: int | None) -> None:
        if row_id is None:
            return
        self._working.discard(row_id)

        def write() -> None:
            with unit_of_work(self.engine) as session:
                store.mark_done(session=session, ids=[row_id], now=datetime.now(UTC))

        try:
            await asyncio.wait_for(asyncio.to_thread(write), STORE_TIMEOUT_S * 5)
        except Exception as exc:  # noqa: BLE001 - taken over later; the router drops a repeat
            log.warning("inbox: request %s answered but not marked done (%s)", row_id, exc)

    async def start(self) -> None:
        if self._recover and self._task is None:
            self._task = asyncio.create_task(self._sweep(), name=f"inbox {self.worker}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._own_engine:  # the database's engine is the service's to close
            await asyncio.to_thread(self.engine.dispose)

    async def _sweep(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception as exc:  # noqa: BLE001 - the next round tries again
                log.debug("inbox: sweep failed: %s", exc)
            await asyncio.sleep(self.sweep_s)

    async def sweep(self) -> int:
        """Renew this replica's rows, take over dead replicas' rows and answer them; how many."""
        working = list(self._working)
        platforms = list(self._recover)

        def write() -> list[InboxEvent]:
            now = datetime.now(UTC)
            with unit_of_work(self.engine) as session:
                store.heartbeat(session=session, worker=self.worker, ids=working, now=now)
                rows = store.claim_stale(session=session, worker=self.worker, platforms=platforms,
                                         now=now, lease=self.lease)  # fmt: skip
                store.prune(session=session, now=now)
                return rows

        rows = await asyncio.wait_for(asyncio.to_thread(write), STORE_TIMEOUT_S * 5)
        for row in rows:
            assert row.id is not None
            given_up = row.status == "given_up"
            log.log(
                logging.ERROR if given_up else logging.WARNING,
                "inbox: %s request %s was acknowledged by a replica that stopped; %s",
                row.platform,
                row.event_id,
                "giving up on it" if given_up else "answering it now",
            )
            if self.metrics is not None:
                self.metrics.inbox_recovered.labels(
                    row.platform, "given_up" if given_up else "answered"
                ).inc()
            if not given_up:
                self._working.add(row.id)
            try:
                await self._recover[row.platform](row, given_up)
            except Exception:  # noqa: BLE001 - one request must not stop the others
                self._working.discard(row.id)  # taken over again after the lease (then given up)
                log.exception("inbox: recovering request %s failed", row.event_id)
        return len(rows)
