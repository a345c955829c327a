"""The router in worker processes, so that acknowledging a request never waits for it.

Why: the router (scoring with pandas, charts, forms) is CPU work. In threads of the
replica's own process it holds the GIL that the event loop needs to acknowledge Slack
and Telegram within their deadlines; under load the acks queued behind it. Here each
worker process holds its own :class:`commands.router.Router` and database engine; the
replica's event loop only parses, acknowledges and sends.

    pool = RouterPool(database_url, config, processes=1, log_settings=settings)
    pool.start()                                    # fork the workers, build their routers
    replies, lost = pool.handle(incoming, context)  # from a worker thread; blocks until done
    drawn = pool.draw(reply, context)               # a reply's chart, drawn after the text
    pool.shutdown()                                 # after the adapters stopped

* **Workers share the replica's memory** (issue 20). They are forked from a *zygote*: a
  child of the replica's process, forked once everything the router needs is imported
  (:func:`preload`: the commands, scoring, pandas, matplotlib with its font list) and frozen
  (``gc.freeze``), whose only work is to fork workers (multiprocessing's fork server loop).
  A worker starts as a copy-on-write copy of those pages and adds only what is its own
  (its router, its database engine: about 8 MB after start-up); spawned, each worker
  imported its own copy of everything (about 130 MB PSS each). The zygote is forked at
  start-up, before the adapters and the sender start their work, and only while no file
  of the pool's SQLite database is open in the replica (SQLite's locks are per process;
  the engine's idle connections are closed first, :meth:`RouterPool.release_before_fork`),
  else the workers are spawned. As a copy of a process with threads, the zygote points
  every descriptor it inherited at ``/dev/null`` (the replica's port and database
  connections are released) and takes fresh stdio objects, whose locks another thread may
  have held at the fork. Where ``fork`` does not exist the workers are spawned
  (:func:`default_start_method`). Workers run at a lower CPU priority (``nice``): when the
  machine is busy, acknowledging comes first and the work waits a little.
* **Signals**: workers and the zygote ignore SIGINT and SIGTERM. Shutdown is the replica's:
  it stops taking work, lets what is in flight finish, then shuts the pool down (and the
  zygote with it). A worker whose replica has gone (SIGKILL) notices at once (the pipe of
  its start-up closes) and exits; the zygote follows when its last worker has.
* **A worker that dies** (killed, out of memory) breaks the pool: every request the pool
  held at that moment (with several workers, the other workers' too, because Python's
  process pool stops them all) gets an apology with a reference, the pool is started
  again, the next request is served. The zygote dying does the same (the pool reads its
  workers' exit codes from it): the next request forks a new one. A request whose unit of
  work had not committed left nothing behind; one that had is kept whole (one transaction
  per request).
* ``lost`` tells the replica's :class:`bot.database_watch.DatabaseWatch` that the worker lost its
  database connection during the request.
"""

from __future__ import annotations

import contextlib
import gc
import io
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
import traceback
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import thread as futures_thread
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import (
    connection,
    forkserver,
    popen_forkserver,
    process,
    reduction,
    resource_tracker,
    spawn,
    util,
)
from multiprocessing.context import BaseContext, set_spawning_popen
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from commands.context import AppConfig
from commands.messages import Incoming, Reply

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine

log = logging.getLogger(__name__)

WORKER_NICE = 10
"""How much lower the workers' CPU priority is than the replica's (``os.nice``)."""
ZYGOTE_NAME = "kpibot-zygote"
WORKER_NAME = "kpibot-router"
"""The process names (``ps -o comm``, ``/proc/PID/comm``) of the zygote and of the workers."""
ZYGOTE_STOP_S = 5.0
"""How long a zygote whose workers have ended is given to exit before it is killed."""


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
"""The default's ceiling; more needs ``ROUTER_PROCESSES`` (each worker adds its own memory,
forked from the zygote about 8 MB after start-up and 40-45 MB once it has drawn charts,
and takes a core when busy)."""


def default_processes() -> int:
    """One core for the replica's event loop, the rest for the router: at least one, at
    most :data:`MAX_DEFAULT_PROCESSES` (the cores this process may run on, not the host's)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 2
    return max(1, min(MAX_DEFAULT_PROCESSES, cores - 1))


def default_start_method() -> str:
    """``zygote`` (workers forked from a zygote) where ``fork`` exists, else ``spawn``."""
    return "zygote" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


def preload() -> None:
    """Import and build, in the replica's process, what every worker needs and would
    otherwise import or build on its own: the router (every command, scoring, storage,
    pandas), the messengers' table, matplotlib with the Agg backend, its font list, the CJK
    font and what drawing a chart needs (charts), qrcode (survey links). Made once before
    the zygote is forked, it is shared by the replica, the zygote and every worker."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import qrcode  # noqa: F401

    import commands.router  # noqa: F401
    from bot import messengers  # noqa: F401
    from commands import charts

    # One chart drawn: the rest of matplotlib that drawing imports, and the fonts it opens
    # (matplotlib keeps them per thread: the workers' thread is a copy of this one).
    charts.history_chart(
        ["1", "2"], [50.0, None], precisions=[1, 1], title="warm-up", ylabel="total"
    )


class RouterPool:
    def __init__(
        self,
        database_url: str,
        config: AppConfig,
        *,
        processes: int,
        log_settings: Any = None,
        nice: int = WORKER_NICE,
        start_method: str | None = None,
    ) -> None:
        if processes < 1:
            raise ValueError("a router pool needs at least one process")
        method = start_method or default_start_method()
        if method not in ("zygote", "spawn"):
            raise ValueError(f"unknown start method {method!r}: zygote or spawn")
        self.database_url = database_url
        self.config = config
        self.processes = processes
        self.log_settings = log_settings
        self.nice = nice
        self.start_method = method
        self.restarts = 0
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._closed = False
        self._holds_zygote = False
        self._engines: list[Engine] = []
        self.forked = False
        """Whether the current workers were forked from the zygote (else spawned)."""

    def release_before_fork(self, engine: Engine) -> None:
        """Close ``engine``'s idle connections before the zygote is forked. A SQLite database
        open in this process at the fork would leave its locks half-way in the zygote and the
        workers (SQLite keeps them per process, copied by fork): the zygote is only forked
        when no file of the pool's SQLite database is open, else the workers are spawned."""
        self._engines.append(engine)

    def prepare_fork(self) -> None:
        """Before the zygote is forked: close the idle connections of the engines given to
        :meth:`release_before_fork`; :class:`ZygoteUnsafe` if a file of this pool's SQLite
        database is still open in this process."""
        for engine in self._engines:
            engine.dispose()
        from storage.db import inbox_url

        paths = [sqlite_path(self.database_url), sqlite_path(inbox_url(self.database_url))]
        files = [path for path in paths if path is not None]  # the inbox's own file too
        if not files:
            return
        names = {
            name
            for path in files
            for name in (str(path), *(f"{path}{suffix}" for suffix in ("-wal", "-shm", "-journal")))
        }
        held = sorted(name for name in open_files(os.getpid()) if name in names)
        if held:
            raise ZygoteUnsafe(f"open in this process: {', '.join(held)}")

    def _new_executor(self) -> ProcessPoolExecutor:
        context: BaseContext = multiprocessing.get_context("spawn")
        self.forked = False
        if self.start_method == "zygote":
            if not self._holds_zygote:
                ZYGOTE.acquire(self)
                self._holds_zygote = True
            try:
                ZYGOTE.ensure_running()
                context, self.forked = _ZygoteContext(), True
            except ZygoteUnsafe as exc:
                log.warning("router pool: not forking the workers (%s); spawning them", exc)
        return ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=context,
            initializer=_init_worker,
            initargs=(self.database_url, self.config, self.log_settings, self.nice),
        )

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("the router pool is shut down")
            if self._executor is None:
                self._executor = self._new_executor()
            return self._executor

    def start(self, timeout: float = 120.0) -> None:
        """Fork (or spawn) every worker and wait until each has built its router (so that
        the first requests do not pay for it). With the zygote: the replica's process
        imports everything the workers need first (:func:`preload`), then forks the zygote;
        call this at start-up, before the adapters and the sender start (``bot.main`` does)."""
        _executor, futures = self._submit(_ready, 0.05, times=self.processes)
        pids = {f.result(timeout=timeout) for f in futures}
        log.info(
            "router pool: %d worker process(es) ready (pids %s, %s)",
            len(pids),
            sorted(pids),
            f"forked from zygote {ZYGOTE.pid}" if self.forked else "spawned",
        )

    def handle(
        self, incoming: Incoming, context: dict[str, str] | None = None
    ) -> tuple[list[Reply], bool]:
        """The router's replies for ``incoming`` and whether the worker lost its database
        connection meanwhile. Raises :class:`WorkerDied` when the worker ended mid-request."""
        answer: tuple[list[Reply], bool] = self._run(_handle, incoming, context or {})
        return answer

    def draw(self, reply: Reply, context: dict[str, str] | None = None) -> Reply | None:
        """``Router.draw`` in a worker: the reply's chart drawn (matplotlib stays out of the
        replica's event loop). Raises :class:`WorkerDied` like :meth:`handle`."""
        drawn: Reply | None = self._run(_draw, reply, context or {})
        return drawn

    def _submit(
        self, fn: Any, *args: Any, times: int = 1
    ) -> tuple[ProcessPoolExecutor, list[Future[Any]]]:
        """``fn(*args)`` submitted ``times`` times. A pool that cannot take them (broken
        before, or its zygote gone: :data:`_NOT_STARTED`, none of it ran) is made again
        (spawning, if it must) and takes them all."""
        executor = self._current()
        try:
            return executor, [executor.submit(fn, *args) for _ in range(times)]
        except _NOT_STARTED:
            self._replace(executor)
            executor = self._current()
            return executor, [executor.submit(fn, *args) for _ in range(times)]

    def _run(self, fn: Any, *args: Any) -> Any:
        executor, (future,) = self._submit(fn, *args)
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

    def broken(self) -> bool:
        """Whether the pool has noticed that one of its workers ended (its next request
        starts the workers again). A worker's end is noticed by the pool's own thread,
        a moment after the process ended: tests wait for this, not for a delay."""
        executor = self._executor
        return executor is not None and bool(getattr(executor, "_broken", False))

    def worker_pids(self) -> list[int]:
        """The workers' process ids (tests, diagnostics)."""
        executor = self._executor
        processes = getattr(executor, "_processes", None) or {}
        return sorted(processes)

    def shutdown(self) -> None:
        """Wait for the requests in flight, then end the workers (and the zygote, once no
        other pool of this process needs it)."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
            holds, self._holds_zygote = self._holds_zygote, False
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=False)
        if holds:
            ZYGOTE.release(self)


class ZygoteUnsafe(RuntimeError):
    """The zygote cannot be forked now (a file of a pool's SQLite database is open)."""


_NOT_STARTED = (BrokenProcessPool, ZygoteUnsafe)
"""What a submission raises when no worker could take it (none of it ran): the pool broke
before it, or its zygote ended (killed a moment ago, still looking alive when the pool was
made: its socket refuses) and cannot be forked again now, so the next pool spawns."""


def sqlite_path(database_url: str | URL | None) -> Path | None:
    """The file of a SQLite database URL (``None``: another database, or in memory)."""
    from sqlalchemy.engine import make_url

    if database_url is None:
        return None
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(os.path.realpath(str(url.database)))


def open_files(pid: int) -> list[str]:
    """What the descriptors of ``pid`` point at (paths, ``socket:[inode]``, ``pipe:[…]``)."""
    found = []
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                found.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
    return found


# -- the zygote ----------------------------------------------------------------------------


class Zygote:
    """The process the workers are forked from: a child of the replica's process, forked
    after :func:`preload`, running :func:`multiprocessing.forkserver.main` (which forks a
    worker for each request on a Unix socket and reports its exit code). multiprocessing's
    own fork server starts a fresh interpreter, which imports everything a second time;
    this one is a copy of the replica's process, so the replica, the zygote and the
    workers share those pages.

    One per process (:data:`ZYGOTE`), shared by the pools of the process (tests run
    several), started by the first :meth:`acquire` and stopped by the last :meth:`release`.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._users: list[RouterPool] = []
        self.pid: int | None = None
        self._address: str | None = None
        self._alive_w: int | None = None

    def acquire(self, pool: RouterPool) -> None:
        """``pool`` forks its workers from the zygote (until :meth:`release`)."""
        with self._lock:
            self._users.append(pool)

    def release(self, pool: RouterPool) -> None:
        with self._lock:
            with contextlib.suppress(ValueError):
                self._users.remove(pool)
            if not self._users:
                self._stop()

    def ensure_running(self) -> None:
        """Fork the zygote unless it runs; :class:`ZygoteUnsafe` when it cannot be now."""
        with self._lock:
            self._ensure_running()

    def running(self) -> bool:
        """Whether the zygote is alive (it is reaped here if it is not)."""
        with self._lock:
            return self._alive()

    def _alive(self) -> bool:
        if self.pid is None:
            return False
        try:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            pid = self.pid
        return pid == 0

    def connect_to_new_process(self, fds: list[int]) -> tuple[int, int]:
        """Ask the zygote for a new process (as ``ForkServer.connect_to_new_process``): the
        pipe ends from which its pid, then its exit code, are read, and to which the
        pickled process is written. A zygote that died is forked again."""
        with self._lock:
            self._ensure_running()
            address, alive_w = self._address, self._alive_w
        assert address is not None and alive_w is not None
        if len(fds) + 4 >= forkserver.MAXFDS_TO_SEND:
            raise ValueError("too many fds")
        tracker = resource_tracker.getfd()
        assert tracker is not None, "started with the zygote"
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(address)
            parent_r, child_w = os.pipe()
            child_r, parent_w = os.pipe()
            try:
                reduction.sendfds(client, [child_r, child_w, alive_w, tracker, *fds])
                return parent_r, parent_w
            except BaseException:
                os.close(parent_r)
                os.close(parent_w)
                raise
            finally:
                os.close(child_r)
                os.close(child_w)

    def _ensure_running(self) -> None:
        if self._alive():
            return
        if self.pid is not None:
            log.error("router pool: the zygote (pid %d) ended; forking it again", self.pid)
            self._forget()
        for pool in self._users:
            pool.prepare_fork()
        # the workers report to the replica's resource tracker (semaphores): started before
        # the fork, so that the zygote does not start one of its own
        resource_tracker.ensure_running()
        preload()
        gc.collect()
        gc.freeze()  # neither the replica's collections nor the workers' write to shared pages
        listener = socket.socket(socket.AF_UNIX)
        address = connection.arbitrary_address("AF_UNIX")  # type: ignore[attr-defined]
        alive_r, alive_w = os.pipe()
        try:
            listener.bind(address)
            os.chmod(address, 0o600)
            listener.listen()
            pid = os.fork()
            if pid == 0:
                _zygote_main(listener.fileno(), alive_r)
        except BaseException:
            os.close(alive_w)
            raise
        finally:
            listener.close()
            os.close(alive_r)
        self.pid, self._address, self._alive_w = pid, address, alive_w
        log.info("router pool: zygote forked (pid %d)", pid)

    def discard(self, pid: int | None, why: str) -> None:
        """Kill, reap and forget the zygote ``pid`` (the next request forks a new one): it is
        not answering, though it may not have ended yet. A zygote that replaced it stays."""
        with self._lock:
            if self.pid is None or self.pid != pid:
                return
            log.error("router pool: discarding the zygote (pid %d): %s", self.pid, why)
            _kill_and_reap(self.pid)
            self._forget()

    def _stop(self) -> None:
        if self.pid is None:
            return
        pid = self.pid
        assert self._alive_w is not None
        os.close(self._alive_w)  # the zygote ends once its workers have closed theirs too
        self._alive_w = None
        deadline = time.monotonic() + ZYGOTE_STOP_S
        while self._alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if self._alive():
            log.error("router pool: the zygote (pid %d) did not end; killing it", pid)
            _kill_and_reap(pid)
        self._forget()

    def _forget(self) -> None:
        if self._alive_w is not None:
            os.close(self._alive_w)
        if self._address is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._address)
        self.pid, self._address, self._alive_w = None, None, None


def _kill_and_reap(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


ZYGOTE = Zygote()


def _zygote_main(listener_fd: int, alive_r: int) -> NoReturn:
    """The zygote, right after the fork (never returns)."""
    code = 1
    try:
        _set_name(ZYGOTE_NAME)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        # The replica's sockets (its port, database connections) and pipes are not ours:
        # holding them would keep its port open after the replica closed it.
        _release_fds({0, 1, 2, listener_fd, alive_r})
        _fresh_stdio()
        util._finalizer_registry.clear()  # type: ignore[attr-defined]  # the replica's, not ours
        # The replica's executor threads, which its exit joins, are not here: the fork may
        # come from one of them (now our only thread), and a worker exiting would try to
        # join itself ("cannot join current thread").
        futures_thread._threads_queues.clear()  # type: ignore[attr-defined]
        forkserver.main(listener_fd, alive_r, [])
        code = 0
    except SystemExit:  # the replica and the workers have all closed the "alive" pipe
        code = 0
    except BaseException:
        with contextlib.suppress(Exception):
            traceback.print_exc()
    finally:
        os._exit(code)


def _release_fds(keep: set[int]) -> None:
    """Point every inherited descriptor but ``keep`` at ``/dev/null``: the replica's sockets
    and pipes are released (its port, its database connections), yet the numbers stay taken,
    so that an object of the replica's still holding one (a log handler's file) can never
    write into a pipe or file of the zygote's or a worker's that reused it."""
    null = os.open(os.devnull, os.O_RDWR)
    try:
        fds = [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:  # no /proc: every possible descriptor
        fds = list(range(os.sysconf("SC_OPEN_MAX")))
    for fd in fds:
        if fd not in keep and fd != null:
            with contextlib.suppress(OSError):
                os.dup2(null, fd)


_OLD_STDIO: list[Any] = []


def _fresh_stdio() -> None:
    """New stdio objects on the same descriptors: another thread of the replica may have
    held the old ones' locks (a chat reading the terminal, a log line being written) at
    the fork, and would never release them here. The old objects are kept (not closed)."""
    old = (sys.stdin, sys.stdout, sys.stderr)
    _OLD_STDIO.extend(old)
    sys.stdin = io.TextIOWrapper(io.FileIO(os.open(os.devnull, os.O_RDONLY)), encoding="utf-8")
    sys.stdout, sys.stderr = (
        io.TextIOWrapper(
            io.FileIO(fd, "w", closefd=False),
            encoding="utf-8",
            errors="backslashreplace",
            write_through=True,
        )
        for fd in (1, 2)
    )
    for handler in _all_handlers():
        if not isinstance(handler, logging.StreamHandler):
            continue
        if handler.stream is old[1]:
            handler.stream = sys.stdout
        elif handler.stream is old[2]:
            handler.stream = sys.stderr


def _all_handlers() -> list[logging.Handler]:
    loggers = [logging.getLogger(), *(
        logger for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    )]  # fmt: skip
    return [handler for logger in loggers for handler in logger.handlers]


def _set_name(name: str) -> None:
    """The process's name as ``ps`` and ``top`` show it (Linux; elsewhere nothing)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/comm").write_text(name[:15])


class _ZygotePopen(popen_forkserver.Popen):
    """multiprocessing's fork-server ``Popen``, asking :data:`ZYGOTE` instead."""

    method = "zygote"

    def _launch(self, process_obj: Any) -> None:
        prep_data = spawn.get_preparation_data(process_obj._name)
        buf = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            set_spawning_popen(None)
        asked = ZYGOTE.pid
        try:
            self._ask_zygote(buf)
        except (OSError, EOFError) as exc:
            # A zygote killed a moment ago can still look alive (its sockets and pipes close
            # before it can be reaped): it is discarded and a new one asked, once.
            ZYGOTE.discard(asked, f"it did not start a worker ({exc!r})")
            self._ask_zygote(buf)

    def _ask_zygote(self, buf: io.BytesIO) -> None:
        sentinel, w = ZYGOTE.connect_to_new_process(self._fds)  # type: ignore[attr-defined]
        # a duplicate of the data pipe's write end: the worker's sentinel of this process
        # (multiprocessing.parent_process()), closed when this process ends
        parent_w = os.dup(w)
        try:
            with open(w, "wb", closefd=True) as f:
                f.write(buf.getbuffer())
            pid = forkserver.read_signed(sentinel)
        except BaseException:
            os.close(parent_w)
            os.close(sentinel)
            raise
        self.sentinel, self.pid = sentinel, pid
        self.finalizer = util.Finalize(self, util.close_fds, (parent_w, sentinel))  # type: ignore[attr-defined]


class _ZygoteProcess(process.BaseProcess):
    _start_method = None  # the worker keeps the default context (none is "zygote" there)

    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        return _ZygotePopen(process_obj)


class _ZygoteContext(BaseContext):
    _name = "zygote"
    Process = _ZygoteProcess


# -- inside a worker process -------------------------------------------------------------

_worker: dict[str, Any] = {}


def _init_worker(database_url: str, config: AppConfig, log_settings: Any, nice: int) -> None:
    from sqlalchemy import event

    from bot import messengers
    from commands.router import build_router
    from storage.db import make_engine

    _set_name(WORKER_NAME)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if nice:
        with contextlib.suppress(OSError):  # not allowed here: same priority, still correct
            os.nice(nice)
    if log_settings is not None:
        from bot.logs import configure

        configure(log_settings)
    threading.Thread(target=_watch_parent, name="parent-watch", daemon=True).start()
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
    gc.collect()  # the permanent generation (the zygote's, frozen) is not walked
    gc.freeze()  # the router stays: full collections need not walk it


def _watch_parent() -> None:
    """Exit as soon as the replica's process has ended (SIGKILL): the worker's sentinel of
    it, a pipe whose other end only that process held, closes then."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    parent.join()
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


def _draw(reply: Reply, context: dict[str, str]) -> Reply | None:
    from bot.logs import request_context

    with request_context(**context):
        drawn: Reply | None = _worker["router"].draw(reply)
    return drawn
