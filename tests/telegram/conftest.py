"""Fixtures: the fake Telegram Bot API, and the real adapter pointed at it.

``telegram_api`` is a started :class:`~tests.fakes.telegram_api.FakeTelegram`;
``start_adapter(router, webhook=..., engine=...)`` builds the adapter exactly as the
composition root does (``build_telegram(settings, router, engine=...)``) with the
settings pointing at the fake, starts it (polling, or webhook on an in-process
Starlette app the fake posts to), and stops it after the test.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from bot.settings import load_settings
from bot.telegram.adapter import TelegramAdapter, build_telegram
from bot.web import build_web_app
from commands.messages import Incoming, Reply
from tests.fakes.telegram_api import TOKEN, FakeTelegram

WEBHOOK_SECRET = "test-webhook-secret_123"
WEBHOOK_URL = "http://testserver/telegram/webhook"


@dataclass
class ScriptedRouter:
    """Stands in for ``commands.router.Router``: records requests, answers from a script."""

    script: Callable[[Incoming], Sequence[Reply]]
    seen: list[Incoming] = field(default_factory=list)

    def handle(self, incoming: Incoming) -> list[Reply]:
        self.seen.append(incoming)
        return list(self.script(incoming))


@pytest.fixture
async def telegram_api() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def start_adapter(telegram_api: FakeTelegram) -> AsyncIterator[Callable[..., Any]]:
    started: list[TelegramAdapter] = []

    async def start(
        router: Any, *, webhook: bool = False, engine: Any = None, **kwargs: Any
    ) -> TelegramAdapter:
        overrides: dict[str, Any] = {
            "telegram_bot_token": TOKEN,
            "telegram_api_url": telegram_api.base_url,
            "default_lang": "en",
        }
        if webhook:
            overrides["telegram_webhook_url"] = WEBHOOK_URL
            overrides["telegram_webhook_secret"] = WEBHOOK_SECRET
        settings = load_settings(**overrides)
        adapter = build_telegram(settings, router, engine=engine, poll_timeout=2, **kwargs)
        if webhook:
            app = build_web_app(adapter.routes())
            telegram_api.webhook_transport = httpx.ASGITransport(app=app)
            adapter.web_app = app  # type: ignore[attr-defined]
        await adapter.start()
        started.append(adapter)
        return adapter

    yield start
    for adapter in started:
        await adapter.stop()


@pytest.fixture
def fake_in_thread() -> Iterator[FakeTelegram]:
    """The fake on its own event loop in a thread, for code that runs its own loop (CLI,
    TestClient)."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, FakeTelegram] = {}
    stop = asyncio.Event()

    async def serve() -> None:
        async with FakeTelegram() as fake:
            holder["fake"] = fake
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    yield holder["fake"]
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)
    loop.close()
