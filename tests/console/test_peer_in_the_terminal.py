"""``/peer`` in the terminal chat (issue 17, small wording): the colleagues are listed by name,
and when the team's scheme has no peer rating that is said first, before any colleague is
offered, in Chinese and in English."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from bot.console import ConsoleChat
from commands.context import AppConfig
from commands.router import Router
from storage import repo
from storage.db import unit_of_work
from tests.conftest import DEMO_NOW


def _options(shown: str) -> list[str]:
    """The numbered buttons of a reply, ``  1) 刘洋`` → ``刘洋``."""
    return [line.split(") ", 1)[1] for line in shown.splitlines() if line.startswith("  ")]


def test_colleagues_are_listed_by_name_in_chinese_and_in_english(
    router: Router, media: Path
) -> None:
    shown = ConsoleChat(router, "陈静", media).send("/peer")
    assert shown.startswith("你要评价谁？你的回答是匿名的。")
    # 李娜, 张伟, 刘洋 were added in that order; listed by name, not by when they joined
    assert _options(shown)[:3] == sorted(["李娜", "张伟", "刘洋"])
    dave = ConsoleChat(router, "Dave", media)
    assert _options(dave.send("/peer"))[:3] == ["Alice", "Bob", "Carol"]


def test_colleagues_in_pinyin_order_when_members_have_a_latin_name(
    router: Router, world_db: Engine, media: Path
) -> None:
    with unit_of_work(world_db) as session:
        team = repo.get_team_by_name(session=session, name="demo")
        assert team is not None
        for name, latin in (("李娜", "Li Na"), ("张伟", "Zhang Wei"), ("刘洋", "Liu Yang")):
            member = repo.get_member_by_name(session=session, team=team, name=name)
            assert member is not None
            member.name_en = latin
    chat = ConsoleChat(router, "陈静", media)
    assert _options(chat.send("/peer"))[:3] == ["李娜", "刘洋", "张伟"]
    chat.send("/lang en")
    assert _options(chat.send("/peer"))[:3] == ["Li Na", "Liu Yang", "Zhang Wei"]


def test_a_scheme_without_peer_rating_says_so_before_offering_anyone(
    demo_engine: Engine, media: Path
) -> None:
    router = Router(demo_engine, AppConfig(), lambda: DEMO_NOW)
    agent = ConsoleChat(router, "吴婷", media)
    assert agent.send("/peer") == "你所在团队的考核方案不包含同事互评。"
    assert agent.send("/peer 李明") == "你所在团队的考核方案不包含同事互评。"
    agent.send("/lang en")
    assert agent.send("/peer") == "Your team's scheme has no peer rating."
    assert agent.send("/peer 李明") == "Your team's scheme has no peer rating."
