"""``bot.main.build_service`` with Telegram in webhook mode, served by the one web app."""

from __future__ import annotations

import logging
import time

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from bot.main import build_service
from bot.settings import load_settings
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.telegram.conftest import WEBHOOK_SECRET, WEBHOOK_URL
from tests.waiting import CEILING_S


def test_the_service_registers_the_webhook_and_answers_through_it(
    fake_in_thread: FakeTelegram, engine: Engine
) -> None:
    tg = fake_in_thread
    settings = load_settings(
        telegram_bot_token=TOKEN, telegram_api_url=tg.base_url, default_lang="en",
        telegram_webhook_url=WEBHOOK_URL, telegram_webhook_secret=WEBHOOK_SECRET,
    )  # fmt: skip
    service = build_service(
        settings, engine=engine, secret="a-test-secret-that-is-long-enough-0123456789"
    )
    user = tg.user(4242, "Stranger", language_code="en")
    update = {"update_id": 77, "message": {"message_id": 1, "date": 0, "from": user,
              "chat": {"id": 4242, "type": "private"}, "text": "/start"}}  # fmt: skip
    with TestClient(service.web) as client:  # the lifespan starts the adapter: getMe, setWebhook
        assert [c.method for c in tg.calls][:1] == ["getMe"]
        assert tg.webhook_url == WEBHOOK_URL and tg.webhook_secret == WEBHOOK_SECRET
        refused = client.post(
            "/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"}
        )
        assert refused.status_code == 403
        ok = client.post(
            "/telegram/webhook",
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
        )
        assert ok.status_code == 200
        deadline = time.monotonic() + CEILING_S
        while not tg.sent(4242) and time.monotonic() < deadline:
            time.sleep(0.02)
    (reply,) = tg.sent(4242)
    assert "link code" in reply.params["text"]


def test_a_webhook_body_that_is_not_an_update_is_a_400_and_an_oversized_one_a_413(
    fake_in_thread: FakeTelegram, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    tg = fake_in_thread
    settings = load_settings(
        telegram_bot_token=TOKEN,
        telegram_api_url=tg.base_url,
        default_lang="en",
        telegram_webhook_url=WEBHOOK_URL,
        telegram_webhook_secret=WEBHOOK_SECRET,
        max_body_bytes=4096,
    )
    service = build_service(
        settings, engine=engine, secret="a-test-secret-that-is-long-enough-0123456789"
    )
    headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    with TestClient(service.web) as client:
        for body in (b"[1, 2]", b'"x"', b"{broken", b'{"message": {}}'):
            answer = client.post(
                "/telegram/webhook",
                content=body,
                headers={**headers, "Content-Type": "application/json"},
            )
            assert answer.status_code == 400, body
        big = client.post("/telegram/webhook", content=b"{" + b" " * 5000 + b"}", headers=headers)
        assert big.status_code == 413
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
