"""One month through the command layer alone, in Chinese for one team and English for another.

The manager opens the period; eight agents fill their self-reviews (one stops midway and
resumes the next day, one sends wrong answers first); the manager reviews each agent;
``/rank`` shows the expected order and flags; ``/me`` explains a score.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from commands.context import AppConfig
from commands.router import Router
from scoring.scheme_parser import parse_scheme
from storage import repo
from storage.db import unit_of_work
from tests.conftest import Clock
from tests.conversations.transcript import FakeChat, run

pytestmark = pytest.mark.slow

SCHEME = (Path(__file__).parent / "data" / "month_shop.toml").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Team:
    name: str
    lang: str
    admin: str
    manager: str
    agents: tuple[str, ...]  # best first: every number below makes each one better than the next


TEAMS = (
    Team(
        "华东",
        "zh",
        "周人事",
        "王经理",
        ("李娜", "张伟", "刘洋", "陈静", "杨帆", "赵丽", "孙浩", "吴婷"),
    ),
    Team(
        "london",
        "en",
        "Hana",
        "Mary",
        ("Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi"),
    ),
)
REFUND = ("0.010", "0.020", "0.030", "0.040", "0.050", "0.060", "0.070", "0.090")
RESPONSE = (20, 25, 30, 40, 50, 60, 70, 95)
SELF_SCORE = ("5", "5", "4", "4", "3", "3", "2", "1")
MANAGER_SCORE = ("5", "4", "4", "4", "4", "3", "2", "1")
ABANDONS, WRONG_FIRST = 2, 4  # which agents stop midway / answer wrongly first


def _setup(engine: Engine) -> None:
    parsed = parse_scheme(SCHEME)
    with unit_of_work(engine) as session:
        scheme = repo.get_or_create_scheme(
            session=session,
            key=parsed.id,
            text=SCHEME,
            name_zh=parsed.name_zh,
            name_en=parsed.name_en,
            content_hash=parsed.content_hash,
        )
        for spec in TEAMS:
            team = repo.create_team(session=session, name=spec.name, lang=spec.lang, scheme=scheme)
            repo.add_member(session=session, team=team, name=spec.admin, role="admin")
            manager = repo.add_member(session=session, team=team, name=spec.manager, role="manager")
            for name in spec.agents:
                repo.add_member(
                    session=session, team=team, name=name, role="agent", manager=manager
                )


def _import_kpis(engine: Engine, spec: Team) -> None:
    """The month's KPI numbers (the import feature's job; stored here directly)."""
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name=spec.name)
        assert team is not None
        period = repo.get_period(session=session, team=team, key="2026-11")
        assert period is not None
        for i, name in enumerate(spec.agents):
            member = repo.get_member_by_name(session=session, team=team, name=name)
            assert member is not None
            for indicator, value in (("refund_ratio", REFUND[i]), ("avg_response_s", RESPONSE[i])):
                repo.set_indicator_value(
                    session=session,
                    period=period,
                    member=member,
                    indicator=indicator,
                    value=value,
                    source="import",
                    actor="test",
                    reason=None,
                )


@pytest.fixture
def month(engine: Engine) -> tuple[Router, Clock]:
    _setup(engine)
    clock = Clock(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))
    return Router(engine, AppConfig(), clock), clock


@dataclass(frozen=True)
class Words:
    """What each language's replies say at the steps the scenario checks."""

    opened: str
    question: str  # "Question {n} of {total}" with {n}
    hint: str
    resume: str
    cont: str
    summary: str
    submit: str
    submitted: str
    reviewed: str
    why: str
    reward: str
    penalty: str
    improvement: str
    me: tuple[str, ...]


WORDS = {
    "en": Words(
        "Period 2026-11 of london is open",
        "Question {n} of 4",
        "Please send a whole number from 1 to 5.",
        "You have an unfinished self-review. Continue from question 2?",
        "Continue",
        "Summary of your",
        "Submit",
        "your self-review is submitted",
        "the review is submitted",
        "Please say why",
        "reward ¥100",
        "penalty ¥100",
        "improvement plan due 2026-12-12",
        ("rank 4 of 8", "Refund ratio: 4%", "Self-review: 75", "Manager review: 67"),
    ),
    "zh": Words(
        "华东的考核周期 2026-11 已开启",
        "第 {n}/4 题",
        "请发送 1 到 5 之间的整数。",
        "你有一份未完成的自评。要从第 2 题继续吗？",
        "继续",
        "汇总",
        "提交",
        "自评已提交",
        "评价已提交",
        "请说明理由",
        "奖励 ¥100",
        "扣罚 ¥100",
        "须于 2026-12-12 前提交整改方案",
        ("第 4 名（共 8 人）", "退款比例：4%", "自评：75", "主管评价：67"),
    ),
}


def _self_review(router: Router, clock: Clock, spec: Team, i: int, w: Words) -> None:
    chat = FakeChat(router, spec.agents[i])
    score = SELF_SCORE[i]
    if i == WRONG_FIRST:
        run(
            chat,
            [
                ("/selfreview", w.question.format(n=1)),
                ("10", [w.hint, w.question.format(n=1)]),
                ("很好" if w is WORDS["zh"] else "good", [w.hint, w.question.format(n=1)]),
            ],
        )
    else:
        run(chat, [("/selfreview", w.question.format(n=1))])
    run(chat, [(score, w.question.format(n=2))])
    if i == ABANDONS:
        clock.advance(days=1)
        run(chat, [("/selfreview", w.resume), (f"[{w.cont}]", w.question.format(n=2))])
    run(chat, [(score, w.question.format(n=3)), ("ok", w.question.format(n=4)), ("ok", w.summary),
               (f"[{w.submit}]", w.submitted)])  # fmt: skip


def _manager_review(router: Router, spec: Team, i: int, w: Words) -> None:
    chat = FakeChat(router, spec.manager)
    score = MANAGER_SCORE[i]
    run(chat, [(f"/review {spec.agents[i]}", spec.agents[i])])
    for _dimension in range(3):
        chat.say(score)
        if score in ("1", "5"):
            assert w.why in chat.text, chat.dump()
            chat.say("reason")
    run(chat, [("skip", w.summary), (f"[{w.submit}]", w.reviewed)])


def _positions(text: str, names: tuple[str, ...]) -> list[int]:
    lines = text.splitlines()
    return [next(n for n, line in enumerate(lines) if f" {name} " in f" {line} ") for name in names]


@pytest.mark.parametrize("spec", TEAMS, ids=[t.lang for t in TEAMS])
def test_a_month_from_opening_the_period_to_the_ranking(
    month: tuple[Router, Clock], spec: Team
) -> None:
    router, clock = month
    w = WORDS[spec.lang]
    manager = FakeChat(router, spec.manager)
    run(manager, [("/period open", w.opened)])
    _import_kpis(router.engine, spec)
    for i in range(len(spec.agents)):
        _self_review(router, clock, spec, i, w)
    for i in range(len(spec.agents)):
        _manager_review(router, spec, i, w)

    run(manager, [("/rank", [spec.name, "2026-11"])])
    ranking = manager.text
    positions = _positions(ranking, spec.agents)
    assert positions == sorted(positions), ranking
    lines = ranking.splitlines()
    first, seventh, last = (lines[positions[k]] for k in (0, 6, 7))
    assert first.startswith("1. ") and w.reward in first and "100.0" in first
    assert last.startswith("8. ") and w.penalty in last and w.improvement in last and "0.0" in last
    assert seventh.startswith("7. ") and w.improvement in seventh and w.penalty not in seventh
    assert any(r.image is not None for r in manager.last)

    dave = FakeChat(router, spec.agents[3])
    run(dave, [("/me", ["2026-11", "69.4", *w.me])])
