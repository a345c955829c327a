"""Migrations: up from empty on both databases, one head, and no drift between models and migrations."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from storage.db import (
    alembic_config,
    current_revision,
    downgrade,
    head_revision,
    make_engine,
    schema_drift,
    upgrade,
)
from storage.models import TABLES


def test_migrations_have_exactly_one_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"several Alembic heads: {heads}; set down_revision to the head"


def test_upgrade_from_empty_creates_every_table_and_records_head(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        names = set(inspect(engine).get_table_names())
        assert {model.__tablename__ for model in TABLES} <= names
    finally:
        engine.dispose()


def test_models_and_migrations_do_not_drift(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            assert schema_drift(connection) == []
    finally:
        engine.dispose()


def test_downgrade_to_base_and_upgrade_again_round_trips(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine)
        downgrade(engine, "base")
        assert current_revision(engine) is None
        assert not {m.__tablename__ for m in TABLES} & set(inspect(engine).get_table_names())
        upgrade(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_upgrade_accepts_a_url_and_is_idempotent(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    upgrade(empty_db_url)
    assert current_revision(empty_db_url) == head_revision()
