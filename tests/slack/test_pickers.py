"""Pickers at real size in Slack (issue 16): up to 100 people a ``static_select``, more an
``external_select`` whose choices kpibot answers as the person types (the options flow of the
strict fake: ``block_suggestion`` in, at most 100 options of at most 75 characters out)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from bot.slack import adapter as slack_module
from bot.slack import render
from bot.slack.adapter import SlackAdapter
from commands.context import AppConfig
from commands.messages import Button, Incoming, Reply
from commands.router import Router
from storage import repo
from storage.db import unit_of_work
from tests.fakes.slack_api import FakeSlack, _check_message
from tests.slack.conftest import ScriptedRouter, make_adapter, web_app
from tests.slack.org import NOW, Org, build_org, chinese_name, english_name
from tests.slack.sender import SlackSender
from tests.waiting import CEILING_S


def people(count: int, name: Any = chinese_name) -> tuple[Button, ...]:
    return tuple(
        Button(f"{name(i)} (2026-10)", "review:pick", f"{1000 + i}:7") for i in range(count)
    )


def menus(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        e for p in payloads for b in p["blocks"] if b["type"] == "actions" for e in b["elements"]
        if e["type"] != "button"
    ]  # fmt: skip


def options_of(answer: dict[str, Any]) -> list[dict[str, Any]]:
    if "options" in answer:
        return list(answer["options"])
    return [o for g in answer["option_groups"] for o in g["options"]]


def shown(answer: dict[str, Any]) -> list[str]:
    return [o["text"]["text"] for o in options_of(answer)]


@pytest.mark.parametrize("count", [26, 100, 101, 200, 1_308, 2_000])
def test_up_to_100_people_are_one_static_select_and_more_one_menu_searched_as_typed(
    count: int,
) -> None:
    """Reproduces issue 16 item 1 at every size: the picker passes the strict fake (50 blocks,
    100 options, slack_sdk's Block Kit models) as one menu; beyond 100 people that menu is an
    ``external_select`` (on main: 2,000 people were 20 menus of 100 to look through)."""
    cancel = Button("取消", "form:cancel")
    reply = Reply(text="你想评估谁？（✓ = 已评估）", buttons=(*people(count), cancel),
                  private=True, relist="/review")  # fmt: skip
    payloads = render.messages(reply)
    assert all(_check_message(p) == [] for p in payloads)
    [menu] = menus(payloads)
    if count <= 100:
        assert menu["type"] == "static_select" and len(menu["options"]) == count
    else:
        assert menu["type"] == "external_select" and "options" not in menu
        assert menu["placeholder"]["text"] == f"输入姓名查找（共 {count:,} 人）"
        assert menu["min_query_length"] == 0, "the first names show as soon as it is opened"
    assert render.decode_action_id(menu["action_id"]) == "review:pick"


def test_a_long_picker_without_a_way_to_list_it_again_stays_static_menus() -> None:
    """A reply that cannot be listed again (no ``relist``) keeps menus of 100 each."""
    payloads = render.messages(Reply(text="Whom?", buttons=people(250)))
    assert [m["type"] for m in menus(payloads)] == ["static_select"] * 3
    assert all(_check_message(p) == [] for p in payloads)


def test_the_matching_people_are_found_by_a_name_start_or_part_in_chinese_and_english() -> None:
    team = people(2_000)
    target = chinese_name(1_234)
    answer = render.options_answer(team, target, "zh")
    assert FakeSlack.check_options(answer) == []
    assert shown(answer) == [f"{target} (2026-10)"], "the whole name: that one person"
    surname = render.options_answer(team, target[0], "zh")
    assert FakeSlack.check_options(surname) == []
    assert 1 < len(shown(surname)) <= 100 and all(s.startswith(target[0]) for s in shown(surname))
    part = render.options_answer(team, target[1:], "zh")  # the given name, not the start
    assert f"{target} (2026-10)" in shown(part)
    assert all(target[1:] in s for s in shown(part))
    common = render.options_answer(team, target[2], "zh")  # one given character: 900 people
    assert FakeSlack.check_options(common) == []
    label = common["option_groups"][0]["label"]["text"]
    assert len(shown(common)) == 100 and label.endswith("显示前 100 人：请多输入几个字")

    english = people(2_000, english_name)
    answer = render.options_answer(english, "  ｇｒａｃｅ  ｗａｎｇ ", "en")  # full-width, spaces
    assert FakeSlack.check_options(answer) == []
    assert shown(answer)[0] == "Grace Wang (2026-10)", "the name itself first"
    assert all(s.lower().startswith("grace wang") for s in shown(answer))
    assert shown(render.options_answer(english, "zzz", "en")) == []


def test_an_option_fits_slacks_75_characters_and_the_fake_refuses_what_slack_refuses() -> None:
    long = (Button("王" * 120 + " (2026-10)", "review:pick", "1:1"),)
    answer = render.options_answer(long, "王", "zh")
    assert FakeSlack.check_options(answer) == [] and len(shown(answer)[0]) == 75
    too_many = {"options": [{"text": render.plain(str(i)), "value": str(i)} for i in range(101)]}
    too_long = {"options": [{"text": render.plain("x" * 76), "value": "1"}]}
    for wrong in (too_many, too_long, {"nothing": []}, {"options": [{"value": "1"}]}):
        assert FakeSlack.check_options(wrong), wrong


# -- the whole flow: the real router, the organisation at size, Slack's options flow ----------


@pytest.fixture
async def world(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[FakeSlack, SlackAdapter, SlackSender]]:
    # The search's cost is checked in CPU time (``timed``); the adapter's wall-clock budget,
    # which a loaded machine runs out of by itself (no choices: the test fails), has a test
    # of its own (test_a_search_longer_than_the_budget_answers_no_choices_and_no_error).
    monkeypatch.setattr(slack_module, "OPTIONS_BUDGET_S", CEILING_S)
    with FakeSlack() as fake:
        adapter = make_adapter(
            fake, Router(engine, AppConfig(default_lang="zh"), lambda: NOW), engine=engine
        )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=web_app(adapter)),
            base_url="http://kpibot.test",
            timeout=60,
        ) as client:
            yield fake, adapter, SlackSender(client, fake)
        await adapter.stop()


async def open_picker(
    fake: FakeSlack, adapter: SlackAdapter, slack: SlackSender, user: str
) -> dict[str, Any]:
    await slack.command(user, "/review")
    await adapter.idle()
    assert fake.calls_to(ok=False) == [], "nothing refused"
    dm = fake.dm_channel(user)
    [picker] = fake.messages_in(dm)
    return {**picker, "channel": dm}


async def timed(
    slack: SlackSender, user: str, picker: dict[str, Any], typed: str
) -> dict[str, Any]:
    """The options for ``typed``, which must cost this process under Slack's 3 s budget in
    CPU time (every thread of it: adapter, router, database, the fake): the wall clock of a
    loaded 2-core machine measures the other sessions' work, not the search's."""
    started = time.process_time()
    answer = await slack.suggest(user, picker, typed)
    cpu = time.process_time() - started
    assert cpu < 3.0, f"Slack waits 3 s for the options; this took {cpu:.2f} s of CPU"
    return answer


@pytest.mark.slow
async def test_a_manager_of_2000_finds_and_picks_an_agent_by_typing_part_of_a_chinese_name(
    engine: Engine, world: tuple[FakeSlack, SlackAdapter, SlackSender]
) -> None:
    fake, adapter, slack = world
    org = build_org(engine, {"big": 2_000})
    manager = org.leaders["manager:big"]
    picker = await open_picker(fake, adapter, slack, manager)
    [menu] = menus([picker])
    assert menu["type"] == "external_select"
    assert menu["placeholder"]["text"] == "输入姓名查找（共 2,000 人）"

    first = await timed(slack, manager, picker, "")  # opened: the first 100, and how many there are
    assert len(shown(first)) == 100
    assert first["option_groups"][0]["label"]["text"].startswith("2,000 人符合")
    target = org.names["big"][1_717]
    found = await timed(slack, manager, picker, target[1:])  # the given name only
    assert f"{target} (2026-10)" in shown(found)
    exact = await timed(slack, manager, picker, target)
    [option] = options_of(exact)
    assert option["text"]["text"] == f"{target} (2026-10)"

    await slack.choose(manager, picker, option)
    await adapter.idle()
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="big")
        assert team is not None
        member = repo.get_member_by_name(session=session, team=team, name=target)
        assert member is not None and option["value"].startswith(f"{member.id}:")
    opened = fake.calls_to("views.open", ok=True)
    assert opened and target in str(opened[-1].args["view"]), "the review of that agent opens"
    assert fake.calls_to(ok=False) == []


@pytest.mark.slow
async def test_an_admin_of_1308_agents_across_14_teams_finds_one_by_an_english_name(
    engine: Engine, world: tuple[FakeSlack, SlackAdapter, SlackSender]
) -> None:
    fake, adapter, slack = world
    teams = {f"team{t:02d}": 100 for t in range(13)} | {"team13": 8}
    org: Org = build_org(engine, teams, admin=True)
    with unit_of_work(engine) as session:
        admin = repo.get_member_by_slack_id(session=session, slack_user_id="U0ADMIN")
        assert admin is not None
        admin.lang = "en"
    picker = await open_picker(fake, adapter, slack, org.leaders["admin"])
    [menu] = menus([picker])
    assert menu["placeholder"]["text"] == "Type a name (1,308 people)"
    found = await timed(slack, "U0ADMIN", picker, "olivia w")
    assert shown(found) and all(s.startswith("Olivia W") for s in shown(found))
    chen = await timed(slack, "U0ADMIN", picker, "Chen")  # a part: the surname after a space
    assert len(shown(chen)) == 80 and all(" Chen" in s for s in shown(chen))
    many = await timed(slack, "U0ADMIN", picker, "an")  # Frank, Wang, Zhang, Evans …
    assert len(shown(many)) == 100
    assert many["option_groups"][0]["label"]["text"].endswith(": type more of the name")


async def test_the_choices_come_over_socket_mode_too_in_the_envelopes_ack(
    fake_slack: FakeSlack, scripted: ScriptedRouter
) -> None:
    """Socket Mode: the ``block_suggestion`` arrives in an ``interactive`` envelope, and the
    options go back in the ack's payload; the router listed the people again (``relist``)."""
    from bot.settings import load_settings
    from bot.slack.adapter import build_slack
    from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN

    team = people(300, english_name)

    def script(incoming: Incoming) -> list[Reply]:
        return [Reply(text="Whom do you review?", buttons=team, private=True, relist="/review")]

    scripted.script = script
    settings = load_settings(
        slack_bot_token=BOT_TOKEN, slack_signing_secret=None, slack_app_token=APP_TOKEN,
        slack_api_url=fake_slack.api_url,
    )  # fmt: skip
    adapter = build_slack(settings, scripted)
    await adapter.start()
    try:
        await fake_slack.wait_until(lambda: fake_slack.socket_connected)
        fields = SlackSender(None, fake_slack).command_fields("U0MANAGER", "/review")  # type: ignore[arg-type]
        fake_slack.socket_send("slash_commands", fields)
        await fake_slack.wait_until(lambda: bool(fake_slack.messages_in("D0MANAGER")))
        [picker] = fake_slack.messages_in("D0MANAGER")
        payload = fake_slack.suggestion("U0MANAGER", {**picker, "channel": "D0MANAGER"}, "Kate")
        envelope = fake_slack.socket_send("interactive", payload)
        await fake_slack.wait_until(lambda: fake_slack.socket_ack(envelope) is not None)
        answer = (fake_slack.socket_ack(envelope) or {}).get("payload")
        assert FakeSlack.check_options(answer) == []
        assert shown(answer) and all(s.startswith("Kate ") for s in shown(answer))
        assert [i.text for i in scripted.seen] == ["/review", "/review"]
    finally:
        await adapter.stop()


async def test_a_menu_that_is_not_a_kpibot_picker_gets_no_choices_and_the_router_is_not_asked(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter
) -> None:
    message = {
        "ts": "1.000001", "channel": "D0MANAGER", "text": "x",
        "blocks": [{"type": "actions", "block_id": "someone_else", "elements": [
            {"type": "external_select", "action_id": "review:pick#0",
             "placeholder": render.plain("p"), "min_query_length": 0},
        ]}],
    }  # fmt: skip
    assert await slack.suggest("U0MANAGER", message, "王") == {"options": []}
    assert scripted.seen == []


async def test_a_search_longer_than_the_budget_answers_no_choices_and_no_error(
    slack: SlackSender,
    fake_slack: FakeSlack,
    scripted: ScriptedRouter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Slack shows nothing after 3 s: a search still running at OPTIONS_BUDGET_S is answered
    with no choices then, not when it ends (here it is held for twice the test's ceiling)."""
    team = people(300, english_name)
    release = threading.Event()

    def script(incoming: Incoming) -> list[Reply]:
        if scripted.seen[1:]:  # the search as typed: held
            release.wait(2 * CEILING_S)
        return [Reply(text="Whom do you review?", buttons=team, private=True, relist="/review")]

    scripted.script = script
    await slack.command("U0MANAGER", "/review")
    await fake_slack.wait_until(lambda: bool(fake_slack.messages_in("D0MANAGER")))
    [picker] = fake_slack.messages_in("D0MANAGER")
    monkeypatch.setattr(slack_module, "OPTIONS_BUDGET_S", 0.05)
    try:
        answer = await asyncio.wait_for(
            slack.suggest("U0MANAGER", {**picker, "channel": "D0MANAGER"}, "Kate"), CEILING_S
        )
        assert answer == {"options": []}
        assert [i.text for i in scripted.seen] == ["/review", "/review"], "the search was asked"
        assert not release.is_set() and len(scripted.finished) == 1, "and is still running"
    finally:
        release.set()


@pytest.mark.slow
async def test_an_agent_of_a_team_of_200_finds_a_teammate_to_rate_by_typing(
    engine: Engine, world: tuple[FakeSlack, SlackAdapter, SlackSender]
) -> None:
    """``/peer`` lists 199 teammates: one menu searched as typed, the rating form of the one
    chosen opens."""
    fake, adapter, slack = world
    org = build_org(engine, {"team": 200})
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="team")
        assert team is not None
        agent = repo.get_member_by_name(session=session, team=team, name=org.names["team"][0])
        assert agent is not None
        agent.slack_user_id, agent.lang = "U0AGENT0", "zh"
    await slack.command("U0AGENT0", "/peer")
    await adapter.idle()
    assert fake.calls_to(ok=False) == []
    [picker] = fake.messages_in("D0AGENT0")
    picker = {**picker, "channel": "D0AGENT0"}
    [menu] = menus([picker])
    assert menu["placeholder"]["text"] == "输入姓名查找（共 199 人）"
    target = org.names["team"][150]
    [option] = options_of(await timed(slack, "U0AGENT0", picker, target))
    assert option["text"]["text"] == target
    await slack.choose("U0AGENT0", picker, option)
    await adapter.idle()
    opened = fake.calls_to("views.open", ok=True)
    assert opened and target in str(opened[-1].args["view"]), "the rating form of that teammate"
    assert fake.calls_to(ok=False) == []
