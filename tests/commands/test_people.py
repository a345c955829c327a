"""People over a month: change a member, mark someone who left, bring them back, one's own language.

Transcripts in the chat (zh and en) through the real router; the rules checked underneath:
someone who left keeps their history, is in no new period and never decides or manages.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from commands import people, results
from commands.appeal import deciders
from commands.context import AppConfig
from commands.router import Router
from storage import repo
from storage.db import unit_of_work
from tests.conftest import Clock
from tests.conversations.transcript import FakeChat, run


def _member(engine: Engine, team: str, name: str) -> dict[str, object]:
    with unit_of_work(engine) as session:
        row = repo.get_team_by_name(session=session, name=team)
        assert row is not None
        member = repo.get_member_by_name(session=session, team=row, name=name)
        assert member is not None
        return dict(repo.snapshot(member) or {})


def test_an_admin_changes_a_members_role_manager_language_and_ids_in_chat(
    engine: Engine, clock: Clock, world: dict[str, int], app_config: AppConfig
) -> None:
    chat = FakeChat(Router(engine, app_config, clock), "周人事")
    run(
        chat,
        [
            ("/member add demo 新主管 主管", "已将新主管作为主管添加到团队 demo"),
            (
                "/member set demo 张伟 manager=新主管 slack=U0ZW1 telegram=777 lang=en",
                [
                    "已更新张伟",
                    "主管：王经理 → 新主管",
                    "Slack ID：— → U0ZW1",
                    "Telegram ID：— → 777",
                    "语言：— → 英文",
                ],
            ),
            ("/member set demo 张伟 slack=U0ZW1", "无需修改：张伟已经是这些设置"),
            (
                "/member set demo 李娜 slack=U0ZW1",
                "Slack 用户 U0ZW1 已关联到张伟：请先解除那边的关联",
            ),
            (
                "/member set demo 李娜 role=boss telegram=x manager=Nobody",
                ["未知角色 boss", "x 不是 Telegram 用户 ID", "没有名为 Nobody 的主管"],
            ),
            ("/member set demo 张伟 slack=- lang=-", ["Slack ID：U0ZW1 → —", "语言：英文 → —"]),
            ("/member set demo 李娜 slack=U0ZW1", "Slack ID：— → U0ZW1"),
            (
                "/member set demo 王经理 role=客服",
                "王经理仍是李娜、刘洋、陈静的主管：请先给他们指定新的主管",
            ),
            ("/member set demo 小赵 role=管理员", "角色：质检员 → 管理员"),
            ("/member set nowhere 张伟 lang=en", "没有名为 nowhere 的团队"),
            (
                "/member list demo",
                [
                    "张伟 — 客服 · 主管：新主管\n",
                    "李娜 — 客服 · 主管：王经理\n",
                    "刘洋 — 客服 · 主管：王经理 · 没有 Slack、Telegram 或飞书 ID：收不到任何消息",
                ],
            ),
        ],
    )
    zhang = _member(engine, "demo", "张伟")
    assert (
        zhang["slack_user_id"] is None
        and zhang["telegram_user_id"] == "777"
        and zhang["lang"] is None
    )
    assert zhang["manager_id"] == _member(engine, "demo", "新主管")["id"]
    assert _member(engine, "demo", "李娜")["slack_user_id"] == "U0ZW1"
    with unit_of_work(engine) as session:
        trail = repo.audit_trail(session=session, entity="member", entity_id=world["张伟"])
        assert [e.action for e in trail][-2:] == ["member.update", "member.update"]


def test_an_admin_reading_english_changes_members_in_english(
    engine: Engine, clock: Clock, world: dict[str, int]
) -> None:
    chat = FakeChat(Router(engine, AppConfig(), clock), "周人事")
    run(
        chat,
        [
            ("/lang en", "From now on you get kpibot in English."),
            (
                "/member set london Bob role=manager lang=zh",
                ["Bob updated:", "role: agent → manager", "language: — → Chinese"],
            ),
            ("/member set london Alice manager=Bob", "manager: Mary → Bob"),
            (
                "/member set london Mary role=agent",
                "Mary still manages Bob, Carol, Dave: give them another manager first.",
            ),
            (
                "/member remove london Mary",
                ["Mary is marked as left", "Bob, Carol, Dave had Mary as their manager"],
            ),
            (
                "/member set london Carol manager=Mary",
                "Mary has left (inactive): choose someone who is still in the team.",
            ),
            ("/member restore london Mary", "Mary is active again"),
            ("/lang", ["You get kpibot in English (your own setting).", "/lang team"]),
            ("/lang team", "从现在起，kpibot 对你使用团队的语言（中文）。"),
        ],
    )
    assert _member(engine, "london", "Bob")["role"] == "manager"
    with unit_of_work(engine) as session:
        london = repo.get_team_by_name(session=session, name="london")
        assert london is not None
        assert [m.name for m in repo.team_managers(session=session, team=london)] == ["Mary", "Bob"]


def test_member_list_flags_only_who_no_messenger_reaches_naming_the_registrys_messengers(
    engine: Engine, clock: Clock, world: dict[str, int], app_config: AppConfig
) -> None:
    """A member linked on Feishu alone gets messages (was: flagged, only Slack and Telegram
    counted); who has no messenger is told with every messenger kpibot speaks named."""
    with unit_of_work(engine) as session:
        london = repo.get_team_by_name(session=session, name="london")
        carol = repo.get_member_by_name(session=session, team=london, name="Carol")  # type: ignore[arg-type]
        assert carol is not None
        repo.link_platform(
            session=session, member=carol, platform="feishu", user_id="ou_c1", actor="test"
        )
    chat = FakeChat(Router(engine, app_config, clock), "周人事")
    chat.say("/lang en")
    lines = {
        line.split(" — ")[0][2:]: line
        for line in chat.say("/member list london")[0].text.splitlines()
        if line.startswith("· ")
    }
    assert "gets no messages" not in lines["Carol"]
    assert lines["Dave"].endswith(" · no Slack, Telegram or Feishu id: gets no messages")


def test_someone_who_left_keeps_history_is_in_no_new_period_and_never_decides(
    engine: Engine, clock: Clock, world: dict[str, int]
) -> None:
    admin = FakeChat(Router(engine, AppConfig(), clock), "周人事")
    run(
        admin,
        [
            ("/member remove demo 刘洋", "刘洋已标记为离职：以往的考核结果保留"),
            (
                "/member remove demo 王经理",
                [
                    "王经理已标记为离职",
                    "李娜、张伟、陈静原来的主管是王经理，现在暂由团队的主管负责",
                ],
            ),
            ("/member remove demo 王经理", "王经理已经标记为离职"),
            ("/member remove demo 周人事", "不能停用你自己的账号"),
            ("/member list demo", ["已离职（历史记录保留）：王经理、刘洋"]),
            ("/member manager demo 张伟 王经理", "王经理已离职（账号已停用）"),
        ],
    )
    run(FakeChat(Router(engine, AppConfig(), clock), "王经理"), [("/review", "你的账号已停用")])
    with unit_of_work(engine) as session:
        demo = repo.get_team_by_name(session=session, name="demo")
        assert demo is not None
        assert [m.name for m in results.agents_of(demo, session=session)] == [
            "李娜",
            "张伟",
            "陈静",
        ]
        period = repo.get_or_create_period(session=session, team=demo, key="2026-10")
        kept = repo.indicator_table(session=session, period=period)
        assert world["刘洋"] in kept  # their data stays
        zhang = repo.get_member_by_name(session=session, team=demo, name="张伟")
        assert zhang is not None
        assert people.manager_of(zhang, session=session) is None
        assert [d.name for d in deciders(session, zhang, "kpi")] == ["周人事"]
        assert repo.team_managers(session=session, team=demo) == []
        trail = repo.audit_trail(session=session, entity="member", entity_id=world["王经理"])
        assert trail[-1].action == "member.deactivate"


def test_a_new_manager_is_the_decider_once_the_old_one_left(
    engine: Engine, clock: Clock, world: dict[str, int]
) -> None:
    admin = FakeChat(Router(engine, AppConfig(), clock), "周人事")
    run(admin, [
        ("/member add demo 赵主管 manager", "赵主管"),
        ("/member remove demo 王经理", "王经理已标记为离职"),
    ])  # fmt: skip
    with unit_of_work(engine) as session:
        demo = repo.get_team_by_name(session=session, name="demo")
        assert demo is not None
        li = repo.get_member_by_name(session=session, team=demo, name="李娜")
        assert li is not None
        assert [d.name for d in deciders(session, li, "self")] == ["赵主管"]


def test_lang_sets_ones_own_language_and_answers_in_it(
    engine: Engine, clock: Clock, world: dict[str, int]
) -> None:
    run(FakeChat(Router(engine, AppConfig(), clock), "李娜"), [
        ("/lang", "kpibot 现在对你使用中文，即团队的语言"),
        ("/lang fr", "未知语言 fr：请使用 zh 或 en。"),
        ("/lang english", "From now on you get kpibot in English."),
        ("/help", "What you can do here:"),
        ("/lang 中文", "从现在起，kpibot 对你使用中文。"),
    ])  # fmt: skip
    run(FakeChat(Router(engine, AppConfig(), clock), "Alice"), [
        ("/lang zh", "从现在起，kpibot 对你使用中文。"),
        ("/lang team", "From now on you get kpibot in your team's language (English)."),
    ])  # fmt: skip
    assert _member(engine, "london", "Alice")["lang"] is None


def test_only_an_admin_changes_members(engine: Engine, clock: Clock, world: dict[str, int]) -> None:
    run(FakeChat(Router(engine, AppConfig(), clock), "王经理"), [
        ("/member set demo 张伟 lang=en", "你不能使用命令 /member：只有管理员可以修改成员"),
    ])  # fmt: skip
    assert _member(engine, "demo", "张伟")["lang"] is None
