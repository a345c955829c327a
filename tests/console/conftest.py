from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from commands.context import AppConfig
from commands.router import Router
from tests.conversations.world import build_world

NOW = datetime.now(UTC)


@pytest.fixture
def world_db(engine: Engine) -> Engine:
    """The two teams of tests/conversations/world.py in a migrated SQLite file, with the
    review window open around the real clock (``kpibot chat`` runs on the real clock)."""
    build_world(engine, opens=NOW - timedelta(days=1), closes=NOW + timedelta(days=5))
    return engine


@pytest.fixture
def world_url(world_db: Engine) -> str:
    url = world_db.url.render_as_string(hide_password=False)
    world_db.dispose()
    return url


@pytest.fixture
def router(world_db: Engine) -> Router:
    return Router(world_db, AppConfig(), lambda: NOW)


@pytest.fixture
def media(tmp_path: Path) -> Path:
    return tmp_path / "media"
