"""/rank typed in a team group: the whole ranking is posted there only when the scheme publishes
it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from commands.context import AppConfig
from commands.router import Router
from storage import repo
from storage.db import unit_of_work
from tests.commands.conftest import REVIEW_WINDOW_NOW, review_everyone
from tests.conftest import Clock
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
        repo.link_platform(
            session=session, member=mary, platform="telegram", user_id=MARY, actor="test"
        )
    if published:
        publish_the_ranking(engine, "london")
    review_everyone(engine, "london", self_scores=SCORES, manager_scores=SCORES)
    return Router(
        engine, AppConfig(default_lang="en"), Clock(REVIEW_WINDOW_NOW + timedelta(days=10))
    )


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


BIG_TEAM = 204
"""From 204 agents a chart with a bar for everyone broke width + height ≤ 10,000 px (issue 16 item
7)."""


async def test_the_rank_of_204_agents_reaches_telegram_within_its_photo_and_message_limits(
    telegram_api: FakeTelegram, start_adapter, engine: Engine
) -> None:
    """Reproduces issue 16 item 7 through the strict fake: the photo was refused
    (PHOTO_INVALID_DIMENSIONS) and the manager saw no chart."""
    ids = build_world(engine)
    scores = dict(SCORES)
    with unit_of_work(engine) as session:
        mary = repo.get_member(session=session, member_id=ids["Mary"])
        assert mary is not None
        repo.link_platform(
            session=session, member=mary, platform="telegram", user_id=MARY, actor="test"
        )
        team = repo.get_team_by_name(session=session, name="london")
        assert team is not None
        for i in range(BIG_TEAM - len(SCORES)):
            name = f"Agent {i:03d}"
            repo.add_member(session=session, team=team, name=name, role="agent", manager=mary)
            scores[name] = 1 + i % 5
    review_everyone(engine, "london", self_scores=scores, manager_scores=scores)
    router = Router(
        engine, AppConfig(default_lang="en"), Clock(REVIEW_WINDOW_NOW + timedelta(days=10))
    )
    adapter = await start_adapter(router, engine=engine)
    chat = TelegramChat(telegram_api, adapter, telegram_api.user(MARY, "Mary"))

    await chat.say("/rank")

    refused = [c for c in telegram_api.calls if not c.ok and c.method != "getUpdates"]
    assert refused == [], [(c.method, c.response) for c in refused]
    [photo] = telegram_api.calls_to("sendPhoto")
    assert photo.ok and photo.params["chat_id"] == MARY
    assert "the top 20 and the bottom 20 of 204" in photo.params.get("caption", "")
    privately = texts(telegram_api.sent(MARY))
    assert all(len(t) <= 4096 for t in privately)
    shown = "\n".join(privately)
    assert all(name in shown for name in scores), "the whole ranking is in the text"
