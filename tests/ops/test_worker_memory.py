"""Issue 20: a router worker forked from the zygote shares what the replica imported. Its
private memory (``Private_Clean + Private_Dirty`` of ``/proc/PID/smaps_rollup``: the pages
only it holds) after start-up stays under :data:`WORKER_PRIVATE_MB`; a spawned worker,
which imports everything itself, is far above it (so the bound means something)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.router_pool import RouterPool
from commands.context import AppConfig
from commands.messages import Incoming
from storage.db import make_engine
from tests.commands.conftest import review_everyone
from tests.conversations.world import build_world

WORKER_PRIVATE_MB = 40.0
"""A worker's own memory after start-up, at most (measured 2026-12-03: about 8 MB forked;
about 105 MB spawned)."""
CONFIG = AppConfig(public_url="http://x", default_lang="en", secret="s" * 32)


def private_mb(pid: int) -> float:
    """``Private_Clean + Private_Dirty`` of ``pid``, in MB (Linux 4.14+)."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, value = line.partition(":")
        fields[key] = int(value.split()[0])  # kB
    return (fields["Private_Clean"] + fields["Private_Dirty"]) / 1024


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("worker-memory") / "kpibot.db"
    shutil.copyfile(_sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    now = datetime.now(UTC)
    build_world(engine, opens=now - timedelta(days=1), closes=now + timedelta(days=5))
    review_everyone(
        engine,
        "london",
        self_scores={"Bob": 4, "Carol": 3, "Dave": 4},
        manager_scores={"Bob": 4, "Carol": 2, "Dave": 3},
    )
    yield engine
    engine.dispose()


def started(engine: Engine, start_method: str) -> RouterPool:
    pool = RouterPool(
        engine.url.render_as_string(hide_password=False),
        CONFIG,
        processes=1,
        start_method=start_method,
    )
    pool.release_before_fork(engine)
    pool.start()
    return pool


def test_a_forked_worker_holds_little_of_its_own_after_start_up(database: Engine) -> None:
    pool = started(database, "zygote")
    try:
        assert pool.forked, "the zygote was forked"
        (pid,) = pool.worker_pids()
        after_start = private_mb(pid)
        assert after_start <= WORKER_PRIVATE_MB, (
            f"worker {pid}: {after_start:.1f} MB of its own after start-up, "
            f"bound {WORKER_PRIVATE_MB:.0f} MB"
        )
        # it works as a worker: a ranking, then its chart drawn in the worker after the text
        replies, _ = pool.handle(Incoming(platform="console", user_id="Mary", text="/rank"))
        assert "1. Bob" in replies[0].text
        (chart,) = [r for r in replies if r.chart is not None]
        drawn = pool.draw(chart)
        assert drawn is not None and drawn.image, "the worker drew the ranking's chart"
    finally:
        pool.shutdown()


def test_a_spawned_worker_is_above_the_bound(database: Engine) -> None:
    pool = started(database, "spawn")
    try:
        (pid,) = pool.worker_pids()
        assert private_mb(pid) > WORKER_PRIVATE_MB, "spawned, a worker imports its own copy"
    finally:
        pool.shutdown()
