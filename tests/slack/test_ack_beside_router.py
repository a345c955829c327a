"""Issue 16's slow command acks on SQLite: a slash command's inbox row, written before its
ack, never waits for a router transaction.

Before: the inbox was a table of the database. A router worker takes SQLite's one write
lock at a request's first statement (the event claim, ``storage.conversations.claim_event``)
and holds it through the request's reads and scoring until it commits; the command's row
waited for it (``bench/ack_bench.py``, quiet: commands' ack p99 669-763 ms), and when the
unit of work took longer than the row's budget (``INBOX_STORE_S``) the command was acked
unstored. Now the inbox has a file of its own beside a SQLite database
(``storage.db.inbox_url``): here the router's transaction stays open until the command was
acked, and its row is there.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.inbox import Inbox
from bot.slack.adapter import INBOX_STORE_S
from storage import conversations
from storage.db import unit_of_work
from storage.models.inbox import InboxEvent
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import ScriptedRouter, make_adapter, web_app
from tests.slack.sender import SlackSender

HELD_S = 60.0
"""The longest the router's transaction is held (the test releases it long before)."""


@contextmanager
def router_transaction_open(engine: Engine) -> Iterator[None]:
    """A router worker's unit of work, in another thread, between its first statement (the
    event claim, which takes SQLite's write lock) and its commit, for as long as the block
    runs."""
    claimed, done = threading.Event(), threading.Event()
    failed: list[BaseException] = []

    def work() -> None:
        try:
            with unit_of_work(engine) as session:
                now = datetime.now(UTC)
                assert conversations.claim_event("slack", "Ev0ROUTER", now, session=session)
                claimed.set()
                done.wait(HELD_S)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failed.append(exc)
            claimed.set()

    thread = threading.Thread(target=work, name="router worker", daemon=True)
    thread.start()
    assert claimed.wait(HELD_S), "the router's transaction did not start"
    try:
        assert not failed, failed
        yield
    finally:
        done.set()
        thread.join(HELD_S)
    assert not failed, failed


def stored(inbox: Inbox) -> list[str]:
    with unit_of_work(inbox.engine) as session:
        return list(session.scalars(select(InboxEvent.event_id)).all())


async def test_a_request_is_stored_while_a_router_transaction_holds_the_write_lock(
    engine: Engine,
) -> None:
    inbox = Inbox(engine, worker="test")
    with router_transaction_open(engine):
        row_id = await inbox.store("telegram", "4242", {"update_id": 4242}, timeout=INBOX_STORE_S)
        assert row_id is not None
        assert stored(inbox) == ["4242"]
    await inbox.done(row_id)
    await inbox.stop()


async def test_a_slash_command_is_acked_stored_while_a_router_transaction_is_open(
    fake_slack: FakeSlack, engine: Engine, scripted: ScriptedRouter
) -> None:
    scripted.hold()  # the command's own work waits too: only its ack and its row are looked at
    adapter = make_adapter(fake_slack, scripted)
    adapter.inbox = Inbox(engine, worker="test")
    transport = httpx.ASGITransport(app=web_app(adapter))
    async with httpx.AsyncClient(transport=transport, base_url="http://kpibot.test") as client:
        slack = SlackSender(client, fake_slack)
        with router_transaction_open(engine):
            sent = await slack.command("U0ALICE", "/kpi", "help")
            assert sent.response.status_code == 200
            assert stored(adapter.inbox) == [sent.trigger_id], (
                "the command was acked before its row was written (it waited for the router's "
                "transaction)"
            )
        scripted.release()
        await adapter.stop()
    assert [incoming.text for incoming in scripted.finished] == ["/help"]
