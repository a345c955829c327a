"""What a replica counts around its parts, besides the router (:mod:`bot.observed_router`):
every outbox message an adapter sends, sent or failed, and the outbox's backlog.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.engine import Engine

from bot.metrics import Metrics
from commands.messages import Outgoing
from storage import outbox as store
from storage.db import unit_of_work


def count_outgoing(adapter: Any, platform: str, metrics: Metrics) -> None:
    """Make ``adapter.send_outgoing`` (on this adapter object, not its class) count every
    message, sent or failed: whoever sends through the adapter, the outbox sender or a test,
    is counted alike. ``adapter`` is any :class:`bot.messenger.Adapter`."""
    send: Callable[[Outgoing], Awaitable[str | None]] = adapter.send_outgoing

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


def outbox_backlog(engine: Engine) -> Callable[[], int]:
    """Messages waiting in the outbox, pending or being sent (read at scrape time)."""

    def read() -> int:
        with unit_of_work(engine) as session:
            counts = store.status_counts(session=session)
        return int(counts.get("pending", 0) + counts.get("claimed", 0))

    return read
