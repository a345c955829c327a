"""``make soak``'s small version (issue 20 item 4): ``bench/soak.py`` for 50 agents in 5 teams, on
Slack and Telegram people, for the review window and the days after it, through the strict
fakes: no error reply, every queued reminder delivered once, a p99 per command per day and the
memory by day reported (the full month for 10,000 agents is ``make soak``, not in the suite)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from bench.soak import Person
from scoring.scheme_parser import parse_scheme
from storage import repo
from storage.db import make_engine, unit_of_work, upgrade
from tests.fakes.slack_api import TEAM_ID

ROOT = Path(__file__).parents[2]
DAYS = 9


@pytest.mark.slow
def test_a_small_soak_has_no_error_reply_and_delivers_every_message_once() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "soak.py"), "--teams", "5", "--agents-per-team", "10",
         "--days", str(DAYS)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["agents"] == 50 and figures["teams"] == 5
    assert figures["errors"] == 0
    assert figures["self_reviews"] == 50  # every agent submitted through the chat
    # the two reminders of 50 agents (and their managers) queued, sent and delivered once
    assert (
        figures["sent"] > 0 and figures["delivered"] == figures["sent"] and figures["failed"] == 0
    )
    assert len(figures["rss_mb"]) == DAYS and all(m > 0 for m in figures["rss_mb"])
    assert figures["days"] == DAYS and len(figures["load_by_day"]) == DAYS
    assert len(figures["gc_ms_by_day"]) == DAYS and sum(figures["gc_ms_by_day"]) > 0
    pauses = zip(figures["gc_longest_ms_by_day"], figures["gc_ms_by_day"], strict=True)
    # a quiet day may have no collection at all (CI saw one): then no pause either
    assert all(longest <= total and (longest > 0) == (total > 0) for longest, total in pauses)
    for command in ("me", "rank", "status", "other"):
        for figure in ("p99_ms", "cpu_p99_ms"):
            days = figures[figure][command]
            assert len(days) == DAYS and all(v is not None and v > 0 for v in days), command
    assert isinstance(figures["goals_met"], bool) and len(figures["load_average"]) == 2


def test_a_soak_stopped_by_the_clock_reports_the_days_it_played() -> None:
    already = datetime.now(UTC).isoformat()  # a moment that has passed: no day begins
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "soak.py"), "--teams", "1", "--agents-per-team", "2",
         "--days", "3", "--no-fakes", "--stop-at", already],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["days"] == 0 and figures["requests"] == 0 and figures["rss_mb"] == []
    assert figures["flat"] is None and figures["goals_met"] is False


def linked(person: Person) -> dict[str, str]:
    return {f"{person.platform}_user_id": person.user_id}


def stored_one_row_at_a_time(engine: Engine, teams: int, per_team: int) -> None:
    """The soak's organisation as the product's use cases store it: one ``storage.repo`` call
    (and flush) per team, member, period and value, in :func:`bench.soak.plan`'s order."""
    from bench.soak import SCHEME, SETUP_AT, START, plan

    text = SCHEME.read_text(encoding="utf-8")
    parsed = parse_scheme(text)
    with unit_of_work(engine) as session:
        scheme = repo.get_or_create_scheme(
            session=session,
            key=parsed.id,
            text=text,
            name_zh=parsed.name_zh,
            name_en=parsed.name_en,
            content_hash=parsed.content_hash,
            now=SETUP_AT,
        )
        for team in plan(teams, per_team):
            on_slack = team.platform == "slack"
            row = repo.create_team(
                session=session,
                name=team.name,
                lang="en" if on_slack else "zh",
                scheme=scheme,
                slack_team_id=TEAM_ID if on_slack else None,
                now=SETUP_AT,
            )
            manager = repo.add_member(
                session=session,
                team=row,
                name=team.manager.name,
                role="manager",
                now=SETUP_AT,
                **linked(team.manager),
            )
            period = repo.get_or_create_period(
                session=session,
                team=row,
                key="2026-10",
                status="open",
                review_opens_at=START,
                review_closes_at=START + timedelta(days=7),
            )
            members = {}
            for agent in team.agents:
                members[agent.name] = repo.add_member(
                    session=session,
                    team=row,
                    name=agent.name,
                    role="agent",
                    manager=manager,
                    now=SETUP_AT,
                    **linked(agent),
                )
            for agent, indicator, value in team.values:
                repo.set_indicator_value(
                    session=session,
                    period=period,
                    member=members[agent.name],
                    indicator=indicator,
                    value=value,
                    source="soak",
                    actor="soak",
                    reason=None,
                    now=SETUP_AT,
                )


def every_row(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as connection:
        names = sorted(inspect(connection).get_table_names())
        return {
            name: sorted(
                (tuple(r) for r in connection.execute(text(f'SELECT * FROM "{name}"'))), key=repr
            )
            for name in names
        }


def test_the_bulk_set_up_stores_the_same_world_as_one_row_at_a_time(tmp_path: Path) -> None:
    from bench.soak import organisation

    worlds = {}
    for way in ("bulk", "one_by_one"):
        engine = make_engine(f"sqlite:///{tmp_path / way}.db")
        upgrade(engine)
        if way == "bulk":
            managers, agents = organisation(engine, 8, 3)  # teams t0000 and t0007 on Slack
            assert [m.name for m in managers][:2] == ["m0000", "m0001"] and len(agents) == 24
        else:
            stored_one_row_at_a_time(engine, 8, 3)
        worlds[way] = every_row(engine)
        engine.dispose()
    bulk, reference = worlds["bulk"], worlds["one_by_one"]
    assert len(reference["member"]) == 32 and len(reference["member_identity"]) == 32
    assert len(reference["audit_log"]) == 48 and len(reference["team_manager"]) == 8
    assert {r[2] for r in reference["member_identity"]} == {"slack", "telegram"}
    # the inputs' version is a counter of flushes (one a row in the reference, one a hundred
    # teams in bulk): both say the same thing, a version newer than any stored result
    states = {way: world.pop("result_state") for way, world in worlds.items()}
    assert [(r[0], r[2:]) for r in states["bulk"]] == [(r[0], r[2:]) for r in states["one_by_one"]]
    assert [r[0] for r in states["bulk"]] == [r[0] for r in reference["period"]]
    assert all(r[1] >= 1 and r[2] is None for rows in states.values() for r in rows)
    assert bulk.keys() == reference.keys()
    for table in reference:
        assert bulk[table] == reference[table], table
