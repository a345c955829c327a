"""The Web API calls kpibot makes while serving go over one HTTP session (issue 16).

bolt gives each request a client carrying the app client's session; with none, slack_sdk
opened a session and a new TCP connection for every call (a seventh of the front's CPU at
month start, ``bench/peak_bench.py``'s profile). The fake records each call's client port.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.engine import Engine

from bot.slack.adapter import SlackAdapter
from commands.context import AppConfig
from commands.router import Router
from storage import repo
from storage.db import unit_of_work
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import make_adapter, web_app
from tests.slack.sender import SlackSender

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
MESSAGES = 6


@pytest.fixture
async def kpibot(
    fake_slack: FakeSlack, engine: Engine
) -> AsyncIterator[tuple[SlackSender, SlackAdapter]]:
    with unit_of_work(engine) as session:
        demo = repo.create_team(session=session, name="demo", lang="en")
        for i in range(MESSAGES):
            repo.add_member(
                session=session, team=demo, name=f"Agent {i}", role="agent",
                slack_user_id=f"U0AGENT{i:02d}",
            )  # fmt: skip
    router = Router(engine, AppConfig(default_lang="en"), lambda: NOW)
    adapter = make_adapter(fake_slack, router, engine=engine)
    transport = httpx.ASGITransport(app=web_app(adapter))
    async with httpx.AsyncClient(transport=transport, base_url="http://kpibot.test") as client:
        yield SlackSender(client, fake_slack), adapter
    await adapter.stop()


async def test_the_replies_of_several_requests_share_one_connection(
    kpibot: tuple[SlackSender, SlackAdapter],
) -> None:
    slack, adapter = kpibot
    before = len(slack.fake.client_ports)
    for i in range(MESSAGES):
        await slack.dm(f"U0AGENT{i:02d}", "help")
        await adapter.idle()
    posts = [c for c in slack.fake.calls if c.method == "chat.postMessage"]
    assert len(posts) >= MESSAGES, [c.method for c in slack.fake.calls]
    ports = slack.fake.client_ports[before:]
    assert len(ports) >= MESSAGES
    assert len(set(ports)) == 1, f"{len(set(ports))} connections for {len(ports)} calls"


async def test_the_shared_session_is_closed_when_the_adapter_stops(
    kpibot: tuple[SlackSender, SlackAdapter],
) -> None:
    slack, adapter = kpibot
    await slack.dm("U0AGENT00", "help")
    await adapter.idle()
    session = adapter.client.session
    assert session is not None and not session.closed
    await adapter.stop()
    assert session.closed and adapter.client.session is None
