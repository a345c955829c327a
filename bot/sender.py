"""The outbox sender: claim due rows, send each through the member's platform, mark it.

    sender = Sender(engine, {"slack": slack_adapter, "telegram": telegram_adapter})
    await sender.start()          # runs until stop(); Service.start/stop do this
    stats = await sender.drain()  # tests and the bench: until nothing is left to send

**Never dies.** Every round of the claim loop, every lane and the writer survive database
and platform errors: the round is retried with back-off (a database that refuses, resets or
freezes; each database call has a deadline, :data:`DB_TIMEOUT_S`, so a silent database
cannot hold the sender), and a supervisor starts the loop again should it ever end.
:meth:`Sender.health` says whether the outbox drains (``/readyz``, the
``kpibot_outbox_stalled`` metric); a stall is logged at error level when it begins, and the
teams' admins are told how long messages were held up once it ends.

**At most once and at least once.** A row is claimed (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, committed at once). Right before its request goes to the platform the sender
records, durably and only while the row is still its own, that the send starts
(:func:`storage.outbox.begin_send`; no send without it). The lane does not wait for that
record: it paces the next messages meanwhile, and the records of the sends starting
together are committed in one round of the writer thread, each send going out once its own
is written (one database round trip per message had made a broadcast 2.65 × slower). After the
platform took it, the mark ``sent`` with the message ref is written by the one writer thread (group
commit) and
*retried until it is written*, never by sending again. A sender's heartbeat renews its
claims every third of the lease (:data:`storage.outbox.DEFAULT_LEASE`, 30 s), so a dead
replica's rows are taken over within about that. A row taken over with its send started
(``sending_at``), and a send whose outcome is ambiguous (a timeout or a dropped connection
after the request was written), is *settled*, not re-sent: on Slack by looking for the
message in the DM (each outbox post carries its key as message metadata); where no check
exists (Telegram, Slack file uploads) the row becomes ``ambiguous``: never sent again,
counted (``kpibot_outbox_ambiguous_total``), logged, and the team's admins are told whom
to check with.

**Pacing.** Each platform has limits (:data:`DEFAULT_LIMITS`): Telegram about 30 messages
a second overall and one a second per chat; Slack about one a second per channel and a
budget per workspace. A *lane* per overall budget (Telegram's bot, each Slack workspace)
sends in order, at the budget's rate (a generic cell-rate algorithm, a hair under the
limit); a message whose chat is still busy waits aside without holding the others back.
A 429 blocks that chat until its retry delay has passed (the message is tried again then,
never earlier); a 5xx or a network error before the request was written backs off
exponentially; after ``max_attempts`` the row is ``failed``. A member with no account on
any platform the service runs (or whom the platform refuses) is ``unreachable`` at once,
never retried, and their manager gets a note through the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import os
import random
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot import messengers
from bot.messenger import Limits
from commands import people
from commands.i18n import normalize_lang, translator
from commands.inbox_view import first_line
from commands.linking import messengers_named
from commands.messages import Outgoing, Reply
from commands.outbox import chart_of, enqueue, reply_from_json
from commands.outbox_charts import resolve_reply
from storage import outbox as store
from storage import repo
from storage.db import unit_of_work
from storage.models import LEGACY_ID_PLATFORMS, Member, Team
from storage.models.cycle import OutboxMessage

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


class OutgoingPort(Protocol):
    """What an adapter offers the sender (``bot.slack.SlackAdapter``,
    ``bot.telegram.TelegramAdapter``)."""

    async def send_outgoing(self, outgoing: Outgoing) -> str | None: ...


def outbox_limits() -> dict[str, Limits]:
    """Each messenger's limits, from its package (:attr:`bot.messenger.Messenger.limits`)."""
    return {m.platform: m.limits for m in messengers.MESSENGERS}


DEFAULT_LIMITS: dict[str, Limits] = outbox_limits()
DB_TIMEOUT_S = 10.0
"""A database call of the sender that has not answered in this long is given up (a silent
database); the call is retried on a fresh thread."""
STALL_S = 60.0
"""No progress (a finished row, or a claim that found nothing due) for this long: stalled."""
SETTLE_AFTER_S = 5.0
"""An ambiguous send is checked for this long after it (the platform may still be working on it)."""
RETRY_IN_MEMORY = timedelta(seconds=60)
"""A retry delay up to this long is waited out holding the claim; a longer one goes back to the
table."""


class Bucket:
    """Generic cell-rate algorithm: at most ``rate`` a second, bursts of ``burst``."""

    def __init__(self, rate: float, burst: int = 1) -> None:
        self.interval = 1.0 / rate
        self.tau = (max(burst, 1) - 1) * self.interval
        self.tat = 0.0

    def earliest(self, now: float) -> float:
        return max(now, self.tat - self.tau)

    def take(self, at: float) -> None:
        self.tat = max(self.tat, at) + self.interval

    def block_until(self, moment: float) -> None:
        """Nothing before ``moment`` (a retry delay)."""
        self.tat = max(self.tat, moment + self.tau)


class Buckets:
    """Buckets by key, the least recently used forgotten past ``capacity`` (their pace with
    them)."""

    def __init__(self, rate: float, burst: int = 1, capacity: int = 100_000) -> None:
        self.rate, self.burst, self.capacity = rate, burst, capacity
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()

    def __getitem__(self, key: str) -> Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(self.rate, self.burst)
            if len(self._buckets) > self.capacity:
                self._buckets.popitem(last=False)
        self._buckets.move_to_end(key)
        return bucket


@dataclass
class Job:
    """One claimed row on its way out."""

    row_id: int
    key: str
    team_id: int
    period_id: int | None
    member_id: int | None
    kind: str
    data: dict[str, Any]
    platform: str
    chat: str
    lane: str
    tries: int = 0
    claimed_at: float = field(default_factory=time.monotonic)
    in_doubt: bool = False
    """A send of it was started and may have reached the person: settle before any send."""
    doubt_since: datetime | None = None


@dataclass
class SendStats:
    sent: int = 0
    unreachable: int = 0
    failed: int = 0
    retried_429: int = 0
    retried_error: int = 0
    lost_claims: int = 0
    """Sends not started, or marks refused, because the row was no longer this sender's."""
    ambiguous: int = 0
    """Sends that may or may not have been delivered and could not be settled (not re-sent)."""
    settled: int = 0
    """Sends in doubt found delivered by a delivery check (marked sent, not re-sent)."""
    database_errors: int = 0
    restarts: int = 0


class Outcome:
    SENT, UNREACHABLE, RETRY_AFTER, TRANSIENT, PERMANENT, AMBIGUOUS = range(6)


def classify(exc: BaseException) -> tuple[int, float | None]:
    """What an exception from a platform means: (outcome, retry delay in seconds).

    ``AMBIGUOUS``: the request may have been written and taken (a timeout waiting for the
    answer, a connection dropped after the request): sending again could deliver it twice."""
    import aiohttp
    from slack_sdk.errors import SlackApiError
    from telegram.error import (
        BadRequest,
        Forbidden,
        InvalidToken,
        NetworkError,
        RetryAfter,
        TimedOut,
    )

    from bot.telegram.request import AnswerLost

    if isinstance(exc, RetryAfter):
        delay = getattr(exc, "_retry_after", None)
        seconds = delay.total_seconds() if isinstance(delay, timedelta) else 1.0
        return Outcome.RETRY_AFTER, seconds
    if isinstance(exc, BadRequest | Forbidden | InvalidToken):
        return Outcome.PERMANENT, None
    if isinstance(exc, TimedOut | AnswerLost):
        return Outcome.AMBIGUOUS, None
    if isinstance(exc, NetworkError):
        return Outcome.TRANSIENT, None
    if isinstance(exc, aiohttp.ClientConnectorError):  # never connected: nothing was written
        return Outcome.TRANSIENT, None
    if isinstance(exc, TimeoutError | aiohttp.ClientError):
        return Outcome.AMBIGUOUS, None
    if isinstance(exc, SlackApiError):
        status = int(getattr(exc.response, "status_code", 200))
        if status == 429:
            headers = {str(k).lower(): v for k, v in (exc.response.headers or {}).items()}
            value = headers.get("retry-after", "1")
            value = value[0] if isinstance(value, list) else value
            return Outcome.RETRY_AFTER, float(value)
        if status >= 500:
            return Outcome.TRANSIENT, None
        return Outcome.PERMANENT, None
    return Outcome.TRANSIENT, None


def backoff(tries: int, *, base: float = 0.5, cap: float = 300.0) -> float:
    """Exponential back-off, the upper half jittered: 0.25–0.5, 0.5–1, 1–2 … seconds, at most
    ``cap``."""
    ceiling: float = min(cap, base * (2.0 ** max(tries - 1, 0)))
    return ceiling / 2 + random.random() * ceiling / 2


def _worker_name() -> str:
    return f"{os.uname().nodename}:{os.getpid()}:{random.randrange(16**6):06x}"


class Lane:
    """Messages sharing one overall budget: sent in order, each chat at its own pace."""

    def __init__(self, name: str, budget: Bucket | None, chats: Buckets, *, want: int = 20) -> None:
        self.name = name
        self.want = want
        """How many queued messages keep the lane busy (two seconds' worth)."""
        self.budget = budget
        self.chats = chats
        self.queue: deque[Job] = deque()
        self.waiting: list[tuple[float, int, Job]] = []
        self.wake = asyncio.Event()
        self._seq = itertools.count()
        self.failures = 0
        """Start records that could not be written in a row (the database)."""
        self.hold_until = 0.0
        """No send starts before this (``time.monotonic()``): backing off the database."""

    def push(self, job: Job, at: float | None = None) -> None:
        if at is None:
            self.queue.append(job)
        else:
            heapq.heappush(self.waiting, (at, next(self._seq), job))
        self.wake.set()

    def __len__(self) -> int:
        return len(self.queue) + len(self.waiting)

    def jobs(self) -> list[Job]:
        return list(self.queue) + [j for _at, _n, j in self.waiting]

    def next_ready(self, now: float) -> tuple[Job | None, float | None]:
        """A job whose chat may be sent to now, else when the earliest one may."""
        if self.waiting and self.waiting[0][0] <= now:
            job = heapq.heappop(self.waiting)[2]
            ready = self.chats[job.chat].earliest(now)
            if ready <= now:
                return job, None
            heapq.heappush(self.waiting, (ready, next(self._seq), job))
        while self.queue:
            job = self.queue.popleft()
            ready = self.chats[job.chat].earliest(now)
            if ready <= now:
                return job, None
            heapq.heappush(self.waiting, (ready, next(self._seq), job))
        return None, (self.waiting[0][0] if self.waiting else None)


class Sender:
    def __init__(
        self,
        engine: Engine,
        adapters: Mapping[str, OutgoingPort],
        *,
        worker: str | None = None,
        limits: Mapping[str, Limits] | None = None,
        batch: int = 200,
        lease: timedelta = store.DEFAULT_LEASE,
        max_attempts: int = 10,
        idle_poll: float = 1.0,
        concurrency: int = 64,
        clock: Clock | None = None,
        default_lang: str = "zh",
        db_timeout: float = DB_TIMEOUT_S,
        stall_after: float = STALL_S,
        settle_after: float = SETTLE_AFTER_S,
        metrics: Any = None,
    ) -> None:
        self.engine = engine
        self.adapters = dict(adapters)
        self.worker = worker or _worker_name()
        self.limits = {**outbox_limits(), **(limits or {})}
        self.batch = batch
        self.max_held = max(batch * 10, batch)
        """At most this many claimed rows in memory (while one lane waits for another's rows)."""
        self._table_has_more = False
        self.lease = lease
        self.max_attempts = max_attempts
        self.idle_poll = idle_poll
        self.clock = clock or (lambda: datetime.now(UTC))
        self.default_lang = default_lang
        self.db_timeout = db_timeout
        self.stall_after = stall_after
        self.settle_after = settle_after
        self.metrics = metrics
        """``bot.metrics.Metrics`` (or anything with ``outbox_ambiguous(platform)``), optional."""
        self.stats = SendStats()
        self._slots = asyncio.Semaphore(concurrency)
        self._lanes: dict[str, Lane] = {}
        self._lane_tasks: dict[str, asyncio.Task[None]] = {}
        self._in_flight: set[asyncio.Task[None]] = set()
        """Sends under way (their start recorded)."""
        self._starting: set[asyncio.Task[None]] = set()
        """Sends whose start record is being written (they send once it is)."""
        self._held: dict[int, Job] = {}
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._beat: asyncio.Task[None] | None = None
        self._chat_buckets: dict[str, Buckets] = {}
        self._overall: dict[str, Bucket] = {}
        self._db = self._new_db_thread()
        """Every write of this sender on one thread: no lock contention on SQLite, and marks
        that queue up while one commits are committed together (group commit)."""
        self._charts = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-chart")
        """Every chart of this sender drawn on one thread (issue 20): matplotlib keeps a copy
        of each font per thread that draws, so a broadcast drawing on the event loop's many
        threads held one per thread (a replica after 300 charted results: 387 MB PSS, on one
        thread 280 MB; bench/memory_bench.py). Drawing holds the interpreter anyway: one
        thread drew the 300 as fast as many (160 s against 152 s on a loaded machine)."""
        self._marks: list[tuple[Job, str | None, asyncio.Future[bool]]] = []
        self._begins: list[tuple[Job, asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._writer_failures = 0
        self._give_up_marks = False
        self.progress_at = time.monotonic()
        """When the outbox last moved: a row finished, or a claim found nothing due."""
        self.db_ok_at = time.monotonic()
        """When a database round of this sender last succeeded."""
        self._stalled_since: float | None = None
        self._stalled_wall: datetime | None = None
        self.on_sent: Callable[[Job], None] | None = None
        """Called right after a mark (tests stop a sender there)."""
        self.before_mark: Callable[[Job], None] | None = None
        """Called between the send and the mark (tests kill a sender there)."""

    # ---------------------------------------------------------------- the database, with a deadline
    @staticmethod
    def _new_db_thread() -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-db")

    async def _write(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn`` on the writer thread; a call that does not answer within ``db_timeout``
        (a frozen database) raises ``TimeoutError`` and leaves that thread to its fate: the
        next call gets a fresh one."""
        executor = self._db
        future = asyncio.get_running_loop().run_in_executor(executor, fn, *args)
        try:
            result = await asyncio.wait_for(future, self.db_timeout)
        except TimeoutError:
            if self._db is executor:
                executor.shutdown(wait=False)
                self._db = self._new_db_thread()
            self.stats.database_errors += 1
            raise TimeoutError(
                f"the database did not answer within {self.db_timeout:g} s"
            ) from None
        except Exception:
            self.stats.database_errors += 1
            raise
        self.db_ok_at = time.monotonic()
        return result

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    # ---------------------------------------------------------------- the writer (group commit)
    async def _mark(self, job: Job, ref: str | None) -> bool | None:
        """Record the send; retried until written. ``None``: given up at shutdown (logged)."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._marks.append((job, ref, future))
        self._wake_writer()
        try:
            return await future
        except _GaveUp:
            return None

    async def _begin(self, job: Job) -> bool:
        """Record that the send of ``job`` starts; ``False``: the row is no longer ours."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._begins.append((job, future))
        self._wake_writer()
        return await future

    def _wake_writer(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(
                self._write_loop(), name=f"outbox-writer {self.worker}"
            )

    async def _write_loop(self) -> None:
        while self._marks or self._begins:
            marks, self._marks = self._marks, []
            begins, self._begins = self._begins, []
            if begins and (self._writer_failures or self._stop.is_set()):
                begins = self._probe_only(begins)
                if not marks and not begins:
                    continue
            try:
                marked, begun = await self._write(
                    self._write_round, [(j, r) for j, r, _f in marks], [j for j, _f in begins]
                )
            except Exception as exc:  # noqa: BLE001 - marks are kept and retried, begins told
                await self._round_failed(marks, begins, exc)
                continue
            self._writer_failures = 0
            for (_job, _ref, future), ok in zip(marks, marked, strict=True):
                if not future.done():
                    future.set_result(ok)
            for (_job, future), ok in zip(begins, begun, strict=True):
                if not future.done():
                    future.set_result(ok)

    def _probe_only(
        self, begins: list[tuple[Job, asyncio.Future[bool]]]
    ) -> list[tuple[Job, asyncio.Future[bool]]]:
        """The start records a round may carry while the database fails (or the sender stops).

        No round carries the start records of many sends then: a round that hangs may still
        commit once the database answers again, and each record it carries makes a send that
        never happened look started (ambiguous) to the next claimant. One send probes whether
        the database is back; the others wait, not started."""
        keep = [] if self._stop.is_set() else begins[:1]
        for _job, future in begins[len(keep) :]:
            if not future.done():
                future.set_exception(_NotStarted("the database is failing"))
        return keep

    async def _round_failed(
        self,
        marks: list[tuple[Job, str | None, asyncio.Future[bool]]],
        begins: list[tuple[Job, asyncio.Future[bool]]],
        exc: Exception,
    ) -> None:
        """A round that raised: its start records are told; its marks are given up (at
        shutdown, logged) or kept in front for the next round, after a back-off."""
        for _job, future in begins:
            if not future.done():
                future.set_exception(exc)
        self._writer_failures += 1
        if self._give_up_marks:
            for job, _ref, future in marks:
                log.error(
                    "outbox %s was sent but could not be recorded (%s); its next "
                    "claimant will settle it, not re-send it",
                    job.key,
                    exc,
                )
                if not future.done():
                    future.set_exception(_GaveUp())
            return
        self._marks[:0] = marks  # in front: the oldest send first
        log.log(
            logging.WARNING if self._writer_failures == 1 else logging.DEBUG,
            "outbox: %d sends not recorded yet (%s); retrying",
            len(marks),
            exc,
        )
        if marks:
            await asyncio.sleep(backoff(self._writer_failures, cap=5.0))

    def _write_round(
        self, marks: list[tuple[Job, str | None]], begins: list[Job]
    ) -> tuple[list[bool], list[bool]]:
        now = self.clock()
        with unit_of_work(self.engine) as session:
            mine = store.mark_sent_many(
                session=session,
                worker=self.worker,
                now=now,
                marks=[(job.row_id, ref, job.platform) for job, ref in marks],
            )
            fresh = store.begin_send(session=session, worker=self.worker, now=now, lease=self.lease,
                                     ids=[j.row_id for j in begins if not j.in_doubt])  # fmt: skip
            doubt = store.begin_send(
                session=session,
                worker=self.worker,
                now=now,
                keep_first=True,
                lease=self.lease,
                ids=[j.row_id for j in begins if j.in_doubt],
            )
        return [job.row_id in mine for job, _ref in marks], [
            j.row_id in (fresh | doubt) for j in begins
        ]

    # ---------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        self._stop.clear()
        self._give_up_marks = False
        self.progress_at = self.db_ok_at = time.monotonic()
        self._task = asyncio.create_task(self._supervise(), name=f"outbox-sender {self.worker}")
        self._beat = asyncio.create_task(self._heartbeat(), name=f"outbox-heartbeat {self.worker}")

    async def stop(self, *, grace: float = 10.0) -> None:
        """Stop claiming, let sends in flight finish and mark, release what was not sent.
        Ends within about ``grace`` seconds even while the database cannot be written: sends
        not recorded by then are logged (their next claimant settles them)."""
        self._stop.set()
        for lane in self._lanes.values():
            lane.wake.set()
        if self._beat is not None:
            self._beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beat
            self._beat = None
        if self._task is not None:
            task, self._task = self._task, None
            done, _pending = await asyncio.wait({task}, timeout=grace)
            if not done:
                log.error(
                    "outbox sender %s did not stop within %g s; stopping it now", self.worker, grace
                )
                self._give_up_marks = True
                for _job, _ref, future in self._marks:
                    if not future.done():
                        future.set_exception(_GaveUp())
                task.cancel()
                await asyncio.wait({task}, timeout=max(grace / 4, 1.0))
            elif task.exception() is not None:
                log.error(
                    "outbox sender %s ended on an error", self.worker, exc_info=task.exception()
                )

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _supervise(self) -> None:
        """The claim loop, started again (with back-off) should it ever end on an error."""
        failures = 0
        try:
            while not self._stop.is_set():
                try:
                    await self.run()
                    failures = 0
                except Exception:
                    failures += 1
                    self.stats.restarts += 1
                    log.exception(
                        "outbox sender %s: the claim loop failed; starting it again", self.worker
                    )
                    await self._pause(backoff(failures, cap=30.0))
        finally:
            await self._shutdown()

    async def run(self) -> None:
        """Claim and hand rows to the lanes until stopped; a failing round is retried."""
        failures = 0
        while not self._stop.is_set():
            try:
                claimed = await self._refill()
            except Exception as exc:  # noqa: BLE001 - the database: back off, try again
                failures += 1
                log.log(logging.ERROR if failures == 1 else logging.DEBUG,
                        "outbox sender %s: cannot claim (%s: %s); retrying", self.worker,
                        type(exc).__name__, exc)  # fmt: skip
                await self._pause(backoff(failures, cap=10.0))
                self._watch_stall()
                continue
            if failures:
                log.warning(
                    "outbox sender %s: claiming again after %d failed tries", self.worker, failures
                )
            failures = 0
            if claimed == 0 and not self._held:
                self._progressed()
            self._watch_stall()
            if claimed == 0 and (not self._held or not self._table_has_more):
                # Nothing due in the table (the lanes are sending what is held): look again
                # after the poll interval, not in a loop of empty claims against the database.
                await self._pause(self.idle_poll)
            else:
                await self._wait_for_room()

    async def _heartbeat(self) -> None:
        """Renew this sender's claims every third of the lease (a dead one's run out)."""
        every = max(self.lease.total_seconds() / 3, 0.05)
        while True:
            await asyncio.sleep(every)
            if not self._held:
                continue
            try:
                await self._write(self._touch)
            except Exception as exc:  # noqa: BLE001 - the next beat tries again
                log.debug("outbox sender %s: heartbeat failed: %s", self.worker, exc)

    def _touch(self) -> None:
        with unit_of_work(self.engine) as session:
            store.heartbeat(session=session, worker=self.worker, now=self.clock())

    async def drain(self, *, timeout: float = 600.0) -> SendStats:
        """Send until no row is pending or claimed (by anyone) — for tests, the bench, the CLI."""
        deadline = time.monotonic() + timeout
        await self.start()
        try:
            while time.monotonic() < deadline:
                if not self._held:
                    try:
                        left = await asyncio.wait_for(
                            asyncio.to_thread(self._anything_left), self.db_timeout
                        )
                    except Exception:  # noqa: BLE001 - the database is away: keep waiting
                        left = True
                    if not left:
                        break
                await asyncio.sleep(0.05)
            else:
                raise TimeoutError(f"the outbox was not drained within {timeout} s")
        finally:
            await self.stop()
        return self.stats

    def _anything_left(self) -> bool:
        with unit_of_work(self.engine) as session:
            counts = store.status_counts(session=session)
        return bool(counts["pending"] or counts["claimed"])

    async def _shutdown(self) -> None:
        for task in self._lane_tasks.values():
            task.cancel()
        for task in self._lane_tasks.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._lane_tasks.clear()
        while self._starting or self._in_flight:
            await asyncio.gather(*self._starting, *self._in_flight, return_exceptions=True)
        left = list(self._held.values())
        self._held.clear()
        self._lanes.clear()
        if left:
            try:
                await self._write(self._release_all, left)
            except Exception as exc:  # noqa: BLE001 - their lease runs out; another sender takes them
                log.warning("outbox sender %s: %d claimed rows not released (%s); they are taken "
                            "over when their lease ends", self.worker, len(left), exc)  # fmt: skip

    def _release_all(self, jobs: list[Job]) -> None:
        now = self.clock()
        with unit_of_work(self.engine) as session:
            for job in jobs:
                store.release(
                    session=session,
                    message_id=job.row_id,
                    worker=self.worker,
                    not_before=now,
                    error="sender stopped before sending",
                    in_doubt=job.in_doubt,
                )

    # ---------------------------------------------------------------- health
    def _progressed(self) -> None:
        self.progress_at = time.monotonic()
        self._watch_stall()

    def health(self) -> dict[str, Any]:
        """Whether the outbox drains: ``ok`` false when the sender is not running, or nothing
        moved for ``stall_after`` seconds (``stalled_s``) while rows wait; ``database`` false
        when its last database round failed that long ago."""
        now = time.monotonic()
        quiet = now - self.progress_at
        stalled = self._stalled_since is not None
        return {
            "ok": self.running and not stalled,
            "running": self.running,
            "stalled_s": round(now - self._stalled_since, 1)
            if self._stalled_since is not None
            else 0.0,
            "quiet_s": round(quiet, 1),
            "held": len(self._held),
            "database": now - self.db_ok_at < self.stall_after,
            "ambiguous": self.stats.ambiguous,
        }

    def _watch_stall(self) -> None:
        now = time.monotonic()
        quiet = now - self.progress_at
        if self._stalled_since is None and quiet >= self.stall_after:
            self._stalled_since = self.progress_at
            self._stalled_wall = self.clock() - timedelta(seconds=quiet)
            log.error("outbox sender %s: the outbox is not draining (nothing moved for %.0f s, %d "
                      "rows held)", self.worker, quiet, len(self._held))  # fmt: skip
            if self.metrics is not None:
                self.metrics.outbox_stalled.set(1)
        elif self._stalled_since is not None and quiet < self.stall_after:
            held_up = now - self._stalled_since
            began, self._stalled_since = self._stalled_wall, None
            log.warning(
                "outbox sender %s: the outbox drains again after %.0f s", self.worker, held_up
            )
            if self.metrics is not None:
                self.metrics.outbox_stalled.set(0)
            if began is not None:
                asyncio.get_running_loop().create_task(self._tell_admins_of_stall(began, held_up))

    async def _tell_admins_of_stall(self, began: datetime, seconds: float) -> None:
        try:
            await self._write(self._note_stall, began, seconds)
        except Exception:  # noqa: BLE001 - the log line above says it already
            log.warning("outbox: could not tell the admins of the stall", exc_info=True)

    def _note_stall(self, began: datetime, seconds: float) -> None:
        with unit_of_work(self.engine) as session:
            tell_admins_of_stall(session, began=began, seconds=seconds, now=self.clock(),
                                 default_lang=self.default_lang)  # fmt: skip

    # ---------------------------------------------------------------- claiming
    def _low_water(self) -> int:
        return max(self.batch // 2, 1)

    def _wants_more(self) -> bool:
        """Claim again when few rows are held, or when a lane runs dry while the table
        probably has more (rows of one platform must not hold back another's lane)."""
        if len(self._held) >= self.max_held:
            return False
        if len(self._held) < self._low_water():
            return True
        if not self._table_has_more:
            return False
        if any(len(lane) < lane.want for lane in self._lanes.values()):
            return True
        busy = {name.split(":")[0] for name in self._lanes}
        return any(
            platform not in busy for platform in self.adapters
        )  # a platform with no lane yet

    async def _wait_for_room(self) -> None:
        """Sleep until the lanes run low (or stop)."""
        while not self._stop.is_set() and not self._wants_more():
            await self._pause(0.05)
            self._watch_stall()

    async def _refill(self) -> int:
        room = min(self.batch, self.max_held - len(self._held))
        if room <= 0:
            return 0
        jobs, dead = await self._write(self._claim, room)
        self._table_has_more = len(jobs) + len(dead) >= room
        for job in jobs:
            if job.row_id in self._held:
                # Our own claim, taken again because its lease ran out while the heartbeat
                # could not renew it (a database outage longer than the lease): the claim is
                # renewed now, and the job is on its way already. Queued twice it would be
                # sent twice (or, its send started, wrongly settled as ambiguous).
                continue
            self._held[job.row_id] = job
            self._lane(job).push(job)
        for job, why in dead:
            await self._write(self._finish_unreachable, job, why)
            self._progressed()
        return len(jobs) + len(dead)

    def _claim(self, limit: int) -> tuple[list[Job], list[tuple[Job, str]]]:
        jobs: list[Job] = []
        dead: list[tuple[Job, str]] = []
        with unit_of_work(self.engine) as session:
            rows = store.claim_batch(
                session=session, worker=self.worker, limit=limit, now=self.clock(), lease=self.lease
            )
            if not rows:
                return jobs, dead
            members = _by_id(session, Member, {r.member_id for r in rows if r.member_id})
            teams = _by_id(session, Team, {r.team_id for r in rows})
            for row in rows:
                job, why = self._route(
                    row, members.get(row.member_id or -1), teams.get(row.team_id)
                )
                if job is None:
                    assert why is not None
                    dead.append((self._job(row, "", "", ""), why))
                elif row.attempts > self.max_attempts and not job.in_doubt:
                    store.mark_failed(
                        session=session,
                        message_id=job.row_id,
                        worker=self.worker,
                        error=f"given up after {row.attempts - 1} attempts",
                    )
                    self.stats.failed += 1
                else:
                    jobs.append(job)
        return jobs, dead

    def _job(self, row: OutboxMessage, platform: str, chat: str, lane: str) -> Job:
        assert row.id is not None
        return Job(row.id, row.key, row.team_id, row.period_id, row.member_id, row.kind,
                   dict(row.reply), platform, chat, lane, tries=row.attempts - 1,
                   in_doubt=row.sending_at is not None, doubt_since=row.sending_at)  # fmt: skip

    def _route(
        self, row: OutboxMessage, member: Member | None, team: Team | None
    ) -> tuple[Job | None, str | None]:
        """Which platform, chat and lane a row goes through, or why it cannot go anywhere."""
        if row.member_id is None:
            if team is not None and team.telegram_chat_id and "telegram" in self.adapters:
                chat = f"tg:{team.telegram_chat_id}"
                return self._job(row, "telegram", chat, "telegram"), None
            return None, "the team has no chat on a platform kpibot runs"
        if member is None or not member.active:
            return None, "no longer an active member"
        if member.slack_user_id and "slack" in self.adapters:
            workspace = team.slack_team_id if team is not None and team.slack_team_id else "-"
            lane = f"slack:{workspace}"
            return self._job(row, "slack", f"slack:{member.slack_user_id}", lane), None
        if member.telegram_user_id and "telegram" in self.adapters:
            if member.unreachable:
                return None, "blocked the bot on Telegram"
            return self._job(row, "telegram", f"tg:{member.telegram_user_id}", "telegram"), None
        linked = member.linked_ids()  # any other messenger: its id from member_identity, one lane
        for platform in self.adapters:
            if platform not in LEGACY_ID_PLATFORMS and platform in linked:
                chat = f"{platform}:{linked[platform]}"
                return self._job(row, platform, chat, platform), None
        return None, "no account on a messenger kpibot runs"

    def _lane(self, job: Job) -> Lane:
        lane = self._lanes.get(job.lane)
        if lane is None:
            limits = self.limits.get(job.platform, Limits())
            rate = limits.overall or limits.per_workspace  # the bot's, else the workspace's
            budget = self._overall.get(job.lane)
            if budget is None and rate:
                # a quarter of a second's burst lets the lane catch up after late wake-ups (a busy
                # loop)
                budget = self._overall[job.lane] = Bucket(
                    rate * limits.margin, max(1, int(rate / 4))
                )
            chats = self._chat_buckets.get(job.platform)
            if chats is None:
                chats = self._chat_buckets[job.platform] = Buckets(
                    limits.per_chat * limits.margin, limits.chat_burst
                )
            lane = self._lanes[job.lane] = Lane(
                job.lane, budget, chats, want=max(20, int(2 * (rate or 1)))
            )
            self._lane_tasks[job.lane] = asyncio.create_task(
                self._drive_forever(lane), name=f"lane {job.lane}"
            )
        return lane

    # ---------------------------------------------------------------- sending
    async def _drive_forever(self, lane: Lane) -> None:
        """A lane's loop, started again should it fail (it holds rows other lanes cannot send)."""
        failures = 0
        while True:
            try:
                await self._drive(lane)
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                self.stats.restarts += 1
                log.exception("outbox lane %s failed; starting it again", lane.name)
                await asyncio.sleep(backoff(failures, cap=10.0))

    async def _drive(self, lane: Lane) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = time.monotonic()
            if lane.hold_until > now and not self._stop.is_set():  # start records failing: back off
                await self._pause(lane.hold_until - now)
                continue
            job, ready_at = lane.next_ready(now)
            if job is None:
                lane.wake.clear()
                delay = None if ready_at is None else max(ready_at - now, 0.0)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lane.wake.wait(), delay)
                continue
            if job.row_id not in self._held:  # released meanwhile
                continue
            if lane.budget is not None:
                start = lane.budget.earliest(now)
                if start > now:
                    await asyncio.sleep(start - now)
            if self._stop.is_set():
                lane.queue.appendleft(job)
                await asyncio.Event().wait()  # the shutdown cancels this lane and releases the rest
            now = time.monotonic()
            if lane.budget is not None:
                now = max(now, lane.budget.earliest(now))
                lane.budget.take(now)
            lane.chats[job.chat].take(now)
            await self._slots.acquire()
            # The send starts only once that is recorded, and the row still ours; the record
            # is written by the writer thread while the lane goes on pacing the next ones
            # (their starts committed together), so no send waits on another's round trip.
            task = loop.create_task(self._begin_and_send(job, lane))
            self._starting.add(task)
            task.add_done_callback(self._starting.discard)
            task.add_done_callback(self._in_flight.discard)

    async def _begin_and_send(self, job: Job, lane: Lane) -> None:
        """Record the send's start (durably, the row still ours), then send; holds a slot."""
        task = asyncio.current_task()
        try:
            mine = await self._begin(job)
        except Exception as exc:  # noqa: BLE001 - the database: this job waits, the lane backs off
            self._slots.release()
            lane.failures += 1
            lane.hold_until = time.monotonic() + backoff(lane.failures, cap=10.0)
            log.log(
                logging.WARNING if lane.failures == 1 else logging.DEBUG,
                "outbox lane %s: cannot record a send's start (%s); waiting",
                lane.name,
                exc,
            )
            if job.row_id in self._held:
                lane.push(job, lane.hold_until)
            return
        except BaseException:
            self._slots.release()
            raise
        lane.failures = 0
        if not mine:
            self._slots.release()
            self._held.pop(job.row_id, None)
            self.stats.lost_claims += 1
            log.warning("outbox %s: its claim passed to another sender; not sending it", job.key)
            return
        if task is not None:
            self._starting.discard(task)
            self._in_flight.add(task)
        await self._send(job, lane)

    async def _send(self, job: Job, lane: Lane) -> None:
        try:
            if job.in_doubt:
                outcome, detail, ref = await self._settle(job)
            else:
                outcome, detail, ref = await self._attempt(job)
        except Exception as exc:  # noqa: BLE001 - a bug here must not lose the row
            log.exception("outbox %s: sending failed unexpectedly", job.key)
            outcome, detail, ref = Outcome.TRANSIENT, f"{type(exc).__name__}: {exc}", None
        finally:
            self._slots.release()
        try:
            await self._settle_outcome(job, lane, outcome, detail, ref)
        except Exception as exc:  # noqa: BLE001 - the database; the row stays claimed, retried
            log.warning("outbox %s: outcome not recorded (%s); trying again", job.key, exc)
            if job.row_id in self._held:
                lane.push(job, time.monotonic() + backoff(job.tries + 1, cap=10.0))

    async def _settle_outcome(
        self, job: Job, lane: Lane, outcome: int, detail: str | None, ref: str | None
    ) -> None:
        if outcome == Outcome.SENT:
            await self._finish_sent(job, ref)
        elif outcome == Outcome.AMBIGUOUS:
            job.in_doubt = True
            job.doubt_since = job.doubt_since or self.clock()
            if self._checkable(job):  # look for it a moment later, then send or not
                await self._retry(
                    job, lane, self.settle_after, detail or "ambiguous", block_chat=True
                )
            else:
                await self._write(self._finish_ambiguous, job, detail or "ambiguous")
                self._held.pop(job.row_id, None)
                self._progressed()
        elif outcome == Outcome.UNREACHABLE:
            await self._write(self._finish_unreachable, job, detail or "unreachable")
            self._held.pop(job.row_id, None)
            self._progressed()
        elif outcome == Outcome.RETRY_AFTER:
            self.stats.retried_429 += 1
            delay = float(detail or 1.0)
            await self._retry(job, lane, delay, f"429: retry after {delay:g} s", block_chat=True)
        elif outcome == Outcome.TRANSIENT and job.tries + 1 < self.max_attempts:
            self.stats.retried_error += 1
            await self._retry(
                job, lane, backoff(job.tries + 1), detail or "error", block_chat=False
            )
        else:
            await self._write(self._finish_failed, job, detail or "failed")
            self._held.pop(job.row_id, None)
            self._progressed()

    def _checkable(self, job: Job) -> bool:
        """Whether a delivery check can tell if this message arrived (Slack text DMs)."""
        adapter = self.adapters.get(job.platform)
        return (
            job.member_id is not None
            and getattr(adapter, "find_delivered", None) is not None
            and "image" not in job.data
            and "file" not in job.data
            and chart_of(job.data) is None
        )

    async def _settle(self, job: Job) -> tuple[int, str | None, str | None]:
        """A send that may have been delivered: a delivery check says, else it is ambiguous."""
        if not self._checkable(job):
            return (
                Outcome.AMBIGUOUS,
                "a send was started and its outcome is unknown (no delivery check)",
                None,
            )
        adapter: Any = self.adapters[job.platform]
        since = job.doubt_since or self.clock() - self.lease
        try:
            _tell_address(adapter, job)
            ref = await adapter.find_delivered(
                Outgoing(job.member_id or 0, reply_from_json(job.data), job.key), since
            )
        except Exception as exc:  # noqa: BLE001 - cannot check now: try again later, never send blind
            outcome, delay = classify(exc)
            if outcome == Outcome.RETRY_AFTER:
                return outcome, str(delay), None
            return Outcome.TRANSIENT, f"delivery check: {type(exc).__name__}: {exc}", None
        if ref is not None:
            self.stats.settled += 1
            log.info("outbox %s: found delivered (%s); not sent again", job.key, ref)
            return Outcome.SENT, None, ref
        job.in_doubt = False  # checked: it did not arrive; now it may be sent
        return await self._attempt(job)

    async def _attempt(self, job: Job) -> tuple[int, str | None, str | None]:
        adapter = self.adapters[job.platform]
        try:
            reply = await self._reply(job)
            if job.member_id is None:
                ref = await self._send_to_team_chat(adapter, job, reply)
            else:
                _tell_address(adapter, job)
                ref = await adapter.send_outgoing(Outgoing(job.member_id, reply, job.key))
        except Exception as exc:  # noqa: BLE001 - every failure is classified, none is lost
            outcome, delay = classify(exc)
            text = f"{type(exc).__name__}: {exc}"
            if outcome == Outcome.RETRY_AFTER:
                return outcome, str(delay), None
            log.log(logging.INFO if outcome == Outcome.TRANSIENT else logging.WARNING,
                    "outbox %s (%s): %s", job.key, job.platform, text)  # fmt: skip
            return outcome, text, None
        if ref is None:
            if job.platform == "slack" and (
                "image" in job.data or "file" in job.data or chart_of(job.data)
            ):
                # Slack's file upload gives no message ref; the upload itself did not fail.
                return Outcome.SENT, None, "slack:file"
            return Outcome.UNREACHABLE, f"{job.platform} cannot reach this person", None
        return Outcome.SENT, None, ref

    async def _reply(self, job: Job) -> Reply:
        if chart_of(job.data) is None:
            return reply_from_json(job.data)
        return await asyncio.get_running_loop().run_in_executor(
            self._charts, self._resolve_chart, job.data
        )

    def _resolve_chart(self, data: dict[str, Any]) -> Reply:
        with unit_of_work(self.engine) as session:
            return resolve_reply(session, data)

    async def _send_to_team_chat(self, adapter: Any, job: Job, reply: Reply) -> str | None:
        """The team's own chat (the published ranking): Telegram groups only for now."""
        send = getattr(adapter, "send_rendered", None)
        if send is None:
            return None
        from bot.telegram import render as telegram_render

        chat_id = int(job.chat.removeprefix("tg:"))
        message = await send(chat_id, telegram_render.render(reply, adapter.codec))
        return f"{message.chat_id}:{message.message_id}"

    async def _retry(
        self, job: Job, lane: Lane, delay: float, why: str, *, block_chat: bool
    ) -> None:
        job.tries += 1
        at = time.monotonic() + delay
        if block_chat:
            lane.chats[job.chat].block_until(at)
        if timedelta(seconds=delay) > RETRY_IN_MEMORY or self._stop.is_set():
            await self._write(self._release, job, delay, why)
            self._held.pop(job.row_id, None)
            return
        if job.row_id in self._held:
            lane.push(job, at)

    def _release(self, job: Job, delay: float, why: str) -> None:
        with unit_of_work(self.engine) as session:
            store.release(session=session, message_id=job.row_id, worker=self.worker,
                          not_before=self.clock() + timedelta(seconds=delay), error=why,
                          platform=job.platform, in_doubt=job.in_doubt)  # fmt: skip

    async def _finish_sent(self, job: Job, ref: str | None) -> None:
        if self.before_mark is not None:
            self.before_mark(job)
        marked = await self._mark(job, ref)
        self._held.pop(job.row_id, None)
        self._progressed()
        if marked:
            self.stats.sent += 1
        elif marked is False:
            self.stats.lost_claims += 1
            log.warning("outbox %s was sent but its claim had passed to another sender", job.key)
        if self.on_sent is not None:
            self.on_sent(job)

    def _finish_failed(self, job: Job, why: str) -> None:
        with unit_of_work(self.engine) as session:
            store.mark_failed(session=session, message_id=job.row_id, worker=self.worker, error=why)
        self.stats.failed += 1
        log.warning("outbox %s failed for good: %s", job.key, why)

    def _finish_ambiguous(self, job: Job, why: str) -> None:
        with unit_of_work(self.engine) as session:
            done = store.mark_ambiguous(
                session=session, message_id=job.row_id, worker=self.worker, error=why
            )
            if done:
                tell_admins_of_ambiguous(
                    session, job, now=self.clock(), default_lang=self.default_lang
                )
        if not done:
            return
        self.stats.ambiguous += 1
        if self.metrics is not None:
            self.metrics.outbox_ambiguous(job.platform)
        log.warning("outbox %s (%s): may or may not have been delivered (%s); not sent again",
                    job.key, job.platform, why)  # fmt: skip

    def _finish_unreachable(self, job: Job, why: str) -> None:
        with unit_of_work(self.engine) as session:
            done = store.mark_unreachable(session=session, message_id=job.row_id,
                                          worker=self.worker, error=why,
                                          platform=job.platform or None)  # fmt: skip
            if done and job.member_id is not None and not job.kind.startswith("note."):
                tell_manager(session, job, why, now=self.clock(), default_lang=self.default_lang)
        self.stats.unreachable += 1
        log.info("outbox %s: unreachable (%s)", job.key, why)


class _GaveUp(Exception):
    """A mark given up at shutdown (the database could not be written within the grace)."""


class _NotStarted(Exception):
    """A send's start not recorded (nor tried) while the database fails or the sender stops."""


def _tell_address(adapter: Any, job: Job) -> None:
    """Hand the adapter the address read at claim time (one query per batch), so that its
    ``send_outgoing`` does not look the member up again, one query per message."""
    remember = getattr(adapter, "remember_address", None)
    if remember is None or job.member_id is None:
        return
    if job.platform == "slack" and job.chat.startswith("slack:"):
        workspace = job.lane.removeprefix("slack:")
        remember(
            job.member_id, job.chat.removeprefix("slack:"), None if workspace == "-" else workspace
        )
    elif job.platform == "telegram" and job.chat.startswith("tg:"):
        remember(job.member_id, int(job.chat.removeprefix("tg:")))


def _by_id(session: Session, model: Any, ids: set[int]) -> dict[int, Any]:
    if not ids:
        return {}
    rows = session.exec(select(model).where(col(model.id).in_(list(ids)))).all()
    return {row.id: row for row in rows}


def tell_manager(
    session: Session, job: Job, why: str, *, now: datetime, default_lang: str = "zh"
) -> bool:
    """One note per (period, member) to the member's manager (``commands.people.manager_of``):
    kpibot could not reach them."""
    member = repo.get_member(session=session, member_id=job.member_id or -1)
    team = repo.get_team(session=session, team_id=job.team_id)
    if member is None or team is None:
        return False
    manager = people.manager_of(member, session=session)
    if manager is None:
        return False
    period = (
        repo.get_period_by_id(session=session, period_id=job.period_id) if job.period_id else None
    )
    lang = normalize_lang(manager.lang or team.lang or default_lang)
    _ = translator(lang)
    text = _(
        "I could not deliver a message to {name} (“{preview}”): {why}. Please tell them in "
        "person, and ask an admin to link their {messengers} account (/linkcode).",
        preview=first_line(str(job.data.get("text", ""))) or "…",  # a chart alone: no text
        name=member.name,
        why=_(why),
        messengers=messengers_named(messengers.names(), lang),
    )
    return enqueue(session, team=team, period=period, member=manager,
                   kind=f"note.unreachable.{member.id}", reply=Reply(text=text, private=True),
                   now=now)  # fmt: skip


def _admins(session: Session, team: Team) -> list[Member]:
    """Who hears of the outbox's troubles: the team's admins, else its managers."""
    admins = people.admins_of(session=session, team=team)
    return (admins or repo.team_managers(session=session, team=team)
            or repo.list_members(session=session, team=team, roles=["manager"]))  # fmt: skip


def tell_admins_of_ambiguous(
    session: Session, job: Job, *, now: datetime, default_lang: str = "zh"
) -> int:
    """A note to the admins: this message may not have reached that person, and why it was
    not simply sent again. One per message; how many notes were queued."""
    team = repo.get_team(session=session, team_id=job.team_id)
    member = repo.get_member(session=session, member_id=job.member_id) if job.member_id else None
    if team is None or job.kind.startswith("note."):  # a note on a note: the log has it
        return 0
    period = (
        repo.get_period_by_id(session=session, period_id=job.period_id) if job.period_id else None
    )
    told = 0
    for admin in _admins(session, team):
        if member is not None and admin.id == member.id:
            continue
        _ = translator(admin.lang or team.lang or default_lang)
        whom = member.name if member is not None else _("the team's chat")
        text = _(
            "I cannot tell whether a message ({kind}) reached {name}: {platform} did not confirm "
            "it in time. I did not send it again, so that nobody gets it twice. Please check with "
            "{name} that it arrived.",
            kind=job.kind, name=whom, platform=job.platform.capitalize(),
        )  # fmt: skip
        told += enqueue(
            session,
            team=team,
            period=period,
            member=admin,
            kind=f"note.ambiguous.{job.row_id}",
            reply=Reply(text=text, private=True),
            now=now,
        )
    return told


def tell_admins_of_stall(session: Session, *, began: datetime, seconds: float, now: datetime,
                         default_lang: str = "zh") -> int:  # fmt: skip
    """After the outbox stood still: tell every team's admins for how long (one note per stall)."""
    minutes = max(1, round(seconds / 60))
    told = 0
    for team in repo.list_teams(session=session):
        local = people.TeamClock.of(team.timezone or "UTC").text(began)
        for admin in _admins(session, team):
            _ = translator(admin.lang or team.lang or default_lang)
            text = _(
                "Messages from kpibot (reminders, results, notes) were held up for about "
                "{minutes} min from {start}. They are going out now; nothing needs doing.",
                minutes=minutes,
                start=local,
            )
            told += enqueue(session, team=team, period=None, member=admin,
                            kind=f"note.stall.{began.strftime('%Y%m%dT%H%M%S')}",
                            reply=Reply(text=text, private=True), now=now)  # fmt: skip
    return told
