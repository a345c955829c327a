from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from commands import forms
from commands.context import AppConfig
from commands.router import Router
from storage.db import unit_of_work
from storage.models import Member, Team
from tests.conftest import Clock
from tests.conversations import toyform


@pytest.fixture
def db(engine: Engine) -> Engine:
    """A migrated SQLite file database (the shared ``engine`` fixture of tests/conftest.py)."""
    return engine


@pytest.fixture
def people(db: Engine) -> dict[str, int]:
    with unit_of_work(db) as session:
        zh = Team(name="demo", lang="zh")
        en = Team(name="london", lang="en")
        session.add_all([zh, en])
        session.flush()
        rows = {
            "王经理": Member(team_id=zh.id, name="王经理", role="manager"),
            "李娜": Member(
                team_id=zh.id, name="李娜", role="agent", slack_user_id="U1", telegram_user_id="77"
            ),
            "Alice": Member(team_id=en.id, name="Alice", role="agent"),
            "Ghost": Member(team_id=en.id, name="Ghost", role="agent", active=False),
        }
        session.add_all(rows.values())
        session.flush()
        return {name: m.id for name, m in rows.items() if m.id is not None}


@pytest.fixture
def toy_router(
    db: Engine, clock: Clock, people: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> Router:
    return Router(db, AppConfig(), clock, modules=[forms, toyform])
