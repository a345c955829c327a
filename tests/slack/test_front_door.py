"""The Slack front door under hostile input (issue 21 item 8): the body capped before it is
read, the signature checked on the raw bytes before any parsing, a malformed payload a 400
with no error-level log, never a 500."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.slack.adapter import SlackAdapter
from bot.slack.render import MODAL_CALLBACK_ID
from bot.web import build_web_app
from tests.slack.conftest import ScriptedRouter
from tests.slack.sender import SlackSender

LIMIT = 64 * 1024


@pytest.fixture
async def capped(adapter: SlackAdapter, fake_slack: object) -> AsyncIterator[SlackSender]:
    app = build_web_app(routes=adapter.routes(), max_body_bytes=LIMIT)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://kpibot.test"
    ) as client:
        yield SlackSender(client, fake_slack)  # type: ignore[arg-type]


def _no_errors(caplog: pytest.LogCaptureFixture) -> None:
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_an_unsigned_body_over_the_limit_is_refused_413_unread(capped: SlackSender) -> None:
    pulled = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(10_000):  # 640 MB if it were all read
            pulled += 1
            yield b"x" * 65536

    response = await capped.client.post("/slack/events", content=endless(),
                                        headers={"Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 413
    assert pulled <= 3
    declared = await capped.client.post("/slack/events", content=b"{}",
                                        headers={"Content-Length": str(LIMIT * 100)})  # fmt: skip
    assert declared.status_code == 413


async def test_an_unsigned_request_is_refused_before_its_body_is_parsed(
    slack: SlackSender, scripted: ScriptedRouter, caplog: pytest.LogCaptureFixture
) -> None:
    response = await slack.post("{not json", "application/json", secret="wrong-secret")
    assert response.status_code == 401
    assert scripted.seen == []
    _no_errors(caplog)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{not json", "application/json"),
        ("[1, 2, 3]", "application/json"),
        ("payload=%7Bbroken", "application/x-www-form-urlencoded"),
        ("payload=%5B%5D", "application/x-www-form-urlencoded"),
    ],
)
async def test_malformed_signed_json_is_a_400_without_a_traceback(
    slack: SlackSender,
    scripted: ScriptedRouter,
    caplog: pytest.LogCaptureFixture,
    body: str,
    content_type: str,
) -> None:
    response = await slack.post(body, content_type)
    assert response.status_code == 400
    assert scripted.seen == []
    _no_errors(caplog)


@pytest.mark.parametrize(
    "metadata",
    [
        "not json",
        json.dumps({"cid": "1 or 1=1", "step": 0, "form": "selfreview"}),
        json.dumps([1, 2]),
    ],
)
async def test_a_modal_with_private_metadata_that_is_not_ours_is_a_400(
    slack: SlackSender, scripted: ScriptedRouter, caplog: pytest.LogCaptureFixture, metadata: str
) -> None:
    view = {
        "id": "V1",
        "callback_id": MODAL_CALLBACK_ID,
        "private_metadata": metadata,
        "blocks": [],
    }
    sent = await slack.submit("U0AGENT01", view, {})
    assert sent.response.status_code == 400
    assert scripted.seen == []
    _no_errors(caplog)
