"""Telegram as a messenger: the adapter (:mod:`.adapter`, python-telegram-bot), messages and
inline keyboards (:mod:`.render`), pacing (:mod:`.limits`), the HTTP transport
(:mod:`.request`), who is who (:mod:`.people`) and ``TELEGRAM_*`` (:mod:`.settings`).

:data:`MESSENGER` is what :mod:`bot.messengers` lists; nothing here imports PTB until an
adapter is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.messenger import Limits, Messenger
from bot.telegram import settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bot.messenger import RouterLike
    from bot.metrics import Metrics
    from bot.settings import Settings
    from bot.telegram.adapter import TelegramAdapter


def build(
    settings: Settings, router: RouterLike, engine: Engine, metrics: Metrics
) -> TelegramAdapter:
    from bot.telegram.adapter import build_telegram

    telegram = build_telegram(settings, router, engine=engine)
    telegram.count_rate_limits(lambda: metrics.rate_limited("telegram"))
    return telegram


def stores_requests(adapter: Any) -> bool:
    """A webhook's updates are stored before the 200; with long polling Telegram keeps an
    update until the next getUpdates confirms it."""
    return bool(getattr(adapter, "webhook_url", None))


MESSENGER = Messenger(
    platform="telegram",
    name="Telegram",
    settings=settings.TelegramSettings,
    enabled=settings.enabled,
    build=build,
    limits=Limits(overall=30.0, per_chat=1.0),
    problems=settings.problems,
    path_prefix="/telegram/",
    stores_requests=stores_requests,
)
