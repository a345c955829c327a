"""Fixtures for the survey links, page and ratings: one team (a manager, two agents, an
open period) in the shared ``engine`` (tests/conftest.py), and the survey routes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.survey_page import AddressLimiter, survey_routes
from commands.context import AppConfig
from commands.survey import make_token
from storage.db import unit_of_work
from storage.models import Member, Period, Team

SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
NOW = datetime(2026, 10, 14, 9, 30, tzinfo=UTC)


@dataclass
class World:
    engine: Engine
    team_id: int
    agent_id: int
    other_agent_id: int
    manager_id: int
    period_id: int
    now: datetime

    def token(self, *, days: float = 7, member_id: int | None = None, ref: str | None = None,
              period_id: int | None = None) -> str:
        return make_token(
            SECRET,
            member_id=member_id or self.agent_id,
            team_id=self.team_id,
            period_id=self.period_id if period_id is None else period_id,
            expires_at=self.now + timedelta(days=days),
            ref=ref,
        )


def seed_team(engine: Engine, now: datetime = NOW, name: str = "demo") -> World:
    with unit_of_work(engine) as session:
        team = Team(name=name, lang="zh")
        session.add(team)
        session.flush()
        assert team.id is not None
        manager = Member(team_id=team.id, name="张经理", role="manager")
        session.add(manager)
        session.flush()
        agent = Member(team_id=team.id, name="王小红", role="agent", manager_id=manager.id)
        other = Member(team_id=team.id, name="李明", role="agent", manager_id=manager.id)
        period = Period(team_id=team.id, key="2026-10", starts_on=date(2026, 10, 1),
                        ends_on=date(2026, 10, 31), status="open")
        session.add_all([agent, other, period])
        session.flush()
        assert agent.id and other.id and manager.id and period.id
        return World(engine, team.id, agent.id, other.id, manager.id, period.id, now)


@pytest.fixture
def world(engine: Engine) -> World:
    return seed_team(engine)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


def make_client(engine: Engine, clock: Clock, *, limit: int = 1000,
                limiter: AddressLimiter | None = None) -> TestClient:
    config = AppConfig(public_url="http://testserver", secret=SECRET,
                       extra={"survey_rate_limit": limit})
    routes = survey_routes(engine, config, clock=clock, limiter=limiter)
    return TestClient(Starlette(routes=routes), base_url="http://testserver")


@pytest.fixture
def client(engine: Engine, clock: Clock, world: World) -> TestClient:
    return make_client(engine, clock)
