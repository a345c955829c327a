"""``/import list`` and ``/import undo N`` in chat: admins only, the same answers as the CLI."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from commands.context import AppConfig
from commands.importing import import_file
from commands.router import Router
from storage import repo
from storage.db import unit_of_work
from tests.conftest import Clock
from tests.conversations.transcript import FakeChat, run

FULL = "Agent,Sessions,Inquiries,Converted\n李娜,400,200,50\n张伟,300,150,30\n"
ZHANG_WEI = "Agent,Sessions,Inquiries,Converted\n张伟,300,150,45\n"


def _import(engine: Engine, text: str, name: str) -> int:
    with unit_of_work(engine) as session:
        report = import_file(
            session,
            team="demo",
            period_key="2026-10",
            mapping="generic_en",
            data=text.encode(),
            file_name=name,
            actor="cli",
        )
        assert report.status == "imported", report.lines("en")
        assert report.import_id is not None
        return report.import_id


def _conversion(engine: Engine, name: str) -> str | None:
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="demo")
        assert team is not None
        period = repo.get_period(session=session, team=team, key="2026-10")
        member = repo.get_member_by_name(session=session, team=team, name=name)
        assert period is not None and member is not None
        value = repo.get_indicator_value(
            session=session, period=period, member=member, indicator="conversion_rate"
        )
        return (
            None if value is None or value.value is None else format(value.value.normalize(), "f")
        )


def test_an_admin_lists_the_imports_and_undoes_a_correction_in_chat(
    engine: Engine, clock: Clock, world: dict[str, int]
) -> None:
    first = _import(engine, FULL, "october.csv")
    second = _import(engine, ZHANG_WEI, "october-zhang-wei.csv")
    assert _conversion(engine, "张伟") == "0.3" and _conversion(engine, "李娜") == "0.25"
    chat = FakeChat(Router(engine, AppConfig(), clock), "周人事")
    run(
        chat,
        [
            (
                "/import list",
                [
                    f"#{second} 2026-10 · october-zhang-wei.csv",
                    f"#{first} 2026-10 · october.csv",
                    "2 行，2 名客服",
                    "1 行，1 名客服",
                ],
            ),
            (f"/import undo {second}", f"已撤销导入 #{second}（october-zhang-wei.csv）"),
            (f"/import undo {second}", "已经撤销过了"),
            ("/import undo 999", "没有导入 #999"),
            ("/import frobnicate", "用法：把导出文件发给我，并在说明里写上团队、期间和映射"),
        ],
    )
    assert _conversion(engine, "张伟") == "0.2" and _conversion(engine, "李娜") == "0.25"


def test_a_manager_may_not_undo_an_import(
    engine: Engine, clock: Clock, world: dict[str, int]
) -> None:
    number = _import(engine, FULL, "october.csv")
    chat = FakeChat(Router(engine, AppConfig(), clock), "王经理")
    run(chat, [(f"/import undo {number}", "只有管理员")])
    assert _conversion(engine, "李娜") == "0.25"
