"""The month in the terminal chat: what kpibot sends on its own (reminders, results, plan
requests …) is shown to the person at the console as it would arrive, and ``/inbox`` lists what
the others would have received (issue 17, "The month in the terminal chat")."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.console import ConsoleChat, repl
from commands import cycle, people
from commands.i18n import translator
from commands.inbox_view import arrivals
from commands.messages import Reply
from commands.router import Router
from storage import outbox as outbox_store
from storage import repo
from storage.db import unit_of_work
from tests.commands.conftest import review_everyone


def _member_id(engine: Engine, name: str) -> int:
    with unit_of_work(engine) as session:
        for team in repo.list_teams(session=session):
            found = repo.get_member_by_name(session=session, team=team, name=name)
            if found is not None:
                return found.id or 0
    raise AssertionError(name)


def _arrivals_of(engine: Engine, name: str) -> Callable[[], list[Reply]]:
    member_id = _member_id(engine, name)

    def look() -> list[Reply]:
        with unit_of_work(engine) as session:
            return arrivals(session, member_id, datetime.now(UTC))

    return look


def console(router: Router, engine: Engine, name: str, media: Path) -> ConsoleChat:
    return ConsoleChat(router, name, media, arrivals=_arrivals_of(engine, name))


def _closes(engine: Engine, team: str) -> str:
    with unit_of_work(engine) as session:
        t = repo.get_team_by_name(session=session, name=team)
        period = repo.get_period(session=session, team=t, key="2026-10")  # type: ignore[arg-type]
        assert t is not None and period is not None
        return people.TeamClock.of(t).text(period.review_closes_at)


def test_a_reminder_arrives_in_the_agents_terminal_once_and_inbox_lists_the_others(
    router: Router, world_db: Engine, media: Path
) -> None:
    mary = console(router, world_db, "Mary", media)
    assert "Progress of london for 2026-10" in mary.send("/status")
    assert mary.send("1").startswith(
        "Reminder sent to Alice, Bob, Carol, Dave."
    )  # the "Remind them" button
    listed = mary.send("/inbox")
    assert listed.startswith(
        "Waiting for people with no Slack, Telegram or Feishu account (4 messages):"
    )
    assert "· Alice: Reminder: your self-review for 2026-10 is still missing" in listed
    alice = console(router, world_db, "Alice", media)
    reminder = cycle.self_reminder(translator("en"), "2026-10", _closes(world_db, "london"))
    assert alice.check() == f"📬 kpibot wrote to you (2026-10):\n{reminder}"
    assert alice.check() == "", "shown once"
    assert "Question 1 of 4" in alice.send("/selfreview")
    listed = mary.send("/inbox")
    assert "(3 messages)" in listed and "· Alice:" not in listed
    assert mary.send("/inbox Bob") == f"Waiting for Bob (1):\n\n{reminder}"


def test_in_chinese_the_reminder_and_the_inbox_read_in_chinese(
    router: Router, world_db: Engine, media: Path
) -> None:
    wang = console(router, world_db, "王经理", media)
    wang.send("/status")
    assert wang.send("1").startswith("已向李娜、张伟、刘洋、陈静发送提醒。")
    assert wang.send("/inbox").startswith(
        "以下消息等待尚未关联 Slack、Telegram 或飞书账号的成员（共 4 条）："
    )
    li = console(router, world_db, "李娜", media)
    shown = li.send("/help")
    reminder = cycle.self_reminder(translator("zh"), "2026-10", _closes(world_db, "demo"))
    assert shown.endswith(f"📬 kpibot 给你发来消息（2026-10）：\n{reminder}"), shown


def test_results_published_from_the_console_arrive_at_the_agents_console_with_their_buttons(
    router: Router, world_db: Engine, media: Path
) -> None:
    admin = console(router, world_db, "周人事", media)
    marks = {"Alice": 5, "Bob": 4, "Carol": 3, "Dave": 2}
    review_everyone(world_db, "london", self_scores=marks, manager_scores=marks)
    assert "london" in admin.send("/runstep publish london 2026-10")
    dave = console(router, world_db, "Dave", media)
    shown = dave.check()
    assert shown.startswith("📬 kpibot wrote to you (2026-10):"), shown
    assert "2026-10" in shown
    mary = console(router, world_db, "Mary", media)
    assert "📬 kpibot wrote to you (2026-10):" in mary.send("/help")  # her team table
    with unit_of_work(world_db) as session:
        dave_id = _member_id(world_db, "Dave")
        waiting = outbox_store.undelivered(session=session, member_ids=[dave_id])
    assert waiting == []


def test_someone_a_platform_reaches_gets_nothing_in_the_console(
    router: Router, world_db: Engine, media: Path
) -> None:
    with unit_of_work(world_db) as session:
        london = repo.get_team_by_name(session=session, name="london")
        bob = repo.get_member_by_name(session=session, team=london, name="Bob")  # type: ignore[arg-type]
        assert bob is not None
        repo.link_platform(
            session=session, member=bob, platform="slack", user_id="U0BOB", actor="test"
        )
    mary = console(router, world_db, "Mary", media)
    mary.send("/status")
    mary.send("1")
    assert console(router, world_db, "Bob", media).check() == ""
    assert "· Bob:" not in mary.send("/inbox")


def test_the_chat_shows_what_waited_right_after_the_greeting(
    router: Router, world_db: Engine, media: Path
) -> None:
    mary = console(router, world_db, "Mary", media)
    mary.send("/status")
    mary.send("1")
    out = io.StringIO()
    lines = iter(["/quit"])
    repl(
        console(router, world_db, "Carol", media),
        read=lambda _prompt: next(lines),
        out=out,
        greeting="Hello Carol",
    )
    assert out.getvalue().startswith(
        "Hello Carol\n📬 kpibot wrote to you (2026-10):\nReminder: your self-review"
    )


def test_inbox_shows_a_manager_only_their_own_agents_and_never_an_admins_notice(
    router: Router, world_db: Engine, media: Path
) -> None:
    from commands import outbox

    with unit_of_work(world_db) as session:
        london = repo.get_team_by_name(session=session, name="london")
        demo = repo.get_team_by_name(session=session, name="demo")
        assert london is not None and demo is not None
        period = repo.get_period(session=session, team=london, key="2026-10")
        alice = repo.get_member_by_name(session=session, team=london, name="Alice")
        admin = repo.get_member_by_name(session=session, team=demo, name="周人事")
        quinn = repo.get_member_by_name(session=session, team=london, name="Quinn")
        assert period is not None and alice is not None and admin is not None and quinn is not None
        outbox.enqueue(session, team=london, period=period, member=alice, kind="result",
                       reply=Reply(text="Your result for 2026-10", private=True))  # fmt: skip
        outbox.enqueue(session, team=london, period=period, member=admin, kind="post_change.1",
                       reply=Reply(text="Alice: last place three times", private=True))  # fmt: skip
        outbox.enqueue(session, team=london, period=period, member=quinn, kind="qa.note",
                       reply=Reply(text="A note for the inspector", private=True))  # fmt: skip
    said = console(router, world_db, "Mary", media).send("/inbox")
    assert "· Alice: Your result for 2026-10" in said
    assert "last place" not in said and "inspector" not in said
    assert console(router, world_db, "王经理", media).send("/inbox") == (
        "没有待发消息：所有消息都已通过 Slack、Telegram 或飞书发出。"
    )
    assert (
        console(router, world_db, "王经理", media).send("/inbox Alice")
        == "在你能查看的成员中，没有等待发给 Alice 的消息。"
    )
    everything = console(router, world_db, "周人事", media).send("/inbox")
    assert "· Alice：" in everything and "· Quinn：" in everything  # the admin reads Chinese
