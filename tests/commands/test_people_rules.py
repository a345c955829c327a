"""The one rule of "the manager of" (commands.people): whoever is told about an agent never
someone who left, the manager's manager standing in, the team's managers last.

The team: director 周总 manages 王经理, who manages the agent 张伟; 赵主管 manages the team
too. 王经理 leaves with 张伟 still pointing at them (a row written before ``member remove``
released the agents, or by hand): plans, appeals, meeting prompts, notes and alerts about
张伟 go to 周总, never to 王经理.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.sender import Job, tell_manager
from commands import people
from storage import outbox as store
from storage import repo
from storage.db import unit_of_work
from storage.models import Member, Team

NOW = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Names:
    team: int
    director: int
    manager: int
    other_manager: int
    agent: int


@pytest.fixture
def names(engine: Engine) -> Names:
    with unit_of_work(engine) as session:
        team = repo.create_team(session=session, name="south", timezone="Asia/Shanghai")
        director = repo.add_member(session=session, team=team, name="周总", role="manager")
        manager = repo.add_member(session=session, team=team, name="王经理", role="manager",
                                  manager=director)  # fmt: skip
        other = repo.add_member(session=session, team=team, name="赵主管", role="manager")
        agent = repo.add_member(session=session, team=team, name="张伟", manager=manager)
        ids = [m.id for m in (director, manager, other, agent)]
        assert team.id is not None and all(i is not None for i in ids)
        return Names(team.id, *ids)  # type: ignore[arg-type]


def _leaves(session: Session, member_id: int) -> None:
    """Marked as left, with whoever pointed at them still pointing (no release)."""
    member = session.get(Member, member_id)
    assert member is not None
    repo.update_member(session=session, member=member, changes={"active": False}, actor="test",
                       now=NOW)  # fmt: skip


def _get(session: Session, member_id: int) -> Member:
    member = session.get(Member, member_id)
    assert member is not None
    return member


def test_the_manager_of_an_agent_is_their_direct_manager_while_they_are_active(
    engine: Engine, names: Names
) -> None:
    with unit_of_work(engine) as session:
        agent = _get(session, names.agent)
        assert people.manager_of(agent, session=session) == _get(session, names.manager)
        team = session.get(Team, names.team)
        assert team is not None
        grouped = people.managers_of([agent], team=team, session=session)
        assert grouped == {names.manager: [agent]}


def test_when_the_manager_left_the_managers_manager_stands_in_then_the_teams_first_manager(
    engine: Engine, names: Names
) -> None:
    with unit_of_work(engine) as session:
        _leaves(session, names.manager)
        agent = _get(session, names.agent)
        assert people.manager_of(agent, session=session) == _get(session, names.director)
        _leaves(session, names.director)
        # the team's active managers in id order: 赵主管 is the only one left
        assert people.manager_of(agent, session=session) == _get(session, names.other_manager)
        team = session.get(Team, names.team)
        assert team is not None
        assert people.managers_of([agent], team=team, session=session) == {
            names.other_manager: [agent]
        }


def test_nobody_is_their_own_manager_and_a_team_without_managers_has_none(
    engine: Engine, names: Names
) -> None:
    with unit_of_work(engine) as session:
        other = _get(session, names.other_manager)
        # 赵主管 has no direct manager: the team's first active manager who is not 赵主管
        assert people.manager_of(other, session=session) == _get(session, names.director)
        for who in (names.director, names.manager, names.other_manager):
            _leaves(session, who)
        assert people.manager_of(_get(session, names.agent), session=session) is None


def test_a_late_plan_escalates_to_the_managers_active_superior_else_the_admins(
    engine: Engine, names: Names
) -> None:
    with unit_of_work(engine) as session:
        team = session.get(Team, names.team)
        assert team is not None
        admin = repo.add_member(session=session, team=team, name="周人事", role="admin")
        agent = _get(session, names.agent)
        assert people.escalation_of(agent, session=session) == [_get(session, names.director)]
        _leaves(session, names.manager)  # the director is now the agent's manager; above: nobody
        assert people.escalation_of(agent, session=session) == [admin]
        assert people.admins_of(session=session) == [admin]
        assert people.admins_of(session=session, team=team) == [admin]


def test_the_note_that_an_agent_cannot_be_reached_never_goes_to_a_manager_who_left(
    engine: Engine, names: Names
) -> None:
    with unit_of_work(engine) as session:
        _leaves(session, names.manager)
        job = Job(row_id=1, key="result:1", team_id=names.team, period_id=None,
                  member_id=names.agent, kind="result", data={}, platform="slack", chat="U1",
                  lane="direct")  # fmt: skip
        assert tell_manager(session, job, "no Slack account", now=NOW)
    with unit_of_work(engine) as session:
        told = [
            r.member_id
            for r in store.list_messages(session=session, team_id=names.team)
            if r.kind.startswith("note.unreachable")
        ]
    assert told == [names.director]


def test_team_local_dates_and_times_come_from_the_team_clock() -> None:
    clock = people.TeamClock.of("Asia/Shanghai")
    late = datetime(2026, 10, 31, 16, 30, tzinfo=UTC)  # 11-01 00:30 in Shanghai
    assert clock.date(late).isoformat() == "2026-11-01"
    assert clock.text(late) == "2026-11-01 00:30"
    assert clock.text(None) == "—"
    monday_9 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 local
    assert clock.in_working_hours(monday_9)
    assert not clock.in_working_hours(datetime(2026, 11, 2, 9, 45, tzinfo=UTC))  # 17:45 + 30 min
    assert not clock.in_working_hours(datetime(2026, 11, 1, 1, 0, tzinfo=UTC))  # Sunday
    from scoring.cycle_rules import CycleRules

    rules = CycleRules()
    assert clock.in_quiet_hours(datetime(2026, 11, 2, 12, 30, tzinfo=UTC), rules)  # 20:30
    assert not clock.in_quiet_hours(monday_9, rules)


def test_a_zone_that_cannot_be_loaded_is_read_as_utc_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    people.zone_of.cache_clear()
    clock = people.TeamClock.of("Mars/Olympus")
    moment = datetime(2026, 11, 2, 23, 30, tzinfo=UTC)
    assert clock.date(moment).isoformat() == "2026-11-02"
    assert clock.text(moment) == "2026-11-02 23:30"
    assert "Mars/Olympus" in caplog.text
