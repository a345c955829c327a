"""Issue 16's slow command acks: router calls waiting for their turn hold no thread of the
event loop's executor, so a slash command's inbox row (stored before its ack) never queues
behind a burst's backlog.

Before: each press's router call waited for its turn (``ObservedRouter``'s semaphore) inside
``asyncio.to_thread``; a backlog of them held all of the replica's 64 threads and the
command's row waited for one until its 1 s budget ran out, then was acked unstored
(``bench/ack_bench.py``: commands p99 472 ms against 123 ms for presses).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.database_watch import DatabaseWatch
from bot.inbox import Inbox
from bot.main import WORKER_THREADS
from bot.metrics import Metrics
from bot.observed_router import ObservedRouter
from commands.messages import Incoming, Reply
from storage.db import unit_of_work
from storage.models.inbox import InboxEvent
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import make_adapter, web_app
from tests.slack.sender import SlackSender
from tests.waiting import CEILING_S, wait_until

PRESSES = 120


class HeldRouter:
    """Answers no request until the test lets it go (``release``): the presses' backlog
    stays whole for as long as the test looks, however slow the machine."""

    registry = SimpleNamespace(actions={"help"})
    commands = {"help"}

    def __init__(self) -> None:
        self.entered = 0
        self.calls = 0
        self._lock = threading.Lock()
        self._gate = threading.Event()

    def release(self) -> None:
        self._gate.set()

    def handle(self, incoming: Incoming) -> list[Reply]:
        with self._lock:
            self.entered += 1
        if not self._gate.wait(CEILING_S):
            raise TimeoutError("the test never released the router")
        with self._lock:
            self.calls += 1
        return [Reply(text=f"you said {incoming.text or incoming.action}", ephemeral=True)]


@pytest.fixture
async def executor() -> AsyncIterator[ThreadPoolExecutor]:
    """The replica's executor (bot.main's on_startup), on this test's event loop."""
    pool = ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="kpibot")
    asyncio.get_running_loop().set_default_executor(pool)
    yield pool
    pool.shutdown(wait=False, cancel_futures=True)


@pytest.mark.usefixtures("executor")
async def test_a_command_is_stored_and_acked_at_once_behind_a_backlog_of_presses(
    fake_slack: FakeSlack, engine: Engine
) -> None:
    metrics = Metrics()
    slow = HeldRouter()
    router = ObservedRouter(slow, metrics, DatabaseWatch(engine, metrics), "en", background=1)
    adapter = make_adapter(fake_slack, router)
    adapter.inbox = Inbox(engine, worker="test")
    message = {"ts": "1700000000.000100", "text": "kpibot", "blocks": [{"type": "actions",
               "block_id": "b1", "elements": [{"type": "button", "action_id": "help:0",
               "text": {"type": "plain_text", "text": "Help"}, "value": ""}]}]}  # fmt: skip
    transport = httpx.ASGITransport(app=web_app(adapter))
    async with httpx.AsyncClient(transport=transport, base_url="http://kpibot.test") as client:
        slack = SlackSender(client, fake_slack)
        presses = await asyncio.gather(*(
            slack.click("U0AGENT01", message, "Help", channel_id="C0KPITEAM")
            for _ in range(PRESSES)
        ))  # fmt: skip
        assert all(sent.response.status_code == 200 for sent in presses)
        await wait_until(lambda: slow.entered >= 1, what="the presses' work is under way")
        sent = await slack.command("U0ALICE", "/kpi", "help")
        assert sent.response.status_code == 200
        assert slow.calls == 0, "acked while the whole backlog still waits for the router"
        with unit_of_work(adapter.inbox.engine) as session:
            stored = session.scalars(
                select(InboxEvent.event_id).where(InboxEvent.platform == "slack")
            ).all()
        assert stored == [sent.trigger_id], "the command was stored before its ack, not after"
        slow.release()
        await wait_until(lambda: slow.calls == PRESSES + 1, what="the backlog and the command")
        await adapter.stop()
    assert slow.calls == PRESSES + 1
