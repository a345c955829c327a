"""Engines, migrations and the unit of work.

    engine = make_engine("sqlite:///kpibot.db")      # or postgresql://… (psycopg 3)
    upgrade(engine)                                 # Alembic to head, no alembic.ini needed
    with unit_of_work(engine) as session:           # commit on success, rollback on error
        repo.create_team(session=session, name="demo")
    inbox = inbox_engine(engine)                    # the inbox's own file beside a SQLite file

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
from sqlalchemy import event, inspect, text
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
    """Run the Alembic migrations up to ``revision`` (default: head), on the inbox's own file
    too where it has one (:func:`inbox_url`).

    On PostgreSQL the migration holds an advisory lock, so replicas starting together
    migrate one after the other instead of racing to create the same tables. (SQLite is
    for one process; threads of one process are serialised here.) Requests that a kpibot
    from before the inbox had a file of its own stored in the database's ``inbox`` table
    move to the inbox's file (:func:`_move_inbox_rows`): none acknowledged is lost.
    """
    with _connected(engine_or_url) as (engine, _owned):
        _migrate(engine, "upgrade", revision)
        side = inbox_url(engine.url)
        if side is None:
            return
        with _connected(side.render_as_string(hide_password=False)) as (inbox, _):
            _migrate(inbox, "upgrade", revision)
            _move_inbox_rows(engine, inbox)


def downgrade(engine_or_url: Engine | str, revision: str) -> None:
    with _connected(engine_or_url) as (engine, _owned):
        _migrate(engine, "downgrade", revision)
        side = inbox_url(engine.url)
        if side is not None and Path(str(side.database)).exists():
            _migrate(side.render_as_string(hide_password=False), "downgrade", revision)


def _move_inbox_rows(engine: Engine, inbox: Engine) -> None:
    """The rows of ``engine``'s ``inbox`` table copied to the inbox's own file, committed
    there, then deleted here (a crash between the two copies them again: the same requests,
    nothing twice)."""
    from storage import inbox as store
    from storage.models.inbox import InboxEvent

    if not all(inspect(e).has_table(InboxEvent.__tablename__) for e in (engine, inbox)):
        return  # a revision from before the inbox
    with unit_of_work(engine) as old:
        with unit_of_work(inbox) as new:
            ids = store.copy_rows(source=old, target=new)
        store.delete_rows(session=old, ids=ids)


def _migrate(engine_or_url: Engine | str, direction: str, revision: str) -> None:
    with _ALEMBIC, _connected(engine_or_url) as (engine, _owned), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        config = alembic_config()
        config.attributes["connection"] = connection
        getattr(command, direction)(config, revision)


# -- the inbox's own file -------------------------------------------------------------

INBOX_FILE_SUFFIX = "-inbox"
"""``kpibot.db`` → ``kpibot-inbox.db``: the file of the inbox beside a SQLite database."""


def inbox_url(url: str | URL) -> URL | None:
    """Where the inbox (:mod:`storage.inbox`) lives when it is not the database itself: beside
    a SQLite file, a file of its own (``kpibot.db`` → ``kpibot-inbox.db``), with the same
    schema (the same migrations); ``None`` on PostgreSQL and for an in-memory SQLite
    database, where the ``inbox`` table of the database is the inbox.

    Why: SQLite has one write lock per file. A router worker takes it at a request's first
    statement (the event claim) and holds it through the request's reads and scoring until
    it commits; a slash command's inbox row, written by the replica's front before its ack,
    waited for it (issue 16, ``bench/ack_bench.py``: commands' ack p99 669-763 ms on a quiet
    machine). In a file of its own the row waits only for other inbox rows, each one short
    statement. Nothing is lost by the split: an inbox row was always its own transaction,
    never one with the work it stands for. (PostgreSQL has row locks: no such wait.)
    """
    parsed = make_url(normalize_url(url) if isinstance(url, str) else url)
    if parsed.get_backend_name() != "sqlite" or is_memory_sqlite(parsed):
        return None
    path = Path(str(parsed.database))
    return parsed.set(database=str(path.with_name(f"{path.stem}{INBOX_FILE_SUFFIX}{path.suffix}")))


def inbox_engine(engine: Engine) -> Engine:
    """The engine the inbox is read and written through: ``engine`` itself, or one on the
    inbox's own file (:func:`inbox_url`), migrated to head here when it is not (a database
    copied without it, or one upgraded by a kpibot from before the split). No connection
    is left open: a replica forks its router workers only while no SQLite file is open."""
    side = inbox_url(engine.url)
    if side is None:
        return engine
    inbox = make_engine(side.render_as_string(hide_password=False))
    try:
        if current_revision(inbox) != head_revision():
            _migrate(inbox, "upgrade", "head")
    finally:
        inbox.dispose()
    return inbox


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
