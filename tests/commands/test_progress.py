"""``/status``: a manager sees, per agent of theirs, what is done and missing this period, who
cannot be reached, and reminds the missing ones (the cycle's reminder texts, through the
outbox, at most once a day per person)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from commands import cycle, people
from commands import permissions as p
from commands.i18n import translator
from commands.router import Router
from storage import outbox as outbox_store
from storage import repo
from storage.db import unit_of_work
from tests.commands.conftest import REVIEW_WINDOW_NOW
from tests.conftest import Clock
from tests.conversations.transcript import FakeChat


def _self_review(engine: Engine, team: str, name: str) -> None:
    with unit_of_work(engine) as session:
        t = repo.get_team_by_name(session=session, name=team)
        assert t is not None
        period = repo.get_period(session=session, team=t, key="2026-10")
        agent = repo.get_member_by_name(session=session, team=t, name=name)
        assert period is not None and agent is not None
        repo.save_review(session=session, period=period, subject=agent, rater=agent, kind="self",
                         answers={"attitude": 4, "task_completion": 4}, actor="test", reason=None,
                         submitted_at=REVIEW_WINDOW_NOW)  # fmt: skip


def _manager_review(engine: Engine, team: str, name: str) -> None:
    with unit_of_work(engine) as session:
        t = repo.get_team_by_name(session=session, name=team)
        assert t is not None
        period = repo.get_period(session=session, team=t, key="2026-10")
        agent = repo.get_member_by_name(session=session, team=t, name=name)
        assert agent is not None
        boss = people.manager_of(agent, session=session)
        assert period is not None and agent is not None and boss is not None
        repo.save_review(
            session=session,
            period=period,
            subject=agent,
            rater=boss,
            kind="manager",
            answers={"ability": 4, "collaboration": 4, "service": 4},
            actor="test",
            reason=None,
            submitted_at=REVIEW_WINDOW_NOW,
        )


def _link_slack(engine: Engine, team: str, name: str, user_id: str) -> None:
    with unit_of_work(engine) as session:
        t = repo.get_team_by_name(session=session, name=team)
        member = repo.get_member_by_name(session=session, team=t, name=name)  # type: ignore[arg-type]
        assert member is not None
        repo.link_platform(
            session=session, member=member, platform="slack", user_id=user_id, actor="test"
        )


def _reminders(engine: Engine) -> list[tuple[str, str]]:
    with unit_of_work(engine) as session:
        names = {}
        for team in repo.list_teams(session=session):
            names |= {m.id: m.name for m in repo.list_members(session=session, team=team)}
        return [
            (names[r.member_id], r.reply["text"])
            for r in outbox_store.list_messages(session=session)
            if r.kind.startswith("remind.") and r.member_id is not None
        ]


def test_a_manager_sees_what_each_of_their_agents_has_done_and_who_is_unreachable(
    engine: Engine, router: Router
) -> None:
    _self_review(engine, "london", "Alice")
    _manager_review(engine, "london", "Alice")
    _link_slack(engine, "london", "Bob", "U0BOB")
    reply = FakeChat(router, "Mary").say("/status")[0]
    text = reply.text
    assert text.startswith("Progress of london for 2026-10 (open, reviews close 2026-11-06 18:00):")
    lines = {line.split(" — ")[0][2:]: line for line in text.splitlines() if line.startswith("· ")}
    assert set(lines) == {"Alice", "Bob", "Carol", "Dave"}
    assert lines["Alice"].startswith(
        "· Alice — Self-review ✓ · Manager review ✓ · KPI data 2/2 ✓ · Peer ratings 0/3 ✗"
    )
    assert (
        lines["Bob"]
        == "· Bob — Self-review ✗ · Manager review ✗ · KPI data 2/2 ✓ · Peer ratings 0/3 ✗"
    )
    assert lines["Carol"].endswith("⚠ no Slack, Telegram or Feishu account")  # the registry's
    assert (
        "In all: self-reviews missing: 3, manager reviews missing: 3, KPI data incomplete: 0."
        in text
    )
    assert "(/member set): Alice, Carol, Dave" in text
    assert [b.label for b in reply.buttons] == ["Remind them"]
    assert reply.private  # names and what they have not done: to the asker's DM, never the channel


def test_missing_kpi_data_and_the_chinese_view(engine: Engine, router: Router) -> None:
    text = FakeChat(router, "王经理").say("/status demo 2026-10")[0].text
    assert text.startswith(
        "demo 团队 2026-10 进度（" + translator("zh")("open") + "，评价截止 2026-11-06 18:00）："
    )
    line = next(x for x in text.splitlines() if x.startswith("· 陈静"))
    assert "KPI 数据 1/2 ✗" in line  # her refund ratio is explicitly missing
    assert "⚠ 未关联 Slack、Telegram 或飞书账号" in line


def test_remind_them_sends_the_cycles_reminder_once_a_day_and_not_to_the_asker(
    engine: Engine, router: Router, clock: Clock
) -> None:
    _self_review(engine, "london", "Alice")
    mary = FakeChat(router, "Mary")
    mary.say("/status london")
    button = mary.button("Remind them")
    said = mary.press_button(button)[0].text
    assert said.startswith("Reminder sent to Bob, Carol, Dave.")
    assert "their reminder waits in /inbox: Bob, Carol, Dave" in said
    en = translator("en")
    expected = cycle.self_reminder(en, "2026-10", "2026-11-06 18:00")
    assert sorted(_reminders(engine)) == [
        ("Bob", expected),
        ("Carol", expected),
        ("Dave", expected),
    ]
    again = mary.press_button(button)[0].text
    assert again == "Already reminded today, so not again: Bob, Carol, Dave."
    assert len(_reminders(engine)) == 3
    # an admin reminds the manager of her four missing reviews, in her language
    admin = FakeChat(router, "周人事")
    admin.say("/status london")
    said = admin.press("提醒他们")[0].text
    assert "Mary" in said and "今天已提醒过" in said
    manager_note = [t for who, t in _reminders(engine) if who == "Mary"]
    assert manager_note == [
        cycle.manager_reminder(
            "en", "2026-10", ["Alice", "Bob", "Carol", "Dave"], "2026-11-06 18:00"
        )
    ]
    clock.advance(days=1)
    assert mary.press_button(button)[0].text.startswith("Reminder sent to Bob, Carol, Dave.")
    assert len(_reminders(engine)) == 7


def test_the_cycles_own_reminder_today_counts_as_the_days_reminder(
    engine: Engine, router: Router, clock: Clock
) -> None:
    with unit_of_work(engine) as session:
        london = repo.get_team_by_name(session=session, name="london")
        assert london is not None
        cycle.run_step(
            session,
            team=london,
            period_key="2026-10",
            step="remind.1",
            now=clock.now,
            worker="test",
        )
    mary = FakeChat(router, "Mary")
    mary.say("/status")
    said = mary.press("Remind them")[0].text
    assert said == "Already reminded today, so not again: Alice, Bob, Carol, Dave."


def test_a_manager_follows_only_their_own_agents_and_nobody_else_sees_a_status(
    engine: Engine, router: Router
) -> None:
    assert FakeChat(router, "Mary").say("/status demo")[0].text == translator("en")(
        p.STATUS_OWN_TEAMS
    )
    assert FakeChat(router, "Alice").say("/status")[0].text == translator("en")(
        p.STATUS_ONLY_LEADERS
    )
    with unit_of_work(engine) as session:
        demo = repo.get_team_by_name(session=session, name="demo")
        mary = repo.get_member_by_name(
            session=session, team=repo.get_team_by_name(session=session, name="london"), name="Mary"
        )  # type: ignore[arg-type]
        assert demo is not None and mary is not None
        repo.add_team_manager(session=session, team=demo, member=mary)
    said = FakeChat(router, "Mary").say("/status demo")[0]
    assert "No agents of yours in this team." in said.text and not said.buttons


def test_a_forged_remind_button_for_another_team_changes_nothing(
    engine: Engine, router: Router, world: dict[str, int]
) -> None:
    from commands.messages import Incoming

    replies = router.handle(Incoming(platform="test", user_id="王经理", action="status:remind",
                                     value=str(world["period:london"])))  # fmt: skip
    assert replies and not replies[0].buttons
    assert _reminders(engine) == []
    replies = router.handle(Incoming(platform="test", user_id="Alice", action="status:remind",
                                     value=str(world["period:london"])))  # fmt: skip
    assert _reminders(engine) == []


def test_a_closed_window_has_no_remind_button_and_the_button_says_why(
    engine: Engine, router: Router, world: dict[str, int]
) -> None:
    mary = FakeChat(router, "Mary")
    mary.say("/status")
    button = mary.button("Remind them")
    with unit_of_work(engine) as session:
        london = repo.get_team_by_name(session=session, name="london")
        period = repo.get_period(session=session, team=london, key="2026-10")  # type: ignore[arg-type]
        assert period is not None
        repo.set_period_status(
            session=session, period=period, status="closed", actor="test", reason="test"
        )
    assert not mary.say("/status london 2026-10")[0].buttons
    said = mary.press_button(button)[0].text
    assert said == "The review window of 2026-10 is not open: there is nothing to remind anyone of."
    assert _reminders(engine) == []


def test_without_a_stored_window_the_close_comes_from_the_teams_plan(
    engine: Engine, router: Router
) -> None:
    with unit_of_work(engine) as session:
        london = repo.get_team_by_name(session=session, name="london")
        period = repo.get_period(session=session, team=london, key="2026-10")  # type: ignore[arg-type]
        assert london is not None and period is not None
        period.review_closes_at = None
        planned = {s.base: s.at for s in cycle.planned(london, "2026-10", session=session)}["close"]
        expected = people.TeamClock.of(london).text(planned)
    mary = FakeChat(router, "Mary")
    assert f"(open, reviews close {expected}):" in mary.say("/status")[0].text
    mary.press("Remind them")
    assert all(f"the window closes {expected}." in text for _who, text in _reminders(engine))
