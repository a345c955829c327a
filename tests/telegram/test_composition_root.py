"""``bot.main.build_service`` with Telegram in webhook mode, served by the one web app."""

from __future__ import annotations

import time

from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from bot.main import build_service
from bot.settings import load_settings
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.telegram.conftest import WEBHOOK_SECRET, WEBHOOK_URL


def test_the_service_registers_the_webhook_and_answers_through_it(fake_in_thread: FakeTelegram, engine: Engine) -> None:
    tg = fake_in_thread
    settings = load_settings(
        telegram_bot_token=TOKEN, telegram_api_url=tg.base_url, default_lang="en",
        telegram_webhook_url=WEBHOOK_URL, telegram_webhook_secret=WEBHOOK_SECRET,
    )  # fmt: skip
    service = build_service(settings, engine=engine, secret="a-test-secret-that-is-long-enough-0123456789")
    user = tg.user(4242, "Stranger", language_code="en")
    update = {"update_id": 77, "message": {"message_id": 1, "date": 0, "from": user,
              "chat": {"id": 4242, "type": "private"}, "text": "/start"}}  # fmt: skip
    with TestClient(service.web) as client:  # the lifespan starts the adapter: getMe, setWebhook
        assert [c.method for c in tg.calls][:1] == ["getMe"]
        assert tg.webhook_url == WEBHOOK_URL and tg.webhook_secret == WEBHOOK_SECRET
        refused = client.post("/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"})
        assert refused.status_code == 403
        ok = client.post("/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})
        assert ok.status_code == 200
        deadline = time.monotonic() + 10
        while not tg.sent(4242) and time.monotonic() < deadline:
            time.sleep(0.02)
    (reply,) = tg.sent(4242)
    assert "link code" in reply.params["text"]
