"""Telegram's settings (``TELEGRAM_*``) and what in them stops kpibot from starting."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import SecretStr
from pydantic_settings import BaseSettings

if TYPE_CHECKING:
    from bot.settings import Settings
    from commands.i18n import Translate


class TelegramSettings(BaseSettings):
    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None


def enabled(s: Settings) -> bool:
    return bool(s.telegram_bot_token)


def problems(s: Settings, _: Translate) -> list[str]:
    found = []
    token = s.telegram_bot_token.get_secret_value() if s.telegram_bot_token else ""
    if token and ":" not in token:
        found.append(
            _(
                "TELEGRAM_BOT_TOKEN does not look like a bot token (123456789:ABC…, from "
                "@BotFather)."
            )
        )
    if s.telegram_webhook_url:
        if not s.telegram_webhook_secret:
            found.append(
                _(
                    "TELEGRAM_WEBHOOK_URL is set but TELEGRAM_WEBHOOK_SECRET is not: kpibot cannot "
                    "check that updates come from Telegram."
                )
            )
        if s.environment == "production" and not s.telegram_webhook_url.startswith("https://"):
            found.append(
                _(
                    "TELEGRAM_WEBHOOK_URL {url!r} is not https; Telegram accepts only https "
                    "webhooks.",
                    url=s.telegram_webhook_url,
                )
            )
    return found
