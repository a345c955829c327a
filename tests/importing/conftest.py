"""A sample team (three agents and a manager) and the sample export files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session

from commands.importing import PeriodInfo, Roster
from storage import repo
from storage.models import Team

DATA = Path(__file__).resolve().parents[1] / "data" / "imports"
AGENTS = (("王小红", "Wang Xiaohong"), ("李明", "Li Ming"), ("张伟", "Zhang Wei"))
OCTOBER = PeriodInfo("2026-10", date(2026, 10, 1), date(2026, 10, 31))
JD_UIDS = {"jd_wangxh": 1, "jd_liming": 2, "jd_zhangwei": 3}
"""The agents' JD accounts (UID), as member aliases would give them to the importer."""


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


@pytest.fixture
def roster() -> Roster:
    members: dict[str, int] = {}
    for number, (zh, en) in enumerate(AGENTS, start=1):
        members[zh] = number
        members[en] = number
    members.update(JD_UIDS)
    return Roster("sample", members)


@pytest.fixture
def team(session: Session) -> Team:
    team = repo.create_team(session=session, name="sample")
    boss = repo.add_member(
        session=session, team=team, name="赵经理", name_en="Manager Zhao", role="manager"
    )
    for zh, en in AGENTS:
        repo.add_member(session=session, team=team, name=zh, name_en=en, manager=boss)
    session.flush()
    return team


@pytest.fixture
def session(db_session: Session) -> Session:
    """Every database test here runs on SQLite and on PostgreSQL (skipped loudly without it)."""
    return db_session
