"""The platform API answers 500s and 429s for a while: people's requests are still acked and
answered once, the broadcast still reaches everyone once, and the 429s show in the metrics."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from bot.main import build_service
from commands.messages import Reply
from commands.outbox import enqueue
from storage import repo
from storage.db import unit_of_work
from tests.fakes.slack_api import FakeSlack
from tests.ops.conftest import SLACK_IDS, linked_world, slack_settings
from tests.slack.sender import SlackSender

pytestmark = pytest.mark.slow


async def test_slack_failing_for_a_while_delays_messages_but_loses_or_doubles_none(
    engine: Engine, tmp_path: Path
) -> None:
    ids = linked_world(engine)
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="london")
        assert team is not None
        for name in SLACK_IDS:
            member = repo.get_member(session=session, member_id=ids[name])
            for n in range(3):
                enqueue(session, team=team, period=None, member=member, kind=f"notice.{n}",
                        reply=Reply(text=f"notice {n} for {name}", private=True))  # fmt: skip
    with FakeSlack() as fake:
        for name, user_id in SLACK_IDS.items():
            fake.add_user(user_id, name.lower(), locale="en-GB")
        service = build_service(slack_settings(fake.api_url, tmp_path), engine=engine)
        [slack] = service.adapters
        assert service.sender is not None
        # For a while: the first posts fail with 500 and 503, then Slack rate-limits posting.
        fake.fail_next("chat.postMessage", times=3, status=500)
        fake.fail_next("chat.postMessage", times=2, status=503)
        fake.fail_next("response_url", times=1, status=503)
        fake.rate_limit("chat.postMessage", calls=4, per=1.0, retry_after=1)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=service.web), base_url="http://k"
        ) as client:
            sent = await SlackSender(client, fake).command("U0ALICE", "/kpi", "help")
            assert sent.response.status_code == 200, "acked whatever the Web API does"
            await service.sender.drain(timeout=120)
            await slack.idle()  # type: ignore[attr-defined]
        await service.stop()
    posted = sorted(c.args["text"] for c in fake.calls_to("chat.postMessage", ok=True))
    assert posted == sorted(f"notice {n} for {name}" for name in SLACK_IDS for n in range(3))
    assert len(fake.response_posts(sent.response_url)) == 1, "the person heard back once"
    failed = [c.status for c in fake.calls_to("chat.postMessage", ok=False)]
    assert failed.count(500) == 3 and failed.count(503) == 2 and 429 in failed
    m = service.metrics
    assert m.value("kpibot_platform_rate_limited_total", platform="slack") == failed.count(429)
    assert m.value("kpibot_messages_sent_total", platform="slack") == len(posted)
