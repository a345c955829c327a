"""``/member alias`` in chat (admins, zh and en) and ``kpibot member alias`` on the command line."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import build_app
from commands.context import AppConfig
from commands.router import Router
from storage import repo
from storage.db import unit_of_work
from storage.models import AuditLog
from tests.conftest import Clock
from tests.conversations.transcript import FakeChat, run


def _aliases(engine: Engine, team: str) -> list[tuple[str, str, str]]:
    with unit_of_work(engine) as session:
        row = repo.get_team_by_name(session=session, name=team)
        assert row is not None
        names = {
            m.id: m.name for m in repo.list_members(session=session, team=row, active_only=False)
        }
        return [
            (names[a.member_id], a.source, a.alias)
            for a in repo.list_aliases(session=session, team=row)
        ]


def test_an_admin_gives_members_their_accounts_in_chat(
    engine: Engine, clock: Clock, world: dict[str, int]
) -> None:
    chat = FakeChat(Router(engine, AppConfig(), clock), "周人事")
    run(
        chat,
        [
            (
                "/member alias add demo 张伟 taobao 示例旗舰店:小张",
                "示例旗舰店:小张现在是张伟的 taobao 账号",
            ),
            (
                "/member alias add demo 张伟 taobao 示例旗舰店:小张",
                "张伟已有 taobao 账号示例旗舰店:小张，未作任何更改",
            ),
            (
                "/member alias add demo 李娜 taobao 示例旗舰店:小张",
                "示例旗舰店:小张已是张伟的 taobao 账号：请先从那边移除（member alias remove "
                "demo 张伟 taobao 示例旗舰店:小张）",
            ),
            ("/member alias add demo 李娜 avaya 1002", "1002 现在是李娜的 avaya 账号"),
            ("/member alias add demo 李娜 wechat abc", "未知来源 wechat：请使用"),
            ("/member alias add demo 无名 jd 123", "团队 demo 中没有成员无名"),
            (
                "/member alias list demo",
                [
                    "demo 的成员账号：",
                    "· 张伟 — taobao (淘宝/天猫 旺旺子账号): 示例旗舰店:小张",
                    "· 李娜 — avaya (Avaya CMS 登录 ID): 1002",
                ],
            ),
            (
                "/member alias remove demo 张伟 taobao 示例旗舰店:小张",
                "示例旗舰店:小张已不再是张伟的 taobao 账号",
            ),
            ("/member alias list demo 张伟", "张伟没有别名账号：导入时按姓名匹配"),
            ("/member alias", "用法：/member alias add 团队 姓名 来源 账号"),
        ],
    )
    assert _aliases(engine, "demo") == [("李娜", "avaya", "1002")]
    with unit_of_work(engine) as session:
        entries = session.exec(select(AuditLog).where(AuditLog.entity == "member_alias")).all()
        assert {e.action for e in entries} == {"member_alias.add", "member_alias.remove"}
        assert all(e.actor == f"member:{world['周人事']}" for e in entries)


def test_an_english_admin_is_answered_in_english(
    engine: Engine, clock: Clock, world: dict[str, int]
) -> None:
    chat = FakeChat(Router(engine, AppConfig(), clock), "周人事")
    run(chat, [
        ("/lang en", "English"),
        ("/member alias add london Bob zendesk bob@example.com",
         "bob@example.com is now Bob's zendesk account: imports of zendesk files find Bob by it."),
    ])  # fmt: skip


def test_someone_who_is_not_an_admin_cannot_change_accounts(
    engine: Engine, clock: Clock, world: dict[str, int]
) -> None:
    chat = FakeChat(Router(engine, AppConfig(), clock), "张伟")
    run(chat, [("/member alias add demo 张伟 taobao 示例旗舰店:小张", "只有管理员")])
    assert _aliases(engine, "demo") == []


def test_accounts_from_the_command_line(engine: Engine, world: dict[str, int]) -> None:
    runner, app = CliRunner(), build_app()
    url = engine.url.render_as_string(hide_password=False)

    def kpibot(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, ["member", "alias", *args, "--db", url, "--lang-ui", "en"])
        return result.exit_code, result.stdout, result.stderr

    code, out, _err = kpibot(
        "add", "--team", "demo", "--name", "张伟", "--source", "jd", "--alias", "jd_zhangwei"
    )
    assert (
        code == 0
        and out.strip()
        == "jd_zhangwei is now 张伟's jd account: imports of jd files find 张伟 by it."
    )
    code, out, err = kpibot(
        "add", "--team", "demo", "--name", "李娜", "--source", "jd", "--alias", "JD_ZHANGWEI"
    )
    assert code == 2 and "jd_zhangwei is already 张伟's jd account" in err and out == ""
    code, out, _err = kpibot("list", "--team", "demo")
    assert code == 0 and out.splitlines() == [
        "Accounts in demo:",
        "· 张伟 — jd (JD Dongdong account (UID)): jd_zhangwei",
    ]
    code, out, _err = kpibot(
        "remove", "--team", "demo", "--name", "张伟", "--source", "jd", "--alias", "jd_zhangwei"
    )
    assert code == 0 and "no longer" in out
    assert _aliases(engine, "demo") == []
