"""Feishu's bot menu (issue 19): an entry whose event key names a command (``rank`` or
``/rank``) runs it as if the person had typed it in their private chat with kpibot."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from commands import registry
from commands.context import AppConfig
from commands.messages import Reply
from commands.router import Router
from tests.conversations.world import build_world
from tests.fakes.feishu_api import FakeFeishu
from tests.feishu.chat import FeishuChat, seen
from tests.feishu.conftest import ScriptedRouter
from tests.feishu.world import link
from tests.waiting import CEILING_S

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


async def test_a_menu_entry_runs_its_command_as_typed_in_the_private_chat(
    feishu: FakeFeishu, start_adapter
) -> None:
    router = ScriptedRouter(lambda i: [Reply(text=f"you asked for {i.text}")])
    adapter = await start_adapter(router)
    li = FeishuChat(feishu, adapter, feishu.user("李娜"))
    calls = await li.choose_menu("rank")
    assert seen(calls) == [("card", "you asked for /rank", [])]
    assert li.screen() == ["you asked for /rank"]  # in her private chat: the event names none
    (incoming,) = router.seen
    assert (incoming.platform, incoming.user_id, incoming.text) == (
        "feishu",
        li.user.open_id,
        "/rank",
    )
    assert incoming.chat == "private" and incoming.event_id
    await li.choose_menu("/me")  # a key written with its slash is the same command
    assert router.seen[-1].text == "/me"


async def test_a_menu_event_delivered_twice_runs_once(feishu: FakeFeishu, start_adapter) -> None:
    router = ScriptedRouter(lambda i: [Reply(text="done")])
    adapter = await start_adapter(router)
    lina = feishu.user("李娜")
    event = feishu.menu_event(lina, "help")
    first, again = await feishu.push(event), await feishu.push(event)
    assert first.status == again.status == 200
    await adapter.wait_handled(1, timeout=CEILING_S)
    assert [i.text for i in router.seen] == ["/help"]


async def test_the_menu_runs_the_real_commands_in_the_members_language(
    feishu: FakeFeishu, start_adapter, engine: Engine
) -> None:
    ids = build_world(engine)
    carol = feishu.user("Carol")
    router = Router(engine, AppConfig(default_lang="en"), lambda: NOW, modules=registry.MODULES)
    front = link(engine, router, ids, {"Carol": carol.open_id})
    adapter = await start_adapter(front, lang_of=front.lang_of, default_lang="zh")
    chat = FeishuChat(feishu, adapter, carol)
    typed = seen(await chat.say("/help"))
    chosen = seen(await chat.choose_menu("help"))
    assert chosen == typed and chosen, "the menu's /help is the typed /help"
