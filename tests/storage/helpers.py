"""Small builders for storage tests."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from storage import repo
from storage.models import Member, Period, Team

NOW = datetime(2026, 10, 15, 9, 30, tzinfo=UTC)


def team_with_agents(
    session: Session, *names: str, team_name: str = "t1"
) -> tuple[Team, Period, list[Member]]:
    team = repo.create_team(session=session, name=team_name, now=NOW)
    period = repo.get_or_create_period(session=session, team=team, key="2026-10")
    members = [repo.add_member(session=session, team=team, name=n, now=NOW) for n in names]
    return team, period, members
