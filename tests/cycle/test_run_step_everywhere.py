"""A step does all of its work however it is started (issue 18 item 1).

``kpibot cycle run-step`` runs here in a process of its own, as an admin runs it on a server:
it imports only what the command line needs, so a piece of a step that was added to it only
when some other module happened to be imported (the personal-goal messages of ``open``,
the customer-comment digests of ``daily``) would be missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.engine import Engine

from commands import cycle, feedback, survey_notices
from commands.people import TeamClock
from storage import consequences, repo
from storage import outbox as store
from storage.db import unit_of_work
from tests.cycle.test_steps import make_team

CLI = "from bot.cli import main; main()"


def _run_step(engine: Engine, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-c", CLI, "cycle", "run-step", *args, "--db", str(engine.url)],
        capture_output=True, text=True, timeout=120, env=dict(os.environ), check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _kinds(engine: Engine, team_id: int) -> list[tuple[int | None, str]]:
    with unit_of_work(engine) as session:
        return [
            (r.member_id, r.kind) for r in store.list_messages(session=session, team_id=team_id)
        ]


def test_run_step_open_from_the_command_line_sends_the_personal_goals_too(
    engine: Engine,
) -> None:
    with unit_of_work(engine) as session:
        team_id = make_team(session, "shanghai", "Asia/Shanghai")
        team = repo.get_team(session=session, team_id=team_id)
        assert team is not None
        agent = repo.get_member_by_name(session=session, team=team, name="shanghai-agent0")
        assert agent is not None and agent.id is not None
        consequences.add_goal(session=session, team=team, member=agent, period_key="2026-10",
                              text="Answer faster", due_on=date(2026, 10, 31),
                              created_by="shanghai-boss")  # fmt: skip
        agent_id = agent.id
    _run_step(engine, "open", "--team", "shanghai", "--period", "2026-10")
    kinds = _kinds(engine, team_id)
    assert (agent_id, "open.self") in kinds
    assert (agent_id, "goals") in kinds, kinds


def test_run_step_daily_from_the_command_line_sends_the_comment_digests_too(
    engine: Engine,
) -> None:
    with unit_of_work(engine) as session:
        team_id = make_team(session, "shanghai", "Asia/Shanghai")
        team = repo.get_team(session=session, team_id=team_id)
        assert team is not None
        agent = repo.get_member_by_name(session=session, team=team, name="shanghai-agent0")
        assert agent is not None and agent.id is not None
        clock = TeamClock.of(team)
        yesterday = clock.date(datetime.now(UTC)) - timedelta(days=1)
        repo.add_customer_rating(
            session=session,
            team=team,
            member=agent,
            token_id="t-1",
            stars=4,
            comment="quick and kind",
            now=clock.at(yesterday, time(12)),
        )
        agent_id = agent.id
    _run_step(engine, "daily", "--team", "shanghai")
    assert any(m == agent_id and k.startswith("survey-digest") for m, k in _kinds(engine, team_id))


def test_the_cycle_table_lists_every_step_and_each_hook_once() -> None:
    assert tuple(cycle.CYCLE) == cycle.STEP_NAMES == ("open", "remind", "close", "publish", "daily")
    assert cycle.CYCLE["open"].hooks == (feedback.goals_at_open,)
    assert survey_notices.comment_digest_hook in cycle.CYCLE["daily"].hooks
    for step in cycle.CYCLE.values():
        assert len(set(step.hooks)) == len(step.hooks), step.name
