"""Engines, migrations and the unit of work.

    engine = make_engine("sqlite:///kpibot.db")      # or postgresql://… (psycopg 3)
    upgrade(engine)                                 # Alembic to head, no alembic.ini needed
    with unit_of_work(engine) as session:           # commit on success, rollback on error
        repo.create_team(session=session, name="demo")

Nothing here runs at import time; callers create the engine once and pass it on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 10_000


def normalize_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` → ``postgresql+psycopg://`` (psycopg 3)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_memory_sqlite(url: str | URL) -> bool:
    """``sqlite://`` or ``sqlite:///:memory:``: a database that lives in one process only."""
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")  # an in-memory database answers 'memory'
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for SQLite (WAL, foreign keys, busy timeout) or PostgreSQL (psycopg 3).

    ``sqlite://`` (in memory) shares one connection so every session sees the same data.
    Extra keyword arguments go to :func:`sqlalchemy.create_engine`.
    """
    url = normalize_url(url)
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("check_same_thread", False)
        if is_memory_sqlite(url):
            kwargs.setdefault("poolclass", StaticPool)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def alembic_config(engine_or_url: Engine | str | None = None) -> Config:
    """An Alembic config pointing at the migrations packaged inside ``storage``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if isinstance(engine_or_url, str):
        config.set_main_option("sqlalchemy.url", normalize_url(engine_or_url).replace("%", "%%"))
    elif isinstance(engine_or_url, Engine):
        config.attributes["engine"] = engine_or_url
    return config


@contextmanager
def _connected(engine_or_url: Engine | str) -> Iterator[tuple[Engine, bool]]:
    if isinstance(engine_or_url, Engine):
        yield engine_or_url, False
        return
    engine = make_engine(engine_or_url)
    try:
        yield engine, True
    finally:
        engine.dispose()


# Alembic keeps its running context in module globals: one migration per process at a time.
_ALEMBIC = threading.Lock()
MIGRATION_LOCK_KEY = 0x6B706962  # "kpib": one advisory lock for every kpibot replica


def upgrade(engine_or_url: Engine | str, revision: str = "head") -> None:
    """Run the Alembic migrations up to ``revision`` (default: head).

    On PostgreSQL the migration holds an advisory lock, so replicas starting together
    migrate one after the other instead of racing to create the same tables. (SQLite is
    for one process; threads of one process are serialised here.)
    """
    with _ALEMBIC, _connected(engine_or_url) as (engine, _owned), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine_or_url: Engine | str, revision: str) -> None:
    with _ALEMBIC, _connected(engine_or_url) as (engine, _owned), engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def current_revision(engine_or_url: Engine | str) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    with _connected(engine_or_url) as (engine, _owned), engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def schema_drift(connection: Connection) -> list[Any]:
    """Differences between the models and the migrated database (empty: no drift).

    The same comparison ``alembic check`` makes, on an open connection.
    """
    from alembic.autogenerate import compare_metadata

    from storage.migrations.env_support import comparison_options, target_metadata

    context = MigrationContext.configure(connection, opts=comparison_options())
    return list(compare_metadata(context, target_metadata()))


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """One transaction: commit when the block ends, roll back if it raises.

    Repository functions never commit; they flush when they need ids. Objects stay
    readable after the block (``expire_on_commit=False``).
    """
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
