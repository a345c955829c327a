"""Publication says who is unreachable and the admin is told (issue 17 item 6): in the terminal
chat, the admin who publishes reads how many cannot be reached and a notice naming them, in Chinese
and in English; someone a platform reaches is not named."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from commands.router import Router
from storage import repo
from storage.db import unit_of_work
from tests.commands.conftest import review_everyone
from tests.console.test_inbox_in_the_terminal import console


def test_the_admin_publishing_in_chinese_is_told_who_gets_nothing(
    router: Router, world_db: Engine, media: Path
) -> None:
    with unit_of_work(world_db) as session:
        london = repo.get_team_by_name(session=session, name="london")
        bob = repo.get_member_by_name(session=session, team=london, name="Bob")  # type: ignore[arg-type]
        assert bob is not None
        repo.link_platform(
            session=session, member=bob, platform="slack", user_id="U0BOB", actor="test"
        )
    marks = {"Alice": 5, "Bob": 4, "Carol": 3, "Dave": 2}
    review_everyone(world_db, "london", self_scores=marks, manager_scores=marks)
    admin = console(router, world_db, "周人事", media)
    shown = admin.send("/runstep publish london 2026-10")
    assert "无法联系到的成员 4 位（消息在 /inbox 中等待）" in shown, shown
    assert (
        "london 2026-10 的结果已发布，但无法联系到 Alice、Carol、Dave、Mary：他们没有关联 "
        "Slack、Telegram 或飞书账号，结果在 /inbox 中等待。请用 /member set london 姓名 slack=… 或 "
        "telegram=… 关联。"
    ) in shown
    assert "Bob" not in shown.split("无法联系到 ")[1].split("：")[0]


def test_the_admin_publishing_in_english_is_told_who_gets_nothing(
    router: Router, world_db: Engine, media: Path
) -> None:
    marks = {"Alice": 5, "Bob": 4, "Carol": 3, "Dave": 2}
    review_everyone(world_db, "london", self_scores=marks, manager_scores=marks)
    admin = console(router, world_db, "周人事", media)
    admin.send("/lang en")
    shown = admin.send("/runstep publish london 2026-10")
    assert "people no platform reaches (their messages wait in /inbox): 5" in shown, shown
    assert (
        "london 2026-10 is published, but Alice, Bob, Carol, Dave, Mary cannot be reached: no "
        "Slack, Telegram or Feishu account is linked, so their results wait in /inbox."
    ) in shown
