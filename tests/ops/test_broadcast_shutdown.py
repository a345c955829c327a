"""SIGTERM in the middle of a broadcast: the replica finishes the message it is sending and
puts the rest back; the next start delivers the rest, and everyone gets each message once."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import select

from commands.messages import Reply
from commands.outbox import enqueue
from storage import repo
from storage.db import make_engine, unit_of_work, upgrade
from storage.models.cycle import OutboxMessage
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack
from tests.ops.conftest import SLACK_IDS, STRONG_SECRET, linked_world
from tests.ops.replica import Replica
from tests.slack.sender import SIGNING_SECRET

pytestmark = pytest.mark.slow

KINDS = [f"bulletin.{n}" for n in range(6)]


def queue_broadcast(url: str) -> int:
    engine = make_engine(url)
    upgrade(engine)
    ids = linked_world(engine)
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="london")
        assert team is not None
        for name in SLACK_IDS:
            member = repo.get_member(session=session, member_id=ids[name])
            for kind in KINDS:
                enqueue(session, team=team, period=None, member=member, kind=kind,
                        reply=Reply(text=f"{kind} for {name}", private=True))  # fmt: skip
    engine.dispose()
    return len(SLACK_IDS) * len(KINDS)


def statuses(url: str) -> Counter[str]:
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        found = Counter(row.status for row in session.exec(select(OutboxMessage)).all())
    engine.dispose()
    return found


async def test_sigterm_during_a_broadcast_then_the_next_start_delivers_the_rest_exactly_once(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    total = queue_broadcast(url)
    env = {
        "DATABASE_URL": url, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "KPIBOT_SECRET": STRONG_SECRET, "DEFAULT_LANG": "en",
    }  # fmt: skip
    with FakeSlack() as fake:
        for name, user_id in SLACK_IDS.items():
            fake.add_user(user_id, name.lower(), locale="en-GB")
        env["SLACK_API_URL"] = fake.api_url

        def delivered() -> list[str]:
            return [c.args.get("text", "") for c in fake.calls_to("chat.postMessage", ok=True)]

        first = Replica(env, tmp_path, name="first").start()
        try:
            await fake.wait_until(lambda: len(delivered()) >= 3, timeout=60)
            code = await asyncio.to_thread(first.terminate)
        finally:
            first.kill()
        assert code == 0, first.log()[-3000:]
        sent_before = len(delivered())
        after_stop = statuses(url)
        assert after_stop["claimed"] == 0, "nothing is left claimed by the stopped replica"
        assert 0 < sent_before < total, "stopped in the middle of the broadcast"
        assert after_stop["sent"] == sent_before, "every message it sent is marked sent"

        second = Replica(env, tmp_path, name="second").start()
        try:
            await fake.wait_until(lambda: len(delivered()) >= total, timeout=120)
            await asyncio.sleep(1.0)  # time for any second copy to show up
            assert second.terminate() == 0
        finally:
            second.kill()
    texts = delivered()
    assert sorted(texts) == sorted(f"{kind} for {name}" for name in SLACK_IDS for kind in KINDS)
    assert statuses(url)["sent"] == total
