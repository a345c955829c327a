"""Times come back aware in UTC; numbers come back as the exact Decimal that went in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlalchemy.exc import StatementError
from sqlmodel import Session

from storage import repo
from storage.db import unit_of_work
from storage.models import Team
from storage.types import NaiveDatetimeError

from .helpers import team_with_agents

SHANGHAI = timezone(timedelta(hours=8))


def test_an_aware_time_comes_back_as_the_same_instant_in_utc(db_engine: Engine) -> None:
    local = datetime(2026, 10, 31, 23, 59, 58, 123456, tzinfo=SHANGHAI)
    with unit_of_work(db_engine) as session:
        team = repo.create_team(session=session, name="tz", now=local)
        team_id = team.id
    with unit_of_work(db_engine) as session:
        stored = session.get(Team, team_id)
        assert stored is not None
        assert stored.created_at == local
        assert stored.created_at.tzinfo is not None
        assert stored.created_at.utcoffset() == timedelta(0)
        assert stored.created_at.hour == 15


def test_a_naive_time_is_refused(db_session: Session) -> None:
    with pytest.raises(StatementError) as caught:
        repo.create_team(session=db_session, name="naive", now=datetime(2026, 1, 1))
    assert isinstance(caught.value.orig, NaiveDatetimeError)


def test_times_compare_in_sql_by_instant_not_by_offset(db_session: Session) -> None:
    from sqlmodel import col, select

    early = datetime(2026, 10, 1, 8, 0, tzinfo=SHANGHAI)  # 00:00 UTC
    late = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)
    repo.create_team(session=db_session, name="early", now=early)
    repo.create_team(session=db_session, name="late", now=late)
    cutoff = datetime(2026, 10, 1, 8, 30, tzinfo=SHANGHAI)  # 00:30 UTC
    names = db_session.exec(select(Team.name).where(col(Team.created_at) < cutoff)).all()
    assert list(names) == ["early"]


@pytest.mark.parametrize(
    "value",
    ["0", "0.1", "0.3333333333", "123456789012345678.0123456789", "-42.5", "1E+3", "0.0000000001"],
)
def test_decimals_round_trip_exactly(db_engine: Engine, value: str) -> None:
    with unit_of_work(db_engine) as session:
        _, period, (agent,) = team_with_agents(session, "王小红")
        repo.set_indicator_value(
            session=session,
            period=period,
            member=agent,
            indicator="order_amount",
            value=Decimal(value),
            source="manual",
            actor="test",
            reason=None,
        )
    with unit_of_work(db_engine) as session:
        period2 = repo.get_period(
            session=session,
            team=repo.get_team_by_name(session=session, name="t1"),
            key="2026-10",  # type: ignore[arg-type]
        )
        assert period2 is not None
        (row,) = repo.indicator_values(session=session, period=period2)
        assert isinstance(row.value, Decimal)
        assert row.value == Decimal(value)


def test_a_float_is_stored_through_its_shortest_decimal_form(db_session: Session) -> None:
    _, period, (agent,) = team_with_agents(db_session, "a")
    row = repo.set_indicator_value(
        session=db_session,
        period=period,
        member=agent,
        indicator="conversion_rate",
        value=0.1,
        source="manual",
        actor="test",
        reason=None,
    )
    db_session.expire_all()
    assert repo.get_indicator_value(
        session=db_session, period=period, member=agent, indicator="conversion_rate"
    ).value == Decimal("0.1")  # type: ignore[union-attr]
    assert row.id is not None


def test_a_number_too_large_for_the_column_is_refused(db_session: Session) -> None:
    _, period, (agent,) = team_with_agents(db_session, "a")
    with pytest.raises(ValueError):
        repo.set_indicator_value(
            session=db_session,
            period=period,
            member=agent,
            indicator="order_amount",
            value=Decimal("1e20"),
            source="manual",
            actor="test",
            reason=None,
        )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.decimals(
        min_value=Decimal("-99999999999999999"),
        max_value=Decimal("99999999999999999"),
        places=10,
        allow_nan=False,
        allow_infinity=False,
    )
)
def test_any_decimal_with_ten_places_round_trips_on_sqlite(engine: Engine, value: Decimal) -> None:
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="h")
        if team is None:
            team = repo.create_team(session=session, name="h")
            repo.add_member(session=session, team=team, name="a")
        period = repo.get_or_create_period(session=session, team=team, key="2026-10")
        agent = repo.get_member_by_name(session=session, team=team, name="a")
        assert agent is not None
        repo.set_indicator_value(
            session=session,
            period=period,
            member=agent,
            indicator="x",
            value=value,
            source="manual",
            actor="test",
            reason=None,
        )
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="h")
        assert team is not None
        period = repo.get_period(session=session, team=team, key="2026-10")
        assert period is not None
        agent = repo.get_member_by_name(session=session, team=team, name="a")
        assert agent is not None and agent.id is not None
        assert repo.indicator_table(session=session, period=period)[agent.id]["x"] == value
