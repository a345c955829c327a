"""Help on Slack names each command as it is typed there (``/mykpi``, ``/kpi period …``)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.engine import Engine

from bot.slack import render
from bot.slack.adapter import SlackAdapter
from commands.context import AppConfig
from commands.messages import Incoming
from commands.router import Router
from storage import repo
from storage.db import unit_of_work
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import make_adapter, web_app
from tests.slack.sender import SlackSender

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
NOT_A_SLACK_COMMAND = re.compile(r"(?<![\w/])/(me|help|period|team|member|simulate|linkcode)\b")


@pytest.fixture
async def kpibot(
    fake_slack: FakeSlack, engine: Engine
) -> AsyncIterator[tuple[SlackSender, Router, SlackAdapter]]:
    with unit_of_work(engine) as session:
        demo = repo.create_team(session=session, name="demo", lang="en")
        repo.add_member(
            session=session, team=demo, name="HR", role="admin", slack_user_id="U0ALICE"
        )
        repo.add_member(
            session=session, team=demo, name="Li", role="agent", slack_user_id="U0AGENT01"
        )
    router = Router(engine, AppConfig(default_lang="en"), lambda: NOW)
    adapter = make_adapter(fake_slack, router, engine=engine)
    transport = httpx.ASGITransport(app=web_app(adapter))
    async with httpx.AsyncClient(transport=transport, base_url="http://kpibot.test") as client:
        yield SlackSender(client, fake_slack), router, adapter
    await adapter.stop()


async def help_text(kpibot: tuple[SlackSender, Router, SlackAdapter], user_id: str) -> str:
    slack, _router, adapter = kpibot
    sent = await slack.command(user_id, "/kpi")
    await adapter.idle()
    [posted] = slack.fake.response_posts(sent.response_url)
    assert posted["response_type"] == "ephemeral"
    return str(posted["text"])


async def test_help_on_slack_names_the_commands_as_they_are_typed_there(
    kpibot: tuple[SlackSender, Router, SlackAdapter],
) -> None:
    text = await help_text(kpibot, "U0ALICE")
    lines = text.splitlines()
    assert "/kpi — this list" in lines
    assert any(line.startswith("/rank — ") for line in lines)
    assert any(line.startswith("/kpi period — ") for line in lines)
    assert "   for example: /kpi period open demo 2026-11" in lines
    assert "   for example: /kpi linkcode demo Carol" in lines
    assert "tz=Asia/Shanghai" in text
    assert not NOT_A_SLACK_COMMAND.search(text), text

    # the same help anywhere else keeps kpibot's own names
    [elsewhere] = kpibot[1].handle(Incoming(platform="console", user_id="HR", text="/help"))
    assert "/help — this list" in elsewhere.text and "/period open demo 2026-11" in elsewhere.text


async def test_an_agents_help_on_slack_shows_only_what_slack_accepts(
    kpibot: tuple[SlackSender, Router, SlackAdapter],
) -> None:
    text = await help_text(kpibot, "U0AGENT01")
    lines = text.splitlines()
    assert any(line.startswith("/mykpi — ") for line in lines)
    assert "   for example: /mykpi 2026-10" in lines
    assert any(line.startswith("/selfreview — ") for line in lines)
    assert not NOT_A_SLACK_COMMAND.search(text), text


@pytest.mark.parametrize(
    ("command", "typed"),
    [("me", "/mykpi"), ("help", "/kpi"), ("rank", "/rank"), ("survey", "/survey"),
     ("period", "/kpi period"), ("linkcode", "/kpi linkcode")],
)  # fmt: skip
def test_every_command_is_typed_on_slack_so_that_the_adapter_reads_it_back(
    command: str, typed: str
) -> None:
    assert render.typed_on_slack(command) == typed
    slash, _sep, rest = typed.partition(" ")
    assert render.command_text(slash, rest) == f"/{command}"
