"""Repository round trips and unique constraints, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from storage import repo
from storage.models import CustomerRating, IndicatorValue, Member, Review, Score

from .helpers import NOW, team_with_agents


def test_a_team_and_its_members_round_trip(db_session: Session) -> None:
    team = repo.create_team(
        session=db_session, name="演示", lang="zh", timezone="Asia/Shanghai", now=NOW
    )
    boss = repo.add_member(
        session=db_session, team=team, name="李经理", role="manager", name_en="Li Jingli"
    )
    agent = repo.add_member(
        session=db_session,
        team=team,
        name="王小红",
        name_en="Wang Xiaohong",
        manager=boss,
        slack_user_id="U123",
        telegram_user_id=987654321,
    )
    db_session.expire_all()
    found = repo.get_team_by_name(session=db_session, name="演示")
    assert found is not None and found.id == team.id and found.created_at == NOW
    assert repo.get_member_by_slack_id(session=db_session, slack_user_id="U123") == agent
    assert repo.get_member_by_telegram_id(session=db_session, telegram_user_id="987654321") == agent
    assert repo.get_member_by_telegram_id(session=db_session, telegram_user_id=987654321) == agent
    assert repo.get_member_by_name(session=db_session, team=team, name="wang xiaohong") == agent
    assert agent.manager_id == boss.id
    assert [m.name for m in repo.list_members(session=db_session, team=team, roles=["agent"])] == [
        "王小红"
    ]
    assert repo.teams_managed_by(session=db_session, member=boss) == [team]
    assert repo.team_managers(session=db_session, team=team) == [boss]


def test_a_manager_can_manage_several_teams(db_session: Session) -> None:
    north = repo.create_team(session=db_session, name="north")
    south = repo.create_team(session=db_session, name="south")
    boss = repo.add_member(session=db_session, team=north, name="boss", role="manager")
    repo.add_team_manager(session=db_session, team=south, member=boss)
    repo.add_team_manager(session=db_session, team=south, member=boss)
    assert [t.name for t in repo.teams_managed_by(session=db_session, member=boss)] == [
        "north",
        "south",
    ]


@pytest.mark.parametrize(
    ("field", "value"), [("lang", "fr"), ("timezone", "Mars/Olympus"), ("name", "  ")]
)
def test_a_team_with_a_bad_language_time_zone_or_name_is_refused(
    db_session: Session, field: str, value: str
) -> None:
    args = {"name": "t", "lang": "zh", "timezone": "Asia/Shanghai", field: value}
    with pytest.raises(ValueError):
        repo.create_team(session=db_session, **args)


def test_team_names_are_unique(db_session: Session) -> None:
    repo.create_team(session=db_session, name="demo")
    with pytest.raises(repo.AlreadyExists):
        repo.create_team(session=db_session, name="demo")


def test_member_names_are_unique_within_a_team_but_not_across_teams(db_session: Session) -> None:
    a = repo.create_team(session=db_session, name="a")
    b = repo.create_team(session=db_session, name="b")
    repo.add_member(session=db_session, team=a, name="张伟")
    repo.add_member(session=db_session, team=b, name="张伟")
    with pytest.raises(repo.AlreadyExists):
        repo.add_member(session=db_session, team=a, name="张伟")
    db_session.add(Member(team_id=a.id, name="张伟"))  # type: ignore[arg-type]
    with pytest.raises(IntegrityError):
        db_session.flush()


def test_a_platform_identity_belongs_to_one_member(db_session: Session) -> None:
    team = repo.create_team(session=db_session, name="t")
    first = repo.add_member(session=db_session, team=team, name="one", slack_user_id="U1")
    second = repo.add_member(session=db_session, team=team, name="two")
    with pytest.raises(repo.IdentityTaken):
        repo.add_member(session=db_session, team=team, name="three", slack_user_id="U1")
    with pytest.raises(repo.IdentityTaken):
        repo.link_platform(
            session=db_session, member=second, platform="slack", user_id="U1", actor="cli"
        )
    repo.link_platform(
        session=db_session, member=second, platform="telegram", user_id=42, actor="cli", now=NOW
    )
    assert repo.get_member_by_telegram_id(session=db_session, telegram_user_id=42) == second
    assert first.slack_user_id == "U1"
    second.slack_user_id = "U1"
    db_session.add(second)
    with pytest.raises(IntegrityError):
        db_session.flush()


def test_an_invalid_role_is_refused_by_the_repository_and_the_database(db_session: Session) -> None:
    team = repo.create_team(session=db_session, name="t")
    with pytest.raises(ValueError, match="role"):
        repo.add_member(session=db_session, team=team, name="x", role="boss")
    db_session.add(Member(team_id=team.id, name="y", role="boss"))  # type: ignore[arg-type]
    with pytest.raises(IntegrityError):
        db_session.flush()


@pytest.mark.parametrize(
    ("key", "first", "last"),
    [
        ("2026-10", date(2026, 10, 1), date(2026, 10, 31)),
        ("2028-02", date(2028, 2, 1), date(2028, 2, 29)),
        ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
        ("2027-Q1", date(2027, 1, 1), date(2027, 3, 31)),
    ],
)
def test_period_keys_give_their_first_and_last_day(key: str, first: date, last: date) -> None:
    assert repo.period_bounds(key) == (first, last)
    kind = "quarter" if "Q" in key else "month"
    assert repo.period_key(first, kind) == key  # type: ignore[arg-type]
    assert repo.period_key(last, kind) == key  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["2026-13", "2026-Q5", "2026/10", "26-10", ""])
def test_a_bad_period_key_is_refused(key: str) -> None:
    with pytest.raises(ValueError):
        repo.period_bounds(key)


def test_periods_are_unique_per_team_and_found_by_date(db_session: Session) -> None:
    team = repo.create_team(session=db_session, name="t")
    october = repo.get_or_create_period(session=db_session, team=team, key="2026-10")
    assert repo.get_or_create_period(session=db_session, team=team, key="2026-10") == october
    quarter = repo.get_or_create_period(
        session=db_session, team=team, key="2026-Q4", status="planned"
    )
    assert repo.current_period(session=db_session, team=team, today=date(2026, 10, 20)) == october
    assert repo.current_period(session=db_session, team=team, today=date(2026, 11, 20)) == quarter
    assert repo.current_period(session=db_session, team=team, today=date(2027, 1, 1)) is None
    repo.set_period_status(
        session=db_session, period=october, status="closed", actor="cli", reason="month end"
    )
    assert [
        p.key for p in repo.list_periods(session=db_session, team=team, statuses=["closed"])
    ] == ["2026-10"]
    with pytest.raises(ValueError):
        repo.set_period_status(
            session=db_session, period=october, status="done", actor="cli", reason=None
        )


def test_a_scheme_is_stored_once_per_text(db_session: Session) -> None:
    text = 'id = "online_shop"\n'
    first = repo.get_or_create_scheme(
        session=db_session, key="online_shop", text=text, name_zh="网店", name_en="Shop"
    )
    again = repo.get_or_create_scheme(
        session=db_session, key="online_shop", text=text, name_zh="网店", name_en="Shop"
    )
    changed = repo.get_or_create_scheme(
        session=db_session, key="online_shop", text=text + "# v2\n", name_zh="网店", name_en="Shop"
    )
    assert first.id == again.id != changed.id
    assert first.content_hash == repo.scheme_content_hash(text) != changed.content_hash
    team = repo.create_team(session=db_session, name="t")
    repo.set_team_scheme(
        session=db_session, team=team, scheme=changed, actor="cli", reason="new version"
    )
    period = repo.get_or_create_period(session=db_session, team=team, key="2026-10")
    assert period.scheme_id == changed.id
    assert repo.scheme_for(session=db_session, team=team, period=period) == changed
    db_session.expire_all()
    assert repo.get_scheme_by_hash(session=db_session, content_hash=first.content_hash).text == text  # type: ignore[union-attr]


def test_indicator_values_round_trip_with_their_source_and_import(db_session: Session) -> None:
    team, period, (a, b) = team_with_agents(db_session, "a", "b")
    imp = repo.record_import(
        session=db_session,
        team=team,
        period=period,
        file_name="oct.csv",
        sha256="abc",
        row_count=2,
        imported_by="cli",
        encoding="gb18030",
    )
    repo.set_indicator_value(
        session=db_session,
        period=period,
        member=a,
        indicator="avg_response_s",
        value=35,
        source="import",
        import_id=imp.id,
        actor="cli",
        reason=None,
    )
    repo.set_indicator_value(
        session=db_session,
        period=period,
        member=b,
        indicator="avg_response_s",
        value=None,
        source="import",
        import_id=imp.id,
        actor="cli",
        reason=None,
    )
    db_session.expire_all()
    table = repo.indicator_table(session=db_session, period=period)
    assert table == {a.id: {"avg_response_s": Decimal(35)}, b.id: {"avg_response_s": None}}
    (row,) = repo.indicator_values(session=db_session, period=period, member=a)
    assert (row.source, row.import_id) == ("import", imp.id)
    assert repo.find_import(session=db_session, period=period, sha256="abc") == imp
    newer = repo.record_import(
        session=db_session,
        team=team,
        period=period,
        file_name="oct2.csv",
        sha256="def",
        row_count=2,
        imported_by="cli",
    )
    db_session.refresh(imp)
    # Imports merge: a newer file that re-supplies nothing leaves the earlier one standing.
    assert newer.id != imp.id
    assert (imp.status, imp.replaced_by_id) == ("active", None)
    assert repo.delete_indicator_value(
        session=db_session,
        period=period,
        member=b,
        indicator="avg_response_s",
        actor="cli",
        reason="wrong row",
    )
    assert b.id not in repo.indicator_table(session=db_session, period=period)


def test_one_indicator_value_per_member_period_and_indicator(db_session: Session) -> None:
    _, period, (a,) = team_with_agents(db_session, "a")
    for value in ("1", "2"):
        db_session.add(
            IndicatorValue(
                period_id=period.id,
                member_id=a.id,
                indicator="x",  # type: ignore[arg-type]
                value=Decimal(value),
                source="manual",
            )
        )
    with pytest.raises(IntegrityError):
        db_session.flush()


def test_reviews_round_trip_and_a_replayed_submission_changes_nothing(db_session: Session) -> None:
    _, period, (agent, boss) = team_with_agents(db_session, "agent", "boss")
    answers = {"ability": 4, "collaboration": 5, "service": 3}
    review = repo.save_review(
        session=db_session,
        period=period,
        subject=agent,
        rater=boss,
        kind="manager",
        answers=answers,
        comments={"service": "耐心一点"},
        submitted_at=NOW,
        idempotency_key="slack:view:1",
        actor="member:2",
        reason=None,
    )
    replay = repo.save_review(
        session=db_session,
        period=period,
        subject=agent,
        rater=boss,
        kind="manager",
        answers={"ability": 1},
        submitted_at=NOW,
        idempotency_key="slack:view:1",
        actor="member:2",
        reason=None,
    )
    db_session.expire_all()
    assert replay.id == review.id
    stored = repo.get_review(
        session=db_session, period=period, subject=agent, rater=boss, kind="manager"
    )
    assert stored is not None
    assert stored.answers == answers and stored.comments == {"service": "耐心一点"}
    assert stored.submitted_at == NOW
    repo.save_review(
        session=db_session,
        period=period,
        subject=agent,
        rater=agent,
        kind="self",
        answers={"tasks": 4},
        actor="member:1",
        reason=None,
    )
    assert [r.kind for r in repo.list_reviews(session=db_session, period=period)] == ["manager"]
    assert len(repo.list_reviews(session=db_session, period=period, submitted_only=False)) == 2


def test_one_review_per_period_subject_rater_and_kind(db_session: Session) -> None:
    _, period, (agent, boss) = team_with_agents(db_session, "agent", "boss")
    for _ in range(2):
        db_session.add(
            Review(period_id=period.id, subject_id=agent.id, rater_id=boss.id, kind="manager")
        )  # type: ignore[arg-type]
    with pytest.raises(IntegrityError):
        db_session.flush()


def test_customer_ratings_round_trip_and_a_token_is_used_once(db_session: Session) -> None:
    team, period, (agent,) = team_with_agents(db_session, "agent")
    rating = repo.add_customer_rating(
        session=db_session,
        team=team,
        member=agent,
        period=period,
        token_id="tok1",
        stars=5,
        comment="很好",
        ref="order-1",
        now=NOW,
    )
    with pytest.raises(repo.AlreadyExists):
        repo.add_customer_rating(
            session=db_session, team=team, member=agent, token_id="tok1", stars=1
        )
    with pytest.raises(ValueError):
        repo.add_customer_rating(
            session=db_session, team=team, member=agent, token_id="tok2", stars=6
        )
    db_session.expire_all()
    (stored,) = repo.list_customer_ratings(session=db_session, period=period, member=agent)
    assert (stored.id, stored.stars, stored.comment, stored.created_at) == (
        rating.id,
        5,
        "很好",
        NOW,
    )
    db_session.add(CustomerRating(team_id=team.id, member_id=agent.id, token_id="tok3", stars=0))  # type: ignore[arg-type]
    with pytest.raises(IntegrityError):
        db_session.flush()


def test_scores_round_trip_in_rank_order_and_locked_scores_refuse_changes(
    db_session: Session,
) -> None:
    _, period, (a, b, c) = team_with_agents(db_session, "a", "b", "c")
    breakdown = {"indicators": {"conversion_rate": {"value": "0.31", "points": 8.5}}}
    for member, total, rank in ((a, "71.25", 2), (b, "88.5", 1), (c, "60", 3)):
        repo.save_score(
            session=db_session,
            period=period,
            member=member,
            scheme_hash="h1",
            total=Decimal(total),
            rank=rank,
            breakdown=breakdown,
            flags=["reward"] if rank == 1 else [],
            actor="system",
            reason="monthly run",
            computed_at=NOW + timedelta(seconds=rank),
        )
    db_session.expire_all()
    scores = repo.list_scores(session=db_session, period=period)
    assert [(s.member_id, s.total, s.rank) for s in scores] == [
        (b.id, Decimal("88.5"), 1),
        (a.id, Decimal("71.25"), 2),
        (c.id, Decimal("60"), 3),
    ]
    assert scores[0].breakdown == breakdown and scores[0].flags == ["reward"]
    assert (
        repo.lock_scores(session=db_session, period=period, actor="member:1", reason="published")
        == 3
    )
    with pytest.raises(repo.ScoreLocked):
        repo.save_score(
            session=db_session,
            period=period,
            member=a,
            scheme_hash="h1",
            total=99,
            rank=1,
            breakdown={},
            flags=[],
            actor="system",
            reason=None,
        )
    assert repo.get_score(session=db_session, period=period, member=a).total == Decimal("71.25")  # type: ignore[union-attr]


def test_one_score_per_member_and_period(db_session: Session) -> None:
    _, period, (a,) = team_with_agents(db_session, "a")
    for _ in range(2):
        db_session.add(
            Score(period_id=period.id, member_id=a.id, scheme_hash="h", total=Decimal(1))
        )  # type: ignore[arg-type]
    with pytest.raises(IntegrityError):
        db_session.flush()


def test_deleting_a_team_removes_everything_under_it_but_keeps_the_audit_log(
    db_session: Session,
) -> None:
    team, period, (a, b) = team_with_agents(db_session, "a", "b")
    other = repo.create_team(session=db_session, name="other")
    keeper = repo.add_member(session=db_session, team=other, name="keeper")
    repo.set_indicator_value(
        session=db_session,
        period=period,
        member=a,
        indicator="x",
        value=1,
        source="manual",
        actor="cli",
        reason=None,
    )
    repo.save_review(
        session=db_session,
        period=period,
        subject=a,
        rater=b,
        kind="peer",
        answers={"q": 3},
        actor="cli",
        reason=None,
    )
    repo.add_customer_rating(session=db_session, team=team, member=a, token_id="t", stars=4)
    repo.save_score(
        session=db_session,
        period=period,
        member=a,
        scheme_hash="h",
        total=1,
        rank=1,
        breakdown={},
        flags=[],
        actor="cli",
        reason=None,
    )
    entries_before = len(repo.audit_trail(session=db_session))
    repo.delete_team(session=db_session, team=team, actor="cli", reason="reset")
    assert repo.list_teams(session=db_session) == [other]
    assert repo.get_member(session=db_session, member_id=keeper.id) is not None  # type: ignore[arg-type]
    for model in (Member, IndicatorValue, Review, CustomerRating, Score):
        from sqlmodel import select

        rows = db_session.exec(select(model)).all()
        assert all(getattr(r, "team_id", other.id) == other.id for r in rows)
        if model is not Member:
            assert rows == []
    assert len(repo.audit_trail(session=db_session)) == entries_before + 1
