"""kill -9 of a ``kpibot run`` replica in the middle of a broadcast, a second replica running
beside it (issue 21 item 4): the second takes the dead one's claimed rows over once their
lease (``LEASE_S``, renewed by a heartbeat while a replica lives) runs out — seconds, not the
five minutes it used to be — and every person gets each message once (the send that was in
flight is settled by Slack's delivery check, not sent again)."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from commands.messages import Reply
from commands.outbox import enqueue
from storage import repo
from storage.db import unit_of_work, upgrade
from storage.models.cycle import OutboxMessage
from tests.conftest import PgSchema
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack
from tests.ops.conftest import SLACK_IDS, STRONG_SECRET, linked_world
from tests.ops.replica import Replica
from tests.slack.sender import SIGNING_SECRET

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

LEASE_S = 3.0
KINDS = [f"bulletin.{n}" for n in range(10)]


def rows(engine: Engine) -> list[OutboxMessage]:
    with unit_of_work(engine) as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.kind.in_(KINDS))).all())  # type: ignore[attr-defined]


async def test_a_replica_killed_mid_broadcast_leaves_its_rows_to_the_other_each_sent_once(
    _pg_admin: Engine, tmp_path: Path
) -> None:
    schema = PgSchema(_pg_admin)
    engine = schema.engine()
    replicas: list[Replica] = []
    try:
        upgrade(engine)
        ids = linked_world(engine)
        with FakeSlack() as fake:
            for name, user_id in SLACK_IDS.items():
                fake.add_user(user_id, name.lower(), locale="en-GB")
            env = {
                "DATABASE_URL": schema.url(),
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": fake.api_url,
                "KPIBOT_SECRET": STRONG_SECRET,
                "DEFAULT_LANG": "en",
                "LEASE_S": str(LEASE_S),
                "ROUTER_PROCESSES": "0",
            }
            for name in ("a", "b"):
                replicas.append(Replica(env, tmp_path, name=name).start())
            with unit_of_work(engine) as session:  # both running: the broadcast is queued
                team = repo.get_team_by_name(session=session, name="london")
                assert team is not None
                for person in SLACK_IDS:
                    member = repo.get_member(session=session, member_id=ids[person])
                    for kind in KINDS:
                        enqueue(session, team=team, period=None, member=member, kind=kind,
                                reply=Reply(text=f"{kind} for {person}", private=True))  # fmt: skip
            total = len(SLACK_IDS) * len(KINDS)

            def delivered() -> list[str]:
                return [c.args.get("text", "") for c in fake.calls_to("chat.postMessage", ok=True)]

            await fake.wait_until(lambda: len(delivered()) >= 10, timeout=60)
            # kill the replica that holds the most claims
            holders = Counter(
                (r.claimed_by or "").split(":")[1] for r in rows(engine) if r.status == "claimed"
            )
            assert holders, "rows are claimed mid-broadcast"
            pid = int(holders.most_common(1)[0][0])
            [doomed] = [r for r in replicas if r.process is not None and r.process.pid == pid]
            [survivor] = [r for r in replicas if r is not doomed]
            assert doomed.process is not None
            doomed.process.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            assert await asyncio.to_thread(doomed.wait, 10) == -signal.SIGKILL
            left = total - len(delivered())
            assert left > 0, "killed in the middle of the broadcast"

            def drained() -> bool:
                found = rows(engine)
                return all(r.status not in ("pending", "claimed") for r in found)

            await fake.wait_until(drained, timeout=60)
            drain_s = time.monotonic() - killed_at
            assert survivor.terminate() == 0, survivor.log()[-3000:]
        texts = Counter(delivered())
        final = rows(engine)
    finally:
        for replica in replicas:
            replica.kill()
        engine.dispose()
        schema.drop()
    expected = {f"{kind} for {person}" for person in SLACK_IDS for kind in KINDS}
    assert set(texts) == expected, f"lost: {sorted(expected - set(texts))[:5]}"
    assert max(texts.values()) == 1, f"duplicated: {[t for t, n in texts.items() if n > 1][:5]}"
    assert Counter(r.status for r in final) == Counter({"sent": total})
    taken_over = [r for r in final if r.attempts > 1]
    assert taken_over, "the survivor took rows of the dead replica over"
    # The dead replica's claims ran out with the lease: the rest went out in about the time
    # its sending takes at Slack's pace (5 a second per workspace) plus the lease — not 300 s.
    assert drain_s < left / 5.0 + LEASE_S + 20, drain_s
