"""Migrations: up from empty on both databases, one head, and no drift between models and
migrations."""

from __future__ import annotations

import threading
import time

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from storage.db import (
    MIGRATION_LOCK_KEY,
    alembic_config,
    current_revision,
    downgrade,
    head_revision,
    make_engine,
    schema_drift,
    upgrade,
)
from storage.migrations.env_support import target_metadata
from storage.models import TABLES
from tests.conftest import PgSchema


def test_every_table_lives_in_storage_models_and_is_listed_in_tables() -> None:
    """What Alembic compares (every ``storage`` module imported) is exactly ``TABLES``."""
    metadata = target_metadata()
    listed = {model.__tablename__: model for model in TABLES}
    assert len(listed) == len(TABLES), "a table is listed twice in storage.models.TABLES"
    assert set(metadata.tables) == set(listed), (
        f"tables outside storage.models.TABLES: {sorted(set(metadata.tables) - set(listed))}; "
        f"listed but unknown to the metadata: {sorted(set(listed) - set(metadata.tables))}"
    )
    elsewhere = {
        name: model.__module__
        for name, model in listed.items()
        if not model.__module__.startswith("storage.models.")
    }
    assert not elsewhere, f"tables defined outside the storage.models package: {elsewhere}"


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


def test_replicas_upgrading_at_the_same_time_both_succeed(empty_db_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    engines = [make_engine(empty_db_url) for _ in range(2)]
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(upgrade, engines))
        assert current_revision(engines[0]) == head_revision()
        with engines[0].connect() as connection:
            assert schema_drift(connection) == []
    finally:
        for engine in engines:
            engine.dispose()


@pytest.mark.postgres
def test_a_postgres_upgrade_waits_for_the_migration_lock_held_by_another_replica(
    _pg_admin: Engine,
) -> None:
    schema = PgSchema(_pg_admin)
    engine = schema.engine()
    holder = _pg_admin.connect()
    try:
        holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
        worker = threading.Thread(target=upgrade, args=(engine,))
        worker.start()
        waiting = 0
        for _ in range(600):  # until the upgrade is seen queued on the lock
            waiting = holder.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    " AND objid = :k"
                ),
                {"k": MIGRATION_LOCK_KEY},
            ).scalar_one()
            if waiting or not worker.is_alive():
                break
            time.sleep(0.05)
        assert waiting == 1, "the upgrade did not wait for the migration lock"
        assert current_revision(engine) is None
        holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
        worker.join()
        assert current_revision(engine) == head_revision()
    finally:
        holder.close()
        engine.dispose()
        schema.drop()
