"""Admin in chat: teams, members, managers, the team's settings, opening and closing periods."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from commands.context import AppConfig
from commands.router import Router
from storage import repo
from storage.db import unit_of_work
from tests.conftest import Clock
from tests.conversations.transcript import FakeChat, run

SCHEMES = str(Path(__file__).resolve().parents[2] / "schemes")


def _router(engine: Engine, clock: Clock) -> Router:
    return Router(engine, AppConfig(schemes_dir=SCHEMES), clock)


def test_an_admin_onboards_a_team_in_chat(
    engine: Engine, clock: Clock, world: dict[str, int]
) -> None:
    chat = FakeChat(_router(engine, clock), "周人事")
    run(
        chat,
        [
            (
                "/team add shop lang=en tz=Europe/London scheme=online_shop",
                "已添加团队 shop（语言为英文，时区为 Europe/London）",
            ),
            ("/member add shop Kim manager", "已将 Kim 作为主管添加到团队 shop"),
            ("/member add shop Lee agent manager=Kim slack=U0LEE1 telegram=4242 lang=zh", "Lee"),
            ("/member add shop Lee agent", "团队 shop 中已有名为 Lee 的成员"),
            (
                "/member add shop Max boss manager=Nobody slack=x",
                ["未知角色 boss", "x 不是 Slack 用户 ID", "没有名为 Nobody 的主管"],
            ),
            ("/member list shop", ["Kim — 主管", "Lee — 客服 · 主管：Kim"]),
            ("/team set shop lang=zh tz=Mars/Base", "未知时区 Mars/Base"),
            ("/team set shop lang=zh", "语言为中文"),
        ],
    )
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="shop")
        assert team is not None and team.lang == "zh" and team.timezone == "Europe/London"
        scheme = repo.scheme_for(session=session, team=team)
        assert scheme is not None and scheme.key == "online_shop"
        lee = repo.get_member_by_slack_id(session=session, slack_user_id="U0LEE1")
        assert lee is not None and lee.telegram_user_id == "4242" and lee.lang == "zh"
        assert [
            e.action for e in repo.audit_trail(session=session, entity="team", entity_id=team.id)
        ] == [
            "team.add",
            "team.settings",
        ]


def test_setting_a_manager_makes_them_the_direct_superior(
    engine: Engine, clock: Clock, world: dict[str, int]
) -> None:
    chat = FakeChat(_router(engine, clock), "周人事")
    run(chat, [
        ("/member add demo 新经理 manager", "新经理"),
        ("/member manager demo 张伟 新经理", "新经理现在是张伟的主管"),
        ("/member manager demo 张伟 李娜", "李娜不是主管"),
    ])  # fmt: skip
    run(
        FakeChat(_router(engine, clock), "王经理"),
        [("/review 张伟", "只有该客服的直属主管或管理员可以评价此客服")],
    )


def test_a_manager_opens_and_closes_a_period_of_their_team(
    engine: Engine, clock: Clock, world: dict[str, int]
) -> None:
    clock.now = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    chat = FakeChat(_router(engine, clock), "Mary")
    run(
        chat,
        [
            (
                "/period open london 2026-11 until=2026-12-05",
                "Period 2026-11 of london is open. Reviews are due by 2026-12-05 23:59.",
            ),
            (
                "/period close london 2026-11",
                "Period 2026-11 of london is closed; no more reviews.",
            ),
            ("/period close london 2026-11", "Period 2026-11 is not open (it is closed)."),
            ("/period open london 2026-13", "2026-13 is not a period"),
            ("/period open london 2026-11 until=soon", "soon is not a date"),
            (
                "/period open london 2026-11 until=2026-11-03",
                "The review deadline 2026-11-03 has already passed.",
            ),
        ],
    )
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="london")
        assert team is not None
        period = repo.get_period(session=session, team=team, key="2026-11")
        assert period is not None and period.status == "closed"
        assert period.review_closes_at == clock.now
        actions = [
            e.action
            for e in repo.audit_trail(session=session, entity="period", entity_id=period.id)
        ]
        assert actions.count("period.status") == 2


def test_opening_the_current_month_lets_agents_start_their_self_review(
    engine: Engine, clock: Clock, world: dict[str, int]
) -> None:
    clock.now = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)
    router = _router(engine, clock)
    run(FakeChat(router, "Alice"), [("/selfreview", "No self-review is open now.")])
    run(
        FakeChat(router, "Mary"),
        [
            (
                "/period open",
                "Period 2026-12 of london is open. Reviews are due by 2027-01-07 23:59.",
            )
        ],
    )
    run(FakeChat(router, "Alice"), [("/selfreview", "Self-review for 2026-12")])


def test_bad_admin_commands_get_the_usage(
    engine: Engine, clock: Clock, world: dict[str, int]
) -> None:
    run(
        FakeChat(_router(engine, clock), "周人事"),
        [
            ("/team", "用法：/team add"),
            ("/member add demo", "用法：/member add"),
            ("/period", "用法：/period open"),
            ("/team add demo", "已存在名为 demo 的团队"),
            ("/team add new scheme=nothing", "找不到考核方案 nothing"),
        ],
    )
