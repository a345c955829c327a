"""Acknowledged means answered (issue 21): a request recovered from the inbox after its
replica stopped between committing the work and sending the reply is answered, with the
replies kept alongside the work; it is not dropped as a replay. A plain platform redelivery
of a request already answered still gets nothing (no second answer)."""

from __future__ import annotations

import dataclasses

from sqlalchemy.engine import Engine
from sqlmodel import select

from commands.messages import Incoming
from commands.router import build_router
from storage.db import unit_of_work
from storage.models import ProcessedEvent
from tests.ops.conftest import TELEGRAM_IDS, linked_world


def test_a_recovered_request_whose_work_was_committed_gets_the_replies_kept_with_it(
    engine: Engine,
) -> None:
    linked_world(engine)
    router = build_router(engine)
    asked = Incoming(
        platform="telegram", user_id=str(TELEGRAM_IDS["李娜"]), text="/help", event_id="4242"
    )
    first = router.handle(asked)  # the work is committed; the replica dies before the reply leaves
    assert first and first[0].text
    assert router.handle(asked) == [], "a redelivery of an answered request is still dropped"
    again = router.handle(dataclasses.replace(asked, recovered=True))
    assert [r.text for r in again] == [r.text for r in first]
    assert [r.buttons for r in again] == [r.buttons for r in first]


def test_a_recovered_request_whose_replies_were_not_kept_is_told_it_was_done(
    engine: Engine,
) -> None:
    linked_world(engine)
    router = build_router(engine)
    asked = Incoming(
        platform="telegram", user_id=str(TELEGRAM_IDS["李娜"]), text="/help", event_id="4243"
    )
    router.handle(asked)
    with unit_of_work(engine) as session:  # as for replies too big to keep (an export's file)
        row = session.exec(select(ProcessedEvent).where(ProcessedEvent.event_id == "4243")).one()
        row.replies = None
        session.add(row)
    [told] = router.handle(dataclasses.replace(asked, recovered=True))
    assert "/help" in told.text and "我已经办好了" in told.text, told.text  # 李娜 reads Chinese
