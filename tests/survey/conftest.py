"""Fixtures for the survey links, page and ratings: one team (a manager, two agents, an
open period) in the shared ``engine`` (tests/conftest.py), and the survey routes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from bot.survey_page import AddressLimiter, survey_routes
from bot.web import build_web_app
from commands.context import AppConfig
from commands.survey_tokens import make_token
from storage.db import unit_of_work
from storage.models import Member, Period, Team
from tests.conftest import Clock

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

    def token(
        self,
        *,
        days: float = 7,
        member_id: int | None = None,
        ref: str | None = None,
        period_id: int | None = None,
    ) -> str:
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
        period = Period(
            team_id=team.id,
            key="2026-10",
            starts_on=date(2026, 10, 1),
            ends_on=date(2026, 10, 31),
            status="open",
        )
        session.add_all([agent, other, period])
        session.flush()
        assert agent.id and other.id and manager.id and period.id
        return World(engine, team.id, agent.id, other.id, manager.id, period.id, now)


@pytest.fixture
def world(engine: Engine) -> World:
    return seed_team(engine)


@pytest.fixture
def clock_start() -> datetime:
    return NOW


def make_client(
    engine: Engine, clock: Clock, *, limit: int = 1000, limiter: AddressLimiter | None = None
) -> TestClient:
    config = AppConfig(
        public_url="http://testserver", secret=SECRET, extra={"survey_rate_limit": limit}
    )
    routes = survey_routes(engine, config, clock=clock, limiter=limiter)
    return TestClient(build_web_app(routes), base_url="http://testserver")


@pytest.fixture
def client(engine: Engine, clock: Clock, world: World) -> TestClient:
    return make_client(engine, clock)


def scheme_text(
    *,
    repeat: str = "replace",
    expiry_days: int = 7,
    csat: str = "share_4_5",
    min_responses: int = 1,
    below_min: str = "exclude",
    default: float | None = None,
    customer_weight: int = 50,
) -> str:
    """A small scheme: a self-review and the customer component, with these settings."""
    extra = f"default = {default}\n" if default is not None else ""
    return f'''
id = "survey_test"
name.zh = "满意度测试方案"
name.en = "Satisfaction test scheme"

[[components]]
id = "self"
kind = "self"
weight = {100 - customer_weight}
[[components.dimensions]]
id = "task_completion"
name.zh = "工作任务完成情况"
name.en = "Task completion"
weight = 100

[[components]]
id = "customer"
kind = "customer"
weight = {customer_weight}
csat = "{csat}"
min_responses = {min_responses}
below_min = "{below_min}"
{extra}link_expiry_days = {expiry_days}
repeat = "{repeat}"
'''


def use_scheme(engine: Engine, team_id: int, text: str) -> None:
    from storage import repo

    with unit_of_work(engine) as session:
        team = repo.get_team(session=session, team_id=team_id)
        assert team is not None
        scheme = repo.get_or_create_scheme(
            session=session,
            key="survey_test",
            text=text,
            name_zh="满意度测试方案",
            name_en="Satisfaction test scheme",
        )
        repo.set_team_scheme(session=session, team=team, scheme=scheme, actor="test", reason=None)
