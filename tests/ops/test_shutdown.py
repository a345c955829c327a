"""SIGTERM: the replica stops taking connections, finishes the reply it is sending, exits 0."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.fakes.slack_api import BOT_TOKEN, FakeSlack
from tests.ops.conftest import STRONG_SECRET
from tests.ops.replica import Replica
from tests.slack.sender import SIGNING_SECRET, SlackSender
from tests.waiting import CEILING_S

pytestmark = pytest.mark.slow

RETRY_S = 12.0
"""How long the reply in flight waits out its 429 (was 4 s): the window in which the test
must see the replica refuse new connections yet still be running, on a loaded machine."""
GRACE_S = 60.0
"""SHUTDOWN_GRACE_S: the service stops within half of it, room for RETRY_S and the post."""


def refuses_connections(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


async def test_sigterm_finishes_the_reply_in_flight_then_exits_cleanly(tmp_path: Path) -> None:
    with FakeSlack() as fake:
        fake.add_user("U0STRANGER", "stranger", locale="en-GB")
        replica = Replica(
            {
                "DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}", "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake.api_url,
                "KPIBOT_SECRET": STRONG_SECRET, "DEFAULT_LANG": "en",
                "SHUTDOWN_GRACE_S": str(GRACE_S),
            },
            tmp_path,
        ).start()  # fmt: skip
        try:
            # Slack lets kpibot post to a response_url once in RETRY_S, then answers 429 +
            # Retry-After: RETRY_S: the second reply is in flight that long after its 429.
            fake.rate_limit("response_url", calls=1, per=RETRY_S, retry_after=int(RETRY_S))
            async with httpx.AsyncClient(base_url=replica.url) as client:
                sender = SlackSender(client, fake)
                first = await sender.command("U0STRANGER", "/kpi", "help")
                await fake.wait_until(lambda: bool(fake.response_posts(first.response_url)))
                second = await sender.command("U0STRANGER", "/kpi", "help")
                assert second.response.status_code == 200, "acked at once"
                while (
                    'kpibot_platform_rate_limited_total{platform="slack"} 1.0'
                    not in (await client.get("/metrics")).text
                ):
                    await asyncio.sleep(0.05)
            assert replica.process is not None
            replica.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + CEILING_S
            while not refuses_connections(replica.port) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert refuses_connections(replica.port), "no new work once SIGTERM arrived"
            assert replica.process.poll() is None, "still finishing the reply in flight"
            assert fake.response_posts(second.response_url) == []
            code = replica.wait(timeout=60)
        finally:
            replica.kill()
        assert code == 0, replica.log()
        assert len(fake.response_posts(second.response_url)) == 1, (
            "the reply in flight was delivered"
        )
        assert "Application shutdown complete" in replica.log()
