"""kill -9 right after acknowledging (issue 21 item 5): Telegram webhook updates and Slack
slash commands answered 200 by a replica whose replies are still held up by the platform
(a 429 with a long retry delay), then the replica is killed. Each request was stored (the
inbox) before its 200; the next replica takes them over once ``LEASE_S`` has passed and
answers every one, once. Their work had been committed already: the replies kept with it
are what the people get (they used to be dropped as replays)."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from storage import inbox as inbox_store
from storage.db import unit_of_work, upgrade
from tests.conftest import PgSchema
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.ops.conftest import SLACK_IDS, STRONG_SECRET, TELEGRAM_IDS, linked_world
from tests.ops.replica import Replica
from tests.slack.sender import SIGNING_SECRET, SlackSender
from tests.waiting import CEILING_S

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SECRET = "kill-after-acks-webhook-secret"
EACH = 2


def claimed(engine: Engine) -> int:
    with unit_of_work(engine) as session:
        return inbox_store.pending_count(session=session)


async def test_requests_acknowledged_before_a_kill_are_all_answered_once_by_the_next_replica(
    _pg_admin: Engine, tmp_path: Path
) -> None:
    schema = PgSchema(_pg_admin)
    engine = schema.engine()
    replicas: list[Replica] = []
    try:
        upgrade(engine)
        linked_world(engine)
        with FakeSlack() as fake:
            for name, user_id in SLACK_IDS.items():
                fake.add_user(user_id, name.lower(), locale="en-GB")
            async with FakeTelegram() as tg:
                users = {
                    tg_id: tg.user(tg_id, name, language_code="en")
                    for name, tg_id in TELEGRAM_IDS.items()
                }
                env = {
                    "DATABASE_URL": schema.url(),
                    "DEFAULT_LANG": "en",
                    "KPIBOT_SECRET": STRONG_SECRET,
                    "SLACK_BOT_TOKEN": BOT_TOKEN,
                    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                    "SLACK_API_URL": fake.api_url,
                    "TELEGRAM_BOT_TOKEN": TOKEN,
                    "TELEGRAM_API_URL": tg.base_url,
                    "TELEGRAM_WEBHOOK_SECRET": SECRET,
                    "LEASE_S": "3",
                    "ROUTER_PROCESSES": "0",
                }

                def replica(name: str) -> Replica:
                    made = Replica(env, tmp_path, name=name)
                    made.env["TELEGRAM_WEBHOOK_URL"] = (
                        f"http://127.0.0.1:{made.port}/telegram/webhook"
                    )
                    replicas.append(made)
                    return made

                first = await asyncio.to_thread(replica("first").start)
                # The platforms hold every reply up: Telegram answers 429 "retry after 60",
                # Slack's response_url likewise (after one warm-up answer).
                tg.fail_next("sendMessage", retry_after=60, times=1000)
                fake.rate_limit("response_url", calls=0, per=120.0, retry_after=60)
                async with httpx.AsyncClient(base_url=first.url) as client:
                    slack = SlackSender(client, fake)
                    acked: list[int] = []
                    commands = []
                    for _ in range(EACH):
                        for user in users.values():
                            update = await tg.send_text(user, "/help")
                            acked.append(tg.webhook_responses[-1])
                            assert update
                        for user_id in SLACK_IDS.values():
                            sent = await slack.command(user_id, "/kpi", "help")
                            acked.append(sent.response.status_code)
                            commands.append(sent.response_url)
                assert acked == [200] * len(acked)
                total = EACH * (len(TELEGRAM_IDS) + len(SLACK_IDS))
                await fake.wait_until(
                    lambda: claimed(engine) == total, timeout=CEILING_S
                )  # all stored, none answered
                assert first.process is not None
                first.process.send_signal(signal.SIGKILL)
                assert await asyncio.to_thread(first.wait, CEILING_S) == -signal.SIGKILL
                assert not tg.sent() and not any(fake.response_posts(u) for u in commands), (
                    "nothing answered yet"
                )

                tg._failures.clear()  # the platforms answer again
                fake.rate_limit("response_url", calls=1000, per=1.0, retry_after=1)
                second = await asyncio.to_thread(replica("second").start)
                await fake.wait_until(
                    lambda: (
                        claimed(engine) == 0
                        and len(tg.sent()) >= EACH * len(TELEGRAM_IDS)
                        and all(fake.response_posts(u) for u in commands)
                    ),
                    timeout=60,
                )
                await asyncio.sleep(1.0)  # time for any second answer to show up
                assert second.terminate() == 0, second.log()[-3000:]
                answers = Counter(int(c.params["chat_id"]) for c in tg.sent())
                slack_answers = [len(fake.response_posts(u)) for u in commands]
    finally:
        for made in replicas:
            made.kill()
        engine.dispose()
        schema.drop()
    assert answers == Counter({tg_id: EACH for tg_id in TELEGRAM_IDS.values()}), answers
    assert slack_answers == [1] * len(commands), slack_answers
