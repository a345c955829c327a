"""Messages kpibot starts (reminders, broadcasts), and what the adapter reads from storage."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.engine import Engine

from bot.settings import load_settings
from bot.slack.adapter import build_slack
from commands.i18n import translator
from commands.messages import Incoming, Outgoing, Reply
from storage import repo
from storage.db import unit_of_work
from tests.conversations.world import build_world
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, FakeSlack
from tests.slack.conftest import ScriptedRouter, make_adapter, web_app
from tests.slack.sender import SIGNING_SECRET, SlackSender


@pytest.fixture
def linked(engine: Engine) -> dict[str, int]:
    """The conversation tests' world; 李娜 (team demo, Chinese) uses Slack as U0AGENT01,
    Alice (team london) as U0GONE, a user Slack no longer has."""
    ids = build_world(engine)
    with unit_of_work(engine) as session:
        for name, user_id in (("李娜", "U0AGENT01"), ("Alice", "U0GONE")):
            member = repo.get_member(session=session, member_id=ids[name])
            assert member is not None
            repo.link_platform(
                session=session, member=member, platform="slack", user_id=user_id, actor="test"
            )
    return ids


async def test_an_outgoing_message_reaches_the_members_dm_and_returns_its_ref(
    fake_slack: FakeSlack, engine: Engine, linked: dict[str, int]
) -> None:
    adapter = make_adapter(fake_slack, ScriptedRouter(), engine=engine)
    reply = Reply(text="2026-10 的成绩已发布。")
    ref = await adapter.send_outgoing(Outgoing(linked["李娜"], reply, key="demo/2026-10/results"))
    [message] = fake_slack.messages_in("D0AGENT01")
    assert ref == f"D0AGENT01:{message['ts']}" and message["text"] == reply.text


async def test_a_member_without_slack_or_gone_from_slack_is_skipped_not_retried(
    fake_slack: FakeSlack, engine: Engine, linked: dict[str, int]
) -> None:
    adapter = make_adapter(fake_slack, ScriptedRouter(), engine=engine)
    reply = Reply(text="Reminder")
    assert await adapter.send_outgoing(Outgoing(linked["Bob"], reply, key="k1")) is None
    assert await adapter.send_outgoing(Outgoing(linked["Alice"], reply, key="k2")) is None
    assert [(c.method, c.response["error"]) for c in fake_slack.calls_to(ok=False)] == [
        ("chat.postMessage", "channel_not_found")
    ]


async def test_the_apology_is_in_the_members_kpibot_language_even_if_their_slack_speaks_english(
    fake_slack: FakeSlack, engine: Engine, linked: dict[str, int]
) -> None:
    fake_slack.users["U0AGENT01"].locale = "en-US"

    def explode(incoming: Incoming) -> list[Reply]:
        raise RuntimeError("boom")

    adapter = make_adapter(fake_slack, ScriptedRouter(explode), engine=engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web_app(adapter)), base_url="http://t"
    ) as c:
        sent = await SlackSender(c, fake_slack).command("U0AGENT01", "/mykpi")
        await adapter.idle()
    [apology] = fake_slack.response_posts(sent.response_url)
    ref = apology["text"][-8:]
    assert apology["text"] == translator("zh")(
        "Sorry, something went wrong on our side. Please try again; if it keeps happening, give "
        "the admin this reference: {ref}",
        ref=ref,
    )


def test_socket_mode_alone_needs_no_signing_secret_and_offers_no_http_endpoint(
    fake_slack: FakeSlack,
) -> None:
    settings = load_settings(
        slack_bot_token=BOT_TOKEN, slack_app_token=APP_TOKEN, slack_signing_secret=None,
        slack_api_url=fake_slack.api_url,
    )  # fmt: skip
    assert build_slack(settings, ScriptedRouter()).routes() == []


def test_http_mode_without_a_signing_secret_is_refused_at_start_up(fake_slack: FakeSlack) -> None:
    settings = load_settings(
        slack_bot_token=BOT_TOKEN, slack_signing_secret=None, slack_app_token=None,
        slack_api_url=fake_slack.api_url,
    )  # fmt: skip
    with pytest.raises(ValueError, match="SLACK_SIGNING_SECRET"):
        build_slack(settings, ScriptedRouter())
    with_secret = load_settings(slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET)
    assert [r.path for r in build_slack(with_secret, ScriptedRouter()).routes()] == [
        "/slack/events"
    ]
