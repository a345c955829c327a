"""Socket Mode (``SLACK_APP_TOKEN`` set): the same adapter, reached over a WebSocket."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.settings import load_settings
from bot.slack.adapter import SlackAdapter, build_slack
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, FakeSlack
from tests.slack.conftest import ScriptedRouter
from tests.slack.sender import SIGNING_SECRET, SlackSender


@pytest.fixture
async def socket_adapter(
    fake_slack: FakeSlack, scripted: ScriptedRouter
) -> AsyncIterator[SlackAdapter]:
    settings = load_settings(
        slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_app_token=APP_TOKEN,
        slack_api_url=fake_slack.api_url,
    )  # fmt: skip
    adapter = build_slack(settings, scripted)
    await adapter.start()
    await fake_slack.wait_until(lambda: fake_slack.socket_connected)
    yield adapter
    await adapter.stop()


async def test_a_slash_command_over_the_socket_is_acked_by_envelope_and_answered(
    fake_slack: FakeSlack, scripted: ScriptedRouter, socket_adapter: SlackAdapter
) -> None:
    [opened] = fake_slack.calls_to("apps.connections.open")
    assert opened.ok and opened.token == APP_TOKEN, "the socket is opened with the app-level token"
    fields = SlackSender(None, fake_slack).command_fields("U0MANAGER", "/rank", "demo")  # type: ignore[arg-type]
    envelope = fake_slack.socket_send("slash_commands", fields)
    await fake_slack.wait_until(lambda: fake_slack.socket_ack(envelope) is not None)
    await fake_slack.wait_until(lambda: bool(fake_slack.response_posts(fields["response_url"])))
    await socket_adapter.idle()
    assert [i.text for i in scripted.seen] == ["/rank demo"]
    assert [p["text"] for p in fake_slack.response_posts(fields["response_url"])] == [
        "you said /rank demo"
    ]


async def test_a_redelivered_socket_event_has_one_effect(
    fake_slack: FakeSlack, scripted: ScriptedRouter, socket_adapter: SlackAdapter
) -> None:
    body = SlackSender(None, fake_slack).dm_body("U0AGENT01", "4", event_id="Ev0SOCKET1")  # type: ignore[arg-type]
    first = fake_slack.socket_send("events_api", body)
    again = fake_slack.socket_send("events_api", body, retry_attempt=1, retry_reason="timeout")
    for envelope in (first, again):
        await fake_slack.wait_until(lambda e=envelope: fake_slack.socket_ack(e) is not None)
    await fake_slack.wait_until(lambda: bool(fake_slack.messages_in("D0AGENT01")))
    await socket_adapter.idle()
    assert [i.event_id for i in scripted.seen] == ["Ev0SOCKET1"]
    assert fake_slack.texts_in("D0AGENT01") == ["you said 4"]
