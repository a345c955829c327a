"""Logs are JSON lines with the request's context, and never hold a token or what people typed."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from bot.logs import REDACTED, Redactor, configure, request_context
from bot.main import build_service
from bot.settings import load_settings
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack
from tests.slack.sender import SIGNING_SECRET, SlackSender

STRONG = "Zq8-kV3rT0pW5yNc1xLb7Hm2Jd9Gs4Fa6Ue0Oi3Rk"
TELEGRAM_TOKEN = "7654321098:AAH-secret_telegram_token_value_xyz"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    stream = io.StringIO()
    yield stream
    root.handlers[:] = before[0]
    root.setLevel(before[1])


def lines(stream: io.StringIO) -> list[dict[str, str]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_a_line_is_json_with_the_request_id_platform_and_team(
    captured: io.StringIO, tmp_path: Path
) -> None:
    configure(load_settings(log_format="json", data_dir=tmp_path), stream=captured)
    with request_context(request_id="req42", platform="slack", team="demo"):
        logging.getLogger("kpibot.test").warning("hello %s", "world")
    [line] = lines(captured)
    assert line["message"] == "hello world"
    assert (line["request_id"], line["platform"], line["team"]) == ("req42", "slack", "demo")
    assert line["level"] == "warning"


def test_known_secret_values_and_token_shapes_are_redacted_everywhere(
    captured: io.StringIO, tmp_path: Path
) -> None:
    settings = load_settings(
        log_format="json", data_dir=tmp_path, slack_bot_token="xoxb-111-222-abcdefSECRET",
        slack_signing_secret="signing-secret-0123456789", telegram_bot_token=TELEGRAM_TOKEN,
        kpibot_secret=STRONG, database_url="postgresql://kpibot:pg-password-987@db:5432/kpibot",
    )  # fmt: skip
    configure(settings, stream=captured)
    log = logging.getLogger("kpibot.test")
    log.info("token in the message xoxb-111-222-abcdefSECRET")
    log.info("token as an argument %s", "signing-secret-0123456789")
    log.info("HTTP Request: POST https://api.telegram.org/bot%s/sendMessage", TELEGRAM_TOKEN)
    log.info(
        "another workspace's token xoxb-999-888-otherWORKSPACE and an app token xapp-1-A0-99-abc"
    )
    log.info("connecting to postgresql://kpibot:pg-password-987@db:5432/kpibot")
    log.info("Authorization: Bearer t-g1044ghJRUIJJ5ELMNSEWZ2BPZGXPB3PCABS3BT5 (Feishu)")
    try:
        raise RuntimeError(f"failed with key {STRONG}")
    except RuntimeError:
        log.exception("a failure")
    text = captured.getvalue()
    for secret in ("abcdefSECRET", "signing-secret-0123456789", TELEGRAM_TOKEN, "otherWORKSPACE",
                   "xapp-1-A0-99-abc", "pg-password-987", STRONG,
                   "g1044ghJRUIJJ5ELMNSEWZ2BPZGXPB3PCABS3BT5"):  # fmt: skip
        assert secret not in text
    assert text.count(REDACTED) >= 8
    assert len(lines(captured)) == 7


def test_what_a_person_typed_is_left_out_but_the_command_stays() -> None:
    redact = Redactor()
    said = redact(
        "request ab12 failed (platform=slack user=U1 text='/review 李娜 她的服务很好' action=None)"
    )
    assert "/review" in said and "李娜" not in said and "服务" not in said
    assert redact("comment='the agent was rude to me'") == f"comment={REDACTED}"


async def test_a_token_never_reaches_the_log_while_kpibot_serves_slack(
    captured: io.StringIO, engine: Engine, tmp_path: Path
) -> None:
    """The whole path at DEBUG (bolt, slack_sdk, httpx, uvicorn loggers included)."""
    with FakeSlack() as fake:
        fake.add_user("U0STRANGER", "stranger", locale="en-GB")
        settings = load_settings(
            slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_app_token=None,
            slack_api_url=fake.api_url, telegram_bot_token=None, data_dir=tmp_path,
            kpibot_secret=STRONG, log_format="json", log_level="DEBUG",
        )  # fmt: skip
        configure(settings, stream=captured)
        logging.getLogger("httpx").setLevel(logging.DEBUG)
        service = build_service(settings, engine=engine)
        [slack] = service.adapters
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=service.web), base_url="http://kpibot.test"
        ) as client:
            sent = await SlackSender(client, fake).command("U0STRANGER", "/kpi", "help")
            await slack.idle()  # type: ignore[attr-defined]
        await service.stop()
    assert sent.response.status_code == 200
    assert fake.response_posts(sent.response_url), "the person got an answer"
    text = captured.getvalue()
    assert len(lines(captured)) > 5, "the path was logged"
    for secret in (BOT_TOKEN, SIGNING_SECRET, STRONG):
        assert secret not in text
