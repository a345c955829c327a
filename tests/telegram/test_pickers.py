"""Pickers at real size in Telegram (issue 16): pages of at most 100 buttons, and a name typed
while one is open finds the people (the only one it means is picked), through the strict fake
(100 buttons a message, callback data of 64 bytes) and the real router."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.telegram import render as tr
from commands.context import AppConfig
from commands.messages import Button, Incoming, Reply
from commands.router import Router
from storage import repo
from storage.db import unit_of_work
from tests.fakes.telegram_api import FakeTelegram, keyboard_of
from tests.slack.org import NOW, build_org, chinese_name, english_name
from tests.telegram.conftest import ScriptedRouter
from tests.waiting import CEILING_S


def labels(message: dict[str, Any]) -> list[str]:
    return [label for row in keyboard_of(message.get("reply_markup")) for label, _data in row]


def refused(telegram_api: FakeTelegram) -> list[Any]:
    return [c for c in telegram_api.calls if not c.ok and c.method != "getUpdates"]


async def say(telegram_api: FakeTelegram, adapter: Any, user: dict[str, Any], text: str) -> None:
    done = adapter.handled
    await telegram_api.send_text(user, text)
    await adapter.wait_handled(done + 1, timeout=60)


@pytest.mark.slow
@pytest.mark.parametrize("size", [200, 2_000])
async def test_a_manager_types_a_chinese_name_and_the_one_it_means_is_picked(
    size: int, engine: Engine, telegram_api: FakeTelegram, start_adapter: Any
) -> None:
    """Reproduces issue 16 item 3 at 200 and 2,000: 200 buttons in one message were refused
    (BUTTONS_TOO_MUCH); and paging 2,000 people 24 at a time is 84 presses, so a typed name
    finds them (on main it was "I did not understand that")."""
    org = build_org(engine, {"team": size})
    router = Router(engine, AppConfig(default_lang="zh"), lambda: NOW)
    adapter = await start_adapter(router, engine=engine)
    chat = org.telegram["manager:team"]
    manager = telegram_api.user(chat, "经理", language_code="zh-hans")
    await say(telegram_api, adapter, manager, "/review")
    assert refused(telegram_api) == []
    picker = telegram_api.last_message(chat)
    assert picker["text"].endswith("也可以直接输入姓名查找。")
    pages = -(-size // tr.PAGE_BUTTONS)
    assert len(labels(picker)) <= 100 and f"1/{pages}" in labels(picker)

    names = org.names["team"]
    surname = names[7][0]
    await say(telegram_api, adapter, manager, surname)  # a surname: several people
    found = telegram_api.last_message(chat)
    matching = [n for n in names if n.startswith(surname)]
    assert found["text"].startswith(f"有 {len(matching)} 人符合“{surname}”")
    shown = [label.split(" (")[0] for label in labels(found) if " (" in label]
    assert shown == matching[: tr.PAGE_BUTTONS], "the matching people, in the list's order"
    assert refused(telegram_api) == []

    await say(telegram_api, adapter, manager, "zzz")
    assert telegram_api.last_message(chat)["text"] == "名单里没有人符合“zzz”。请输入其他姓名。"

    target = names[size - 3]
    before = len(telegram_api.bot_messages(chat))
    await say(telegram_api, adapter, manager, target)  # the whole name: that one is picked
    review = [m.get("text", "") for m in telegram_api.bot_messages(chat)[before:]]
    assert any(target in text for text in review), "the review of that agent begins"
    assert review[-1].startswith("第 1/"), review
    assert refused(telegram_api) == []


@pytest.mark.slow
async def test_an_admin_of_1308_agents_pages_within_100_buttons_and_finds_one_by_part_of_a_name(
    engine: Engine, telegram_api: FakeTelegram, start_adapter: Any
) -> None:
    teams = {f"team{t:02d}": 100 for t in range(13)} | {"team13": 8}
    org = build_org(engine, teams, admin=True)
    router = Router(engine, AppConfig(default_lang="zh"), lambda: NOW)
    adapter = await start_adapter(router, engine=engine)
    chat = org.telegram["admin"]
    admin = telegram_api.user(chat, "周敏", language_code="zh-hans")
    await say(telegram_api, adapter, admin, "/review")
    picker = telegram_api.last_message(chat)
    assert "1/55" in labels(picker) and len(labels(picker)) <= 100
    await telegram_api.press(admin, picker, "◀")  # the last page: the team of 8
    await adapter.wait_handled(2, timeout=60)
    last = telegram_api.last_message(chat)
    assert "55/55" in labels(last)

    target = chinese_name(1_303)  # in team13
    await say(telegram_api, adapter, admin, target[1:])  # its given name, not the start
    answer = telegram_api.last_message(chat)
    assert target in answer["text"] or any(label.startswith(target) for label in labels(answer))
    assert refused(telegram_api) == []
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="team13")
        assert team is not None and repo.get_member_by_name(session=session, team=team, name=target)


def picker_script(incoming: Incoming) -> list[Reply]:
    if incoming.action == "review:pick":
        return [Reply(text=f"picked {incoming.value}")]
    if incoming.text == "/review":
        people = tuple(
            Button(f"{chinese_name(i)} (2026-10)", "review:pick", f"{5000 + i}:1")
            for i in range(200)
        )
        return [Reply(text="你想评估谁？", buttons=(*people, Button("取消", "form:cancel", "x")))]
    return [Reply(text=f"echo {incoming.text}")]


async def test_a_typed_name_searches_only_while_the_picker_is_open(
    telegram_api: FakeTelegram, start_adapter: Any
) -> None:
    """A command, or a press, closes the picker: what is typed afterwards goes to the router
    as ever (an answer to a question, say), not to a search."""
    router = ScriptedRouter(picker_script)
    adapter = await start_adapter(router)
    manager = telegram_api.user(801, "Wang", language_code="zh-hans")
    target = chinese_name(42)
    await say(telegram_api, adapter, manager, "/review")
    await say(telegram_api, adapter, manager, "/help")
    await say(telegram_api, adapter, manager, target)
    assert [i.text for i in router.seen] == ["/review", "/help", target]

    await say(telegram_api, adapter, manager, "/review")
    await say(telegram_api, adapter, manager, target)
    assert (router.seen[-1].action, router.seen[-1].value) == ("review:pick", "5042:1")
    assert telegram_api.last_message(801)["text"] == "picked 5042:1"
    await say(telegram_api, adapter, manager, target)
    assert router.seen[-1].text == target, "picked: the picker is closed"


async def test_the_matches_of_a_typed_name_keep_the_pickers_other_buttons_and_fit_telegram(
    telegram_api: FakeTelegram, start_adapter: Any
) -> None:
    router = ScriptedRouter(picker_script)
    adapter = await start_adapter(router)
    manager = telegram_api.user(802, "Li", language_code="zh-hans")
    await say(telegram_api, adapter, manager, "/review")
    await say(telegram_api, adapter, manager, "王")
    found = telegram_api.last_message(802)
    assert labels(found)[-1] == "取消"
    assert all(label.startswith("王") for label in labels(found)[:-1])
    done = adapter.handled
    await telegram_api.press(manager, found, labels(found)[0])
    await adapter.wait_handled(done + 1, timeout=CEILING_S)
    assert router.seen[-1].action == "review:pick"
    assert refused(telegram_api) == []


def test_the_one_a_typed_name_means_is_its_only_match_or_the_one_with_that_whole_name() -> None:
    from bot.picker_search import name_of, search, the_one

    team = (
        Button("李明 (2026-10) ✓", "review:pick", "1:1"),
        Button("李明华 (2026-10)", "review:pick", "2:1"),
        Button("Grace Wang (2026-10)", "review:pick", "3:1"),
        Button("Grace Wang 2 (2026-10)", "review:pick", "4:1"),
        Button("Olivia King (2026-10)", "review:pick", "5:1"),
    )
    assert name_of(team[0].label) == "李明"
    assert the_one(team, "李明") == team[0], "the whole name, though 李明华 starts with it too"
    assert the_one(team, "明华") == team[1], "the only match"
    assert the_one(team, "李") is None and [b.value for b in search(team, "李")] == ["1:1", "2:1"]
    assert the_one(team, "GRACE  WANG") == team[2]
    assert the_one(team, "grace") is None
    assert the_one(team, "ｏｌｉｖｉａ") == team[4], "full-width letters as typed on a phone"
    assert the_one(team, "2026-10") is None, "the period is not a name"
    assert [b.value for b in search(team, "")] == ["1:1", "2:1", "3:1", "4:1", "5:1"]


def english_script(incoming: Incoming) -> list[Reply]:
    if incoming.action == "review:pick":
        return [Reply(text=f"picked {incoming.value}")]
    if incoming.text == "/review":
        people = tuple(
            Button(f"{english_name(i)} (2026-10)", "review:pick", f"{i}:1") for i in range(2_000)
        )
        return [Reply(text="Whom do you want to review? (✓ = already reviewed)", buttons=people)]
    return [Reply(text=f"echo {incoming.text}")]


async def test_an_english_manager_of_2000_types_part_of_a_name_then_the_whole_of_it(
    telegram_api: FakeTelegram, start_adapter: Any
) -> None:
    router = ScriptedRouter(english_script)
    adapter = await start_adapter(router)
    manager = telegram_api.user(803, "Jones")
    await say(telegram_api, adapter, manager, "/review")
    picker = telegram_api.last_message(803)
    assert picker["text"].endswith("Or type a name to find them.") and "1/84" in labels(picker)
    await say(telegram_api, adapter, manager, "olivia wa")
    found = telegram_api.last_message(803)
    assert found["text"].startswith("5 match “olivia wa”.")
    names = [f"Olivia Wang{n} (2026-10)" for n in ("", " 1", " 2", " 3", " 4")]
    assert labels(found) == names
    await say(telegram_api, adapter, manager, "Olivia Wang 3")  # the whole name: 1,234
    assert telegram_api.last_message(803)["text"] == "picked 1234:1"
    assert refused(telegram_api) == []


async def test_a_picker_kpibot_sends_on_its_own_is_searched_and_anything_else_it_sends_closes_one(
    telegram_api: FakeTelegram, start_adapter: Any
) -> None:
    """A long picker that arrives through the outbox says "type a name" too, so a typed name
    searches it; a reminder arriving after an open picker closes it."""
    from commands.messages import Outgoing

    router = ScriptedRouter(picker_script)
    adapter = await start_adapter(router)
    manager = telegram_api.user(804, "Zhao", language_code="zh-hans")
    [picker] = picker_script(Incoming(platform="telegram", user_id="804", text="/review"))
    adapter.remember_address(1, 804)
    await adapter.send_outgoing(Outgoing(1, picker, "k1"))
    target = chinese_name(77)
    await say(telegram_api, adapter, manager, target)
    assert (router.seen[-1].action, router.seen[-1].value) == ("review:pick", "5077:1")

    await say(telegram_api, adapter, manager, "/review")
    adapter.remember_address(1, 804)
    await adapter.send_outgoing(Outgoing(1, Reply(text="提醒：请完成本月自评。"), "k2"))
    await say(telegram_api, adapter, manager, target)
    assert router.seen[-1].text == target, "the reminder came after the picker: not a search"
    assert refused(telegram_api) == []
