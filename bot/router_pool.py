"""The router in worker processes, so that acknowledging a request never waits for it.

Why: the router (scoring with pandas, charts, forms) is CPU work. In threads of the
replica's own process it holds the GIL that the event loop needs to acknowledge Slack
and Telegram within their deadlines; under load the acks queued behind it. Here each
worker process holds its own :class:`commands.router.Router` and database engine; the
replica's event loop only parses, acknowledges and sends.

    pool = RouterPool(database_url, config, processes=1, log_settings=settings)
    pool.start()                                    # spawn the workers, build their routers
    replies, lost = pool.handle(incoming, context)  # from a worker thread; blocks until done
    pool.shutdown()                                 # after the adapters stopped

* **Workers** are started with ``spawn`` (the replica has threads and an event loop, which
  ``fork`` would copy half-way), at a lower CPU priority (``nice``): when the machine is
  busy, acknowledging comes first and the work waits a little.
* **Signals**: workers ignore SIGINT and SIGTERM. Shutdown is the replica's: it stops
  taking work, lets what is in flight finish, then shuts the pool down. A worker whose
  replica has gone (SIGKILL) notices within a second and exits.
* **A worker that dies** (killed, out of memory) breaks the pool: every request the pool
  held at that moment (with several workers, the other workers' too, because Python's
  process pool stops them all) gets an apology with a reference, the pool is started
  again, the next request is served. A request whose unit of work had not committed
  left nothing behind; one that had is kept whole (one transaction per request).
* ``lost`` tells the replica's :class:`bot.database_watch.DatabaseWatch` that the worker lost its
  database connection during the request.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from commands.context import AppConfig
from commands.messages import Incoming, Reply

log = logging.getLogger(__name__)

WORKER_NICE = 10
"""How much lower the workers' CPU priority is than the replica's (``os.nice``)."""
PARENT_CHECK_S = 1.0


class WorkerDied(RuntimeError):
    """A worker process ended while it held a request (the pool is started again)."""


def connection_lost(context: Any) -> bool:
    """Whether a SQLAlchemy ``handle_error`` context means the database went away (not a
    pre-ping, which is how the pool notices a dead connection and replaces it)."""
    from sqlalchemy.exc import OperationalError

    lost = context.is_disconnect or (
        context.connection is None and isinstance(context.sqlalchemy_exception, OperationalError)
    )
    return bool(lost) and not getattr(context, "is_pre_ping", False)


MAX_DEFAULT_PROCESSES = 4
"""Each worker holds its own copy of kpibot's imports; more than this needs ``ROUTER_PROCESSES``."""


def default_processes() -> int:
    """One core for the replica's event loop, the rest for the router: at least one, at
    most :data:`MAX_DEFAULT_PROCESSES` (the cores this process may run on, not the host's)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 2
    return max(1, min(MAX_DEFAULT_PROCESSES, cores - 1))


class RouterPool:
    def __init__(
        self,
        database_url: str,
        config: AppConfig,
        *,
        processes: int,
        log_settings: Any = None,
        nice: int = WORKER_NICE,
    ) -> None:
        if processes < 1:
            raise ValueError("a router pool needs at least one process")
        self.database_url = database_url
        self.config = config
        self.processes = processes
        self.log_settings = log_settings
        self.nice = nice
        self.restarts = 0
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._closed = False

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(self.database_url, self.config, self.log_settings, self.nice, os.getpid()),
        )

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("the router pool is shut down")
            if self._executor is None:
                self._executor = self._new_executor()
            return self._executor

    def start(self, timeout: float = 120.0) -> None:
        """Spawn every worker and wait until each has built its router (so that the first
        requests do not pay for the imports)."""
        executor = self._current()
        futures = [executor.submit(_ready, 0.05) for _ in range(self.processes)]
        pids = {f.result(timeout=timeout) for f in futures}
        log.info("router pool: %d worker process(es) ready (pids %s)", len(pids), sorted(pids))

    def handle(
        self, incoming: Incoming, context: dict[str, str] | None = None
    ) -> tuple[list[Reply], bool]:
        """The router's replies for ``incoming`` and whether the worker lost its database
        connection meanwhile. Raises :class:`WorkerDied` when the worker ended mid-request."""
        executor = self._current()
        try:
            future = executor.submit(_handle, incoming, context or {})
        except BrokenProcessPool:  # broken before this request: none of it ran, a new pool takes it
            self._replace(executor)
            executor = self._current()
            future = executor.submit(_handle, incoming, context or {})
        try:
            return future.result()
        except BrokenProcessPool as exc:
            self._replace(executor)
            raise WorkerDied("a router worker process ended during the request") from exc

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is not broken or self._closed:
                return  # another thread replaced it already
            self._executor = None
            self.restarts += 1
        log.error("router pool: a worker process died; starting the pool again")
        broken.shutdown(wait=False, cancel_futures=True)

    def worker_pids(self) -> list[int]:
        """The workers' process ids (tests, diagnostics)."""
        executor = self._executor
        processes = getattr(executor, "_processes", None) or {}
        return sorted(processes)

    def shutdown(self) -> None:
        """Wait for the requests in flight, then end the workers."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=False)


# -- inside a worker process -------------------------------------------------------------

_worker: dict[str, Any] = {}


def _init_worker(
    database_url: str, config: AppConfig, log_settings: Any, nice: int, parent: int
) -> None:
    from sqlalchemy import event

    from bot import messengers
    from commands.router import build_router
    from storage.db import make_engine

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if nice:
        with contextlib.suppress(OSError):  # not allowed here: same priority, still correct
            os.nice(nice)
    if log_settings is not None:
        from bot.logs import configure

        configure(log_settings)
    threading.Thread(target=_watch_parent, args=(parent,), name="parent-watch", daemon=True).start()
    engine = make_engine(database_url)
    lost = threading.local()

    def on_error(context: Any) -> None:
        if connection_lost(context):
            lost.value = True

    event.listen(engine, "handle_error", on_error)
    _worker.update(
        engine=engine,
        lost=lost,
        router=build_router(engine, config, platforms=messengers.platforms()),
    )
    gc.collect()
    gc.freeze()  # the imports and the router stay: full collections need not walk them


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(PARENT_CHECK_S)
        if os.getppid() != parent:
            os._exit(0)


def _ready(pause: float) -> int:
    time.sleep(pause)  # hold this worker so that the next warm-up call goes to another one
    return os.getpid()


def _handle(incoming: Incoming, context: dict[str, str]) -> tuple[list[Reply], bool]:
    from bot.logs import request_context

    lost = _worker["lost"]
    lost.value = False
    with request_context(**context):
        replies = _worker["router"].handle(incoming)
    return list(replies), bool(lost.value)
