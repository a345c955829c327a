"""The router in worker processes (bot/router_pool.py): same replies as in-process, lower
CPU priority, forked from the zygote (or spawned where there is no fork), a dead worker
costs one apology and the pool comes back, a dead zygote is forked again, and no worker
outlives its replica (SIGKILL or SIGTERM).

One pool (one worker) serves the in-process tests of this module: starting the zygote
costs a second or two (spawning a worker, about two). A request is made slow, honestly, by holding
SQLite's write lock from
the test (``BEGIN IMMEDIATE`` on a connection of our own): the router's first write (the
event id it claims) waits on the busy timeout until the worker is killed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.database_watch import DatabaseWatch
from bot.main import router_pool
from bot.metrics import Metrics
from bot.observed_router import APOLOGY, DATABASE_DOWN, ObservedRouter
from bot.router_pool import (
    WORKER_NAME,
    WORKER_NICE,
    ZYGOTE,
    ZYGOTE_NAME,
    RouterPool,
    WorkerDied,
    ZygoteUnsafe,
    open_files,
)
from bot.settings import Settings
from commands.context import AppConfig
from commands.messages import Incoming, Reply
from commands.router import Router, build_router
from storage.db import inbox_engine, make_engine
from tests.commands.conftest import review_everyone
from tests.conftest import Clock
from tests.conversations.world import build_world
from tests.ops.conftest import STRONG_SECRET
from tests.ops.replica import Replica, children, running
from tests.waiting import CEILING_S

CONFIG = AppConfig(public_url="http://x", default_lang="en", secret="s" * 32)
APOLOGY_HEAD = APOLOGY.split("{ref}")[0]
PNG = b"\x89PNG\r\n\x1a\n"


@dataclass
class World:
    path: Path
    url: str
    engine: Engine  # the test's own engine on the same file
    router: Router  # the in-process router, for comparison


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path) -> Iterator[World]:
    """The conversation tests' world, its review window open now (the workers run on the
    real clock), london's agents but Alice reviewed (so /rank draws a chart and
    /review Alice opens a form)."""
    path = tmp_path_factory.mktemp("router-pool") / "kpibot.db"
    shutil.copyfile(_sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    now = datetime.now(UTC)
    build_world(engine, opens=now - timedelta(days=1), closes=now + timedelta(days=5))
    review_everyone(
        engine,
        "london",
        self_scores={"Bob": 4, "Carol": 3, "Dave": 4},
        manager_scores={"Bob": 4, "Carol": 2, "Dave": 3},
    )
    yield World(path, url, engine, build_router(engine, CONFIG))
    engine.dispose()


@pytest.fixture(scope="module")
def pool(world: World) -> Iterator[RouterPool]:
    started = RouterPool(world.url, CONFIG, processes=1)
    started.release_before_fork(world.engine)  # as Service does with the replica's engine
    started.start()
    try:
        yield started
    finally:
        started.shutdown()


def console(user: str, text: str, *, event_id: str | None = None) -> Incoming:
    return Incoming(platform="console", user_id=user, text=text, event_id=event_id)


def live_worker(pool: RouterPool) -> int:
    """The pid of the pool's one worker, after a request has made sure there is one (a
    replaced pool spawns its worker on the first request)."""
    replies, _ = pool.handle(console("Mary", "/help"))
    assert replies and replies[0].text.startswith("What you can do here")
    pids = pool.worker_pids()
    assert len(pids) == 1
    return pids[0]


def wait_until(condition: Callable[[], bool], timeout: float = CEILING_S) -> bool:
    """Whether ``condition`` became true within ``timeout`` seconds (checked every 20 ms)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def status(pid: int, field: str) -> str:
    """A field of ``/proc/PID/status`` (``Name``, ``PPid``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key == field:
            return value.strip()
    raise KeyError(field)


def sleeping(pid: int) -> bool:
    """Whether the process's main thread is in a timed sleep (Linux ``/proc/PID/wchan``:
    ``hrtimer_nanosleep``): where SQLite's busy handler waits between tries of a lock, while
    a router worker waiting for work reads its pipe (``anon_pipe_read``)."""
    return "nanosleep" in Path(f"/proc/{pid}/wchan").read_text()


def killed_mid_request(world: World, pool: RouterPool, call: Callable[[], Any]) -> Future[Any]:
    """Run ``call`` (a request through ``pool``) in a thread while the test holds SQLite's
    write lock, SIGKILL the worker once the request is seen waiting for it (not after a
    delay: on a loaded machine the request may not even have reached the worker by then),
    and return the call's future (done)."""
    pid = live_worker(pool)
    lock = sqlite3.connect(world.path, isolation_level=None, timeout=5)
    try:
        lock.execute("BEGIN IMMEDIATE")
        with ThreadPoolExecutor(1) as threads:
            future = threads.submit(call)
            assert wait_until(lambda: sleeping(pid) or future.done(), timeout=CEILING_S), (
                "the worker never waited for the write lock"
            )
            assert not future.done(), "the request should be blocked on the write lock"
            os.kill(pid, signal.SIGKILL)
            try:
                future.exception(timeout=CEILING_S)
            finally:
                lock.execute("ROLLBACK")
        return future
    finally:
        lock.close()


# -- the same replies as the in-process router ---------------------------------------------


@pytest.mark.parametrize(
    "incoming",
    [
        console("Mary", "/help"),
        console("Alice", "/me"),
        console("Bob", "/me"),
        console("Mary", "/rank"),
        console("Mary", "/review Alice"),
        Incoming(
            platform="slack", user_id="U0NOBODY", text="/help"
        ),  # default_lang: the pool's config
    ],
    ids=lambda incoming: f"{incoming.user_id} {incoming.text}",
)
def test_replies_through_the_pool_equal_the_in_process_routers(
    world: World, pool: RouterPool, incoming: Incoming
) -> None:
    local = world.router.handle(incoming)
    remote, lost = pool.handle(incoming, {"request_id": "t1"})
    assert lost is False
    assert remote == local
    assert remote and all(isinstance(r, Reply) for r in remote)
    if incoming.text == "/rank":  # the text now; the chart drawn by a worker when asked for
        [text, later] = remote
        assert "1. Bob" in text.text and text.image is None and later.chart is not None
        drawn = pool.draw(later, {"request_id": "t1"})
        assert drawn is not None and drawn.chart is None and drawn == world.router.draw(later)
        assert drawn.image is not None and drawn.image.data.startswith(PNG)
        assert len(drawn.image.data) > 1000 and drawn.text == later.text
    if incoming.text == "/review Alice":
        forms = [r.form for r in remote if r.form]
        assert len(forms) == 1 and len(forms[0]) >= 3
        assert forms[0][0].kind == "score"


# -- the workers -----------------------------------------------------------------------------


def test_the_workers_are_other_processes_at_a_lower_priority(pool: RouterPool) -> None:
    pid = live_worker(pool)
    assert pid != os.getpid()
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, ours + WORKER_NICE)
    assert ours >= 19 or os.getpriority(os.PRIO_PROCESS, pid) > ours


def test_the_workers_are_forked_from_the_zygote_a_child_of_ours(pool: RouterPool) -> None:
    pid = live_worker(pool)
    assert pool.start_method == "zygote"
    assert ZYGOTE.pid is not None and ZYGOTE.running()
    assert status(pid, "Name") == WORKER_NAME
    assert status(pid, "PPid") == str(ZYGOTE.pid), "forked by the zygote"
    assert status(ZYGOTE.pid, "Name") == ZYGOTE_NAME
    assert status(ZYGOTE.pid, "PPid") == str(os.getpid()), "the zygote is a child of ours"
    assert os.getpriority(os.PRIO_PROCESS, ZYGOTE.pid) == os.getpriority(os.PRIO_PROCESS, 0)


def test_the_zygote_holds_none_of_our_descriptors(pool: RouterPool) -> None:
    """A socket of ours (as the replica's listening port) is not kept open by the zygote nor
    by a worker, which would keep the port open after the replica closed it."""
    live_worker(pool)
    assert ZYGOTE.pid is not None
    with socket.socket() as ours:
        ours.bind(("127.0.0.1", 0))
        inode = os.fstat(ours.fileno()).st_ino
        assert f"socket:[{inode}]" in open_files(os.getpid())
    for pid in (ZYGOTE.pid, *pool.worker_pids()):
        assert f"socket:[{inode}]" not in open_files(pid)
    sockets = [name for name in open_files(ZYGOTE.pid) if name.startswith("socket:")]
    assert len(sockets) == 1, f"the zygote's only socket is its own listener: {sockets}"


def test_a_worker_killed_while_idle_costs_no_request(pool: RouterPool) -> None:
    pid = live_worker(pool)
    restarts = pool.restarts
    os.kill(pid, signal.SIGKILL)
    # The pool's own thread notices the worker's end (the zygote reaps it and reports its
    # exit code) a moment later; a request sent before that would count as one it held.
    assert wait_until(pool.broken), "the pool did not notice its worker died"
    replies, lost = pool.handle(console("Mary", "/help"))
    assert replies[0].text.startswith("What you can do here") and lost is False
    assert pool.restarts == restarts + 1
    assert pool.worker_pids() and pid not in pool.worker_pids()


def test_a_zygote_killed_is_forked_again_and_its_workers_end(pool: RouterPool) -> None:
    """The pool reads its workers' exit codes from the zygote: a zygote that died breaks the
    pool as a dead worker does; the next request forks a new zygote and a worker from it,
    and the old worker, told to stop, ends (no orphan)."""
    worker = live_worker(pool)
    zygote, restarts = ZYGOTE.pid, pool.restarts
    assert zygote is not None
    os.kill(zygote, signal.SIGKILL)
    assert wait_until(pool.broken), "the pool did not notice its zygote died"
    replies, _ = pool.handle(console("Mary", "/help"))
    assert replies[0].text.startswith("What you can do here")
    assert pool.restarts == restarts + 1
    assert ZYGOTE.pid not in (None, zygote) and ZYGOTE.running()
    (new_worker,) = pool.worker_pids()
    assert new_worker != worker and status(new_worker, "PPid") == str(ZYGOTE.pid)
    assert wait_until(lambda: not running(worker)), "the old worker outlived its pool"


def test_a_zygote_that_cannot_start_a_worker_is_replaced_and_the_request_answered(
    pool: RouterPool,
) -> None:
    """A zygote killed a moment ago can still look alive to the pool (its sockets close
    before it can be reaped); asking it for a worker then fails. Here it is alive but its
    socket is gone: the zygote is discarded, a new one forked, and the request answered."""
    worker = live_worker(pool)
    zygote = ZYGOTE.pid
    assert zygote is not None and ZYGOTE._address is not None
    os.unlink(ZYGOTE._address)
    os.kill(worker, signal.SIGKILL)
    assert wait_until(pool.broken), "the pool did not notice its worker died"
    replies, _ = pool.handle(console("Mary", "/help"))
    assert replies[0].text.startswith("What you can do here")
    assert ZYGOTE.pid not in (None, zygote) and ZYGOTE.running()
    assert not running(zygote), "the old zygote was not reaped"
    (new_worker,) = pool.worker_pids()
    assert status(new_worker, "PPid") == str(ZYGOTE.pid)


def test_a_zygote_unreachable_while_sqlite_is_open_leaves_a_new_pool_spawning(
    world: World, pool: RouterPool
) -> None:
    """A zygote killed a moment ago can still look alive when a pool is made (CI saw it:
    the pool chose the zygote, whose socket then refused). With a SQLite file open here it
    cannot be forked again: the pool is made again and spawns its workers."""
    live_worker(pool)
    assert ZYGOTE.pid is not None and ZYGOTE._address is not None
    zygote = ZYGOTE.pid
    os.unlink(ZYGOTE._address)  # alive, unreachable
    other = RouterPool(world.url, CONFIG, processes=1)
    other.release_before_fork(world.engine)
    busy = make_engine(world.url)
    try:
        with busy.connect() as held:
            held.exec_driver_sql("select count(*) from member").scalar()
            other.start()
            assert other.forked is False and not running(zygote)
            (pid,) = other.worker_pids()
            assert status(pid, "PPid") == str(os.getpid()), "spawned by us"
        incoming = console("Bob", "/me")
        assert other.handle(incoming) == (world.router.handle(incoming), False)
    finally:
        other.shutdown()
        busy.dispose()
    replies, _ = pool.handle(console("Mary", "/help"))  # the zygote is forked again
    assert replies[0].text.startswith("What you can do here")
    assert pool.forked and ZYGOTE.running()


def test_the_inbox_file_open_in_this_process_rules_the_fork_out_as_the_database_does(
    engine: Engine,
) -> None:
    """The inbox's own SQLite file (``storage.db.inbox_url``) is one of the pool's database
    files: idle connections to it are closed before the fork, one in use means no fork."""
    url = engine.url.render_as_string(hide_password=False)
    pool = RouterPool(url, CONFIG, processes=1)
    inbox = inbox_engine(engine)
    pool.release_before_fork(engine)
    pool.release_before_fork(inbox)
    with inbox.connect() as idle:
        idle.exec_driver_sql("select count(*) from inbox").scalar()
    pool.prepare_fork()  # idle connections closed: nothing of the database is open
    busy = inbox_engine(engine)  # another part of this process, in the middle of its work
    try:
        with busy.connect() as held:
            held.exec_driver_sql("select count(*) from inbox").scalar()
            with pytest.raises(ZygoteUnsafe, match="kpibot-inbox.db"):
                pool.prepare_fork()
    finally:
        busy.dispose()


def test_with_its_sqlite_database_open_the_zygote_is_not_forked_the_workers_are_spawned(
    world: World, pool: RouterPool
) -> None:
    """SQLite keeps its locks per process: a connection open at the fork would leave the
    workers' view of them half-way. Idle connections are closed first; one in use means no
    fork (the workers are spawned), and once it is returned the zygote is forked again."""
    live_worker(pool)
    assert ZYGOTE.pid is not None
    os.kill(ZYGOTE.pid, signal.SIGKILL)
    assert wait_until(pool.broken)
    other = RouterPool(world.url, CONFIG, processes=1)
    other.release_before_fork(world.engine)
    busy = make_engine(world.url)  # another part of this process, in the middle of its work
    try:
        with busy.connect() as held:
            held.exec_driver_sql("select count(*) from member").scalar()
            other.start()
            assert other.forked is False and not ZYGOTE.running()
            (pid,) = other.worker_pids()
            assert status(pid, "PPid") == str(os.getpid()), "spawned by us"
        incoming = console("Bob", "/me")
        assert other.handle(incoming) == (world.router.handle(incoming), False)
    finally:
        other.shutdown()
        busy.dispose()
    replies, _ = pool.handle(console("Mary", "/help"))  # returned: the zygote is forked again
    assert replies[0].text.startswith("What you can do here")
    assert pool.forked and ZYGOTE.running()
    assert status(pool.worker_pids()[0], "PPid") == str(ZYGOTE.pid)


def test_without_the_zygote_the_workers_are_spawned_children_of_ours(world: World) -> None:
    spawned = RouterPool(world.url, CONFIG, processes=1, start_method="spawn")
    try:
        spawned.start()
        (pid,) = spawned.worker_pids()
        assert status(pid, "PPid") == str(os.getpid())
        assert status(pid, "Name") == WORKER_NAME
        incoming = console("Bob", "/me")
        assert spawned.handle(incoming) == (world.router.handle(incoming), False)
    finally:
        spawned.shutdown()
    with pytest.raises(ValueError):
        RouterPool(world.url, CONFIG, processes=1, start_method="fork")


def test_a_worker_killed_mid_request_raises_worker_died_then_the_next_is_served(
    world: World, pool: RouterPool
) -> None:
    restarts = pool.restarts
    future = killed_mid_request(
        world, pool, lambda: pool.handle(console("Mary", "/help", event_id=uuid.uuid4().hex))
    )
    assert isinstance(future.exception(), WorkerDied)
    assert pool.restarts == restarts + 1
    replies, _ = pool.handle(console("Mary", "/help", event_id=uuid.uuid4().hex))
    assert replies[0].text.startswith("What you can do here")


def test_through_the_observed_router_a_worker_killed_mid_request_is_one_apology(
    world: World, pool: RouterPool
) -> None:
    watch = DatabaseWatch(world.engine)
    observed = ObservedRouter(world.router, Metrics(), watch, "en", pool=pool)
    future = killed_mid_request(
        world, pool, lambda: observed.handle(console("Mary", "/help", event_id=uuid.uuid4().hex))
    )
    replies = future.result()
    assert len(replies) == 1 and replies[0].text.startswith(APOLOGY_HEAD) and replies[0].ephemeral
    assert watch.down_since is None, "a dead worker is not a database outage"
    after = observed.handle(console("Mary", "/help"))
    assert after[0].text.startswith("What you can do here")


def test_through_the_observed_router_a_rankings_chart_is_drawn_by_a_worker(
    world: World, pool: RouterPool
) -> None:
    """``/rank`` answers with the text; its chart is drawn afterwards in a router worker (the
    replica's process never draws), and a chart that cannot be drawn is simply not said."""
    observed = ObservedRouter(world.router, Metrics(), DatabaseWatch(world.engine), "en", pool=pool)
    [text, later] = observed.handle(console("Mary", "/rank"))
    assert "1. Bob" in text.text and later.chart is not None and later.image is None
    drawn = observed.draw(later)
    assert drawn is not None and drawn.image is not None and drawn.image.data.startswith(PNG)
    assert observed.draw(text) is text  # nothing to draw: as it is

    class Dying(StubPool):
        def draw(self, reply: Reply, context: dict[str, str] | None = None) -> Reply | None:
            raise WorkerDied("gone")

    stub = Dying(lambda incoming: ([], False))
    dying = ObservedRouter(world.router, Metrics(), DatabaseWatch(world.engine), "en", pool=stub)  # type: ignore[arg-type]
    assert dying.draw(later) is None


# -- ObservedRouter with a stub pool ---------------------------------------------------------


class StubPool:
    processes = 1

    def __init__(self, answer: Callable[[Incoming], tuple[list[Reply], bool]]) -> None:
        self.answer = answer
        self.calls = 0

    def handle(
        self, incoming: Incoming, context: dict[str, str] | None = None
    ) -> tuple[list[Reply], bool]:
        self.calls += 1
        return self.answer(incoming)


def test_a_worker_that_lost_the_database_marks_the_watch_down(world: World) -> None:
    watch = DatabaseWatch(world.engine)
    stub = StubPool(lambda incoming: ([Reply(text="done")], True))
    observed = ObservedRouter(world.router, Metrics(), watch, "en", pool=stub)  # type: ignore[arg-type]
    assert observed.handle(console("Mary", "/help")) == [Reply(text="done")]
    assert stub.calls == 1 and watch.down_since is not None


def test_a_worker_apology_after_a_lost_database_says_the_database_is_down(world: World) -> None:
    watch = DatabaseWatch(world.engine)
    stub = StubPool(
        lambda incoming: ([Reply(text=APOLOGY.format(ref="abc"), ephemeral=True)], True)
    )
    observed = ObservedRouter(world.router, Metrics(), watch, "en", pool=stub)  # type: ignore[arg-type]
    assert observed.handle(console("Mary", "/help")) == [Reply(text=DATABASE_DOWN, ephemeral=True)]
    assert watch.down_since is not None


def test_any_pool_failure_is_one_apology_and_not_a_database_outage(world: World) -> None:
    def dies(incoming: Incoming) -> tuple[list[Reply], bool]:
        raise WorkerDied("gone")

    watch = DatabaseWatch(world.engine)
    observed = ObservedRouter(world.router, Metrics(), watch, "en", pool=StubPool(dies))  # type: ignore[arg-type]
    replies = observed.handle(console("Mary", "/help"))
    assert len(replies) == 1 and replies[0].text.startswith(APOLOGY_HEAD)
    assert watch.down_since is None


# -- bot.main.router_pool --------------------------------------------------------------------


def test_router_pool_is_none_without_processes_with_a_clock_or_in_memory(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    file_engine, memory_engine = make_engine(url), make_engine("sqlite://")
    try:
        assert (
            router_pool(
                Settings(_env_file=None, router_processes=0, database_url=url),
                file_engine,
                CONFIG,
                None,
            )
            is None
        )
        two = Settings(_env_file=None, router_processes=2, database_url=url)
        assert router_pool(two, file_engine, CONFIG, Clock(datetime.now(UTC))) is None
        assert router_pool(two, memory_engine, CONFIG, None) is None
        made = router_pool(two, file_engine, CONFIG, None)
        assert isinstance(made, RouterPool)
        assert made.processes == 2 and made.database_url == url and made.config == CONFIG
        assert made.worker_pids() == [] and made.restarts == 0, "not started"
    finally:
        file_engine.dispose()
        memory_engine.dispose()


def test_router_pool_hands_the_workers_the_real_password() -> None:
    url = "postgresql://kpibot:s3cret@127.0.0.1:1/kpibot"
    engine = make_engine(url)
    made = router_pool(
        Settings(_env_file=None, router_processes=1, database_url=url), engine, CONFIG, None
    )
    assert (
        made is not None
        and made.database_url == "postgresql+psycopg://kpibot:s3cret@127.0.0.1:1/kpibot"
    )
    engine.dispose()


def test_a_pool_needs_a_process() -> None:
    with pytest.raises(ValueError):
        RouterPool("sqlite:///x.db", CONFIG, processes=0)


# -- real replicas: no worker outlives its replica ---------------------------------------------


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``: its resource tracker, the zygote and the workers."""
    found = children(pid)
    return found + [grandchild for child in found for grandchild in descendants(child)]


def named(pids: list[int], name: str) -> list[int]:
    found = []
    for pid in pids:
        with contextlib.suppress(OSError, KeyError):
            if status(pid, "Name") == name:
                found.append(pid)
    return found


@pytest.fixture
def replica(tmp_path: Path) -> Iterator[tuple[Replica, list[int], list[int]]]:
    """A ready ``kpibot run --no-chat`` (ROUTER_PROCESSES=1), its descendants (the resource
    tracker, the zygote, the worker) and its workers. Whatever a failed test left running is
    killed afterwards."""
    started = Replica(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}",
            "KPIBOT_SECRET": STRONG_SECRET,
            "DEFAULT_LANG": "en",
        },
        tmp_path,
    ).start()
    assert started.process is not None
    below = descendants(started.process.pid)
    try:
        assert len(named(below, ZYGOTE_NAME)) == 1, "one zygote"
        yield started, below, named(below, WORKER_NAME)
    finally:
        started.kill()
        started.wait(timeout=10)
        for pid in below:
            if running(pid):
                os.kill(pid, signal.SIGKILL)


def assert_one_worker_at_a_lower_priority(replica: Replica, workers: list[int]) -> None:
    assert replica.process is not None
    assert len(workers) == 1, "ROUTER_PROCESSES=1: one worker"
    ours, theirs = (
        os.getpriority(os.PRIO_PROCESS, pid) for pid in (replica.process.pid, workers[0])
    )
    assert theirs == min(19, ours + WORKER_NICE) and (theirs > ours or ours == 19)


def none_running(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while (alive := [pid for pid in pids if running(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


@pytest.mark.slow
def test_a_replica_killed_leaves_no_worker_behind(
    replica: tuple[Replica, list[int], list[int]],
) -> None:
    started, descendants, workers = replica
    assert_one_worker_at_a_lower_priority(started, workers)
    started.kill()
    assert none_running(descendants, timeout=CEILING_S) == [], "orphaned router workers"


@pytest.mark.slow
def test_a_replica_stopped_by_sigterm_exits_0_and_leaves_no_worker_behind(
    replica: tuple[Replica, list[int], list[int]],
) -> None:
    started, descendants, workers = replica
    assert_one_worker_at_a_lower_priority(started, workers)
    code = started.terminate(timeout=30)
    assert code == 0, started.log()[-3000:]
    assert none_running(workers, timeout=0) == [], "the replica shut its pool down before exiting"
    assert none_running(descendants, timeout=CEILING_S) == []
    assert "Application shutdown complete" in started.log()
    # a worker's exit joins no thread of the replica's executors (it forked from one)
    assert "Traceback" not in started.log(), started.log()[-3000:]
