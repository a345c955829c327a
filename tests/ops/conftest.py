"""Fixtures for running kpibot as an operator would: the service on fakes, a world to act in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from bot.settings import Settings, load_settings
from storage import repo
from storage.db import unit_of_work
from tests.conversations.world import build_world
from tests.fakes.slack_api import BOT_TOKEN
from tests.slack.sender import SIGNING_SECRET

STRONG_SECRET = "Zq8-kV3rT0pW5yNc1xLb7Hm2Jd9Gs4Fa6Ue0Oi3Rk"
SLACK_IDS = {
    "Mary": "U0MARY",
    "Alice": "U0ALICE",
    "Bob": "U0BOB",
    "Carol": "U0CAROL",
    "Dave": "U0DAVE",
}
TELEGRAM_IDS = {"王经理": 7001, "李娜": 7002, "张伟": 7003, "刘洋": 7004, "陈静": 7005}


def slack_settings(api_url: str, tmp_path: Path, **extra: Any) -> Settings:
    base: dict[str, Any] = {
        "slack_bot_token": BOT_TOKEN, "slack_signing_secret": SIGNING_SECRET,
        "slack_app_token": None, "slack_api_url": api_url, "telegram_bot_token": None,
        "data_dir": tmp_path, "kpibot_secret": STRONG_SECRET, "default_lang": "en",
    }  # fmt: skip
    return load_settings(**{**base, **extra})


def linked_world(engine: Engine) -> dict[str, int]:
    """``tests/conversations/world.py``'s two teams; london on Slack, demo on Telegram."""
    ids = build_world(engine)
    with unit_of_work(engine) as session:
        for name, user_id in SLACK_IDS.items():
            member = repo.get_member(session=session, member_id=ids[name])
            assert member is not None
            repo.link_platform(
                session=session, member=member, platform="slack", user_id=user_id, actor="test"
            )
        for name, tg_id in TELEGRAM_IDS.items():
            member = repo.get_member(session=session, member_id=ids[name])
            assert member is not None
            repo.link_platform(
                session=session, member=member, platform="telegram", user_id=tg_id, actor="test"
            )
    return ids
