"""Two ``kpibot run`` processes on one PostgreSQL, behind one address (round robin per
connection), serve one Slack and one Telegram: every action lands exactly once, even when
the platform delivers it twice and the copies reach different replicas, and a conversation
carries on whichever replica gets the next message."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine, make_url
from sqlmodel import select

from storage import repo
from storage.db import unit_of_work, upgrade
from storage.models import Review
from tests.conftest import PgSchema
from tests.conversations.world import build_world
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.ops.conftest import STRONG_SECRET
from tests.ops.replica import Replica
from tests.ops.tcpproxy import TcpProxy
from tests.slack.sender import SIGNING_SECRET, SlackSender

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

AGENTS = {
    "Alice": (9101, "U0ALICE"),
    "Bob": (9102, "U0BOB"),
    "Carol": (9103, "U0CAROL"),
    "Dave": (9104, "U0DAVE"),
}
STEPS = [  # what the person sends, and what the bot then shows
    ("/selfreview", "Question 1 of"), ("4", "Question 2 of"), ("4", "Question 3 of"),
    ("fine", "Question 4 of"), ("more", "Summary of your self-review"),
]  # fmt: skip


@pytest.fixture
def schema(_pg_admin: Engine) -> Iterator[PgSchema]:
    made = PgSchema(_pg_admin)
    yield made
    made.drop()


def world(schema: PgSchema) -> dict[str, int]:
    engine = schema.engine()
    upgrade(engine)
    now = datetime.now(UTC)  # the replicas run on the real clock: the review window is open now
    ids = build_world(engine, opens=now - timedelta(days=1), closes=now + timedelta(days=5))
    with unit_of_work(engine) as session:
        for name, (tg_id, slack_id) in AGENTS.items():
            member = repo.get_member(session=session, member_id=ids[name])
            assert member is not None
            repo.link_platform(
                session=session, member=member, platform="telegram", user_id=tg_id, actor="test"
            )
            repo.link_platform(
                session=session, member=member, platform="slack", user_id=slack_id, actor="test"
            )
    engine.dispose()
    return ids


async def telegram_self_review(tg: FakeTelegram, user: dict[str, object]) -> None:
    """One person's self-review in Telegram; every update is delivered twice (a redelivery)."""
    chat = int(user["id"])  # type: ignore[call-overload]

    def shows(marker: str) -> bool:
        return any(marker in (m.get("text") or "") for m in tg.bot_messages(chat))

    for said, expected in STEPS:
        update = await tg.send_text(user, said)
        await tg.deliver(update)
        await tg.wait_for(lambda _tg, e=expected: shows(e), timeout=30)
    summary = next(m for m in reversed(tg.bot_messages(chat)) if "Summary" in (m.get("text") or ""))
    update = await tg.press(user, summary, "Submit")
    await tg.deliver(update)
    await tg.wait_for(lambda _tg: shows("is submitted"), timeout=30)


async def slack_dms(sender: SlackSender, fake: FakeSlack, user_id: str, n: int) -> None:
    for k in range(n):
        event_id = f"Ev{user_id}{k:03d}"
        await sender.dm(user_id, "/help", event_id=event_id)
        await sender.dm(user_id, "/help", event_id=event_id, retry_num=1)  # Slack's retry
    channel = fake.dm_channel(user_id)
    await fake.wait_until(lambda: len(fake.messages_in(channel)) >= n, timeout=30)


def served(metrics_text: str, route: str) -> float:
    pattern = rf'kpibot_http_requests_total\{{method="POST",route="{re.escape(route)}",status="200"\}} (\S+)'
    return sum(float(v) for v in re.findall(pattern, metrics_text))


async def test_two_replicas_on_one_postgresql_handle_every_action_exactly_once(
    schema: PgSchema, tmp_path: Path
) -> None:
    ids = world(schema)
    url = make_url(schema.url()).render_as_string(hide_password=False)
    with FakeSlack() as fake:
        for name, (_tg, slack_id) in AGENTS.items():
            fake.add_user(slack_id, name.lower(), locale="en-GB")
        async with FakeTelegram() as tg:
            users = {
                name: tg.user(tg_id, name, language_code="en")
                for name, (tg_id, _s) in AGENTS.items()
            }
            replicas = [Replica({}, tmp_path, name=f"kpibot-{n}") for n in (1, 2)]
            with TcpProxy([("127.0.0.1", r.port) for r in replicas]) as proxy:
                env = {
                    "DATABASE_URL": url, "DEFAULT_LANG": "en", "KPIBOT_SECRET": STRONG_SECRET,
                    "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                    "SLACK_API_URL": fake.api_url, "TELEGRAM_BOT_TOKEN": TOKEN,
                    "TELEGRAM_API_URL": tg.base_url,
                    "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{proxy.port}/telegram/webhook",
                    "TELEGRAM_WEBHOOK_SECRET": "two-replicas-webhook-secret",
                }  # fmt: skip
                try:
                    for replica in replicas:
                        replica.env.update(env)
                    await asyncio.gather(*(asyncio.to_thread(r.start) for r in replicas))
                    limits = httpx.Limits(
                        max_keepalive_connections=0
                    )  # a new connection, the next replica
                    async with httpx.AsyncClient(
                        base_url=f"http://127.0.0.1:{proxy.port}", limits=limits
                    ) as client:
                        sender = SlackSender(client, fake)
                        await asyncio.gather(
                            *(telegram_self_review(tg, users[name]) for name in AGENTS),
                            *(
                                slack_dms(sender, fake, slack_id, 3)
                                for _tg, slack_id in AGENTS.values()
                            ),
                        )
                        await asyncio.sleep(1.0)  # time for any late duplicate to show up
                    pages = [httpx.get(r.url + "/metrics", timeout=5).text for r in replicas]
                    codes = [r.terminate() for r in replicas]
                finally:
                    for replica in replicas:
                        replica.kill()
    assert codes == [0, 0], [r.log()[-2000:] for r in replicas]
    # Both replicas took part, on both platforms.
    for page in pages:
        assert served(page, "/slack/events") > 0 and served(page, "/telegram/webhook") > 0
    # Telegram: one complete self-review each, each question asked once, one confirmation.
    for name, user in users.items():
        texts = [m.get("text") or "" for m in tg.bot_messages(int(user["id"]))]
        assert sum("is submitted" in t for t in texts) == 1, (name, texts)
        for _said, expected in STEPS[1:-1]:
            assert sum(expected in t for t in texts) <= 1, (name, expected, texts)
    engine = schema.engine()
    with unit_of_work(engine) as session:
        reviews = session.exec(select(Review).where(Review.kind == "self")).all()
    engine.dispose()
    assert sorted(r.subject_id for r in reviews) == sorted(ids[name] for name in AGENTS)
    # Slack: three DMs each, each delivered twice: three answers each.
    for _tg, slack_id in AGENTS.values():
        assert len(fake.messages_in(fake.dm_channel(slack_id))) == 3, fake.texts_in(
            fake.dm_channel(slack_id)
        )
