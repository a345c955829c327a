"""`kpibot demo`: a demo team with three closed months of plausible data, loaded idempotently."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from commands.demo import (
    AGENTS,
    DEMO_TEAM,
    DemoSummary,
    default_schemes_dir,
    load_demo,
    reset_demo,
)
from scoring import ScoreInputs, score_team
from scoring.scheme_parser import parse_scheme
from storage import repo
from storage.db import make_engine, unit_of_work, upgrade
from storage.models import AuditLog, Member
from tests.conftest import BACKENDS, PgSchema

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
SCHEME_PATH = default_schemes_dir() / "online_shop.toml"
ONLINE_SHOP_IDS = {
    "conversion_rate",
    "avg_response_s",
    "churn_rate",
    "order_amount",
    "valid_order_share",
    "payment_ratio",
    "refund_ratio",
    "avg_order_value",
    "complaint_share",
    "abnormal_order_share",
    "report_timeliness",
    "report_accuracy",
    "report_quality",
}
needs_scheme = pytest.mark.skipif(not SCHEME_PATH.is_file(), reason=f"{SCHEME_PATH} is missing")


def _load(engine: Engine, now: datetime = NOW) -> DemoSummary:
    with unit_of_work(engine) as session:
        return load_demo(session, now=now)


@pytest.fixture(scope="module", params=BACKENDS)
def demo_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, DemoSummary]]:
    """One database per backend with the demo loaded once, shared by the read-only tests."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        path = tmp_path_factory.mktemp("demo") / "demo.db"
        shutil.copyfile(template, path)
        engine = make_engine(f"sqlite:///{path}")
        yield engine, _load(engine)
        engine.dispose()
        return
    schema = PgSchema(request.getfixturevalue("_pg_admin"))
    engine = schema.engine()
    try:
        upgrade(engine)
        yield engine, _load(engine)
    finally:
        engine.dispose()
        schema.drop()


def test_the_demo_team_has_a_manager_an_admin_and_eight_named_agents(
    demo_db: tuple[Engine, DemoSummary],
) -> None:
    db_engine, summary = demo_db
    with unit_of_work(db_engine) as session:
        team = repo.get_team_by_name(session=session, name=DEMO_TEAM)
        assert team is not None and summary.team_id == team.id
        assert (team.lang, team.timezone) == ("zh", "Asia/Shanghai")
        members = repo.list_members(session=session, team=team)
        roles = Counter(m.role for m in members)
        assert roles == {"agent": 8, "manager": 1, "admin": 1}
        (manager,) = [m for m in members if m.role == "manager"]
        agents = [m for m in members if m.role == "agent"]
        assert all(a.manager_id == manager.id for a in agents)
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in m.name) for m in members)
        assert all(m.name_en and m.name_en.isascii() for m in members)
        assert repo.team_managers(session=session, team=team) == [manager]


def test_three_past_months_are_closed_and_the_current_month_is_open(
    demo_db: tuple[Engine, DemoSummary],
) -> None:
    db_engine, summary = demo_db
    assert summary.closed_periods == ("2026-08", "2026-09", "2026-10")
    assert summary.open_period == "2026-11"
    with unit_of_work(db_engine) as session:
        team = repo.get_team_by_name(session=session, name=DEMO_TEAM)
        assert team is not None
        periods = repo.list_periods(session=session, team=team)
        assert [(p.key, p.status) for p in periods] == [
            ("2026-08", "closed"),
            ("2026-09", "closed"),
            ("2026-10", "closed"),
            ("2026-11", "open"),
        ]
        assert (
            repo.current_period(session=session, team=team, today=date(2026, 11, 20)) == periods[-1]
        )
        assert repo.indicator_values(session=session, period=periods[-1]) == []


def test_the_month_follows_the_team_time_zone() -> None:
    # 2026-11-30 17:00 UTC is already 1 December in Shanghai.
    from commands.demo import _month_key

    local = datetime(2026, 11, 30, 17, 0, tzinfo=UTC).astimezone(
        __import__("zoneinfo").ZoneInfo("Asia/Shanghai")
    )
    assert _month_key(local.date(), 0) == "2026-12"
    assert _month_key(date(2027, 1, 5), 1) == "2026-12"
    assert _month_key(date(2027, 1, 5), 3) == "2026-10"


@needs_scheme
def test_the_online_shop_scheme_is_stored_by_text_and_hash_and_scores_the_team(
    demo_db: tuple[Engine, DemoSummary],
) -> None:
    db_engine, summary = demo_db
    parsed = parse_scheme(SCHEME_PATH.read_text(encoding="utf-8"))
    assert summary.scheme_hash == parsed.content_hash
    with unit_of_work(db_engine) as session:
        team = repo.get_team_by_name(session=session, name=DEMO_TEAM)
        assert team is not None
        scheme = repo.scheme_for(session=session, team=team)
        assert scheme is not None
        assert (scheme.key, scheme.content_hash, scheme.text) == (
            "online_shop",
            parsed.content_hash,
            parsed.text,
        )
        for period in repo.list_periods(session=session, team=team):
            assert period.scheme_id == scheme.id


def _plausible(indicator: str, value: Decimal) -> bool:
    if indicator.endswith(("_rate", "_share", "_ratio")):
        return Decimal(0) <= value <= Decimal(1)
    if indicator == "avg_response_s":
        return Decimal(5) <= value <= Decimal(300)
    if indicator in ("order_amount", "avg_order_value"):
        return value > 0
    if indicator.startswith("report_"):
        return Decimal(0) <= value <= Decimal(100)
    return True


@needs_scheme
def test_every_agent_has_every_indicator_value_in_every_closed_month(
    demo_db: tuple[Engine, DemoSummary],
) -> None:
    db_engine, _summary = demo_db
    with unit_of_work(db_engine) as session:
        team = repo.get_team_by_name(session=session, name=DEMO_TEAM)
        assert team is not None
        agents = repo.list_members(session=session, team=team, roles=["agent"])
        for period in repo.list_periods(session=session, team=team, statuses=["closed"]):
            rows = repo.indicator_values(session=session, period=period)
            assert {r.source for r in rows} == {"demo"}
            table = repo.indicator_table(session=session, period=period)
            assert set(table) == {a.id for a in agents}
            for values in table.values():
                assert set(values) == ONLINE_SHOP_IDS
                for indicator, value in values.items():
                    assert value is not None and _plausible(indicator, value), (indicator, value)


@needs_scheme
def test_self_and_manager_reviews_answer_every_rated_dimension_from_one_to_five(
    demo_db: tuple[Engine, DemoSummary],
) -> None:
    db_engine, _summary = demo_db
    scheme = parse_scheme(SCHEME_PATH.read_text(encoding="utf-8"))
    self_dims = {d.id for d in scheme.self_dimensions if d.computed is None}
    manager_dims = {d.id for d in scheme.manager_dimensions if d.computed is None}
    with unit_of_work(db_engine) as session:
        team = repo.get_team_by_name(session=session, name=DEMO_TEAM)
        assert team is not None
        agents = repo.list_members(session=session, team=team, roles=["agent"])
        (manager,) = repo.list_members(session=session, team=team, roles=["manager"])
        for period in repo.list_periods(session=session, team=team, statuses=["closed"]):
            for agent in agents:
                own = repo.get_review(
                    session=session, period=period, subject=agent, rater=agent, kind="self"
                )
                boss = repo.get_review(
                    session=session, period=period, subject=agent, rater=manager, kind="manager"
                )
                assert own is not None and boss is not None
                assert set(own.answers) == self_dims and set(boss.answers) == manager_dims
                answers = [*own.answers.values(), *boss.answers.values()]
                assert all(isinstance(v, int) and 1 <= v <= 5 for v in answers)
                assert own.submitted_at is not None and own.submitted_at.date() >= period.ends_on


def test_each_agent_has_a_few_customer_ratings_per_closed_month(
    demo_db: tuple[Engine, DemoSummary],
) -> None:
    db_engine, _summary = demo_db
    with unit_of_work(db_engine) as session:
        team = repo.get_team_by_name(session=session, name=DEMO_TEAM)
        assert team is not None
        for period in repo.list_periods(session=session, team=team, statuses=["closed"]):
            ratings = repo.list_customer_ratings(session=session, period=period)
            per_agent = Counter(r.member_id for r in ratings)
            assert len(per_agent) == len(AGENTS)
            assert all(1 <= n <= 5 for n in per_agent.values())
            assert all(1 <= r.stars <= 5 for r in ratings)
            assert all(period.starts_on <= r.created_at.date() <= period.ends_on for r in ratings)


def test_running_the_demo_twice_adds_nothing_the_second_time(db_engine: Engine) -> None:
    first = _load(db_engine)
    with unit_of_work(db_engine) as session:
        audit_after_first = len(session.exec(select(AuditLog)).all())
    second = _load(db_engine)
    assert first.changed and first.team_created
    assert not second.changed and not second.team_created
    assert second.total == first.total
    assert second.added.members == second.added.indicator_values == second.added.reviews == 0
    with unit_of_work(db_engine) as session:
        assert len(session.exec(select(AuditLog)).all()) == audit_after_first
        assert len(session.exec(select(Member)).all()) == len(AGENTS) + 2


def test_a_later_run_closes_the_month_that_was_open_and_opens_the_new_one(engine: Engine) -> None:
    _load(engine, NOW)
    later = _load(engine, datetime(2026, 12, 3, 3, 0, tzinfo=UTC))
    assert later.closed_periods == ("2026-09", "2026-10", "2026-11")
    assert later.open_period == "2026-12"
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name=DEMO_TEAM)
        assert team is not None
        november = repo.get_period(session=session, team=team, key="2026-11")
        assert november is not None and november.status == "closed"
        assert repo.indicator_values(session=session, period=november)
        assert (
            repo.audit_trail(session=session, entity="period", entity_id=november.id)[-1].after[
                "status"
            ]
            == "closed"
        )  # type: ignore[index]


def test_reset_removes_the_demo_team_and_a_reload_gives_the_same_data(engine: Engine) -> None:
    first = _load(engine)
    with unit_of_work(engine) as session:
        assert reset_demo(session, now=NOW)
        assert repo.get_team_by_name(session=session, name=DEMO_TEAM) is None
        assert not reset_demo(session, now=NOW)
    again = _load(engine)
    assert again.team_created and again.total == first.total


def test_without_a_scheme_file_the_demo_still_loads_the_online_shop_indicators(
    engine: Engine, tmp_path: Path
) -> None:
    with unit_of_work(engine) as session:
        summary = load_demo(session, now=NOW, schemes_dir=tmp_path)
        assert summary.scheme_key is None
        team = repo.get_team_by_name(session=session, name=DEMO_TEAM)
        assert team is not None and team.scheme_id is None
        period = repo.get_period(session=session, team=team, key="2026-10")
        assert period is not None
        assert {
            r.indicator for r in repo.indicator_values(session=session, period=period)
        } == ONLINE_SHOP_IDS


@needs_scheme
def test_the_demo_data_gives_a_full_ranking_led_by_the_strongest_agent(session: Session) -> None:
    load_demo(session, now=NOW)
    scheme = parse_scheme(SCHEME_PATH.read_text(encoding="utf-8"))
    team = repo.get_team_by_name(session=session, name=DEMO_TEAM)
    assert team is not None
    period = repo.get_period(session=session, team=team, key="2026-10")
    assert period is not None
    names = {m.id: m.name_en for m in repo.list_members(session=session, team=team)}
    values = pd.DataFrame(
        {
            names[mid]: {k: float(v) for k, v in row.items() if v is not None}
            for mid, row in repo.indicator_table(session=session, period=period).items()
        }
    ).T
    reviews: dict[str, dict[str, float]] = {}
    for review in repo.list_reviews(session=session, period=period):
        for dim, answer in review.answers.items():
            reviews.setdefault(names[review.subject_id], {})[f"{review.kind}.{dim}"] = float(answer)
    result = score_team(
        scheme, ScoreInputs(values=values, reviews=pd.DataFrame(reviews).T), as_of=date(2026, 11, 3)
    )
    ranked = [r for r in result.results if r.total is not None]
    assert len(ranked) == len(AGENTS)
    assert len({round(r.total or 0, 6) for r in ranked}) > 4, "the demo should not be a tie"
    by_name = {r.agent: r for r in ranked}
    assert by_name["Wang Xiaohong"].rank < by_name["Wu Ting"].rank  # type: ignore[operator]


def test_the_shared_demo_engine_fixture_holds_the_loaded_demo(demo_engine: Engine) -> None:
    with unit_of_work(demo_engine) as session:
        summary = load_demo(session, now=NOW)
    assert not summary.changed
    assert summary.total.members == len(AGENTS) + 2


def test_a_closed_demo_month_is_closed_to_reviews(demo_db: tuple[Engine, DemoSummary]) -> None:
    from commands.forms.common import Window, window

    engine, summary = demo_db
    with Session(engine) as session:
        team = repo.get_team_by_name(session=session, name=DEMO_TEAM)
        assert team is not None
        for key in summary.closed_periods:
            period = repo.get_period(session=session, team=team, key=key)
            assert period is not None and period.review_closes_at is not None
            assert (
                period.review_opens_at is not None
                and period.review_opens_at < period.review_closes_at
            )
            assert period.review_closes_at.replace(tzinfo=UTC) <= NOW
            assert window(period, NOW) is Window.CLOSED
