"""Every chat command kpibot declares, and the forms behind them, through Feishu with the
real router: each is answered, each answer is a card (or a file) the strict fake Feishu
accepts, in the person's language. The same list Slack and Telegram serve
(``commands.registry``): a new command is covered here without a new test."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine

from commands import registry
from commands.context import AppConfig
from commands.router import Router
from tests.conversations.world import build_world
from tests.fakes.feishu_api import FakeFeishu
from tests.feishu.chat import FeishuChat, seen
from tests.feishu.world import link

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CONTROL_WORDS = {"back", "skip", "cancel", "start"}
ACTORS = {"agent": "Carol", "manager": "Mary", "admin": "周人事", "qa": "Quinn"}
"""Who runs a command: its first role's member in the conversation tests' world."""


def _actor(roles: list[str]) -> str:
    for role in ("agent", "manager", "admin", "qa"):
        if role in roles:
            return ACTORS[role]
    raise AssertionError(roles)


@pytest.mark.slow
async def test_every_command_is_answered_with_cards_feishu_accepts(
    feishu: FakeFeishu, start_adapter, engine: Engine
) -> None:
    ids = build_world(engine)
    users = {name: feishu.user(name) for name in ACTORS.values()}
    router = Router(engine, AppConfig(default_lang="en"), lambda: NOW, modules=registry.MODULES)
    front = link(engine, router, ids, {n: u.open_id for n, u in users.items()})
    adapter = await start_adapter(front, lang_of=front.lang_of, default_lang="zh")
    feishu.relax()
    people = {n: FeishuChat(feishu, adapter, u) for n, u in users.items()}
    answered: dict[str, list[tuple[object, ...]]] = {}
    for name, command in registry.commands().items():
        if name in CONTROL_WORDS:
            continue
        person = people[_actor(sorted(map(str, command.roles)))]
        line = command.example or f"/{name}"
        calls = await person.say(line)  # asserts Feishu took every call
        answered[line] = seen(calls)
        if person.live_cards():  # leave no form half-open for the next command
            await person.say("/cancel")
    silent = [line for line, got in answered.items() if not got]
    assert silent == [], f"no answer on Feishu to {silent}"
    assert len(answered) == len(registry.commands()) - len(CONTROL_WORDS)


async def test_the_forms_behind_the_commands_render_as_cards_feishu_accepts(
    feishu: FakeFeishu, start_adapter, engine: Engine
) -> None:
    """The peer rating and the improvement plan are one-card forms; /selfreview a card per
    question (the month scenario walks them to the end)."""
    ids = build_world(engine)
    users = {name: feishu.user(name) for name in ("Carol", "Mary")}
    router = Router(engine, AppConfig(default_lang="en"), lambda: NOW, modules=registry.MODULES)
    front = link(engine, router, ids, {n: u.open_id for n, u in users.items()})
    adapter = await start_adapter(front, lang_of=front.lang_of)
    feishu.relax()
    carol = FeishuChat(feishu, adapter, users["Carol"])
    calls = await carol.say("/peer")
    assert seen(calls), "no answer to /peer"
    mary = FeishuChat(feishu, adapter, users["Mary"])
    calls = await mary.say("/review @Carol")
    forms = [
        c
        for c in feishu.bot_cards(mary.user.p2p_chat)
        if '"tag": "form"' in str(c).replace("'", '"')
    ]
    assert forms, seen(calls)
