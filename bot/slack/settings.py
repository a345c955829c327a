"""Slack's settings (``SLACK_*``) and what in them stops kpibot from starting."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

if TYPE_CHECKING:
    from bot.settings import Settings
    from commands.i18n import Translate


class SlackSettings(BaseSettings):
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_ack_budget_s: float = Field(
        default=0.25,
        description="how long a modal submission's ack waits for kpibot's answer (errors shown "
        "inline "
        "by Slack); a later answer turns the modal into a 'checking and saving your answers' view "
        "and "
        "is then shown in the same modal (views.update), with the DM as the record, or in the DM "
        "alone "
        "if the modal was closed; while the replica is busy the ack does not wait at all",
    )


def enabled(s: Settings) -> bool:
    return bool(s.slack_bot_token)


def problems(s: Settings, _: Translate) -> list[str]:
    found = []
    if s.slack_bot_token and not s.slack_signing_secret and not s.slack_app_token:
        found.append(
            _(
                "SLACK_BOT_TOKEN is set but SLACK_SIGNING_SECRET is not: kpibot cannot check that "
                "requests come from Slack. Set it (Basic Information → Signing Secret), or "
                "SLACK_APP_TOKEN for Socket Mode."
            )
        )
    if not s.slack_bot_token and (s.slack_signing_secret or s.slack_app_token):
        found.append(
            _("SLACK_SIGNING_SECRET or SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is not.")
        )
    token = s.slack_bot_token.get_secret_value() if s.slack_bot_token else ""
    if token and not token.startswith("xoxb-"):
        found.append(_("SLACK_BOT_TOKEN does not look like a bot token (it starts with xoxb-)."))
    app_token = s.slack_app_token.get_secret_value() if s.slack_app_token else ""
    if app_token and not app_token.startswith("xapp-"):
        found.append(
            _("SLACK_APP_TOKEN does not look like an app-level token (it starts with xapp-).")
        )
    return found
