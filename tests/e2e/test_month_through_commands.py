"""A month of kpibot played through the command layer alone, starting from an empty database.

An admin created on the command line (``kpibot team add`` / ``member add``) onboards two
teams in chat — 华东 in Chinese, london in English, both on the shipped online-shop
scheme — each with a manager and eight agents. The manager opens the period; the
month's KPI export is stored as an import; eight agents fill their self-reviews (one
stops midway and resumes the next day, one sends wrong answers first); the manager
reviews each; ``/rank`` shows the expected order with reward, penalty and improvement
flags; an agent sees the published ranking; ``/me`` explains a score down to the import
file and the reviewer; the manager closes the period.

Every agent below is better than the next on every indicator and in every review, so
the expected order is the order of the list (DOMAIN.md: an agent better on everything
never ranks below one worse on everything).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from bot.cli import build_app
from commands.context import AppConfig
from commands.router import Router
from storage import repo
from storage.db import unit_of_work
from tests.conftest import Clock
from tests.conversations.transcript import FakeChat, run

pytestmark = pytest.mark.slow

SCHEMES = str(Path(__file__).resolve().parents[2] / "schemes")
PERIOD = "2026-10"


@dataclass(frozen=True)
class Team:
    name: str
    lang: str
    manager: str
    agents: tuple[str, ...]  # best first


TEAMS = (
    Team("华东", "zh", "王经理", ("李娜", "张伟", "刘洋", "陈静", "杨帆", "赵丽", "孙浩", "吴婷")),
    Team(
        "london", "en", "Mary", ("Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi")
    ),
)
# One value per agent (best first) for each indicator of schemes/online_shop.toml.
KPI = {
    "conversion_rate": ("0.55", "0.52", "0.48", "0.45", "0.40", "0.35", "0.31", "0.20"),
    "avg_response_s": (20, 25, 35, 40, 55, 65, 80, 120),
    "churn_rate": ("0.03", "0.04", "0.05", "0.06", "0.07", "0.08", "0.09", "0.12"),
    "order_amount": (250000, 220000, 200000, 180000, 150000, 120000, 100000, 50000),
    "valid_order_share": ("0.99", "0.98", "0.97", "0.96", "0.95", "0.94", "0.93", "0.90"),
    "payment_ratio": ("0.95", "0.92", "0.88", "0.86", "0.80", "0.75", "0.72", "0.60"),
    "refund_ratio": ("0.01", "0.02", "0.03", "0.04", "0.05", "0.07", "0.08", "0.12"),
    "avg_order_value": (400, 350, 300, 280, 250, 220, 200, 150),
    "complaint_share": ("0.000", "0.005", "0.010", "0.015", "0.020", "0.030", "0.035", "0.050"),
    "abnormal_order_share": ("0.00", "0.01", "0.01", "0.02", "0.02", "0.03", "0.04", "0.05"),
}
# The three report indicators (provider = "manager") are given in the manager's /review.
REPORTS = ("100", "95", "90", "85", "80", "70", "60", "40")
SELF = ("5", "4", "4", "4", "3", "3", "2", "2")
MANAGER = ("4", "4", "4", "3", "3", "3", "2", "2")
ABANDONS, WRONG_FIRST = 2, 5
EXPORT = "shop-2026-10.xlsx"


@dataclass(frozen=True)
class Words:
    opened: str
    question: str
    hint: str
    resume: str
    cont: str
    summary: str
    submit: str
    submitted: str
    reviewed: str
    ranking: str
    reward: str
    penalty: str
    improvement: str
    receipt: tuple[str, ...]


WORDS = {
    "zh": Words(
        "考核周期 2026-10 已开启",
        "第 {n}/3 题",
        "请发送 1 到 5 之间的整数。",
        "要从第 2 题继续吗",
        "继续",
        "汇总",
        "提交",
        "自评已提交",
        "评价已提交",
        "华东 2026-10 排名（网店客服绩效考核）",
        "¥100",
        "扣罚 ¥100",
        "2026-11-12",
        (
            "你在 2026-10 的考核结果",
            "退款比例：3%",
            "第 1 档",
            "导入文件 shop-2026-10.xlsx",
            "王经理于 2026-11-0",
            "你 2026-11-0",
            "总分构成",
        ),
    ),
    "en": Words(
        "Period 2026-10 of london is open",
        "Question {n} of 3",
        "Please send a whole number from 1 to 5.",
        "Continue from question 2?",
        "Continue",
        "Summary of your",
        "Submit",
        "your self-review is submitted",
        "the review is submitted",
        "Ranking of london for 2026-10 (Online shop support)",
        "reward ¥100",
        "penalty ¥100",
        "improvement plan due 2026-11-12",
        (
            "Your result for 2026-10",
            "Refund ratio: 3%",
            "band 1 (≤ 3%)",
            "import shop-2026-10.xlsx",
            "review by Mary on 2026-11-0",
            "your self-review of 2026-11-0",
            "Parts of the total",
        ),
    ),
}


def _onboard_on_the_command_line(engine: Engine) -> None:
    runner, app = CliRunner(), build_app()
    url = engine.url.render_as_string(hide_password=False)
    for args in (
        ["team", "add", "hq", "--lang", "zh"],
        ["member", "add", "--team", "hq", "--name", "周人事", "--role", "admin"],
    ):
        result = runner.invoke(app, [*args, "--db", url])
        assert result.exit_code == 0, result.stderr


def _onboard_in_chat(router: Router, spec: Team) -> None:
    admin = FakeChat(router, "周人事")
    run(admin, [
        (f"/team add {spec.name} lang={spec.lang} tz=Asia/Shanghai scheme=online_shop", spec.name),
        (f"/member add {spec.name} {spec.manager} manager", spec.manager),
    ])  # fmt: skip
    for name in spec.agents:
        run(admin, [(f"/member add {spec.name} {name} agent manager={spec.manager}", name)])


def _store_the_export(engine: Engine, spec: Team) -> None:
    """The month's KPI export (importing it is the import feature's job; stored as it would)."""
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name=spec.name)
        assert team is not None
        period = repo.get_period(session=session, team=team, key=PERIOD)
        assert period is not None
        imported = repo.record_import(session=session, team=team, period=period, file_name=EXPORT,
                                      sha256="0" * 64, row_count=8, imported_by="test")  # fmt: skip
        for i, name in enumerate(spec.agents):
            member = repo.get_member_by_name(session=session, team=team, name=name)
            assert member is not None
            for indicator, values in KPI.items():
                repo.set_indicator_value(
                    session=session,
                    period=period,
                    member=member,
                    indicator=indicator,
                    value=values[i],
                    source="import",
                    import_id=imported.id,
                    actor="test",
                    reason=None,
                )


def _self_review(router: Router, clock: Clock, spec: Team, i: int, w: Words) -> None:
    chat = FakeChat(router, spec.agents[i])
    if i == WRONG_FIRST:
        run(chat, [("/selfreview", w.question.format(n=1)), ("6", [w.hint, w.question.format(n=1)]),
                   ("great", [w.hint, w.question.format(n=1)])])  # fmt: skip
    else:
        run(chat, [("/selfreview", w.question.format(n=1))])
    run(chat, [(SELF[i], w.question.format(n=2))])
    if i == ABANDONS:
        clock.advance(days=1)
        run(chat, [("/selfreview", w.resume), (f"[{w.cont}]", w.question.format(n=2))])
    run(chat, [("ok", w.question.format(n=3)), ("ok", w.summary), (f"[{w.submit}]", w.submitted)])


def _manager_review(router: Router, spec: Team, i: int, w: Words) -> None:
    chat = FakeChat(router, spec.manager)
    run(chat, [(f"/review {spec.agents[i]}", spec.agents[i])])
    for _dimension in range(3):
        chat.say(MANAGER[i])
    for _report in range(3):
        chat.say(REPORTS[i])
    run(chat, [("skip", w.summary), (f"[{w.submit}]", w.reviewed)])


def _ranked(text: str) -> list[str]:
    return [line.split()[1] for line in text.splitlines() if line[:1].isdigit() and ". " in line]


@pytest.fixture
def world(engine: Engine) -> tuple[Router, Clock]:
    _onboard_on_the_command_line(engine)
    clock = Clock(datetime(2026, 11, 1, 1, 0, tzinfo=UTC))
    router = Router(engine, AppConfig(schemes_dir=SCHEMES), clock)
    for spec in TEAMS:
        _onboard_in_chat(router, spec)
    return router, clock


@pytest.mark.parametrize("spec", TEAMS, ids=[t.lang for t in TEAMS])
def test_a_month_from_onboarding_to_the_explained_score(
    world: tuple[Router, Clock], spec: Team
) -> None:
    router, clock = world
    w = WORDS[spec.lang]
    manager = FakeChat(router, spec.manager)
    run(manager, [(f"/period open {PERIOD}", w.opened)])
    _store_the_export(router.engine, spec)
    for i in range(len(spec.agents)):
        _self_review(router, clock, spec, i, w)
    for i in range(len(spec.agents)):
        _manager_review(router, spec, i, w)

    run(manager, [("/rank", w.ranking)])
    assert _ranked(manager.text) == list(spec.agents)
    lines = [line for line in manager.text.splitlines() if line[:1].isdigit()]
    assert w.reward in lines[0] and w.penalty not in lines[0]
    assert w.penalty in lines[7] and w.improvement in lines[7] and w.improvement in lines[6]
    assert all(w.reward not in line and w.penalty not in line for line in lines[1:7])
    assert all(w.improvement not in line for line in lines[:6])
    assert sum(r.image is not None for r in manager.last) == 1

    agent = FakeChat(router, spec.agents[2])  # the one who resumed the next day
    run(agent, [("/rank", w.ranking)])  # the online-shop scheme publishes the ranking
    assert _ranked(agent.text) == list(spec.agents)
    run(agent, [("/me", list(w.receipt))])
    assert all(r.private for r in agent.last)

    run(manager, [(f"/period close {PERIOD}", PERIOD)])
    closed = "目前没有开放的自评" if spec.lang == "zh" else "No self-review is open now."
    run(
        FakeChat(router, spec.agents[0]), [("/selfreview", closed)]
    )  # closed: says so, asks nothing
    with unit_of_work(router.engine) as session:
        team = repo.get_team_by_name(session=session, name=spec.name)
        assert team is not None
        period = repo.get_period(session=session, team=team, key=PERIOD)
        assert period is not None and period.status == "closed"
        scores = repo.list_scores(session=session, period=period)
        assert len(scores) == 8 and [s.rank for s in scores] == list(range(1, 9))
        assert len(repo.list_reviews(session=session, period=period, kind="self")) == 8
        assert len(repo.list_reviews(session=session, period=period, kind="manager")) == 8
