"""The unit of work commits on success and leaves nothing behind on error."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from storage import repo
from storage.db import make_engine, normalize_url, unit_of_work
from storage.models import Member, Team


class Boom(Exception):
    pass


def test_unit_of_work_commits_when_the_block_succeeds(db_engine: Engine) -> None:
    with unit_of_work(db_engine) as session:
        repo.create_team(session=session, name="kept")
    with unit_of_work(db_engine) as session:
        assert repo.get_team_by_name(session=session, name="kept") is not None


def test_rollback_on_error_leaves_nothing(db_engine: Engine) -> None:
    with pytest.raises(Boom), unit_of_work(db_engine) as session:
        team = repo.create_team(session=session, name="gone")
        repo.add_member(session=session, team=team, name="张三")
        raise Boom
    with unit_of_work(db_engine) as session:
        assert session.exec(select(Team)).all() == []
        assert session.exec(select(Member)).all() == []


def test_objects_stay_readable_after_the_unit_of_work(db_engine: Engine) -> None:
    with unit_of_work(db_engine) as session:
        team = repo.create_team(session=session, name="readable", lang="en")
    assert (team.name, team.lang) == ("readable", "en")


def test_a_violated_constraint_rolls_back_the_whole_unit(db_engine: Engine) -> None:
    with pytest.raises(IntegrityError), unit_of_work(db_engine) as session:
        repo.create_team(session=session, name="first")
        session.add(Team(name="first"))
        session.flush()
    with unit_of_work(db_engine) as session:
        assert session.exec(select(Team)).all() == []


def test_sqlite_engine_turns_on_wal_foreign_keys_and_busy_timeout(engine: Engine) -> None:
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0


def test_in_memory_sqlite_shares_one_database_between_sessions() -> None:
    engine = make_engine("sqlite://")
    from storage.db import upgrade

    upgrade(engine)
    with unit_of_work(engine) as session:
        repo.create_team(session=session, name="mem")
    with unit_of_work(engine) as session:
        assert repo.get_team_by_name(session=session, name="mem") is not None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///kpibot.db", "sqlite:///kpibot.db"),
    ],
)
def test_postgres_urls_are_rewritten_to_psycopg3(given: str, expected: str) -> None:
    assert normalize_url(given) == expected


def test_postgres_engine_uses_psycopg3_and_pre_ping(pg_engine: Engine) -> None:
    assert pg_engine.dialect.driver == "psycopg"
    assert pg_engine.pool._pre_ping is True  # type: ignore[attr-defined]
