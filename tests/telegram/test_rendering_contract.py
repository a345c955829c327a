"""The adapter against the fake Bot API with a scripted router: what Telegram receives."""

from __future__ import annotations

import pytest

from bot.telegram.render import CallbackCodec
from commands.messages import Button, Choice, Image, Incoming, Question, Reply
from tests.fakes.telegram_api import BOT_USERNAME, FakeTelegram, png, texts
from tests.telegram.conftest import WEBHOOK_SECRET, WEBHOOK_URL, ScriptedRouter
from tests.waiting import CEILING_S

PNG = png()

MODES = [pytest.param(False, id="polling"), pytest.param(True, id="webhook")]


def score_question(cid: int, step: int, prompt: str) -> Reply:
    choices = tuple(Choice(f"{n}", str(n)) for n in range(1, 6))
    buttons = tuple(Button(c.label, "form:answer", f"{cid}:{step}:{c.value}") for c in choices)
    buttons += (
        Button("Back", "form:back", f"{cid}:{step}:"),
        Button("Cancel", "form:cancel", f"{cid}:{step}:"),
    )
    question = Question("selfreview", cid, f"q{step}", "score", prompt, step, 3, choices=choices)
    return Reply(
        text=f"Question {step + 1} of 3: {prompt}", buttons=buttons, question=question, private=True
    )


def form_script(incoming: Incoming) -> list[Reply]:
    """A three-question form whose answers arrive as button presses."""
    if incoming.text == "/selfreview":
        return [
            Reply(text="Your October numbers: conversion 41%", private=True),
            score_question(7, 0, "Task completion"),
        ]
    if incoming.action == "form:answer":
        _cid, step, value = incoming.value.split(":") if incoming.value else ("", "0", "")
        nxt = int(step) + 1
        if nxt < 3:
            return [score_question(7, nxt, f"Dimension {nxt} (you said {value})")]
        return [Reply(text="Thank you, your answers are saved.", private=True)]
    if incoming.text.startswith("/rank"):
        return [
            Reply(
                text="Ranking demo 2026-10\n1. 李娜 92.5", image=Image("rank.png", PNG, "bar chart")
            )
        ]
    return [Reply(text=f"echo {incoming.text}")]


@pytest.mark.parametrize("webhook", MODES)
async def test_a_form_is_asked_with_score_buttons_and_edited_in_place_as_it_moves_on(
    telegram_api: FakeTelegram, start_adapter, webhook: bool
) -> None:
    router = ScriptedRouter(form_script)
    adapter = await start_adapter(router, webhook=webhook)
    agent = telegram_api.user(501, "Li", language_code="zh-hans")

    await telegram_api.send_text(agent, "/selfreview")
    await adapter.wait_handled(1, timeout=CEILING_S)
    sent = telegram_api.sent(501)
    assert texts(sent) == [
        "Your October numbers: conversion 41%",
        "Question 1 of 3: Task completion",
    ]
    assert sent[0].keyboard == []
    assert sent[1].keyboard == [
        [("1", "form:answer|7:0:1"), ("2", "form:answer|7:0:2"), ("3", "form:answer|7:0:3"),
         ("4", "form:answer|7:0:4"), ("5", "form:answer|7:0:5")],
        [("Back", "form:back|7:0:"), ("Cancel", "form:cancel|7:0:")],
    ]  # fmt: skip

    await telegram_api.press(agent, sent[1], "4")
    await adapter.wait_handled(2, timeout=CEILING_S)
    await telegram_api.press(agent, sent[1], "5")
    await adapter.wait_handled(3, timeout=CEILING_S)
    await telegram_api.press(agent, sent[1], "2")
    await adapter.wait_handled(4, timeout=CEILING_S)

    edits = telegram_api.calls_to("editMessageText")
    assert [e.params["message_id"] for e in edits] == [sent[1].response["result"]["message_id"]] * 2
    assert texts(edits) == [
        "Question 2 of 3: Dimension 1 (you said 4)",
        "Question 3 of 3: Dimension 2 (you said 5)",
    ]
    assert edits[1].keyboard[0][0] == ("1", "form:answer|7:2:1")
    # the last press ends the form: its keyboard goes away and the thanks come as a new message
    stripped = telegram_api.calls_to("editMessageReplyMarkup")
    assert [c.params.get("reply_markup") for c in stripped if c.ok] == [None]
    assert texts(telegram_api.sent(501))[-1] == "Thank you, your answers are saved."
    assert len(telegram_api.sent(501)) == 3
    answered = telegram_api.calls_to("answerCallbackQuery")
    assert len(answered) == 3 and all(c.ok for c in answered)
    assert [(i.action, i.value) for i in router.seen[1:]] == [
        ("form:answer", "7:0:4"),
        ("form:answer", "7:1:5"),
        ("form:answer", "7:2:2"),
    ]
    assert router.seen[0].lang_hint == "zh-hans" and router.seen[0].chat == "private"


@pytest.mark.parametrize("webhook", MODES)
async def test_a_chart_arrives_as_a_photo_with_its_caption(
    telegram_api: FakeTelegram, start_adapter, webhook: bool
) -> None:
    adapter = await start_adapter(ScriptedRouter(form_script), webhook=webhook)
    manager = telegram_api.user(600, "Wang")
    await telegram_api.send_text(manager, "/rank demo 2026-10")
    await adapter.wait_handled(1, timeout=CEILING_S)
    (photo,) = telegram_api.calls_to("sendPhoto")
    assert photo.params["chat_id"] == 600
    assert photo.params["caption"] == "Ranking demo 2026-10\n1. 李娜 92.5"
    assert photo.files["photo"].data == PNG
    assert photo.files["photo"].filename == "rank.png"
    assert telegram_api.calls_to("sendMessage") == []


async def test_polling_starts_with_getme_and_deletes_a_webhook_then_long_polls(
    telegram_api: FakeTelegram, start_adapter
) -> None:
    adapter = await start_adapter(ScriptedRouter(form_script))
    await telegram_api.wait_calls("getUpdates", 1)
    methods = [c.method for c in telegram_api.calls]
    assert methods[0] == "getMe"
    assert methods.index("deleteWebhook") < methods.index("getUpdates")
    poll = telegram_api.calls_to("getUpdates")[0]
    assert poll.params["timeout"] == 2
    assert set(poll.params["allowed_updates"]) == {"message", "callback_query", "my_chat_member"}
    assert adapter.bot_username == BOT_USERNAME


async def test_webhook_mode_registers_the_url_with_the_secret_and_never_polls(
    telegram_api: FakeTelegram, start_adapter
) -> None:
    await start_adapter(ScriptedRouter(form_script), webhook=True)
    (hook,) = telegram_api.calls_to("setWebhook")
    assert hook.params["url"] == WEBHOOK_URL
    assert hook.params["secret_token"] == WEBHOOK_SECRET
    assert telegram_api.calls_to("getUpdates") == []


async def test_a_webhook_call_with_a_wrong_secret_is_refused_and_nothing_runs(
    telegram_api: FakeTelegram, start_adapter
) -> None:
    import httpx

    router = ScriptedRouter(form_script)
    adapter = await start_adapter(router, webhook=True)
    user = telegram_api.user(700, "Mallory")
    update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "from": user,
              "chat": {"id": 700, "type": "private"}, "text": "/rank demo"}}  # fmt: skip
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=adapter.web_app)) as client:
        for headers in ({"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {}):
            response = await client.post(WEBHOOK_URL, json=update, headers=headers)
            assert response.status_code == 403
        good = await client.post(
            WEBHOOK_URL, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        )
    assert good.status_code == 200
    await adapter.wait_handled(1, timeout=CEILING_S)
    assert [i.text for i in router.seen] == ["/rank demo"]
    assert len(telegram_api.sent(700)) == 1


async def test_an_update_delivered_twice_reaches_the_router_with_the_same_event_id(
    telegram_api: FakeTelegram, start_adapter
) -> None:
    router = ScriptedRouter(form_script)
    adapter = await start_adapter(router, webhook=True)
    user = telegram_api.user(701, "Ann")
    update = await telegram_api.send_text(user, "hello")
    await telegram_api.deliver(update)
    await adapter.wait_handled(2, timeout=CEILING_S)
    assert [i.event_id for i in router.seen] == [str(update["update_id"])] * 2


async def test_a_429_with_retry_after_is_waited_out_and_the_message_arrives_once(
    telegram_api: FakeTelegram, start_adapter
) -> None:
    adapter = await start_adapter(ScriptedRouter(form_script))
    user = telegram_api.user(702, "Bo")
    telegram_api.fail_next("sendMessage", error_code=429, retry_after=1)
    await telegram_api.send_text(user, "hi")
    await adapter.wait_handled(1, timeout=CEILING_S)
    calls = telegram_api.calls_to("sendMessage")
    assert [c.status for c in calls] == [429, 200]
    assert calls[0].response == {
        "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }  # fmt: skip
    assert texts(telegram_api.sent(702)) == ["echo hi"]


async def test_the_fake_rate_limit_answers_429_and_the_limiter_gets_every_message_through(
    telegram_api: FakeTelegram, start_adapter
) -> None:
    from tests.fakes.telegram_api import RateLimit

    telegram_api.rate_limit = RateLimit(max_calls=2, per_seconds=1, retry_after=1)
    adapter = await start_adapter(ScriptedRouter(lambda i: [Reply(text=f"{n}") for n in range(4)]))
    user = telegram_api.user(703, "Cy")
    await telegram_api.send_text(user, "go")
    await adapter.wait_handled(1, timeout=CEILING_S)
    assert texts(telegram_api.sent(703)) == ["0", "1", "2", "3"]
    assert any(c.status == 429 for c in telegram_api.calls_to("sendMessage"))


async def test_a_group_command_sends_private_replies_to_the_private_chat(
    telegram_api: FakeTelegram, start_adapter
) -> None:
    adapter = await start_adapter(ScriptedRouter(form_script))
    group = telegram_api.group(-1001, "Shop team")
    agent = telegram_api.user(704, "Li")
    await telegram_api.send_text(agent, f"/selfreview@{BOT_USERNAME}", chat=group)
    await adapter.wait_handled(1, timeout=CEILING_S)
    assert telegram_api.sent(-1001) == []
    assert texts(telegram_api.sent(704))[1] == "Question 1 of 3: Task completion"


async def test_a_group_command_for_someone_who_never_opened_the_bot_gets_a_deep_link(
    telegram_api: FakeTelegram, start_adapter
) -> None:
    router = ScriptedRouter(form_script)
    adapter = await start_adapter(router)
    group = telegram_api.group(-1002, "Shop team")
    agent = telegram_api.user(705, "Li", started=False)
    asked = await telegram_api.send_text(agent, "/selfreview", chat=group)
    await adapter.wait_handled(1, timeout=CEILING_S)
    refused = [c for c in telegram_api.calls_to("sendMessage") if c.params["chat_id"] == 705]
    assert [c.status for c in refused] == [403]  # tried once, then no more private replies
    (notice,) = telegram_api.sent(-1002)
    link = f"https://t.me/{BOT_USERNAME}?start=run-c2VsZnJldmlldw"
    assert (
        notice.params["text"]
        == f"Li, I can only answer this in a private chat. Open it here and press Start:\n{link}"
    )
    assert notice.keyboard == [[("Open private chat", link)]]
    assert notice.params["reply_parameters"]["message_id"] == asked["message"]["message_id"]

    # the person follows the link: Telegram sends "/start <payload>", which runs the command
    await telegram_api.send_text(agent, "/start run-c2VsZnJldmlldw")
    await adapter.wait_handled(2, timeout=CEILING_S)
    assert router.seen[-1].text == "/selfreview"
    assert texts(telegram_api.sent(705))[1] == "Question 1 of 3: Task completion"


async def test_commands_addressed_to_another_bot_in_a_group_are_ignored(
    telegram_api: FakeTelegram, start_adapter
) -> None:
    router = ScriptedRouter(form_script)
    adapter = await start_adapter(router)
    group = telegram_api.group(-1003)
    user = telegram_api.user(706, "Di")
    await telegram_api.send_text(user, "/rank@some_other_bot", chat=group)
    await telegram_api.send_text(user, f"/rank@{BOT_USERNAME} demo", chat=group)
    await adapter.wait_handled(2, timeout=CEILING_S)
    assert [i.text for i in router.seen] == ["/rank demo"]
    assert router.seen[0].chat == "group" and router.seen[0].chat_id == "-1003"


def test_long_button_values_still_fit_in_64_bytes_and_decode_back() -> None:
    codec = CallbackCodec()
    data = codec.encode("form:edit", "123:4:" + "x" * 80)
    assert len(data.encode()) <= 64
    assert codec.decode(data) == ("form:edit", "123:4:" + "x" * 80)
    assert CallbackCodec().decode(data) == ("telegram:expired", "")


async def test_the_command_menu_is_set_in_english_and_in_chinese(
    telegram_api: FakeTelegram, start_adapter
) -> None:
    from bot.telegram.adapter import menu_commands
    from commands.i18n import translator

    await start_adapter(ScriptedRouter(form_script))
    zh = translator("zh")
    from commands.permissions import role_may_use

    menu = menu_commands()
    everyone = [(c.name, c.menu) for c in menu if role_may_use("agent", c)]  # agents' commands
    assert [name for name, _text in everyone][:3] == ["selfreview", "me", "rank"]
    assert telegram_api.menus[""] == everyone
    assert telegram_api.menus["zh"] == [(name, zh(text)) for name, text in everyone]
    assert all(zh(c.menu) != c.menu for c in menu)


async def test_the_menu_offers_every_everyday_command_of_the_real_router_including_survey(
    telegram_api: FakeTelegram, start_adapter, engine
) -> None:
    from commands.router import Router

    router = Router(engine)
    await start_adapter(router)
    offered = [name for name, _text in telegram_api.menus[""]]
    assert "survey" in router.commands
    assert {"selfreview", "me", "rank", "peer", "survey", "help"} <= set(offered)
    assert set(offered) <= set(router.commands)


async def test_a_manager_sees_the_manager_commands_in_their_menu_and_an_agent_does_not(
    telegram_api: FakeTelegram, start_adapter, engine
) -> None:
    """Issue 16 item 10: the command menu was the same for agents and managers."""
    from bot.telegram.adapter import menu_commands
    from commands.router import Router
    from storage import repo
    from storage.db import unit_of_work

    with unit_of_work(engine) as session:
        team = repo.create_team(session=session, name="shop", lang="zh")
        boss = repo.add_member(session=session, team=team, name="王经理", role="manager")
        repo.link_platform(
            session=session, member=boss, platform="telegram", user_id="9001", actor="t"
        )
    await start_adapter(Router(engine), engine=engine)
    agents = [name for name, _text in telegram_api.menus[""]]
    manager = [name for name, _text in telegram_api.menus["chat:9001:"]]
    assert "review" in manager and "review" not in agents
    assert "status" in manager and "status" not in agents
    assert "selfreview" not in manager, "a manager has no self-review of their own"
    english = {c.name: c.menu for c in menu_commands()}
    assert telegram_api.menus["chat:9001:"][0][1] != english[manager[0]], (
        "in the manager's language (zh)"
    )


async def test_no_text_kpibot_sends_or_edits_shows_a_link_preview(
    telegram_api: FakeTelegram, start_adapter
) -> None:
    link = "https://kpi.example/s/abc123"

    def script(incoming: Incoming) -> list[Reply]:
        if incoming.text == "/survey":  # long enough to go out as several messages
            return [Reply(text=f"Your survey link: {link}\n" + "line\n" * 1500, private=True)]
        return form_script(incoming)

    adapter = await start_adapter(ScriptedRouter(script))
    agent = telegram_api.user(709, "Gu")
    await telegram_api.send_text(agent, "/survey")
    await telegram_api.send_text(agent, "/selfreview")
    await adapter.wait_handled(2, timeout=CEILING_S)
    await telegram_api.press(agent, telegram_api.sent(709)[-1], "4")  # the question is edited
    await adapter.wait_handled(3, timeout=CEILING_S)
    newcomer = telegram_api.user(710, "Hu", started=False)  # gets a deep link in the group
    await telegram_api.send_text(newcomer, "/selfreview", chat=telegram_api.group(-1004))
    await adapter.wait_handled(4, timeout=CEILING_S)

    said = telegram_api.calls_to("sendMessage", "editMessageText")
    assert {c.method for c in said} == {"sendMessage", "editMessageText"}
    assert any(link in c.params["text"] for c in said)
    assert any("?start=" in c.params["text"] for c in said)
    assert len(said) >= 6
    assert [c.params.get("link_preview_options") for c in said] == [{"is_disabled": True}] * len(
        said
    )


def test_a_long_reply_is_cut_at_line_breaks_into_messages_telegram_accepts() -> None:
    from bot.telegram.render import TEXT_LIMIT, render

    lines = [f"{n}. agent {n}  {n % 100}.0" for n in range(600)]
    rendered = render(
        Reply(text="\n".join(lines), buttons=(Button("More", "rank:page", "2"),)), CallbackCodec()
    )
    pieces = [*rendered.extra_texts, rendered.text]
    assert len(pieces) > 1 and all(len(p) <= TEXT_LIMIT for p in pieces)
    assert "\n".join(pieces).splitlines() == lines
    assert rendered.keyboard is not None  # the keyboard goes with the last piece


async def test_messages_to_one_private_chat_are_paced_so_telegram_never_says_429(
    telegram_api: FakeTelegram, start_adapter
) -> None:
    from tests.fakes.telegram_api import RateLimit

    telegram_api.rate_limit = RateLimit(max_calls=3, per_seconds=0.8, retry_after=5)
    adapter = await start_adapter(
        ScriptedRouter(lambda i: [Reply(text=f"{n}") for n in range(5)]), private_burst=3
    )
    user = telegram_api.user(707, "Ed")
    await telegram_api.send_text(user, "go")
    await adapter.wait_handled(1, timeout=CEILING_S)
    assert texts(telegram_api.sent(707)) == ["0", "1", "2", "3", "4"]
    assert [c.status for c in telegram_api.calls_to("sendMessage")] == [200] * 5


async def test_the_api_url_may_say_where_the_token_goes(telegram_api: FakeTelegram) -> None:
    from bot.settings import load_settings
    from bot.telegram.adapter import build_telegram
    from tests.fakes.telegram_api import TOKEN

    settings = load_settings(
        telegram_bot_token=TOKEN,
        telegram_api_url=f"http://127.0.0.1:{telegram_api.port}/bot{{token}}",
    )
    adapter = build_telegram(settings, ScriptedRouter(form_script))
    await adapter.start()
    try:
        assert adapter.bot_username == BOT_USERNAME
    finally:
        await adapter.stop()
    assert telegram_api.calls[0].method == "getMe" and telegram_api.calls[0].ok


async def test_a_reply_telegram_refuses_does_not_swallow_the_next_one(
    telegram_api: FakeTelegram, start_adapter
) -> None:
    script = ScriptedRouter(
        lambda i: [Reply(text="", image=Image("c.png", PNG)), Reply(text="after the chart")]
    )
    adapter = await start_adapter(script)
    user = telegram_api.user(708, "Fay")
    telegram_api.fail_next(
        "sendPhoto",
        error_code=400,
        description="Bad Request: IMAGE_PROCESS_FAILED",
        retry_after=None,
    )
    await telegram_api.send_text(user, "/rank")
    await adapter.wait_handled(1, timeout=CEILING_S)
    assert [c.status for c in telegram_api.calls_to("sendPhoto")] == [400]
    assert texts(telegram_api.sent(708)) == ["after the chart"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({}, "TELEGRAM_BOT_TOKEN is not set"),
        (
            {"telegram_bot_token": "1:x", "telegram_webhook_url": WEBHOOK_URL},
            "TELEGRAM_WEBHOOK_SECRET must be set",
        ),
    ],
)
def test_the_adapter_refuses_settings_it_cannot_run_safely(overrides: dict, message: str) -> None:
    from bot.settings import load_settings
    from bot.telegram.adapter import build_telegram

    with pytest.raises(ValueError, match=message):
        build_telegram(
            load_settings(**{"telegram_bot_token": None, **overrides}), ScriptedRouter(form_script)
        )
