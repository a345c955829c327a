"""Every form command × every role: who may start it, and what a refusal says (nothing about the
subject)."""

from __future__ import annotations

import pytest

from commands.router import Router
from tests.conversations.transcript import FakeChat

NOT_FOR_ROLE = "is not available to you"
STARTS = "Question 1 of"

# Alice: agent of london; Mary: her manager; 王经理: manager of demo (another team);
# 周人事: admin (speaks Chinese); Quinn: qa of london.
CASES = [
    # command, who, expected substring of the reply
    ("/selfreview", "Alice", STARTS),
    ("/selfreview", "Mary", NOT_FOR_ROLE),
    ("/selfreview", "王经理", "你不能使用命令"),
    ("/selfreview", "周人事", "你不能使用命令"),
    ("/selfreview", "Quinn", NOT_FOR_ROLE),
    ("/review london/Bob", "Alice", NOT_FOR_ROLE),
    ("/review london/Bob", "Mary", STARTS),
    ("/review london/Bob", "王经理", "你的团队中没有成员 london/Bob"),
    ("/review Bob", "王经理", "你的团队中没有成员 Bob"),
    ("/review london/Bob", "周人事", "第 1/4 题"),
    ("/review london/Bob", "Quinn", NOT_FOR_ROLE),
    ("/review Mary", "Mary", "You cannot review yourself"),
    ("/peer Bob", "Alice", STARTS),
    ("/peer Bob", "Mary", NOT_FOR_ROLE),
    ("/peer Bob", "周人事", "你不能使用命令"),
    ("/peer Bob", "Quinn", NOT_FOR_ROLE),
    ("/peer raters", "Alice", "Peer ratings are anonymous"),
    ("/peer summary", "Alice", "Peer rating: not enough ratings."),
]


@pytest.mark.parametrize(
    ("command", "who", "expected"), CASES, ids=[f"{c} as {w}" for c, w, _e in CASES]
)
def test_each_role_may_use_only_its_form_commands(
    router: Router, command: str, who: str, expected: str
) -> None:
    chat = FakeChat(router, who)
    chat.say(command)
    assert expected in chat.text, chat.dump()
    if expected != STARTS and "第 1/4 题" not in expected:
        assert not any(r.question for r in chat.last), "a refusal never starts a form"
        assert "Refund" not in chat.text and "退款" not in chat.text, "a refusal reveals no data"


def test_a_manager_cannot_review_an_agent_who_reports_to_another_manager(router: Router) -> None:
    from storage import repo
    from storage.db import unit_of_work

    with unit_of_work(router.engine) as session:
        team = repo.get_team_by_name(session=session, name="london")
        assert team is not None
        other = repo.add_member(session=session, team=team, name="Oscar", role="manager")
        bob = repo.get_member_by_name(session=session, team=team, name="Bob")
        assert bob is not None
        bob.manager_id = other.id
        session.add(bob)
    chat = FakeChat(router, "Mary")
    chat.say("/review Bob")
    assert "Only the agent's direct manager or an admin can review this agent." in chat.text


def test_a_managers_pick_button_pressed_by_an_agent_is_refused(router: Router) -> None:
    mary = FakeChat(router, "Mary")
    mary.say("/review")
    pick = mary.button("Bob (2026-10)")
    alice = FakeChat(router, "Alice")
    alice.press_button(pick)
    assert "Only managers and admins can review agents" in alice.text
    assert not any(r.question for r in alice.last) and "Refund" not in alice.text


def test_a_scheme_without_reviews_says_so_for_each_form(router: Router) -> None:
    from pathlib import Path

    from scoring.scheme_parser import parse_scheme
    from storage import repo
    from storage.db import unit_of_work

    text = (
        Path(__file__).resolve().parents[2] / "schemes" / "examples" / "hiring_cycle.toml"
    ).read_text("utf-8")
    parsed = parse_scheme(text)
    with unit_of_work(router.engine) as session:
        team = repo.get_team_by_name(session=session, name="london")
        assert team is not None
        scheme = repo.get_or_create_scheme(
            session=session,
            key=parsed.id,
            text=text,
            name_zh=parsed.name_zh,
            name_en=parsed.name_en,
            content_hash=parsed.content_hash,
        )
        repo.set_team_scheme(session=session, team=team, scheme=scheme, actor="test", reason=None)
        period = repo.get_period(session=session, team=team, key="2026-10")
        assert period is not None
        period.scheme_id = scheme.id
        session.add(period)
    for who, command, expected in (
        ("Alice", "/selfreview", "Your team's scheme has no self-review."),
        ("Alice", "/peer Bob", "Your team's scheme has no peer rating."),
        ("Mary", "/review Bob", "The scheme of team london has no manager review."),
    ):
        chat = FakeChat(router, who)
        chat.say(command)
        assert expected in chat.text and not any(r.question for r in chat.last), chat.dump()
