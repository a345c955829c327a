"""Several deliveries of one submit at the same moment (a double tap racing itself) store one
review."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from commands.context import AppConfig
from commands.messages import Incoming, Reply
from commands.router import Router
from storage.db import unit_of_work
from storage.models import Review
from tests.conversations.transcript import FakeChat, run
from tests.conversations.world import build_world

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
