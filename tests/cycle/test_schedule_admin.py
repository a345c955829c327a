"""/schedule, /runstep, /pause, /resume in chat, and kpibot cycle on the command line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from bot.cli import build_app
from commands import registry
from commands.context import AppConfig
from commands.messages import Incoming
from commands.router import Router
from storage import outbox as store
from storage import repo
from storage.db import unit_of_work
from tests.cycle.test_steps import make_team

NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # Mon 10:00 in Shanghai


@pytest.fixture
def world(engine: Engine) -> Router:
    with unit_of_work(engine) as s:
        team_id = make_team(s, "shanghai", "Asia/Shanghai", cycle="")
        team = repo.get_team(session=s, team_id=team_id)
        repo.add_member(session=s, team=team, name="hr", role="admin", lang="en")
        make_team(s, "newyork", "America/New_York", cycle="")
    return Router(engine, AppConfig(default_lang="en"), lambda: NOW)


def say(router: Router, who: str, text: str) -> str:
    return "\n".join(
        r.text for r in router.handle(Incoming(platform="test", user_id=who, text=text))
    )


def test_an_admin_sees_each_teams_next_steps_in_its_local_time(world: Router) -> None:
    text = say(world, "hr", "/schedule")
    assert "shanghai (Asia/Shanghai)" in text and "newyork (America/New_York)" in text
    assert "2026-11-04 Wed 09:00 2026-10 reminder 1" in text  # both teams plan in local time
    assert text.count("2026-11-05 Thu 10:00 2026-10 publication") == 2


def test_only_an_admin_may_see_or_change_the_schedule(world: Router, engine: Engine) -> None:
    for command in ("/schedule", "/runstep open", "/pause shanghai", "/resume shanghai"):
        name = command.split()[0][1:]
        assert say(world, "shanghai-boss", command) == registry.commands()[name].refusal
    with unit_of_work(engine) as s:
        assert store.list_steps(session=s) == []


def test_an_admin_runs_a_step_now_and_again_without_sending_anything_twice(
    world: Router, engine: Engine
) -> None:
    first = say(world, "hr", "/runstep open shanghai 2026-10")
    again = say(world, "hr", "/runstep open shanghai")
    assert first.startswith("Ran opening for shanghai 2026-10:") and "messages queued: 4" in first
    assert again.startswith("Ran opening for shanghai 2026-10:") and "queued" not in again
    shown = say(world, "hr", "/schedule shanghai")
    assert (
        "2026-10 opening (hr) — run by hr" in shown
        and "member:" not in shown
        and "chat:" not in shown
    )
    with unit_of_work(engine) as s:
        assert len(store.list_messages(session=s)) == 4
        [row] = store.list_steps(session=s)
    assert row.claimed_by.startswith("chat:") and row.note == f"run by member:{row.claimed_by[5:]}"


def test_a_wrong_runstep_says_every_problem(world: Router) -> None:
    text = say(world, "hr", "/runstep shout nowhere 2026-13")
    assert text.splitlines() == [
        "Unknown step shout: use open, remind.1, close, publish or daily.",
        "There is no team called nowhere.",
        "A period is like 2026-10 or 2026-Q4; got 2026-13.",
    ]


def test_a_paused_team_is_shown_paused_and_resumed_with_an_audit_trail(
    world: Router, engine: Engine
) -> None:
    assert (
        say(world, "hr", "/pause shanghai")
        == "shanghai is paused: no step runs until /resume shanghai."
    )
    assert say(world, "hr", "/pause shanghai") == "shanghai was already paused."
    assert "shanghai (Asia/Shanghai): paused" in say(world, "hr", "/schedule shanghai")
    assert say(world, "hr", "/resume shanghai").startswith("shanghai runs again")
    with unit_of_work(engine) as s:
        team = repo.get_team_by_name(session=s, name="shanghai")
        actions = [
            e.action for e in repo.audit_trail(session=s, entity="team", entity_id=str(team.id))
        ]
    assert actions[-2:] == ["team.paused", "team.resumed"]


runner = CliRunner()


def test_the_command_line_shows_runs_and_pauses(world: Router, engine: Engine) -> None:
    db = ["--db", str(engine.url)]
    shown = runner.invoke(build_app(), ["cycle", "show", "--team", "newyork", *db])
    assert (
        shown.exit_code == 0 and "newyork（America/New_York）" in shown.output
    )  # the CLI speaks zh by default
    ran = runner.invoke(
        build_app(), ["cycle", "run-step", "open", "--team", "newyork", "--period", "2026-10", *db]
    )
    assert ran.exit_code == 0 and "已为 newyork 2026-10 执行“开启评价”" in ran.output
    paused = runner.invoke(build_app(), ["cycle", "pause", "newyork", *db])
    assert paused.exit_code == 0 and "newyork 已暂停" in paused.output
    with unit_of_work(engine) as s:
        assert repo.get_team_by_name(session=s, name="newyork").paused


def test_the_command_line_refuses_bad_input_with_exit_code_2(world: Router, engine: Engine) -> None:
    result = runner.invoke(
        build_app(), ["cycle", "run-step", "shout", "--team", "nowhere", "--db", str(engine.url)]
    )
    assert result.exit_code == 2
    assert "未知步骤 shout" in result.output and "没有名为 nowhere 的团队。" in result.output
    assert "Traceback" not in result.output
