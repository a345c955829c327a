from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.conversations.world import build_world

NOW = datetime.now(UTC)


@pytest.fixture
def world(engine: Engine) -> dict[str, int]:
    """The two teams of tests/conversations/world.py, with the review window open around the
    real clock (``kpibot chat`` runs on the real clock)."""
    return build_world(engine, opens=NOW - timedelta(days=1), closes=NOW + timedelta(days=5))


@pytest.fixture
def clock_start() -> datetime:
    return NOW


@pytest.fixture
def world_db(engine: Engine, world: dict[str, int]) -> Engine:
    """``world`` in its migrated SQLite file."""
    return engine


@pytest.fixture
def world_url(world_db: Engine) -> str:
    url = world_db.url.render_as_string(hide_password=False)
    world_db.dispose()
    return url


@pytest.fixture
def media(tmp_path: Path) -> Path:
    return tmp_path / "media"
