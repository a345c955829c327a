"""The outbox sender: claim due rows, send each through the member's platform, mark it.

    sender = Sender(engine, {"slack": slack_adapter, "telegram": telegram_adapter})
    await sender.start()          # runs until stop(); Service.start/stop do this
    stats = await sender.drain()  # tests and the bench: until nothing is left to send

**Once.** A row is claimed (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, committed at once),
sent, then marked ``sent`` with the platform's message ref in its own short transaction.
Several senders (replicas) never take the same row; a sender that dies leaves its claimed
rows to be taken over when their lease (``storage.outbox.DEFAULT_LEASE``) runs out.
The one window where a message can go out twice: the platform accepted it and the sender
died before the mark was committed (neither Slack nor Telegram takes an idempotency key).
The mark is therefore the very next thing after the send, on a thread of its own, with
nothing else in between; a row whose lease ran out while its sender was still alive is
refused at the mark (``mark_sent`` only touches a row still claimed by the caller), which
is logged. A sender held longer than the lease renews its claims.

**Pacing.** Each platform has limits (:data:`DEFAULT_LIMITS`): Telegram about 30 messages
a second overall and one a second per chat; Slack about one a second per channel and a
budget per workspace. A *lane* per overall budget (Telegram's bot, each Slack workspace)
sends in order, at the budget's rate (a generic cell-rate algorithm, a hair under the
limit); a message whose chat is still busy waits aside without holding the others back.
A 429 blocks that chat until its retry delay has passed (the message is tried again then,
never earlier); a 5xx or a network error backs off exponentially; after
``max_attempts`` the row is ``failed``. A member with no account on any platform the
service runs (or whom the platform refuses) is ``unreachable`` at once, never retried, and
their manager gets a note through the outbox.
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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select, update

import commands.broadcast  # noqa: F401  (registers the chart renderers messages refer to)
from commands.i18n import translator
from commands.messages import Outgoing, Reply
from commands.outbox import chart_of, enqueue, reply_from_json, resolve_reply
from storage import outbox as store
from storage import repo
from storage.cycle_models import OutboxMessage
from storage.db import unit_of_work
from storage.models import Member, Team

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


class OutgoingPort(Protocol):
    """What an adapter offers the sender (``bot.slack.SlackAdapter``, ``bot.telegram.TelegramAdapter``)."""

    async def send_outgoing(self, outgoing: Outgoing) -> str | None: ...


@dataclass(frozen=True)
class Limits:
    """Messages a second: ``overall`` for the whole bot (Telegram), ``per_workspace`` (Slack),
    ``per_chat`` for one chat or channel. ``margin`` keeps the pace a hair under the limit."""

    overall: float | None = None
    per_workspace: float | None = None
    per_chat: float = 1.0
    chat_burst: int = 1
    margin: float = 0.99

    def scaled(self, factor: float) -> Limits:
        return replace(
            self,
            overall=self.overall * factor if self.overall else None,
            per_workspace=self.per_workspace * factor if self.per_workspace else None,
            per_chat=self.per_chat * factor,
        )


DEFAULT_LIMITS: dict[str, Limits] = {
    "telegram": Limits(overall=30.0, per_chat=1.0),
    "slack": Limits(per_workspace=5.0, per_chat=1.0),
}
RETRY_IN_MEMORY = timedelta(seconds=60)
"""A retry delay up to this long is waited out holding the claim; a longer one goes back to the table."""


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
    """Buckets by key, the least recently used forgotten past ``capacity`` (their pace with them)."""

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


@dataclass
class SendStats:
    sent: int = 0
    unreachable: int = 0
    failed: int = 0
    retried_429: int = 0
    retried_error: int = 0
    lost_claims: int = 0
    """Marks refused because the row was no longer this sender's (its lease ran out)."""


class Outcome:
    SENT, UNREACHABLE, RETRY_AFTER, TRANSIENT, PERMANENT = range(5)


def classify(exc: BaseException) -> tuple[int, float | None]:
    """What an exception from a platform means: (outcome, retry delay in seconds)."""
    from slack_sdk.errors import SlackApiError
    from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter

    if isinstance(exc, RetryAfter):
        delay = getattr(exc, "_retry_after", None)
        seconds = delay.total_seconds() if isinstance(delay, timedelta) else 1.0
        return Outcome.RETRY_AFTER, seconds
    if isinstance(exc, BadRequest | Forbidden | InvalidToken):
        return Outcome.PERMANENT, None
    if isinstance(exc, NetworkError):
        return Outcome.TRANSIENT, None
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
    """Exponential back-off, the upper half jittered: 0.25–0.5, 0.5–1, 1–2 … seconds, at most ``cap``."""
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
    ) -> None:
        self.engine = engine
        self.adapters = dict(adapters)
        self.worker = worker or _worker_name()
        self.limits = {**DEFAULT_LIMITS, **(limits or {})}
        self.batch = batch
        self.max_held = max(batch * 10, batch)
        """At most this many claimed rows in memory (while one lane waits for another's rows)."""
        self._table_has_more = False
        self.lease = lease
        self.max_attempts = max_attempts
        self.idle_poll = idle_poll
        self.clock = clock or (lambda: datetime.now(UTC))
        self.default_lang = default_lang
        self.stats = SendStats()
        self._slots = asyncio.Semaphore(concurrency)
        self._lanes: dict[str, Lane] = {}
        self._lane_tasks: dict[str, asyncio.Task[None]] = {}
        self._in_flight: set[asyncio.Task[None]] = set()
        self._held: dict[int, Job] = {}
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._chat_buckets: dict[str, Buckets] = {}
        self._overall: dict[str, Bucket] = {}
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-db")
        """Every write of this sender on one thread: no lock contention on SQLite, and marks
        that queue up while one commits are committed together (group commit)."""
        self._marks: list[tuple[Job, str | None, asyncio.Future[bool]]] = []
        self._marks_ready = asyncio.Event()
        self._marker: asyncio.Task[None] | None = None
        self.on_sent: Callable[[Job], None] | None = None
        """Called right after a mark (tests stop a sender there)."""
        self.before_mark: Callable[[Job], None] | None = None
        """Called between the send and the mark (tests kill a sender there)."""

    # ---------------------------------------------------------------- lifecycle
    async def _write(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._db, fn, *args)

    async def _mark(self, job: Job, ref: str | None) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._marks.append((job, ref, future))
        self._marks_ready.set()
        if self._marker is None or self._marker.done():
            self._marker = asyncio.create_task(self._mark_loop(), name=f"outbox-marks {self.worker}")
        return await future

    async def _mark_loop(self) -> None:
        while self._marks:
            self._marks_ready.clear()
            batch, self._marks = self._marks, []
            try:
                done = await self._write(self._mark_many, [(job, ref) for job, ref, _f in batch])
            except Exception as exc:  # noqa: BLE001 - the senders of the batch get the error
                for _job, _ref, future in batch:
                    future.set_exception(exc)
                continue
            for (_job, _ref, future), ok in zip(batch, done, strict=True):
                future.set_result(ok)

    def _mark_many(self, marks: list[tuple[Job, str | None]]) -> list[bool]:
        with unit_of_work(self.engine) as session:
            mine = store.mark_sent_many(session=session, worker=self.worker, now=self.clock(),
                                        marks=[(job.row_id, ref, job.platform) for job, ref in marks])  # fmt: skip
        return [job.row_id in mine for job, _ref in marks]

    async def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self.run(), name=f"outbox-sender {self.worker}")

    async def stop(self) -> None:
        """Stop claiming, let sends in flight finish and mark, release what was not sent."""
        self._stop.set()
        for lane in self._lanes.values():
            lane.wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run(self) -> None:
        try:
            while not self._stop.is_set():
                claimed = await self._refill()
                if claimed == 0 and (not self._held or not self._table_has_more):
                    # Nothing due in the table (the lanes are sending what is held): look again
                    # after the poll interval, not in a loop of empty claims against the database.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), self.idle_poll)
                else:
                    await self._wait_for_room()
                await self._renew_claims()
        except Exception:
            log.exception("outbox sender %s stopped on an error", self.worker)
            raise
        finally:
            await self._shutdown()

    async def drain(self, *, timeout: float = 600.0) -> SendStats:
        """Send until no row is pending or claimed (by anyone) — for tests, the bench, the CLI."""
        deadline = time.monotonic() + timeout
        await self.start()
        try:
            while time.monotonic() < deadline:
                if not self._held and not await asyncio.to_thread(self._anything_left):
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
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        left = list(self._held.values())
        self._held.clear()
        self._lanes.clear()
        if left:
            await self._write(self._release_all, left)

    def _release_all(self, jobs: list[Job]) -> None:
        now = self.clock()
        with unit_of_work(self.engine) as session:
            for job in jobs:
                store.release(session=session, message_id=job.row_id, worker=self.worker,
                              not_before=now, error="sender stopped before sending")  # fmt: skip

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
        return any(platform not in busy for platform in self.adapters)  # a platform with no lane yet

    async def _wait_for_room(self) -> None:
        """Sleep until the lanes run low (or stop)."""
        while not self._stop.is_set() and not self._wants_more():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), 0.05)
            await self._renew_claims()

    async def _refill(self) -> int:
        room = min(self.batch, self.max_held - len(self._held))
        if room <= 0:
            return 0
        jobs, dead = await self._write(self._claim, room)
        self._table_has_more = len(jobs) + len(dead) >= room
        for job in jobs:
            self._held[job.row_id] = job
            self._lane(job).push(job)
        for job, why in dead:
            await self._write(self._finish_unreachable, job, why)
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
                job, why = self._route(row, members.get(row.member_id or -1), teams.get(row.team_id))
                if job is None:
                    assert why is not None
                    dead.append((self._job(row, "", "", ""), why))
                elif row.attempts > self.max_attempts:
                    store.mark_failed(session=session, message_id=job.row_id, worker=self.worker,
                                      error=f"given up after {row.attempts - 1} attempts")  # fmt: skip
                    self.stats.failed += 1
                else:
                    jobs.append(job)
        return jobs, dead

    def _job(self, row: OutboxMessage, platform: str, chat: str, lane: str) -> Job:
        assert row.id is not None
        return Job(row.id, row.key, row.team_id, row.period_id, row.member_id, row.kind,
                   dict(row.reply), platform, chat, lane, tries=row.attempts - 1)  # fmt: skip

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
        return None, "no Slack or Telegram account linked"

    def _lane(self, job: Job) -> Lane:
        lane = self._lanes.get(job.lane)
        if lane is None:
            limits = self.limits.get(job.platform, Limits())
            rate = limits.overall if job.platform == "telegram" else limits.per_workspace
            budget = self._overall.get(job.lane)
            if budget is None and rate:
                # a quarter of a second's burst lets the lane catch up after late wake-ups (a busy loop)
                budget = self._overall[job.lane] = Bucket(rate * limits.margin, max(1, int(rate / 4)))
            chats = self._chat_buckets.get(job.platform)
            if chats is None:
                chats = self._chat_buckets[job.platform] = Buckets(
                    limits.per_chat * limits.margin, limits.chat_burst
                )
            lane = self._lanes[job.lane] = Lane(job.lane, budget, chats, want=max(20, int(2 * (rate or 1))))
            self._lane_tasks[job.lane] = asyncio.create_task(self._drive(lane), name=f"lane {job.lane}")
        return lane

    async def _renew_claims(self) -> None:
        """Keep the claims of rows held longer than a third of the lease."""
        old = time.monotonic() - self.lease.total_seconds() / 3
        ids = [j.row_id for j in self._held.values() if j.claimed_at < old]
        if not ids:
            return
        await self._write(self._touch, ids)
        now = time.monotonic()
        for row_id in ids:
            if row_id in self._held:
                self._held[row_id].claimed_at = now

    def _touch(self, ids: list[int]) -> None:
        with unit_of_work(self.engine) as session:
            session.execute(
                update(OutboxMessage)
                .where(col(OutboxMessage.id).in_(ids), col(OutboxMessage.claimed_by) == self.worker,
                       col(OutboxMessage.status) == "claimed")
                .values(claimed_at=self.clock())
            )  # fmt: skip

    # ---------------------------------------------------------------- sending
    async def _drive(self, lane: Lane) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = time.monotonic()
            job, ready_at = lane.next_ready(now)
            if job is None:
                lane.wake.clear()
                delay = None if ready_at is None else max(ready_at - now, 0.0)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lane.wake.wait(), delay)
                continue
            if lane.budget is not None:
                start = lane.budget.earliest(now)
                if start > now:
                    await asyncio.sleep(start - now)
                now = max(time.monotonic(), start)
                lane.budget.take(now)
            lane.chats[job.chat].take(now)
            await self._slots.acquire()
            task = loop.create_task(self._send(job, lane))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def _send(self, job: Job, lane: Lane) -> None:
        try:
            outcome, detail, ref = await self._attempt(job)
        finally:
            self._slots.release()
        if outcome == Outcome.SENT:
            await self._finish_sent(job, ref)
        elif outcome == Outcome.UNREACHABLE:
            self._held.pop(job.row_id, None)
            await self._write(self._finish_unreachable, job, detail or "unreachable")
        elif outcome == Outcome.RETRY_AFTER:
            self.stats.retried_429 += 1
            delay = float(detail or 1.0)
            await self._retry(job, lane, delay, f"429: retry after {delay:g} s", block_chat=True)
        elif outcome == Outcome.TRANSIENT and job.tries + 1 < self.max_attempts:
            self.stats.retried_error += 1
            await self._retry(job, lane, backoff(job.tries + 1), detail or "error", block_chat=False)
        else:
            self._held.pop(job.row_id, None)
            await self._write(self._finish_failed, job, detail or "failed")

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
            if job.platform == "slack" and ("image" in job.data or "file" in job.data or chart_of(job.data)):
                # Slack's file upload gives no message ref; the upload itself did not fail.
                return Outcome.SENT, None, "slack:file"
            return Outcome.UNREACHABLE, f"{job.platform} cannot reach this person", None
        return Outcome.SENT, None, ref

    async def _reply(self, job: Job) -> Reply:
        if chart_of(job.data) is None:
            return reply_from_json(job.data)
        return await asyncio.to_thread(self._resolve_chart, job.data)

    def _resolve_chart(self, data: dict[str, Any]) -> Reply:
        with unit_of_work(self.engine) as session:
            return resolve_reply(session, data)

    async def _send_to_team_chat(self, adapter: Any, job: Job, reply: Reply) -> str | None:
        """The team's own chat (the published ranking): Telegram groups only for now."""
        send = getattr(adapter, "send_rendered", None)
        if send is None:
            return None
        from bot import telegram_render

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
            self._held.pop(job.row_id, None)
            await self._write(self._release, job, delay, why)
            return
        if job.row_id in self._held:
            lane.push(job, at)

    def _release(self, job: Job, delay: float, why: str) -> None:
        with unit_of_work(self.engine) as session:
            store.release(session=session, message_id=job.row_id, worker=self.worker,
                          not_before=self.clock() + timedelta(seconds=delay), error=why,
                          platform=job.platform)  # fmt: skip

    async def _finish_sent(self, job: Job, ref: str | None) -> None:
        if self.before_mark is not None:
            self.before_mark(job)
        marked = await self._mark(job, ref)
        self._held.pop(job.row_id, None)
        if marked:
            self.stats.sent += 1
        else:
            self.stats.lost_claims += 1
            log.warning("outbox %s was sent but its claim had passed to another sender", job.key)
        if self.on_sent is not None:
            self.on_sent(job)

    def _finish_failed(self, job: Job, why: str) -> None:
        with unit_of_work(self.engine) as session:
            store.mark_failed(session=session, message_id=job.row_id, worker=self.worker, error=why)
        self.stats.failed += 1
        log.warning("outbox %s failed for good: %s", job.key, why)

    def _finish_unreachable(self, job: Job, why: str) -> None:
        with unit_of_work(self.engine) as session:
            done = store.mark_unreachable(session=session, message_id=job.row_id,
                                          worker=self.worker, error=why,
                                          platform=job.platform or None)  # fmt: skip
            if done and job.member_id is not None and not job.kind.startswith("note."):
                tell_manager(session, job, why, now=self.clock(), default_lang=self.default_lang)
        self.stats.unreachable += 1
        log.info("outbox %s: unreachable (%s)", job.key, why)


def _tell_address(adapter: Any, job: Job) -> None:
    """Hand the adapter the address read at claim time (one query per batch), so that its
    ``send_outgoing`` does not look the member up again, one query per message."""
    remember = getattr(adapter, "remember_address", None)
    if remember is None or job.member_id is None:
        return
    if job.platform == "slack" and job.chat.startswith("slack:"):
        workspace = job.lane.removeprefix("slack:")
        remember(job.member_id, job.chat.removeprefix("slack:"), None if workspace == "-" else workspace)
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
    """One note per (period, member) to the member's manager: kpibot could not reach them."""
    member = repo.get_member(session=session, member_id=job.member_id or -1)
    team = repo.get_team(session=session, team_id=job.team_id)
    if member is None or team is None or member.manager_id is None:
        return False
    manager = repo.get_member(session=session, member_id=member.manager_id)
    if manager is None:
        return False
    period = repo.get_period_by_id(session=session, period_id=job.period_id) if job.period_id else None
    _ = translator(manager.lang or team.lang or default_lang)
    text = _(
        "I could not deliver a message ({kind}) to {name}: {why}. Please tell them in person, "
        "and ask them to link Slack or Telegram (/link).",
        kind=job.kind, name=member.name, why=_(why),
    )
    return enqueue(session, team=team, period=period, member=manager,
                   kind=f"note.unreachable.{member.id}", reply=Reply(text=text, private=True),
                   now=now)  # fmt: skip
