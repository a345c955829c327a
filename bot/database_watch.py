"""Whether the replica's database answered lately (:class:`DatabaseWatch`).

Once the database stops answering, requests are answered at once with "the database cannot
be reached, nothing was saved" (:class:`bot.observed_router.ObservedRouter`) instead of each
waiting for its own connection attempt; one probe a second notices the database coming back,
and the service carries on by itself. ``/readyz`` asks :meth:`DatabaseWatch.check`.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, ExceptionContext

from bot.metrics import Metrics
from bot.router_pool import connection_lost

log = logging.getLogger(__name__)


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

    def _on_error(self, context: ExceptionContext) -> None:
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
