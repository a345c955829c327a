"""Fixtures of the cycle tests: fake Slack and Telegram, adapters that send through them, a team."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.settings import load_settings
from bot.slack.adapter import SlackAdapter, build_slack
from bot.telegram.adapter import TelegramAdapter, build_telegram
from commands.messages import Incoming, Reply
from storage import repo
from storage.db import unit_of_work
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack
from tests.fakes.telegram_api import TOKEN, FakeTelegram

TG_BASE = 7_000_000


class NoRouter:
    """The sender never routes anything; adapters need a router all the same."""

    commands: tuple[str, ...] = ()

    def handle(self, incoming: Incoming) -> list[Reply]:  # pragma: no cover - never called
        return []


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


def slack_adapter(engine: Engine, fake: FakeSlack, **kwargs: Any) -> SlackAdapter:
    settings = load_settings(
        slack_bot_token=BOT_TOKEN, slack_signing_secret="test-signing-secret", slack_app_token=None,
        slack_api_url=fake.api_url, default_lang="zh",
    )  # fmt: skip
    return build_slack(settings, NoRouter(), engine=engine, **kwargs)  # type: ignore[arg-type]


async def telegram_adapter(engine: Engine, base_url: str, **kwargs: Any) -> TelegramAdapter:
    settings = load_settings(telegram_bot_token=TOKEN, telegram_api_url=base_url, default_lang="zh")
    kwargs.setdefault("max_retries", 0)
    adapter = build_telegram(settings, NoRouter(), engine=engine, **kwargs)  # type: ignore[arg-type]
    await adapter.application.initialize()
    return adapter


@dataclass
class Crew:
    """A team: a manager on Telegram, agents on Telegram, on Slack, and on nothing."""

    team_id: int
    manager_id: int
    telegram: dict[int, int] = field(default_factory=dict)
    """member id → Telegram user (chat) id"""
    slack: dict[int, str] = field(default_factory=dict)
    """member id → Slack user id"""
    nowhere: list[int] = field(default_factory=list)

    @property
    def agents(self) -> list[int]:
        return [*self.telegram, *self.slack, *self.nowhere]


def make_crew(
    engine: Engine,
    *,
    telegram: int,
    slack: int,
    nowhere: int = 0,
    fake_telegram: FakeTelegram | None = None,
    name: str = "shop",
) -> Crew:
    with unit_of_work(engine) as s:
        team = repo.create_team(session=s, name=name, lang="en", slack_team_id="T0KPIBOT")
        boss = repo.add_member(session=s, team=team, name="boss", role="manager",
                               telegram_user_id=TG_BASE, lang="en")  # fmt: skip
        crew = Crew(int(team.id or 0), int(boss.id or 0))
        for i in range(telegram):
            m = repo.add_member(session=s, team=team, name=f"tg{i}", manager=boss,
                                telegram_user_id=TG_BASE + 1 + i)  # fmt: skip
            crew.telegram[int(m.id or 0)] = TG_BASE + 1 + i
        for i in range(slack):
            m = repo.add_member(session=s, team=team, name=f"sl{i}", manager=boss,
                                slack_user_id=f"U{i:07d}")  # fmt: skip
            crew.slack[int(m.id or 0)] = f"U{i:07d}"
        for i in range(nowhere):
            m = repo.add_member(session=s, team=team, name=f"nobody{i}", manager=boss)
            crew.nowhere.append(int(m.id or 0))
    if fake_telegram is not None:
        fake_telegram.user(TG_BASE, "boss")
        for chat in crew.telegram.values():
            fake_telegram.user(chat, f"agent {chat}")
    return crew
