"""/rank, /me and /simulate through the router, in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from commands.router import Router
from storage import repo
from storage.db import unit_of_work
from tests.commands.conftest import review_everyone
from tests.conftest import Clock
from tests.conversations.transcript import FakeChat, run

LONDON_SELF = {"Alice": 5, "Bob": 4, "Carol": 3, "Dave": 4}
LONDON_MANAGER = {"Alice": 5, "Bob": 4, "Carol": 2, "Dave": 3}
# Worked by hand (mini_shop: self 30 / manager 60, performance = KPI table, 40 % of the manager
# part):
# Bob   KPI 30+25=55; manager (40·55 + 60·75)/100 = 67; total (30·75 + 60·67)/90 = 69.67
# Dave  KPI 50+25=75; manager (40·75 + 60·50)/100 = 60; total (30·75 + 60·60)/90 = 65.0
LONDON_ORDER = ["Alice", "Bob", "Dave", "Carol"]
DEMO_SELF = {"李娜": 5, "张伟": 4, "刘洋": 2, "陈静": 4}
DEMO_MANAGER = {"李娜": 5, "张伟": 4, "刘洋": 2, "陈静": 3}


@pytest.fixture
def scored(engine: Engine, router: Router, clock: Clock) -> Router:
    review_everyone(engine, "london", self_scores=LONDON_SELF, manager_scores=LONDON_MANAGER)
    review_everyone(engine, "demo", self_scores=DEMO_SELF, manager_scores=DEMO_MANAGER)
    clock.advance(days=10)
    return router


def _ranked_names(text: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^\d+\. (\S+)", text, re.MULTILINE)]


def test_the_manager_sees_the_whole_ranking_with_flags_and_a_chart(scored: Router) -> None:
    chat = FakeChat(scored, "Mary")
    run(
        chat,
        [
            (
                "/rank",
                [
                    "Ranking of london for 2026-10",
                    "Mini shop scheme",
                    "improvement plan due 2026-11-12",
                ],
            )
        ],
    )
    assert _ranked_names(chat.text) == LONDON_ORDER
    assert "Bob  69.7" in chat.text and "Dave  65.0" in chat.text
    images = [r.image for r in chat.last if r.image is not None]
    assert len(images) == 1 and images[0].data.startswith(b"\x89PNG")


def test_the_ranking_speaks_chinese_to_a_chinese_team(scored: Router) -> None:
    chat = FakeChat(scored, "王经理")
    run(chat, [("/rank", ["demo 2026-10 排名", "小网店方案"])])
    assert _ranked_names(chat.text)[0] == "李娜"
    assert _ranked_names(chat.text)[-1] == "刘洋"


def test_an_agent_sees_only_their_own_place_when_the_scheme_does_not_publish_the_ranking(
    scored: Router,
) -> None:
    chat = FakeChat(scored, "Bob")
    run(
        chat,
        [
            (
                "/rank",
                ["Your place in london for 2026-10: 2 of 4, total 69.7", "only your own place"],
            )
        ],
    )
    assert "Alice" not in chat.text and "Carol" not in chat.text
    assert all(r.image is None for r in chat.last)


def test_rank_names_a_missing_period_or_team(scored: Router) -> None:
    run(
        FakeChat(scored, "Mary"),
        [
            ("/rank london 2025-01", "Team london has no period 2025-01."),
            ("/rank nowhere", "There is no team called nowhere."),
        ],
    )


def test_me_is_a_receipt_whose_contributions_add_up_to_the_total(scored: Router) -> None:
    chat = FakeChat(scored, "Bob")
    run(
        chat,
        [
            (
                "/me",
                [
                    "Your result for 2026-10",
                    "Total 69.7 of 100 · rank 2 of 4",
                    "Refund ratio: 4%",
                    "band 2 (> 3%, ≤ 6%)",
                    "30 of 50 points",
                    "review by Mary on 2026-11-02",
                    "your self-review of 2026-11-02",
                    "Peer ratings: not enough ratings",
                ],
            )
        ],
    )
    text = chat.text
    total = float(re.search(r"Total ([\d.]+) of 100", text).group(1))  # type: ignore[union-attr]
    parts = [float(x) for x in re.findall(r"= ([\d.]+) \[", text)]
    assert sum(parts) == pytest.approx(total, abs=0.06)
    kpi_bits = [float(x) for x in re.findall(r"→ ([\d.]+) to the total", text)]
    assert len(kpi_bits) == 2
    assert all(r.private for r in chat.last)


def test_me_in_chinese_explains_where_numbers_came_from(scored: Router) -> None:
    run(
        FakeChat(scored, "张伟"),
        [("/me 2026-10", ["你在 2026-10 的考核结果", "退款比例", "第 2 档", "王经理"])],
    )


def test_me_before_any_review_says_the_score_is_missing(router: Router) -> None:
    run(FakeChat(router, "Alice"), [("/me", "You have no score for 2026-10 yet")])


def test_simulate_shows_what_would_change_and_stores_nothing(
    scored: Router, engine: Engine
) -> None:
    chat = FakeChat(scored, "Carol")
    run(
        chat,
        [
            (
                "/simulate refund_ratio=1% avg_response_s=20",
                ["Refund ratio: 7% → 1%", "points 0.0 → 50.0", "Rank: 4 → ", "nothing is stored"],
            )
        ],
    )
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="london")
        assert team is not None
        period = repo.get_period(session=session, team=team, key="2026-10")
        assert period is not None
        carol = repo.get_member_by_name(session=session, team=team, name="Carol")
        assert carol is not None
        values = {
            v.indicator: v.value
            for v in repo.indicator_values(session=session, period=period, member=carol)
        }
        assert float(values["refund_ratio"] or 0) == pytest.approx(0.07)


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        ("refund_ratio=3", "Refund ratio is a share: write 3% or 0.03."),
        ("refund=abc", "Refund ratio: abc is not a number"),
        ("refund_ratio=150%", "between 0% and 100%"),
        ("Average response time=-5", "Average response time cannot be negative."),
        (
            "speed=3",
            "speed is not in your scheme. You can change: Refund ratio, Average response time, "
            "Self-review·Attitude, Self-review·Task completion, Manager review·Ability, "
            "Manager review·Collaboration, Manager review·Service",
        ),
        ("refund_ratio", "write name=value, for example Refund ratio=3% Average response time=25"),
        (
            "manager.ability=7",
            "Manager review·Ability is a review score: a whole number from 1 to 5.",
        ),
        (
            "a=4",
            "a could be Average response time, Self-review·Attitude, Manager review·Ability: "
            "write more of the name.",
        ),
    ],
)
def test_simulate_gives_a_specific_hint_for_bad_input(scored: Router, args: str, hint: str) -> None:
    run(FakeChat(scored, "Carol"), [(f"/simulate {args}", hint)])


def test_simulate_without_arguments_explains_itself_with_an_example(scored: Router) -> None:
    run(
        FakeChat(scored, "Carol"),
        [
            (
                "/simulate",
                [
                    "/simulate Refund ratio=3% Average response time=25",
                    "You can change: Refund ratio, Average response time, Self-review·Attitude",
                ],
            )
        ],
    )


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (
            "退款比例=1% 平均响应时间=20",
            ["退款比例：8% → 1%", "平均响应时间：70 秒 → 20 秒", "总分："],
        ),
        ("退款=1%，平均=20", ["退款比例：8% → 1%", "平均响应时间：70 秒 → 20 秒"]),
        ("工作能力=5", ["主管评价·工作能力：5", "总分："]),
        ("主管评价.服务性=5 2026-10", ["主管评价·服务性：5"]),
        ("refund_ratio=1%", ["退款比例：8% → 1%"]),
    ],
)
def test_simulate_in_chinese_takes_names_and_beginnings_and_shows_names(
    scored: Router, args: str, shown: list[str]
) -> None:
    chat = FakeChat(scored, "刘洋")
    run(chat, [(f"/simulate {args}", shown)])
    assert "refund_ratio" not in chat.text and "manager." not in chat.text


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        ("速度=3", "你的考核方案中没有速度。可以修改：退款比例、平均响应时间、自评·工作态度、"),
        (
            "工作=4",
            "工作可能是自评·工作态度、自评·工作任务完成情况、主管评价·工作能力、"
            "主管评价·工作协作性：请把名称写完整些。",
        ),
        ("退款比例=3", "退款比例是比例：请写成 3% 或 0.03。"),
        ("退款比例", "例如退款比例=3% 平均响应时间=25"),
    ],
)
def test_simulate_in_chinese_explains_a_name_it_cannot_place(
    scored: Router, args: str, hint: str
) -> None:
    run(FakeChat(scored, "刘洋"), [(f"/simulate {args}", hint)])


def test_simulate_accepts_minutes_and_review_scores(scored: Router) -> None:
    run(
        FakeChat(scored, "Carol"),
        [
            (
                "/simulate avg_response_s=0.5min manager.ability=5",
                ["Average response time: 65 s → 30 s", "Total:"],
            )
        ],
    )


def test_the_ranking_shows_the_change_from_last_period(
    scored: Router, engine: Engine, clock: Clock
) -> None:
    run(
        FakeChat(scored, "Mary"), [("/rank london 2026-10", "Alice")]
    )  # October is scored and stored
    review_everyone(
        engine,
        "london",
        key="2026-11",
        self_scores={"Alice": 2, "Bob": 4, "Carol": 5, "Dave": 4},
        manager_scores={"Alice": 2, "Bob": 4, "Carol": 5, "Dave": 3},
    )
    clock.advance(days=30)
    chat = FakeChat(scored, "Mary")
    run(chat, [("/rank london 2026-11", "Ranking of london for 2026-11")])
    lines = {line.split()[1]: line for line in chat.text.splitlines() if line[:1].isdigit()}
    assert "(↑3)" in lines["Carol"] and "(↓3)" in lines["Alice"] and "(=)" in lines["Bob"]
    run(
        FakeChat(scored, "Carol"),
        [
            (
                "/me 2026-11",
                [
                    "Change from last period: up 3 places",
                    "Last periods:",
                    "· 2026-10:",
                    "rank 4 of 4",
                ],
            )
        ],
    )


def test_me_shows_the_individual_and_team_split_of_a_call_centre_scheme(
    engine: Engine, clock: Clock
) -> None:
    from commands import admin
    from commands.context import AppConfig

    schemes = str(Path(__file__).resolve().parents[2] / "schemes")
    with unit_of_work(engine) as session:
        team = admin.create_team("cc", session=session, actor="test", now=clock.now, lang="en",
                                 scheme="call_centre", schemes_dir=schemes)  # fmt: skip
        specs = [admin.MemberSpec("cc", "Boss", "manager")] + [
            admin.MemberSpec("cc", n, "agent", manager="Boss") for n in ("Ann", "Ben", "Cat")
        ]
        members = admin.add_members(specs, session=session, actor="test", now=clock.now)
        period = repo.get_or_create_period(session=session, team=team, key="2026-10")
        for i, member in enumerate(members[1:]):
            for indicator, value in (
                ("sessions_handled", 900 - 100 * i),
                ("answer_rate", 0.95 - 0.05 * i),
                ("aht_s", 200 + 40 * i),
                ("resolution_rate", 0.9 - 0.1 * i),
            ):
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
    clock.advance(days=10)
    chat = FakeChat(Router(engine, AppConfig(), clock), "Ann")
    run(
        chat,
        [
            (
                "/me",
                [
                    "Individual indicators:",
                    "Team indicators:",
                    "your team's results",
                    "Call quality sampling: not enough samples",
                    "the scheme's default",
                ],
            )
        ],
    )
    text = chat.text
    total = float(re.search(r"Total ([\d.]+) of 100", text).group(1))  # type: ignore[union-attr]
    parts = [float(x) for x in re.findall(r"= ([\d.]+)", text)]
    assert sum(parts) == pytest.approx(total, abs=0.06)
