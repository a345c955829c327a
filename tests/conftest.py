"""Shared database fixtures.

* ``engine``     — a fresh SQLite file database in ``tmp_path``, migrated to head.
                   Cheap: migrated once per test session into a template file, copied per test.
* ``session``    — one unit of work on ``engine`` (committed when the test ends, rolled back
                   if the test left it failed by an expected error).
* ``pg_engine``  — PostgreSQL at ``TEST_DATABASE_URL`` (default
                   ``postgresql://postgres@127.0.0.1:5432/test``), in a schema of its own
                   for this test run, migrated once; every table is emptied before each
                   test (``PgEmptier``).
                   Skips with the reason when the server is unreachable.
* ``db_engine``  — parametrised over both: ``[sqlite]`` and ``[postgresql]``.
* ``db_session`` — one unit of work on ``db_engine``.
* ``empty_db_url`` — parametrised over both: a URL of an empty database, never migrated
                   (for migration tests).
* ``demo_engine`` — like ``engine`` but with ``kpibot demo`` loaded as of ``DEMO_NOW``
                   (team ``demo``: closed 2026-08…2026-10, open 2026-11). Loaded once per
                   test session into a template, copied per test.

The router fixtures, defined here once; a folder's conftest overrides only the data:

* ``clock``      — a :class:`Clock` the test moves by hand, starting at ``clock_start``
                   (``WORLD_NOW``: inside the review window of the conversation world).
* ``world``      — the two teams of ``tests/conversations/world.py`` (``demo`` in Chinese,
                   ``london`` in English) in ``engine``; member name → id.
* ``app_config`` — the ``AppConfig`` the router is built with (the default one).
* ``router``     — the real router with every command module, over ``world``, on ``clock``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from storage.db import inbox_url, make_engine, normalize_url, unit_of_work, upgrade

if TYPE_CHECKING:
    from commands.context import AppConfig
    from commands.router import Router

# Services built inside a test run the router in threads of the test's process, where its
# logs and metrics can be read; tests/ops/test_router_pool.py and every ``kpibot run`` child
# (tests/ops/replica.py sets ROUTER_PROCESSES=1) cover the worker processes of production.
os.environ.setdefault("ROUTER_PROCESSES", "0")

DEMO_NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
WORLD_NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
"""Inside the review window of 2026-10 of ``tests/conversations/world.py``."""
DEFAULT_TEST_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
SCHEMA_PREFIX = "kpibot_t_"


def test_database_url() -> str:
    return normalize_url(os.environ.get("TEST_DATABASE_URL") or DEFAULT_TEST_DATABASE_URL)


test_database_url.__test__ = False  # type: ignore[attr-defined]  # not a test


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _copy_database(template: Path, path: Path) -> None:
    """A SQLite database copied: its file, and the inbox's own file beside it
    (``storage.db.inbox_url``) when the template has one."""
    shutil.copyfile(template, path)
    side, beside = (inbox_url(_sqlite_url(p)) for p in (template, path))
    assert side is not None and beside is not None
    if Path(str(side.database)).exists():
        shutil.copyfile(str(side.database), str(beside.database))


def _checkpoint_and_dispose(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db-template") / "template.db"
    engine = make_engine(_sqlite_url(path))
    upgrade(engine)
    _checkpoint_and_dispose(engine)
    return path


@pytest.fixture
def engine(tmp_path: Path, _sqlite_template: Path) -> Iterator[Engine]:
    path = tmp_path / "kpibot.db"
    _copy_database(_sqlite_template, path)
    eng = make_engine(_sqlite_url(path))
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def _demo_template(tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path) -> Path:
    from commands.demo import load_demo

    path = tmp_path_factory.mktemp("demo-template") / "demo.db"
    _copy_database(_sqlite_template, path)
    eng = make_engine(_sqlite_url(path))
    with unit_of_work(eng) as s:
        load_demo(s, now=DEMO_NOW)
    _checkpoint_and_dispose(eng)
    return path


@pytest.fixture
def demo_engine(tmp_path: Path, _demo_template: Path) -> Iterator[Engine]:
    path = tmp_path / "demo.db"
    _copy_database(_demo_template, path)
    eng = make_engine(_sqlite_url(path))
    yield eng
    eng.dispose()


def _unit(eng: Engine) -> Iterator[Session]:
    """Like ``unit_of_work`` but a test that left the session failed (an expected error) is
    rolled back at the end instead of failing in teardown."""
    s = Session(eng, expire_on_commit=False)
    try:
        yield s
        if s.is_active:
            s.commit()
        else:
            s.rollback()
    finally:
        s.close()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    yield from _unit(engine)


# --- one PostgreSQL database per xdist worker ---------------------------------------------


def _worker_database_url(base: str, worker: str) -> str:
    """``base`` with its database renamed ``<name>_<worker>`` (``test`` → ``test_gw0``)."""
    url = make_url(base)
    return url.set(database=f"{url.database or 'test'}_{worker}").render_as_string(
        hide_password=False
    )


def _create_database(base: str, name: str) -> None:
    """``CREATE DATABASE name`` on the server of ``base`` unless it exists (trust auth).

    PostgreSQL's advisory locks are per database: workers sharing one database would wait on
    each other's migration and cycle-step locks (a test freezing its connection holds them).
    """
    import psycopg
    from psycopg import sql

    plain = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(plain, connect_timeout=30, autocommit=True) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if not exists:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.errors.DuplicateDatabase:
        pass  # another run made it meanwhile
    except psycopg.OperationalError:
        pass  # no server: the PostgreSQL fixtures skip with the reason


def pytest_configure(config: pytest.Config) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        base = test_database_url()
        url = _worker_database_url(base, worker)
        _create_database(base, make_url(url).database or "")
        os.environ["TEST_DATABASE_URL"] = url


SERIAL_FOLDERS = ("ops",)
"""Folders whose tests run one at a time on one xdist worker (``--dist loadgroup``): real
``kpibot run`` processes, kills, database faults and the benches, which would otherwise
compete with each other for the two cores and the fakes' pace."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        folder = item.path.relative_to(here).parts[0] if item.path.is_relative_to(here) else ""
        if folder in SERIAL_FOLDERS:
            item.add_marker(pytest.mark.xdist_group(folder))


# --- PostgreSQL -------------------------------------------------------------------------


def _pg_admin_engine() -> Engine:
    url = test_database_url()
    try:
        import psycopg

        plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
        # a generous connect timeout: a server that is not there refuses at once, and a
        # loaded one that answers late must not skip every PostgreSQL test unnoticed
        psycopg.connect(plain, connect_timeout=30).close()
    except Exception as exc:  # noqa: BLE001 - any failure means "no server to test against"
        pytest.skip(f"PostgreSQL unreachable at {url} (set TEST_DATABASE_URL): {exc}")
    return make_engine(url, isolation_level="AUTOCOMMIT")


def _drop_stale_schemas(admin: Engine) -> None:
    """Schemas left by killed test runs on this machine (their pid is gone)."""
    with admin.connect() as connection:
        names = connection.execute(
            text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :p"),
            {"p": SCHEMA_PREFIX + "%"},
        ).scalars()
        for name in list(names):
            pid = name.removeprefix(SCHEMA_PREFIX).split("_")[0]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))


class PgSchema:
    """A schema of our own on the test server; engines made by it see only that schema."""

    def __init__(self, admin: Engine) -> None:
        self.admin = admin
        self.name = f"{SCHEMA_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:10]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{self.name}"'))

    def engine(self) -> Engine:
        return make_engine(
            test_database_url(), connect_args={"options": f"-csearch_path={self.name}"}
        )

    def url(self) -> str:
        """A URL whose connections use this schema (libpq ``options`` parameter)."""
        return f"{test_database_url()}?options=-csearch_path%3D{self.name}"

    def drop(self) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE'))


@pytest.fixture(scope="session")
def _pg_admin() -> Iterator[Engine]:
    admin = _pg_admin_engine()
    _drop_stale_schemas(admin)
    yield admin
    admin.dispose()


@pytest.fixture(scope="session")
def _pg_migrated(_pg_admin: Engine) -> Iterator[Engine]:
    schema = PgSchema(_pg_admin)
    eng = schema.engine()
    try:
        upgrade(eng)
        yield eng
    finally:
        eng.dispose()
        schema.drop()


def _truncate_all(eng: Engine) -> None:
    with eng.begin() as connection:
        tables = [t for t in inspect(connection).get_table_names() if t != "alembic_version"]
        if tables:
            quoted = ", ".join(f'"{t}"' for t in tables)
            connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))


class PgEmptier:
    """Empties every table of a migrated schema as ``TRUNCATE … RESTART IDENTITY`` would,
    but with one batch of ``DELETE`` (children first) and ``setval`` per sequence: TRUNCATE
    of 38 tables takes 2.3 s on a loaded machine, the batch 0.2 s, and every PostgreSQL test
    starts with it. The table order and sequences are read once."""

    def __init__(self, eng: Engine) -> None:
        with eng.connect() as connection:
            ordered = inspect(connection).get_sorted_table_and_fkc_names()
            tables = [t for t, _fks in ordered if t is not None and t != "alembic_version"]
            sequences = connection.execute(
                text(
                    "SELECT sequencename, start_value FROM pg_sequences "
                    "WHERE schemaname = current_schema()"
                )
            ).all()
        deletes = [f'DELETE FROM "{t}"' for t in reversed(tables)]
        restarts = [f"setval('\"{name}\"', {start}, false)" for name, start in sequences]
        self.batch = "; ".join(deletes + ([f"SELECT {', '.join(restarts)}"] if restarts else []))

    def empty(self, eng: Engine) -> None:
        if not self.batch:
            return
        try:
            with eng.begin() as connection:
                connection.exec_driver_sql(self.batch)
        except Exception:  # noqa: BLE001 - a foreign key the order cannot satisfy
            _truncate_all(eng)


@pytest.fixture(scope="session")
def _pg_emptier(_pg_migrated: Engine) -> PgEmptier:
    return PgEmptier(_pg_migrated)


@pytest.fixture
def pg_engine(_pg_migrated: Engine, _pg_emptier: PgEmptier) -> Iterator[Engine]:
    _pg_emptier.empty(_pg_migrated)
    yield _pg_migrated


# --- both ---------------------------------------------------------------------------------

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def db_engine(request: pytest.FixtureRequest) -> Engine:
    name = "engine" if request.param == "sqlite" else "pg_engine"
    eng: Engine = request.getfixturevalue(name)
    return eng


@pytest.fixture
def db_session(db_engine: Engine) -> Iterator[Session]:
    yield from _unit(db_engine)


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty, never-migrated database (SQLite file or a new PostgreSQL schema)."""
    if request.param == "sqlite":
        yield _sqlite_url(tmp_path / "empty.db")
        return
    admin: Engine = request.getfixturevalue("_pg_admin")
    schema = PgSchema(admin)
    try:
        yield schema.url()
    finally:
        schema.drop()


# --- the router, its clock and its world ------------------------------------------------


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock_start() -> datetime:
    return WORLD_NOW


@pytest.fixture
def clock(clock_start: datetime) -> Clock:
    return Clock(clock_start)


@pytest.fixture
def world(engine: Engine) -> dict[str, int]:
    from tests.conversations.world import build_world

    return build_world(engine)


@pytest.fixture
def app_config() -> AppConfig:
    """As the composition root makes it (``bot.main.app_config``): the registry's messengers
    named."""
    from bot import messengers
    from commands.context import AppConfig

    return AppConfig(extra={"messengers": messengers.names()})


@pytest.fixture
def router(engine: Engine, clock: Clock, app_config: AppConfig, world: object) -> Router:
    """The real router with every command module, over the folder's ``world``."""
    from commands.router import Router

    return Router(engine, app_config, clock)
