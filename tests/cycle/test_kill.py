"""Senders in real processes, killed with SIGKILL halfway through a broadcast."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from storage import outbox as store
from storage.db import unit_of_work
from tests.conftest import test_database_url
from tests.cycle.conftest import make_crew
from tests.cycle.test_sender import broadcast, received
from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram

ROOT = Path(__file__).parents[2]
pytestmark = pytest.mark.slow


class Proc:
    def __init__(self, proc: asyncio.subprocess.Process, name: str) -> None:
        self.proc, self.name, self.lines = proc, name, []  # type: ignore[var-annotated]

    async def wait_for_line(self, word: str, timeout: float = 60) -> None:
        async def read() -> None:
            assert self.proc.stdout is not None
            while True:
                line = (await self.proc.stdout.readline()).decode()
                if not line:
                    raise AssertionError(f"{self.name} ended before saying {word!r}: {self.lines}")
                self.lines.append(line.strip())
                if line.split()[0] == word:
                    return

        await asyncio.wait_for(read(), timeout)

    async def finish(self, timeout: float = 120) -> None:
        await self.wait_for_line("done", timeout)
        assert await self.proc.wait() == 0


async def spawn(
    db_url: str, fake_telegram: FakeTelegram, fake_slack: FakeSlack, worker: str, *extra: str
) -> Proc:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.cycle.sender_process",
        "--db",
        db_url,
        "--telegram",
        fake_telegram.base_url,
        "--slack",
        fake_slack.api_url,
        "--worker",
        worker,
        *extra,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return Proc(proc, worker)


def pg_url(engine: Engine) -> str:
    with engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    return f"{test_database_url()}?options=-csearch_path%3D{schema}"


@pytest.mark.postgres
async def test_two_senders_one_killed_midway_deliver_each_result_exactly_once(
    pg_engine: Engine, fake_slack: FakeSlack, fake_telegram: FakeTelegram
) -> None:
    crew = make_crew(pg_engine, telegram=40, slack=20, fake_telegram=fake_telegram)
    broadcast(pg_engine, crew)
    url = pg_url(pg_engine)
    doomed = await spawn(url, fake_telegram, fake_slack, "doomed", "--pause-after", "8")
    # The second sender starts once the first holds its claims (sent 8, paused mid-batch):
    # started together, a slow start of the first let the second take every row alone.
    await doomed.wait_for_line("paused")
    steady = await spawn(url, fake_telegram, fake_slack, "steady")
    doomed.proc.send_signal(signal.SIGKILL)
    assert await doomed.proc.wait() == -signal.SIGKILL
    late = await spawn(url, fake_telegram, fake_slack, "late")  # another one starts
    await asyncio.gather(steady.finish(), late.finish())

    got = received(fake_telegram, fake_slack, crew)
    assert Counter(got[m] for m in crew.agents) == Counter({1: len(crew.agents)})
    with unit_of_work(pg_engine) as s:
        rows = store.list_messages(session=s, kinds=["result"])
    assert {r.status for r in rows} == {"sent"}
    senders = Counter(r.claimed_by for r in rows)
    # The doomed sender may have claimed every row ahead before it paused; then all of the
    # rest reach the others only by taking over its claims after the lease.
    assert senders["doomed"] >= 8 and senders["steady"] + senders["late"] > 0
    taken_over = [r for r in rows if r.attempts > 1]
    assert taken_over and {r.claimed_by for r in taken_over} <= {"steady", "late"}


@pytest.mark.parametrize("platform", ["telegram", "slack"])
async def test_a_sender_killed_between_a_send_and_its_mark_never_sends_that_message_twice(
    engine: Engine, fake_slack: FakeSlack, fake_telegram: FakeTelegram, platform: str
) -> None:
    """The send went out, the mark did not: the next sender finds the row's send started.
    Slack: the delivery check finds the message in the DM, so the row is ``sent``, once.
    Telegram has no such check: the row is ``ambiguous`` (not sent again, counted, the
    admins told). One platform, five messages a second: one send in flight at a time."""
    crew = make_crew(
        engine,
        telegram=8 if platform == "telegram" else 0,
        slack=8 if platform == "slack" else 0,
        fake_telegram=fake_telegram,
    )
    broadcast(engine, crew)
    url = str(engine.url)
    doomed = await spawn(
        url, fake_telegram, fake_slack, "doomed", "--die-before-mark", "4", "--rate", "5"
    )
    assert await doomed.proc.wait() == -signal.SIGKILL
    survivor = await spawn(url, fake_telegram, fake_slack, "survivor")
    await survivor.finish()
    counts = Counter(received(fake_telegram, fake_slack, crew)[m] for m in crew.agents)
    assert counts == Counter({1: len(crew.agents)}), "everyone got it, nobody twice"
    stats = json.loads(survivor.lines[-1].split(" ", 1)[1])
    with unit_of_work(engine) as s:
        rows = store.list_messages(session=s, kinds=["result"])
        notes = store.list_messages(session=s, kinds=[f"note.ambiguous.{r.id}" for r in rows])
    statuses = Counter(r.status for r in rows)
    if platform == "slack":
        assert statuses == Counter({"sent": len(crew.agents)})
        assert (stats["settled"], stats["ambiguous"]) == (1, 0)
        assert notes == []
    else:
        assert statuses == Counter({"sent": len(crew.agents) - 1, "ambiguous": 1})
        assert (stats["settled"], stats["ambiguous"]) == (0, 1)
        assert len(notes) >= 1, "the admins (or the manager) hear whom to check with"
