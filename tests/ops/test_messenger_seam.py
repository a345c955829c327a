"""Issue 19: a messenger is one package and one line of ``bot.messengers.MESSENGERS``; a
platform that is not in the table is refused at start-up and at the router."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot import messengers
from bot.main import build_service
from bot.settings import load_settings
from commands.messages import Incoming
from tests.conversations.world import build_world

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_every_messenger_brings_its_settings_limits_and_start_up_check() -> None:
    assert [m.platform for m in messengers.MESSENGERS] == ["slack", "telegram", "feishu"]
    settings = load_settings(slack_bot_token="xoxb-1", telegram_bot_token="nocolon",
                             feishu_app_id="app-1")  # fmt: skip
    assert [m.enabled(settings) for m in messengers.MESSENGERS] == [True, True, True]
    [slack, telegram, feishu] = messengers.MESSENGERS
    assert slack.limits.per_workspace == 5.0 and telegram.limits.overall == 30.0
    assert feishu.limits.per_chat == 5.0
    assert slack.problems(settings, str)  # a bot token without its signing secret
    assert telegram.problems(settings, str)  # a token without the colon
    assert feishu.problems(settings, str)  # not an App ID (cli_…), and no App Secret
    assert messengers.platforms() == {"slack", "telegram", "feishu", "console", "test"}


@pytest.mark.parametrize(
    ("platform", "why"),
    [("console", "terminal"), ("test", "terminal"), ("Feishu", "lower-case"),
     ("fei shu", "lower-case"), ("slack", "two messengers")],
)  # fmt: skip
def test_start_up_refuses_a_table_it_cannot_route_by(platform: str, why: str) -> None:
    bad = replace(messengers.MESSENGERS[1], platform=platform)
    with pytest.raises(ValueError, match=why):
        messengers.check((*messengers.MESSENGERS[:1], bad))


def test_a_service_with_a_bad_table_does_not_start(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    twice = (*messengers.MESSENGERS, messengers.MESSENGERS[0])
    monkeypatch.setattr(messengers, "MESSENGERS", twice)
    with pytest.raises(ValueError, match="two messengers"):
        build_service(load_settings(data_dir=tmp_path), engine=engine, clock=lambda: NOW)


@pytest.mark.parametrize("platform", ["wecom", "dingtalk", "Slack"])
def test_the_services_router_refuses_a_platform_not_in_the_table(
    engine: Engine, tmp_path: Path, platform: str
) -> None:
    ids = build_world(engine)
    service = build_service(load_settings(data_dir=tmp_path), engine=engine, clock=lambda: NOW)
    for user_id in (str(ids["Mary"]), "Mary"):
        [reply] = service.router.handle(
            Incoming(platform=platform, user_id=user_id, text="/help", lang_hint="en")
        )
        assert reply.text == f"kpibot is not set up for {platform}, so nothing was done."
    [answer] = service.router.handle(Incoming(platform="test", user_id="Mary", text="/help"))
    assert "/rank" in answer.text, "the terminal chat still names people by name"
