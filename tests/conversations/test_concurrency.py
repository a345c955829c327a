"""Several deliveries of one submit at the same moment (a double tap racing itself) store one
review."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import select

from commands.context import AppConfig
from commands.messages import Incoming, Reply
from commands.router import Router
from storage.db import unit_of_work
from storage.models import Conversation, Review
from tests.conversations.transcript import FakeChat, run
from tests.conversations.world import build_world
from tests.waiting import wait_until

pytestmark = pytest.mark.slow


def _race(router: Router, incoming: Incoming, n: int = 4) -> list[list[Reply]]:
    barrier = threading.Barrier(n)
    out: list[list[Reply]] = [[] for _ in range(n)]

    def tap(k: int) -> None:
        barrier.wait()
        out[k] = router.handle(incoming)

    threads = [threading.Thread(target=tap, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return out


def test_racing_submits_store_one_review_and_nobody_sees_an_error(db_engine: Engine) -> None:
    build_world(db_engine)
    router = Router(db_engine, AppConfig(), lambda: datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    chat = FakeChat(router, "Alice", with_event_ids=False)
    run(
        chat,
        [("/selfreview", "Question 1"), ("4", "Q"), ("4", "Q"), ("fine", "Q"), ("more", "Summary")],
    )
    submit = chat.button("Submit")
    answers = _race(
        router, Incoming(platform="test", user_id="Alice", action=submit.action, value=submit.value)
    )
    texts = [" ".join(r.text for r in replies) for replies in answers]
    # PostgreSQL serialises the taps on the conversation's row lock (the others hear "already
    # submitted"); SQLite may let two of them finish against the same stored review. Either
    # way nobody sees an error and there is exactly one review.
    assert any("is submitted" in t for t in texts), texts
    assert all("is submitted" in t or "already submitted" in t for t in texts), texts
    with unit_of_work(db_engine) as session:
        assert len(session.exec(select(Review)).all()) == 1


def test_a_tap_waiting_on_the_row_lock_sees_the_step_it_waited_for(pg_engine: Engine) -> None:
    """A tap that waits on the conversation's row lock while another request moves the form
    on (PostgreSQL) answers with the current question. The router's scope check reads the
    conversation before the lock is taken and the unit of work holds that copy (so SQLite
    reads it once): the locked read must refresh it, not act on the step it saw first (which
    would store the answer again and move the form on a second time)."""
    build_world(pg_engine)
    router = Router(pg_engine, AppConfig(), lambda: datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    chat = FakeChat(router, "Alice", with_event_ids=False)
    run(chat, [("/selfreview", "Question 1")])
    four = chat.button("4")
    cid = int(four.value.split(":", 1)[0])
    tap = Incoming(platform="test", user_id="Alice", action=four.action, value=four.value)
    out: list[list[Reply]] = []
    with pg_engine.connect() as other:
        other.execute(text("SELECT id FROM conversation WHERE id = :id FOR UPDATE"), {"id": cid})
        waiter = threading.Thread(target=lambda: out.append(router.handle(tap)))
        waiter.start()
        asyncio.run(
            wait_until(lambda: _waits_on_a_lock(pg_engine), what="the tap waits on the lock")
        )
        other.execute(
            text("UPDATE conversation SET step = 1, answers = :a WHERE id = :id"),
            {"id": cid, "a": json.dumps({"task_completion": 4})},
        )
        other.commit()
        waiter.join(timeout=60)
    said = " ".join(r.text for r in out[0])
    assert "earlier question" in said and "Question 2 of" in said, said
    with unit_of_work(pg_engine) as session:
        conv = session.get(Conversation, cid)
        assert conv is not None and conv.step == 1


def _waits_on_a_lock(engine: Engine) -> bool:
    with engine.connect() as probe:
        return bool(
            probe.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            ).scalar()
        )


def test_racing_taps_of_one_answer_move_the_form_on_once(pg_engine: Engine) -> None:
    """Four deliveries of the same answer button at once (PostgreSQL, the conversation's row
    lock): one moves the form to question 2; the others, served after it, see that their
    button belongs to an earlier question. The router's scope check reads the conversation
    before the engine locks it, so the locked read must refresh what the session holds."""
    build_world(pg_engine)
    router = Router(pg_engine, AppConfig(), lambda: datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    chat = FakeChat(router, "Alice", with_event_ids=False)
    run(chat, [("/selfreview", "Question 1")])
    four = chat.button("4")
    answers = _race(
        router, Incoming(platform="test", user_id="Alice", action=four.action, value=four.value)
    )
    texts = [" ".join(r.text for r in replies) for replies in answers]
    assert sum("earlier question" not in t for t in texts) == 1, texts
    assert all("Question 2 of" in t for t in texts), texts
