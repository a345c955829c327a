"""Feedback meetings are offered first to those the result has consequences for (issue 14 item 10).

Seed 004 asks the last N for an improvement plan within a week of publication; the meeting that
explains the result must come before that deadline. So the agents asked for a plan (and those with
a change of post or an open appeal) get the manager's earliest times, every one before their plan's
deadline (``results.plan_deadline``), and the rest follow in rank order.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from commands import results
from commands.feedback import SLOT_MINUTES, meeting_order, propose_slots
from commands.router import Router
from storage import consequences as store
from storage import outbox as outbox_store
from storage import repo
from storage.db import unit_of_work
from tests.conftest import Clock
from tests.consequences.test_consequences import APPLY, _publish, _use_scheme
from tests.conversations.transcript import FakeChat
from tests.conversations.world import SCHEME_TEXT

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def published(engine: Engine, router: Router, clock: Clock) -> Router:
    """2026-10 published on Friday 2026-11-06 20:00 Shanghai time: the plans are due Friday 11-13
    23:59."""
    _use_scheme(engine, SCHEME_TEXT + APPLY)
    FakeChat(router, "周人事").say("/calibrate lock 2026-10")
    _publish(engine, clock)
    return router


def _meetings(
    engine: Engine, team_name: str
) -> tuple[dict[str, list[datetime]], dict[str, datetime], dict[str, int]]:
    """Per agent of the team: the offered slot times, the plan deadline (if asked), the rank."""
    with unit_of_work(engine) as s:
        team = repo.get_team_by_name(session=s, name=team_name)
        assert team is not None
        period = repo.get_period(session=s, team=team, key="2026-10")
        assert period is not None
        names = {m.id: m.name for m in repo.list_members(session=s, team=team)}
        slots = {
            names[m.member_id]: [
                x.starts_at.replace(tzinfo=UTC) for x in store.list_slots(session=s, meeting=m)
            ]
            for m in store.list_meetings(session=s, period=period)
        }
        due = {
            names[p.member_id]: p.due_at.replace(tzinfo=UTC)
            for p in store.list_plans(session=s, period=period)
        }
        ranks = {
            names[x.member_id]: x.rank
            for x in repo.list_scores(session=s, period=period)
            if x.rank is not None
        }
    return slots, due, ranks


@pytest.mark.parametrize("team_name", ["london", "demo"])
def test_those_asked_for_a_plan_are_offered_the_first_meetings_all_before_their_plan_deadline(
    engine: Engine, published: Router, team_name: str
) -> None:
    slots, due, ranks = _meetings(engine, team_name)
    assert len(due) == 2 and set(slots) == set(
        ranks
    )  # the last two of four, and a meeting for everyone
    for name, deadline in due.items():
        assert deadline == datetime(
            2026, 11, 13, 23, 59, tzinfo=SHANGHAI
        )  # results.plan_deadline, 7 days
        assert slots[name] and all(
            at + timedelta(minutes=SLOT_MINUTES) <= deadline for at in slots[name]
        )
    rest = sorted((n for n in slots if n not in due), key=lambda n: ranks[n])
    assert max(min(slots[n]) for n in due) < min(min(slots[n]) for n in rest)
    assert [min(slots[n]) for n in rest] == sorted(
        min(slots[n]) for n in rest
    )  # then in rank order


def test_the_slot_offers_go_out_to_those_asked_for_a_plan_first(
    engine: Engine, published: Router
) -> None:
    _slots, due, _ranks = _meetings(engine, "london")
    with unit_of_work(engine) as s:
        london = repo.get_team_by_name(session=s, name="london")
        assert london is not None
        names = {m.id: m.name for m in repo.list_members(session=s, team=london)}
        offers = [
            names[m.member_id]
            for m in sorted(
                outbox_store.list_messages(session=s, team_id=london.id), key=lambda m: m.id or 0
            )
            if m.kind == "feedback.slots" and m.member_id in names
        ]
    assert set(offers[:2]) == set(due) and len(offers) == 4


def test_an_open_appeal_brings_the_agents_meeting_forward(
    engine: Engine, published: Router
) -> None:
    with unit_of_work(engine) as s:
        london = repo.get_team_by_name(session=s, name="london")
        assert london is not None
        period = repo.get_period(session=s, team=london, key="2026-10")
        assert period is not None
        outcome = results.compute(london, period, session=s)
        assert outcome is not None
        before = [x.name for x in meeting_order(s, period, outcome)]
        best = next(x for x in outcome.scored if x.rank == 1)
        member = repo.get_member(session=s, member_id=best.member_id)
        assert member is not None
        store.create_appeal(session=s, team=london, period=period, member=member, component="kpi",
                            reason="the export is wrong", before={})  # fmt: skip
        after = [x.name for x in meeting_order(s, period, outcome)]
    assert before.index(best.name) == 2  # rank 1 comes after the two asked for a plan
    assert after.index(best.name) == 0  # with an open appeal: among the first, in rank order


def _local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def test_a_tight_plan_deadline_packs_several_meeting_times_a_day_before_it() -> None:
    """Published Friday evening, plans due Tuesday 23:59: two agents need six times on Monday and
    Tuesday."""
    published_at, deadline = _local("2026-11-06 20:00"), _local("2026-11-10 23:59")
    first = propose_slots(published_at, "Asia/Shanghai", before=deadline)
    second = propose_slots(published_at, "Asia/Shanghai", before=deadline, busy=first)
    both = first + second
    assert len(set(both)) == 6
    assert {at.astimezone(SHANGHAI).strftime("%a %H:%M") for at in both} == {
        "Mon 10:00",
        "Mon 14:00",
        "Mon 16:00",
        "Tue 10:00",
        "Tue 14:00",
        "Tue 16:00",
    }


def test_without_a_free_time_before_the_deadline_the_usual_later_times_are_offered() -> None:
    published_at, deadline = (
        _local("2026-11-06 20:00"),
        _local("2026-11-08 23:59"),
    )  # due Sunday: no working hour
    assert propose_slots(published_at, "Asia/Shanghai", before=deadline) == propose_slots(
        published_at, "Asia/Shanghai"
    )
