"""Feishu's settings (``FEISHU_*``) and what in them stops kpibot from starting."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

if TYPE_CHECKING:
    from commands.i18n import Translate

FEISHU_DOMAIN = "https://open.feishu.cn"
LARK_DOMAIN = "https://open.larksuite.com"


class FeishuSettings(BaseSettings):
    feishu_app_id: str | None = Field(
        default=None, description="the self-built app's App ID (cli_…)"
    )
    feishu_app_secret: SecretStr | None = None
    feishu_domain: str = Field(
        default=FEISHU_DOMAIN,
        description="the Open Platform's origin: https://open.feishu.cn, or "
        "https://open.larksuite.com for Lark",
    )
    feishu_events: Literal["long_connection", "callback"] = Field(
        default="long_connection",
        description="long_connection: events and card callbacks over lark-oapi's WebSocket (no "
        "public "
        "address; one replica receives them); callback: Feishu posts them to "
        "PUBLIC_URL/feishu/events (several replicas behind a load balancer)",
    )
    feishu_verification_token: SecretStr | None = None
    feishu_encrypt_key: SecretStr | None = None
    feishu_default_lang: str = Field(
        default="zh",
        description="the language of a Feishu person kpibot has no language for (Feishu does not "
        "tell an app a person's client language)",
    )


def enabled(s: FeishuSettings) -> bool:
    return bool(s.feishu_app_id)


def problems(s: FeishuSettings, _: Translate) -> list[str]:
    """What in the Feishu settings stops kpibot from starting, one line each."""
    found: list[str] = []
    if not s.feishu_app_id:
        return found
    if not s.feishu_app_id.startswith("cli_"):
        found.append(
            _("FEISHU_APP_ID does not look like an App ID (cli_…, on the app's Credentials page).")
        )
    if not s.feishu_app_secret:
        found.append(_("FEISHU_APP_ID is set but FEISHU_APP_SECRET is not."))
    if s.feishu_events == "callback":
        if not s.feishu_verification_token:
            found.append(
                _(
                    "FEISHU_EVENTS is callback but FEISHU_VERIFICATION_TOKEN is not set: kpibot "
                    "cannot check that events come from Feishu."
                )
            )
        if not s.feishu_encrypt_key:
            found.append(
                _(
                    "FEISHU_EVENTS is callback but FEISHU_ENCRYPT_KEY is not set: without it "
                    "Feishu neither encrypts nor signs what it posts."
                )
            )
    return found
