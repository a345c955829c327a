"""Whatever a person types or taps, a form never breaks: no internal error, at most one result."""

from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from commands.router import Router
from storage.db import unit_of_work
from storage.models import AuditLog, Conversation
from tests.conversations.transcript import FakeChat

TYPED = st.one_of(
    st.sampled_from(
        [
            "1",
            "3",
            "5",
            "0",
            "6",
            "42",
            "-1",
            "3.5",
            "150%",
            "12%",
            "yes",
            "no",
            "maybe",
            "early",
            "late",
            "back",
            "skip",
            "submit",
            "提交",
            "返回",
            "跳过",
            "",
            "   ",
            "九",
            "三",
        ]
    ),
    st.text(max_size=30),
)
STEP = st.one_of(
    st.tuples(st.just("type"), TYPED),
    st.tuples(st.just("tap"), st.integers(min_value=1, max_value=9)),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(STEP, max_size=25))
def test_any_sequence_of_answers_and_taps_keeps_the_form_whole(
    toy_router: Router, steps: list[tuple[str, object]]
) -> None:
    chat = FakeChat(toy_router, "Alice")
    chat.say("/cancel")
    before = _results(toy_router)
    chat.say("/toy")
    for kind, what in steps:
        if kind == "type":
            chat.say(str(what))
        elif chat.buttons():
            buttons = chat.buttons()
            chat.press_button(buttons[(int(str(what)) - 1) % len(buttons)])
        assert "reference" not in chat.text, chat.dump()
    event(f"results: {_results(toy_router) - before}")
    assert _results(toy_router) - before <= 1
    with unit_of_work(toy_router.engine) as session:
        submitted = session.exec(
            select(Conversation).where(Conversation.status == "submitted")
        ).all()
        active = session.exec(select(Conversation).where(Conversation.status == "active")).all()
    assert len(submitted) == _results(toy_router), (
        "one result per submitted conversation, never two"
    )
    assert len(active) <= 1


def _results(router: Router) -> int:
    with unit_of_work(router.engine) as session:
        return len(session.exec(select(AuditLog).where(AuditLog.action == "toy.submit")).all())
