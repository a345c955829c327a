"""Two teams from the conversation tests' world (``demo`` zh, ``london`` en, mini_shop scheme),
reviewed; the clock starts after the review window of 2026-10 (the router is the root
conftest's)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine

from tests.commands.conftest import review_everyone
from tests.conversations.world import build_world

AFTER_CLOSE = datetime(2026, 11, 6, 12, 0, tzinfo=UTC)
LONDON_SELF = {"Alice": 5, "Bob": 4, "Carol": 3, "Dave": 4}
LONDON_MANAGER = {"Alice": 5, "Bob": 4, "Carol": 2, "Dave": 3}
DEMO_SELF = {"李娜": 5, "张伟": 4, "刘洋": 2, "陈静": 4}
DEMO_MANAGER = {"李娜": 5, "张伟": 4, "刘洋": 2, "陈静": 3}


@pytest.fixture
def world(engine: Engine) -> dict[str, int]:
    ids = build_world(engine)
    review_everyone(engine, "london", self_scores=LONDON_SELF, manager_scores=LONDON_MANAGER)
    review_everyone(engine, "demo", self_scores=DEMO_SELF, manager_scores=DEMO_MANAGER)
    return ids


@pytest.fixture
def clock_start() -> datetime:
    return AFTER_CLOSE
