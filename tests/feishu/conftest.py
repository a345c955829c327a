"""Fixtures: the fake Feishu, and the real adapter pointed at it (lark-oapi's base domain).

``feishu`` is a started :class:`~tests.fakes.feishu_api.FakeFeishu`; ``start_adapter(router,
**kwargs)`` builds the adapter as the composition root does (``build_feishu(settings,
router, ...)``) in callback mode, serves its route on an in-process Starlette app the fake
posts events to, starts it, and stops it after the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from bot.feishu.adapter import FeishuAdapter, build_feishu
from bot.feishu.settings import FeishuSettings
from bot.web import build_web_app
from commands.messages import Incoming, Reply
from tests.fakes.feishu_api import FakeFeishu


@dataclass
class ScriptedRouter:
    """Stands in for ``commands.router.Router``: records requests, answers from a script."""

    script: Callable[[Incoming], Sequence[Reply]]
    seen: list[Incoming] = field(default_factory=list)

    def handle(self, incoming: Incoming) -> list[Reply]:
        self.seen.append(incoming)
        return list(self.script(incoming))


def settings_for(fake: FakeFeishu, **overrides: Any) -> FeishuSettings:
    values: dict[str, Any] = {
        "feishu_app_id": fake.app_id,
        "feishu_app_secret": fake.app_secret,
        "feishu_domain": fake.domain,
        "feishu_events": "callback",
        "feishu_verification_token": fake.verification_token,
        "feishu_encrypt_key": fake.encrypt_key,
    }
    values.update(overrides)
    return FeishuSettings(**values)


@pytest.fixture
def feishu() -> Iterator[FakeFeishu]:
    with FakeFeishu() as fake:
        yield fake


@pytest.fixture
async def start_adapter(feishu: FakeFeishu) -> AsyncIterator[Callable[..., Any]]:
    started: list[FeishuAdapter] = []

    async def start(router: Any, *, fake: FakeFeishu | None = None, **kwargs: Any) -> FeishuAdapter:
        fake = fake or feishu
        settings = settings_for(fake, **kwargs.pop("settings", {}))
        kwargs.setdefault("default_lang", "en")
        adapter = build_feishu(settings, router, **kwargs)
        app = build_web_app(adapter.routes())
        fake.callback_transport = httpx.ASGITransport(app=app)
        await adapter.start()
        started.append(adapter)
        return adapter

    yield start
    for adapter in started:
        await adapter.stop()
