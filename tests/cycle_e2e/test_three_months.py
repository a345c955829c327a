"""Three months of the cycle for two teams in different time zones, on a frozen clock.

The clock jumps from one planned step to the next (``commands.cycle.planned``: open,
reminders, close, publish, for the periods 2026-09 … 2026-11, plus the daily step at
09:30 local time); each step is fired through the scheduler (``CycleScheduler.fire`` →
``commands.cycle.run_step``), and after each one the outbox sender delivers to a fake
Telegram that records every message. Between steps people act through the router:
reviews, calibration, improvement plans, an appeal.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import count
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from bot.scheduler import DAILY_AT, CycleScheduler
from bot.sender import Limits, Sender
from bot.telegram.render import CallbackCodec
from commands.context import AppConfig
from commands.cycle import planned
from commands.messages import Incoming, Outgoing
from commands.router import Router
from storage import consequences as store
from storage import outbox as outbox_store
from storage import repo
from storage.db import unit_of_work
from tests.conftest import Clock
from tests.conversations.transcript import FakeChat
from tests.cycle_e2e import world

pytestmark = pytest.mark.slow
START = world.utc(2026, 9, 20, 0, 0)
FAST = {"telegram": Limits(overall=100_000.0, per_chat=100_000.0, chat_burst=1000)}


@dataclass
class FakeTelegram:
    """Records what each person (and each team chat) was sent."""

    codec: CallbackCodec = field(default_factory=CallbackCodec)
    sent: list[tuple[int | None, str, str]] = field(default_factory=list)  # (member id, key, text)
    _ids: Any = field(default_factory=lambda: count(1))

    async def send_outgoing(self, outgoing: Outgoing) -> str | None:
        self.sent.append((outgoing.member_id, outgoing.key, outgoing.reply.text))
        return f"tg:{next(self._ids)}"

    async def send_rendered(self, chat_id: int, rendered: Any) -> Any:
        self.sent.append((None, f"chat:{chat_id}", rendered.text))
        return SimpleNamespace(chat_id=chat_id, message_id=next(self._ids))


@dataclass(frozen=True)
class Event:
    at: datetime
    team_id: int
    period_key: str
    step: str


class Month3:
    """The run: the timeline, the clock, the scheduler, the sender, the people."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.clock = Clock(START)
        self.ids = world.build(engine, now=START)
        with unit_of_work(engine) as s:
            for i, team in enumerate(repo.list_teams(session=s), start=1):
                team.telegram_chat_id = str(-1000 - i)
        self.scheduler = CycleScheduler(engine, clock=self.clock, worker="e2e")
        self.telegram = FakeTelegram()
        self.router = Router(engine, AppConfig(), self.clock)
        self.fired: list[tuple[Event, str]] = []

    def timeline(self) -> list[Event]:
        events: list[Event] = []
        with unit_of_work(self.engine) as s:
            for team in repo.list_teams(session=s):
                assert team.id is not None
                for key in world.MONTHS:
                    events += [
                        Event(p.at, team.id, key, p.step) for p in planned(team, key, session=s)
                    ]
                zone = ZoneInfo(team.timezone)
                day = datetime(2026, 10, 1, tzinfo=zone).date()
                while day <= datetime(2026, 12, 31).date():
                    at = datetime.combine(day, DAILY_AT, zone).astimezone(ZoneInfo("UTC"))
                    events.append(Event(at, team.id, day.isoformat(), "daily"))
                    day += timedelta(days=1)
        return sorted(events, key=lambda e: (e.at, e.team_id, e.step))

    def fire(self, event: Event) -> None:
        self.clock.now = event.at
        status = asyncio.run(self.scheduler.fire(event.team_id, event.period_key, event.step))
        self.fired.append((event, status))
        self.deliver()

    def deliver(self) -> None:
        sender = Sender(self.engine, {"telegram": self.telegram}, worker="e2e-sender", limits=FAST,
                        clock=self.clock, idle_poll=0.01)  # fmt: skip
        asyncio.run(sender.drain(timeout=60))

    def chat(self, name: str) -> FakeChat:
        return FakeChat(self.router, name)

    def texts_to(self, name: str) -> list[str]:
        return [t for m, _k, t in self.telegram.sent if m == self.ids[name]]

    def keys_to(self, name: str) -> list[str]:
        return [k for m, k, _t in self.telegram.sent if m == self.ids[name]]


LATE_SELF = {"Bob", "陈静"}


def _act(run: Month3, event: Event, month: int, state: dict[str, Any]) -> None:
    """What people do right after a step (the step's own messages are already delivered)."""
    if event.step == "open":
        if not state.get(f"data-{month}"):
            world.enter_month_data(
                run.engine, month, at=event.at + timedelta(hours=1), skip_self=LATE_SELF
            )
            state[f"data-{month}"] = True
    elif event.step.startswith("remind") and not state.get(f"late-self-{month}-{event.team_id}"):
        world.enter_late_self_reviews(
            run.engine, month, LATE_SELF, at=event.at + timedelta(hours=2), team_id=event.team_id
        )
        state[f"late-self-{month}-{event.team_id}"] = True
    elif event.step == "close" and month == 0 and not state.get("calibrated"):
        run.clock.now = event.at + timedelta(hours=2)
        reply = run.chat("周人事").say("/calibrate 2026-09")[0]
        state["calibration_view"] = reply.text
        run.chat("周人事").say("/calibrate lock 2026-09")
        state["calibrated"] = True


def _run(engine: Engine) -> tuple[Month3, dict[str, Any]]:
    run = Month3(engine)
    state: dict[str, Any] = {}
    for event in run.timeline():
        month = world.MONTHS.index(event.period_key) if event.period_key in world.MONTHS else -1
        run.fire(event)
        if month >= 0:
            _act(run, event, month, state)
        if event.step == "publish" and month == 0 and event.team_id == run_team(run, "london"):
            _improvement_plans(run, event, state)
            _feedback_meeting(run, event, state)
        if event.step == "publish" and month == 1 and event.team_id == run_team(run, "london"):
            _appeal(run, event, state)
    return run, state


def run_team(run: Month3, name: str) -> int:
    with unit_of_work(run.engine) as s:
        team = repo.get_team_by_name(session=s, name=name)
        assert team is not None and team.id is not None
        return team.id


def _improvement_plans(run: Month3, event: Event, state: dict[str, Any]) -> None:
    """Dave writes his plan the next day and Mary approves it; Carol never does."""
    run.clock.now = event.at + timedelta(days=1)
    dave = run.chat("Dave")
    dave.say("/improve")
    dave.say("Long replies at the evening peak")
    dave.say("Use quick-reply templates from Monday")
    dave.say("One coaching hour")
    state["dave_plan"] = [r.text for r in dave.say("submit")]
    run.deliver()
    state["mary_approve"] = run.chat("Mary").say("/improve approve Dave good plan")[0].text
    run.deliver()


def _feedback_meeting(run: Month3, event: Event, state: dict[str, Any]) -> None:
    """Carol takes the second proposed time; after the meeting Mary records notes and a SMART goal;
    Carol acknowledges."""
    run.clock.now = event.at + timedelta(days=1, hours=2)
    carol = run.chat("Carol")
    offer = carol.say("/feedback")[0]
    state["slot_labels"] = [b.label for b in offer.buttons]
    state["slot_accepted"] = carol.send(
        carol._incoming(action=offer.buttons[1].action, value=offer.buttons[1].value)
    )[0].text
    run.deliver()
    run.clock.now = event.at + timedelta(days=4)
    mary = run.chat("Mary")
    mary.say(
        "/feedback notes Carol agreed: peak-hour replies are the cause; quick replies from Monday"
    )
    state["goal_saved"] = mary.say(
        "/feedback goal Carol avg_response_s=45 2026-10-31 answer within 45 seconds"
    )[0].text
    run.deliver()
    ack = carol.say("/feedback")[0]
    state["acknowledged"] = carol.send(
        carol._incoming(action=ack.buttons[0].action, value=ack.buttons[0].value)
    )[0].text
    run.deliver()


def _appeal(run: Month3, event: Event, state: dict[str, Any]) -> None:
    """Dave appeals 2026-10's indicator table; Mary upholds it with the corrected value."""
    run.clock.now = event.at + timedelta(hours=3)
    filed = run.chat("Dave").say(
        "/appeal kpi my response time was 29 s; the export counted a night shift"
    )[0]
    appeal_id = filed.text.split("#")[1].split()[0]
    run.deliver()
    state["appeal_decided"] = (
        run.chat("Mary")
        .say(f"/appeal uphold {appeal_id} avg_response_s=29 the shift log confirms it")[0]
        .text
    )
    state["appeal_id"] = int(appeal_id)
    run.deliver()


@pytest.fixture(scope="module")
def three_months(
    tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Any
) -> tuple[Month3, dict[str, Any]]:
    import shutil

    from storage.db import make_engine

    path = tmp_path_factory.mktemp("e2e") / "kpibot.db"
    shutil.copyfile(_sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    return _run(engine)


def test_every_step_ran_once_and_none_failed(three_months: tuple[Month3, dict[str, Any]]) -> None:
    run, _state = three_months
    statuses = Counter(status for _e, status in run.fired)
    assert statuses["failed"] == 0
    steps = Counter((e.team_id, e.period_key, e.step) for e, s in run.fired if s == "ran")
    assert all(n == 1 for n in steps.values())
    publishes = [e for e, s in run.fired if e.step == "publish" and s == "ran"]
    assert len(publishes) == 6  # two teams × three months


def test_reminders_go_out_at_the_planned_local_times_on_working_days(
    three_months: tuple[Month3, dict[str, Any]],
) -> None:
    run, _state = three_months
    with unit_of_work(run.engine) as s:
        rows = [m for m in outbox_store.list_messages(session=s) if m.kind.startswith("remind.")]
        teams = {t.id: t for t in repo.list_teams(session=s)}
        assert rows, "some self-reviews were missing at the first reminder"
        fired_at = {
            (e.team_id, e.period_key): e.at
            for e, st in run.fired
            if e.step.startswith("remind") and st == "ran"
        }
        for row in rows:
            team = teams[row.team_id]
            local = row.created_at.astimezone(ZoneInfo(team.timezone))
            assert local.weekday() < 5 and 9 <= local.hour < 20, (team.name, local)
            period = repo.get_period_by_id(session=s, period_id=row.period_id or 0)
            assert period is not None
            assert row.created_at == fired_at[(row.team_id, period.key)]
        reminded = {
            repo.get_member(session=s, member_id=r.member_id).name for r in rows if r.member_id
        }  # type: ignore[union-attr]
    assert reminded == LATE_SELF
    london_hours = {
        r.created_at.astimezone(ZoneInfo("Europe/London")).hour
        for r in rows
        if teams[r.team_id].name == "london"
    }
    shanghai_hours = {
        r.created_at.astimezone(ZoneInfo("Asia/Shanghai")).hour
        for r in rows
        if teams[r.team_id].name == "shanghai"
    }
    assert london_hours == shanghai_hours == {9}  # 09:00 local in both zones: different UTC times


def test_each_agent_gets_each_result_exactly_once(
    three_months: tuple[Month3, dict[str, Any]],
) -> None:
    run, _state = three_months
    for name in ("Alice", "Bob", "Carol", "Dave", "李娜", "张伟", "刘洋", "陈静"):
        results = [k for k in run.keys_to(name) if k.endswith("/result")]
        assert len(results) == 3, (name, results)
        assert len(set(results)) == 3
    delivered = Counter(k for _m, k, _t in run.telegram.sent if not k.startswith("chat:"))
    assert max(delivered.values()) == 1  # no outbox row was delivered twice


def test_calibration_before_publication_locked_the_first_month(
    three_months: tuple[Month3, dict[str, Any]],
) -> None:
    run, state = three_months
    assert "Mary" in state["calibration_view"] and "王经理" in state["calibration_view"]
    with unit_of_work(run.engine) as s:
        audit = [e for e in repo.audit_trail(session=s, entity="score") if e.action == "score.lock"]
        assert any(e.actor == f"member:{run.ids['周人事']}" for e in audit)


def test_managers_get_a_five_part_prompt_filled_from_data(
    three_months: tuple[Month3, dict[str, Any]],
) -> None:
    run, _state = three_months
    prompts = [
        t for t in run.texts_to("Mary") if t.startswith("Feedback meeting with Carol about 2026-11")
    ]
    assert len(prompts) == 1
    carol = prompts[0]
    for part in (
        "1. Class: low performer",
        "earlier mean",
        "2. Goal",
        "Refund ratio: from 7% to 6%",
        "3. The four questions",
        "Why? Refund ratio lost 50 points",
        "Carol: faster first replies",
        "4. Proposed times",
        "5. Outline",
        "/feedback notes Carol",
    ):
        assert part in carol, part
    zh = [t for t in run.texts_to("王经理") if "刘洋" in t and "2026-11" in t and "5." in t]
    assert zh and "退款比例" in zh[0]


def test_the_meeting_is_scheduled_recorded_and_its_goal_shown_when_the_next_self_review_opens(
    three_months: tuple[Month3, dict[str, Any]],
) -> None:
    run, state = three_months
    assert len(state["slot_labels"]) == 3 and "set for" in state["slot_accepted"]
    assert any("Carol accepted the feedback meeting" in t for t in run.texts_to("Mary"))
    assert "personal target for 2026-10" in state["goal_saved"]
    assert state["acknowledged"].startswith("Thank you")
    goals = [t for t in run.texts_to("Carol") if t.startswith("Your personal goals for 2026-10")]
    assert (
        len(goals) == 1
        and "answer within 45 seconds (Average response time 45 s by 2026-10-31)" in goals[0]
    )
    opened = [
        k
        for k in run.keys_to("Carol")
        if k.endswith("/2026-10/" + str(run.ids["Carol"]) + "/open.self")
    ]
    assert opened  # the goals come with the opening of 2026-10's self-review
    with unit_of_work(run.engine) as s:
        london = repo.get_team_by_name(session=s, name="london")
        period = repo.get_period(session=s, team=london, key="2026-09")  # type: ignore[arg-type]
        carol = repo.get_member(session=s, member_id=run.ids["Carol"])
        meeting = store.get_meeting(session=s, period=period, member=carol)  # type: ignore[arg-type]
        assert (
            meeting is not None and meeting.status == "acknowledged" and meeting.slot_at is not None
        )
        assert "peak-hour replies" in (meeting.notes or "")


def test_two_improvement_plans_one_approved_and_one_late_and_escalated(
    three_months: tuple[Month3, dict[str, Any]],
) -> None:
    run, state = three_months
    assert any("sent to your manager" in t for t in state["dave_plan"])
    assert "approved" in state["mary_approve"]
    assert any("Long replies at the evening peak" in t for t in run.texts_to("Mary"))
    escalated = [t for t in run.texts_to("Director") if "improvement plan for 2026-09" in t]
    assert len(escalated) == 1 and "Carol" in escalated[0]
    assert any("Reminder: your improvement plan is due" in t for t in run.texts_to("Carol"))
    with unit_of_work(run.engine) as s:
        london = repo.get_team_by_name(session=s, name="london")
        period = repo.get_period(session=s, team=london, key="2026-09")  # type: ignore[arg-type]
        plans = {
            repo.get_member(session=s, member_id=p.member_id).name: p
            for p in store.list_plans(session=s, period=period)
        }  # type: ignore[union-attr]
    assert plans["Dave"].status == "approved"
    assert (
        plans["Carol"].status == "requested" and plans["Carol"].escalated_to == run.ids["Director"]
    )


def test_an_appeal_changes_a_rank_and_the_ranking_is_republished_to_those_who_saw_it(
    three_months: tuple[Month3, dict[str, Any]],
) -> None:
    run, state = three_months
    assert "upheld" in state["appeal_decided"]
    with unit_of_work(run.engine) as s:
        appeal = store.get_appeal(session=s, appeal_id=state["appeal_id"])
        assert appeal is not None
        assert (appeal.before["rank"], appeal.after["rank"]) == (3, 2)
        restated = [
            e for e in repo.audit_trail(session=s, entity="score") if e.action == "score.restate"
        ]
        assert restated and all("shift log" in (e.reason or "") for e in restated)
    london = run_team(run, "london")
    corrected = [
        (m, t) for m, k, t in run.telegram.sent if f"/ranking.corrected.{state['appeal_id']}" in k
    ]
    receivers = {m for m, _t in corrected}
    saw_ranking = {
        m
        for m, k, _t in run.telegram.sent
        if k.startswith(f"{london}/2026-10/") and k.rsplit("/", 1)[1] in ("result", "manager.table")
    }
    assert receivers == saw_ranking
    assert {run.ids[n] for n in ("Alice", "Bob", "Carol", "Dave", "Mary")} <= receivers
    assert not receivers & {run.ids[n] for n in ("李娜", "王经理", "周人事")}
    channel = [
        t
        for m, k, t in run.telegram.sent
        if m is None and t.startswith("Corrected ranking of london for 2026-10")
    ]
    assert len(channel) == 1  # the team chat saw the ranking, so it sees the correction once
    assert channel[0].index("Dave") < channel[0].index("Bob")
    assert any("rank 2" in t for t in run.texts_to("Dave"))


def test_three_last_places_raise_a_post_change_flag_to_admins_only(
    three_months: tuple[Month3, dict[str, Any]],
) -> None:
    run, _state = three_months
    to_admin = [t for t in run.texts_to("周人事") if "岗位调整" in t]
    assert len(to_admin) == 2  # the admin speaks Chinese: Carol and 刘洋, once each, after 2026-11
    assert any("Carol" in t and "2026-11" in t and "3" in t for t in to_admin)
    assert any("刘洋" in t and "2026-11" in t for t in to_admin)
    teammates = ("Alice", "Bob", "Dave", "李娜", "张伟", "陈静")
    assert not any(_mentions_post_change(t) for n in teammates for t in run.texts_to(n))


def _mentions_post_change(text: str) -> bool:
    return any(w in text for w in ("岗位调整", "change of post", "review of post"))


def test_the_team_chat_never_sees_a_post_change_flag(
    three_months: tuple[Month3, dict[str, Any]],
) -> None:
    run, _state = three_months
    assert not any(_mentions_post_change(t) for m, _k, t in run.telegram.sent if m is None)


def test_an_admin_asking_for_the_ranking_in_a_group_gets_the_post_change_flags_privately(
    three_months: tuple[Month3, dict[str, Any]],
) -> None:
    run, _state = three_months
    with unit_of_work(run.engine) as s:
        team_names = [t.name for t in repo.list_teams(session=s)]
    flagged_replies = []
    for name in team_names:
        replies = run.router.handle(
            Incoming(platform="test", user_id="周人事", text=f"/rank {name} 2026-11", chat="group")
        )
        flagged_replies += [r for r in replies if _mentions_post_change(r.text)]
    assert flagged_replies, "the admin's ranking names the change-of-post flags"
    assert all(r.private for r in flagged_replies)
