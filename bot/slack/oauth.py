"""Installing kpibot in several Slack workspaces (OAuth v2, "Add to Slack").

The adapter (:mod:`bot.slack.adapter`) takes a :class:`SlackOAuth`; bolt then serves
``GET /slack/install`` and ``GET /slack/oauth_redirect``, keeps each workspace's bot token
in the installation store and answers every request with its own workspace's token.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

log = logging.getLogger(__name__)

BOT_SCOPES: tuple[str, ...] = (
    "commands", "chat:write", "im:write", "im:history", "users:read",
    "files:write", "files:read",
)  # fmt: skip
"""What kpibot asks a workspace for (the same list as deploy/slack-manifest.yml)."""


@dataclass(frozen=True)
class SlackOAuth:
    """Installation in several workspaces ("Add to Slack"): ``GET /slack/install`` and
    ``GET /slack/oauth_redirect``; each workspace's bot token is kept in
    ``installation_store`` (kpibot's database in production) and the OAuth ``state`` is a
    signed token, so any replica can finish an installation another one started."""

    client_id: str
    client_secret: str
    state_secret: str
    installation_store: InstallationStore | AsyncInstallationStore
    scopes: Sequence[str] = BOT_SCOPES
    authorization_url: str | None = None
    """Slack's own by default; tests point it at the fake."""
    redirect_uri: str | None = None
    state_expiration_s: int = 300


class ThreadedInstallationStore(AsyncInstallationStore):
    """A synchronous installation store (SQL, files) used from the event loop via threads."""

    def __init__(self, store: InstallationStore) -> None:
        self.store = store

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        await asyncio.to_thread(self.store.save, installation)

    async def async_save_bot(self, bot: Bot) -> None:
        await asyncio.to_thread(self.store.save_bot, bot)

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        return await asyncio.to_thread(
            self.store.find_bot, enterprise_id=enterprise_id, team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )  # fmt: skip

    async def async_find_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:  # fmt: skip
        return await asyncio.to_thread(
            self.store.find_installation, enterprise_id=enterprise_id, team_id=team_id,
            user_id=user_id, is_enterprise_install=is_enterprise_install,
        )  # fmt: skip

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(self.store.delete_bot, enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await asyncio.to_thread(
            self.store.delete_installation,
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
        )
