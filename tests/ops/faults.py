"""The outbox's fault matrix, shared by ``tests/ops/test_outbox_faults.py`` and
``bench/fault_bench.py``: each scenario runs kpibot's real sender (``bot.sender.Sender``)
and its real adapters against the fake Slack and the fake Telegram, on PostgreSQL reached
through a :class:`~tests.ops.tcpproxy.TcpProxy` that a scenario cuts (open connections
reset, new ones refused) or freezes (nothing passes, nothing closes), and counts at the
fakes what each person received:

* ``lost``: people whose message never arrived;
* ``duplicated``: deliveries past the first, summed over people;
* ``ambiguous``: rows the sender could not settle (reported, never re-sent);
* ``drain_s``: from the fault's end (or its start, for a kill) until nothing was left to send;
* ``stop_s``: how long the sender took to stop (bounded by its grace).

Every wait is on a condition with a deadline, never a fixed sleep; an outage lasts until
the sender has *seen* it (failed database rounds), and at least ``outage_s``.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine, make_url

from bot.sender import Limits, Sender
from storage import outbox as store
from storage.db import make_engine, unit_of_work, upgrade
from tests.conftest import PgSchema, test_database_url
from tests.cycle.conftest import Crew, make_crew, slack_adapter, telegram_adapter
from tests.cycle.test_sender import broadcast, received
from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram
from tests.ops.tcpproxy import TcpProxy
from tests.waiting import CEILING_S

PACE = {
    "telegram": Limits(overall=120.0, per_chat=20.0),
    "slack": Limits(per_workspace=60.0, per_chat=20.0),
}
"""Fast enough that a few hundred rows take a few seconds (so a fault lands mid-way)."""
LEASE = timedelta(seconds=3)
DB_TIMEOUT_S = 5.0
"""The sender's database deadline here (production's is 10 s): short enough that a silent
database is given up on a few times during an outage, long enough that a claim through
the proxy on a loaded machine is not (at 1 s, load 14: "cannot claim (the database did not
answer within 1 s)" over and over after the outage, and the broadcast never drained)."""
GRACE_S = 5.0
READ_TIMEOUT_S = 5.0
"""``telegram_late``'s Telegram read timeout (production's): far above what an answer takes
on a loaded machine, so only the sends the fake answers late (``LATE_S``) run out of it."""
LATE_S = 2 * READ_TIMEOUT_S


@dataclass
class Rig:
    direct: Engine
    """Straight to PostgreSQL (the test's own view: enqueueing, counting)."""
    engine: Engine
    """Through the proxy: the sender's."""
    proxy: TcpProxy
    fake_telegram: FakeTelegram
    fake_slack: FakeSlack
    senders: list[Sender] = field(default_factory=list)

    async def sender(self, *, read_timeout: float | None = None, **kwargs: Any) -> Sender:
        telegram = await telegram_adapter(self.engine, self.fake_telegram.base_url)
        if read_timeout is not None:  # the Telegram client's read timeout (5 s in production)
            telegram.application.bot.request._read_timeout = read_timeout  # type: ignore[attr-defined]
        kwargs.setdefault("limits", PACE)
        kwargs.setdefault("lease", LEASE)
        kwargs.setdefault("db_timeout", DB_TIMEOUT_S)
        kwargs.setdefault("idle_poll", 0.2)
        sender = Sender(
            self.engine,
            {"slack": slack_adapter(self.engine, self.fake_slack), "telegram": telegram},
            **kwargs,
        )
        self.senders.append(sender)
        return sender


@asynccontextmanager
async def rig(admin: Engine) -> AsyncIterator[Rig]:
    """A fresh schema, a proxy in front of the server, both fakes (Telegram's limits lifted:
    the sender's own pace is what is measured here, the fake's 429s are other tests')."""
    schema = PgSchema(admin)
    url = make_url(test_database_url())
    direct = schema.engine()
    try:
        upgrade(direct)
        with TcpProxy([(url.host or "127.0.0.1", url.port or 5432)]) as proxy:
            through = make_url(schema.url()).set(host="127.0.0.1", port=proxy.port)
            # pool_timeout: threads stuck on a frozen connection keep theirs; a new call waits
            # for one no longer than the sender's own deadline would
            engine = make_engine(
                through.render_as_string(hide_password=False), pool_timeout=DB_TIMEOUT_S
            )
            with FakeSlack() as fake_slack:
                async with FakeTelegram() as fake_telegram:
                    fake_telegram.relax()
                    made = Rig(direct, engine, proxy, fake_telegram, fake_slack)
                    try:
                        yield made
                    finally:
                        for sender in made.senders:
                            await asyncio.wait_for(sender.stop(grace=1.0), 10)
                        proxy.restore()
                        proxy.thaw()
            engine.dispose()
    finally:
        direct.dispose()
        schema.drop()


async def until(
    condition: Callable[[], bool], *, timeout: float, what: str, every: float = 0.02
) -> float:
    """Wait until ``condition()`` holds; how long that took. Fails naming ``what``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        await asyncio.sleep(every)
    return time.monotonic() - started


def counts(r: Rig, crew: Crew) -> Counter[int]:
    return received(r.fake_telegram, r.fake_slack, crew)


def left_to_send(r: Rig) -> int:
    with unit_of_work(r.direct) as session:
        status = store.status_counts(session=session)
    return status["pending"] + status["claimed"]


def statuses(r: Rig, kind: str = "result") -> Counter[str]:
    with unit_of_work(r.direct) as session:
        return Counter(row.status for row in store.list_messages(session=session, kinds=[kind]))


def tally(r: Rig, crew: Crew, **extra: Any) -> dict[str, Any]:
    got = counts(r, crew)
    status = statuses(r)
    return {
        "lost": sum(1 for m in crew.agents if got[m] == 0),
        "duplicated": sum(max(got[m] - 1, 0) for m in crew.agents),
        "ambiguous": status.get("ambiguous", 0),
        "rows": sum(status.values()),
        **extra,
    }


def _down(r: Rig, fault: str) -> None:
    if fault == "cut":
        r.proxy.cut()
    else:
        r.proxy.freeze()


def _up(r: Rig, fault: str) -> None:
    if fault == "cut":
        r.proxy.restore()
    else:
        r.proxy.thaw()


async def _stop(sender: Sender) -> float:
    started = time.monotonic()
    await asyncio.wait_for(sender.stop(grace=GRACE_S), GRACE_S + 2)
    return time.monotonic() - started


async def database_fault(
    r: Rig, *, fault: str, when: str, telegram: int = 200, slack: int = 100, outage_s: float = 4.0,
    timeout: float = 60.0,
) -> dict[str, Any]:  # fmt: skip
    """PostgreSQL refused/reset (``cut``) or silent (``freeze``) for ``outage_s`` (longer than
    the lease), while the sender is ``idle`` (the broadcast is enqueued during the outage)
    or ``mid``-broadcast (a fifth of it delivered)."""
    crew = make_crew(r.direct, telegram=telegram, slack=slack, fake_telegram=r.fake_telegram)
    total = len(crew.agents)
    sender = await r.sender()
    if when == "mid":
        broadcast(r.direct, crew)
    await sender.start()
    started = time.monotonic()
    if when == "idle":
        await until(
            lambda: sender.db_ok_at > started,
            timeout=CEILING_S,
            what="the sender polled the empty outbox",
        )
    else:
        await until(lambda: sum(counts(r, crew).values()) >= total // 5, timeout=timeout,
                    what="a fifth of the broadcast delivered")  # fmt: skip
    errors_before = sender.stats.database_errors
    began = time.monotonic()
    _down(r, fault)
    try:
        if when == "idle":
            broadcast(r.direct, crew)  # another replica's work: the database itself is up
        await until(lambda: sender.stats.database_errors >= errors_before + 2, timeout=timeout,
                    what="the sender saw the outage")  # fmt: skip
        await until(
            lambda: time.monotonic() - began >= outage_s, timeout=outage_s + 1, what="the outage"
        )
        running_during = sender.running
    finally:
        _up(r, fault)
    drain = await until(
        lambda: left_to_send(r) == 0 and sum(1 for v in counts(r, crew).values() if v) >= total,
        timeout=timeout,
        what="everyone's message delivered after the outage",
        every=0.05,
    )
    stop_s = await _stop(sender)
    return tally(
        r,
        crew,
        drain_s=round(drain, 2),
        stop_s=round(stop_s, 2),
        running_during=running_during,
        database_errors=sender.stats.database_errors,
        restarts=sender.stats.restarts,
    )


async def frozen_shutdown(
    r: Rig, *, telegram: int = 200, slack: int = 100, timeout: float = 60.0
) -> dict[str, Any]:
    """SIGTERM's part while the database is silent mid-broadcast: the sender stops within its
    grace (sends it could not record are left to their next claimant); once the database is
    back a new sender delivers the rest — nothing lost, nothing twice."""
    crew = make_crew(r.direct, telegram=telegram, slack=slack, fake_telegram=r.fake_telegram)
    total = len(crew.agents)
    first = await r.sender()
    broadcast(r.direct, crew)
    await first.start()
    await until(lambda: sum(counts(r, crew).values()) >= total // 5, timeout=timeout,
                what="a fifth of the broadcast delivered")  # fmt: skip
    r.proxy.freeze()
    try:
        await until(
            lambda: first.stats.database_errors >= 1,
            timeout=timeout,
            what="the sender saw the silence",
        )
        stop_s = await _stop(first)
    finally:
        r.proxy.thaw()
    second = await r.sender()
    began = time.monotonic()
    await second.start()
    drain = await until(
        lambda: left_to_send(r) == 0,
        timeout=timeout,
        what="the next sender finished the rest",
        every=0.05,
    )
    await _stop(second)
    return tally(r, crew, drain_s=round(time.monotonic() - began, 2), first_drain_s=round(drain, 2),
                 stop_s=round(stop_s, 2), settled=second.stats.settled)  # fmt: skip


async def telegram_late(
    r: Rig, *, telegram: int = 30, late: int = 5, timeout: float = 60.0
) -> dict[str, Any]:
    """Telegram delivers at once but answers after the client's read timeout, ``late``
    times: each such send is ambiguous — counted, the admins told, never sent again."""
    crew = make_crew(r.direct, telegram=telegram, slack=0, fake_telegram=r.fake_telegram)
    r.fake_telegram.answer_late("sendMessage", seconds=LATE_S, times=late)
    sender = await r.sender(read_timeout=READ_TIMEOUT_S)
    broadcast(r.direct, crew)
    began = time.monotonic()
    await sender.start()
    await until(
        lambda: left_to_send(r) == 0 and sum(1 for v in counts(r, crew).values() if v) >= telegram,
        timeout=timeout,
        what="the broadcast settled",
        every=0.05,
    )
    drain = time.monotonic() - began
    stop_s = await _stop(sender)
    with unit_of_work(r.direct) as session:
        notes = [
            m for m in store.list_messages(session=session) if m.kind.startswith("note.ambiguous.")
        ]
    return tally(r, crew, drain_s=round(drain, 2), stop_s=round(stop_s, 2), late=late,
                 counted=sender.stats.ambiguous, notes=len(notes))  # fmt: skip
