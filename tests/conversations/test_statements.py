"""How many SQL statements a self-review costs a person on a messenger (issue 16: month start,
2,000 agents at once; the router's one worker spends a press's CPU mostly on statements).

A Slack member (known by their Slack id, every delivery with its event id) opens the form,
presses two answers and types the third. Each request claims its delivery, reads the member
(their team with them), the conversation (once: the router's scope check and the form engine
share it), the period, the scheme (once per request, however often the form asks for it),
writes its progress and keeps its replies.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import event
from sqlalchemy.engine import Engine

from commands.context import AppConfig
from commands.router import Router
from storage import repo
from storage.db import unit_of_work
from tests.conversations.transcript import FakeChat
from tests.conversations.world import build_world

SLACK_ID = "U0ALICE"


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(" ".join(statement.split())[:90])

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_self_review_on_slack_costs_few_statements(db_engine: Engine) -> None:
    ids = build_world(db_engine)
    with unit_of_work(db_engine) as session:
        alice = repo.get_member(session=session, member_id=ids["Alice"])
        assert alice is not None
        repo.link_platform(session=session, member=alice, platform="slack", user_id=SLACK_ID,
                           actor="test")  # fmt: skip
    router = Router(db_engine, AppConfig(), lambda: datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    chat = FakeChat(router, SLACK_ID, platform="slack")
    said: dict[str, list[str]] = {}
    with counted(db_engine) as said["open"]:
        chat.say("/selfreview")
    assert "Question 1 of" in chat.last[-1].text
    for step in ("press 1", "press 2"):
        four = chat.button("4")
        with counted(db_engine) as said[step]:
            chat.press_button(four)
    with counted(db_engine) as said["typed"]:
        chat.say("Calm with angry customers")
    assert "Question 4 of" in chat.last[-1].text
    # open: claim, member and team, periods, scheme, earlier review, draft, new conversation,
    # KPI values, goals, replies. Each answer: claim, member and team, conversation, period,
    # scheme, progress, replies (before: 13, 9, 9 and 8 on SQLite, 14, 10, 10, 9 on PostgreSQL).
    # PostgreSQL reads a pressed button's conversation twice: the scope check reads it, then
    # the engine takes its row lock (SELECT … FOR UPDATE), which SQLite does not have.
    press = 8 if db_engine.dialect.name == "postgresql" else 7
    limits = {"open": 10, "press 1": press, "press 2": press, "typed": 7}
    assert {k: len(v) for k, v in said.items()} == limits, said
