"""The outbox's promise under faults (issue 21): PostgreSQL refused/reset or silent while the
sender is idle and mid-broadcast, Telegram slower than the read timeout, a shutdown while the
database is silent. Each counts at the fakes what every person received: nothing lost,
nothing twice, an ambiguous send counted and bounded, the sender stopped within its grace.
The scenarios live in ``tests/ops/faults.py`` (``bench/fault_bench.py`` runs them too)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from bot.sender import Limits, Sender
from commands.messages import Outgoing
from storage import outbox as store
from storage.db import unit_of_work
from tests.cycle.conftest import make_crew
from tests.cycle.test_sender import broadcast
from tests.ops import faults
from tests.waiting import CEILING_S

pytestmark = pytest.mark.slow


@pytest.mark.postgres
@pytest.mark.parametrize("when", ["idle", "mid"])
@pytest.mark.parametrize("fault", ["cut", "freeze"])
async def test_a_database_outage_longer_than_the_lease_loses_and_doubles_no_message(
    _pg_admin: Engine, fault: str, when: str
) -> None:
    """``idle``: the sender outlives the outage and sends what was queued meanwhile (it used
    to end on the first error, and nothing went out until a restart). ``mid``: sends whose
    mark failed are marked once the database is back, never sent again."""
    async with faults.rig(_pg_admin) as r:
        rows = {"telegram": 40, "slack": 20} if when == "idle" else {"telegram": 130, "slack": 70}
        got = await faults.database_fault(r, fault=fault, when=when, **rows)
    assert got["running_during"], "the sender is still running during the outage"
    assert (got["lost"], got["duplicated"], got["ambiguous"]) == (0, 0, 0), got
    assert got["database_errors"] >= 2
    assert got["stop_s"] <= faults.GRACE_S


@pytest.mark.postgres
async def test_a_shutdown_while_the_database_is_silent_ends_in_time_and_the_next_sender_finishes(
    _pg_admin: Engine,
) -> None:
    async with faults.rig(_pg_admin) as r:
        got = await faults.frozen_shutdown(r)
    assert got["stop_s"] <= faults.GRACE_S * 1.25 + 0.5, (
        got
    )  # Sender.stop: the grace, then a quarter to cancel
    # Sends the first sender made but could not record are settled by the next one: on
    # Slack by the delivery check, on Telegram counted as ambiguous (never sent again).
    assert got["duplicated"] == 0, got
    assert got["lost"] <= got["ambiguous"], got


@pytest.mark.postgres
async def test_telegram_answering_after_the_read_timeout_sends_nothing_twice_and_counts_each_one(
    _pg_admin: Engine,
) -> None:
    async with faults.rig(_pg_admin) as r:
        got = await faults.telegram_late(r, late=5)
    assert (got["lost"], got["duplicated"]) == (0, 0), got
    assert got["ambiguous"] == got["counted"] == 5, "each late answer is one ambiguous row, no more"
    assert got["notes"] >= 5, "the admins hear whom to check with"
    assert got["stop_s"] <= faults.GRACE_S


class _HeldUp:
    """A platform that takes each message and answers only once ``gate`` opens."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.gate = asyncio.Event()

    async def send_outgoing(self, outgoing: Outgoing) -> str | None:
        self.sent.append(outgoing.key)
        await self.gate.wait()
        return f"C0:{len(self.sent)}"


async def test_a_sender_whose_claims_outlived_their_lease_does_not_queue_its_own_rows_twice(
    engine: Engine,
) -> None:
    """Found by the outage tests: with the heartbeat unable to renew the claims for longer
    than the lease, the sender's next claim took its *own* held rows again and queued each a
    second time: sent twice, or (its send under way) wrongly settled as ambiguous."""
    crew = make_crew(engine, telegram=0, slack=6)
    broadcast(engine, crew)
    now = [datetime(2026, 12, 1, tzinfo=UTC)]
    slack = _HeldUp()
    sender = Sender(engine, {"slack": slack}, clock=lambda: now[0], lease=timedelta(seconds=30),
                    limits={"slack": Limits(per_workspace=200.0, per_chat=200.0)})  # fmt: skip
    await sender._refill()
    await faults.until(lambda: len(slack.sent) == 6, timeout=CEILING_S, what="every send under way")
    now[0] += timedelta(seconds=31)  # no heartbeat meanwhile: every claim's lease ran out
    await sender._refill()  # the claim loop's next round takes them again, as its own
    await asyncio.sleep(0.2)  # let any second copy reach the platform (none may)
    slack.gate.set()
    await faults.until(lambda: not sender._held, timeout=CEILING_S, what="every send marked")
    await sender.stop(grace=2.0)
    assert sorted(slack.sent) == sorted(set(slack.sent)) and len(slack.sent) == 6, slack.sent
    with unit_of_work(engine) as session:
        statuses = Counter(r.status for r in store.list_messages(session=session, kinds=["result"]))
    assert statuses == Counter({"sent": 6}), statuses
