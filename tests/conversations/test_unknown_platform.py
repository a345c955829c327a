"""Issue 19: only the terminal chat and tests name people by name or member id; every other
platform is known by its external id alone, and a platform kpibot does not speak is refused."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy.engine import Engine

from commands.context import AppConfig, Command, Context
from commands.messages import Incoming, Reply
from commands.permissions import ALL
from commands.router import Router
from storage import conversations
from storage.db import unit_of_work
from tests.conftest import Clock


def _whoami(ctx: Context, args: str) -> list[Reply]:
    return [Reply(text=f"you are {ctx.actor.name}")]


WHO = SimpleNamespace(
    __name__="who", COMMANDS=(Command("whoami", _whoami, ALL),), ACTIONS={}, ACTION_IDS={}
)


@pytest.fixture
def router(db: Engine, clock: Clock, people: dict[str, int]) -> Router:
    return Router(db, AppConfig(), clock, modules=[WHO])  # type: ignore[list-item]


def _say(router: Router, platform: str, user_id: str) -> str:
    replies = router.handle(
        Incoming(platform=platform, user_id=user_id, text="/whoami", lang_hint="en")  # type: ignore[arg-type]
    )
    return "\n".join(r.text for r in replies)


def test_the_terminal_chat_and_tests_name_people_by_name_or_member_id(
    router: Router, people: dict[str, int]
) -> None:
    li = str(people["李娜"])
    assert _say(router, "test", li) == "you are 李娜"
    assert _say(router, "console", "李娜") == "you are 李娜"
    assert _say(router, "console", "demo/李娜") == "you are 李娜"


@pytest.mark.parametrize("platform", ["feishu", "slack", "telegram"])
def test_any_other_platform_never_resolves_a_member_id_or_a_name(
    router: Router, people: dict[str, int], platform: str
) -> None:
    for user_id in (str(people["李娜"]), str(people["Alice"]), "李娜", "Alice", "demo/李娜"):
        answer = _say(router, platform, user_id)
        assert "you are" not in answer, (platform, user_id, answer)
        assert "I don't know you yet" in answer, (platform, user_id, answer)


def test_slack_and_telegram_still_resolve_their_own_ids(router: Router) -> None:
    assert _say(router, "slack", "U1") == "you are 李娜"
    assert _say(router, "telegram", "77") == "you are 李娜"


@pytest.mark.parametrize("platform", ["feishu", "Slack", "", "slack "])
def test_storage_knows_nobody_on_a_platform_it_has_no_ids_for(
    db: Engine, people: dict[str, int], platform: str
) -> None:
    with unit_of_work(db) as session:
        for user_id in (str(people["李娜"]), "李娜", "U1", "77"):
            assert conversations.find_member(platform, user_id, session=session) is None


def test_a_router_told_its_platforms_refuses_any_other_and_does_nothing(
    db: Engine, clock: Clock, people: dict[str, int]
) -> None:
    router = Router(db, AppConfig(), clock, modules=[WHO], platforms={"slack", "console", "test"})  # type: ignore[list-item]
    assert _say(router, "slack", "U1") == "you are 李娜"
    refused = _say(router, "feishu", "U1")
    assert "feishu" in refused and "you are" not in refused
    assert "telegram" in _say(router, "telegram", "77")
