"""/rank typed in a team group: the whole ranking is posted there only when the scheme publishes it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from commands.context import AppConfig
from commands.router import Router
from storage import repo
from storage.db import unit_of_work
from tests.commands.conftest import REVIEW_WINDOW_NOW, review_everyone
from tests.conversations.conftest import Clock
from tests.conversations.world import build_world
from tests.fakes.telegram_api import FakeTelegram, texts
from tests.telegram.chat import TelegramChat
from tests.telegram.world import publish_the_ranking

MARY, LONDON_GROUP = 100, -3001
SCORES = {"Alice": 5, "Bob": 4, "Carol": 2, "Dave": 3}


def london_scored(engine: Engine, *, published: bool) -> Router:
    ids = build_world(engine)
    with unit_of_work(engine) as session:
        mary = repo.get_member(session=session, member_id=ids["Mary"])
        assert mary is not None
        repo.link_platform(session=session, member=mary, platform="telegram", user_id=MARY, actor="test")
    if published:
        publish_the_ranking(engine, "london")
    review_everyone(engine, "london", self_scores=SCORES, manager_scores=SCORES)
    return Router(engine, AppConfig(default_lang="en"), Clock(REVIEW_WINDOW_NOW + timedelta(days=10)))


async def test_a_ranking_the_scheme_does_not_publish_goes_to_the_manager_privately_not_to_the_group(
    telegram_api: FakeTelegram, start_adapter, engine: Engine
) -> None:
    adapter = await start_adapter(london_scored(engine, published=False), engine=engine)
    mary = TelegramChat(telegram_api, adapter, telegram_api.user(MARY, "Mary"))
    group = telegram_api.group(LONDON_GROUP, "London team")

    await mary.say("/rank", chat=group)

    in_group = texts(telegram_api.sent(LONDON_GROUP))
    assert not any("Alice" in t or "Ranking" in t for t in in_group), in_group
    assert telegram_api.calls_to("sendPhoto") and all(
        c.params["chat_id"] == MARY for c in telegram_api.calls_to("sendPhoto")
    )
    privately = "\n".join(texts(telegram_api.sent(MARY)))
    assert "Ranking of london for 2026-10" in privately
    assert all(name in privately for name in SCORES)


async def test_a_published_ranking_asked_for_in_the_group_is_posted_in_the_group(
    telegram_api: FakeTelegram, start_adapter, engine: Engine
) -> None:
    adapter = await start_adapter(london_scored(engine, published=True), engine=engine)
    mary = TelegramChat(telegram_api, adapter, telegram_api.user(MARY, "Mary"))
    group = telegram_api.group(LONDON_GROUP, "London team")

    await mary.say("/rank", chat=group)

    assert "Ranking of london for 2026-10" in "\n".join(texts(telegram_api.sent(LONDON_GROUP)))
    assert [c.params["chat_id"] for c in telegram_api.calls_to("sendPhoto")] == [LONDON_GROUP]


@pytest.mark.parametrize("published", [False, True])
async def test_in_a_private_chat_the_manager_gets_the_ranking_either_way(
    telegram_api: FakeTelegram, start_adapter, engine: Engine, published: bool
) -> None:
    adapter = await start_adapter(london_scored(engine, published=published), engine=engine)
    mary = TelegramChat(telegram_api, adapter, telegram_api.user(MARY, "Mary"))
    await mary.say("/rank")
    assert "Ranking of london for 2026-10" in "\n".join(texts(telegram_api.sent(MARY)))
    assert [c.params["chat_id"] for c in telegram_api.calls_to("sendPhoto")] == [MARY]
