"""The Feishu adapter against the strict fake Feishu, with a scripted router: what a person
does becomes the right Incoming, each reply the right card, in the right chat."""

from __future__ import annotations

import threading

from commands.messages import Button, Choice, Image, Incoming, Question, Reply
from tests.fakes.feishu_api import FakeFeishu
from tests.feishu.chat import FeishuChat, seen
from tests.feishu.conftest import ScriptedRouter
from tests.waiting import CEILING_S

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


async def test_a_private_command_reaches_the_router_and_is_answered_with_a_card(
    feishu: FakeFeishu, start_adapter
) -> None:
    router = ScriptedRouter(lambda i: [Reply(text=f"you said {i.text}")])
    adapter = await start_adapter(router)
    li = FeishuChat(feishu, adapter, feishu.user("李娜"))
    calls = await li.say("/rank")
    assert seen(calls) == [("card", "you said /rank", [])]
    (incoming,) = router.seen
    assert incoming.platform == "feishu" and incoming.user_id == li.user.open_id
    assert incoming.chat == "private" and incoming.chat_id == li.user.p2p_chat
    assert incoming.event_id and incoming.text == "/rank"


def _question(kind: str = "score", step: int = 1, **kw: object) -> Question:
    choices = tuple(Choice(f"{n} · level", str(n)) for n in range(1, 6)) if kind == "score" else ()
    return Question(
        form_id=str(kw.get("form_id", "selfreview")),
        conversation_id=7,
        field_id=str(kw.get("field_id", "task")),
        kind=kind,  # type: ignore[arg-type]
        prompt=str(kw.get("prompt", "Task completion?")),
        step=step,
        total=4,
        choices=choices,
    )


def _answers(q: Question) -> tuple[Button, ...]:
    return tuple(Button(c.label, "form:answer", f"7:{q.step}:{c.value}") for c in q.choices)


async def test_a_press_is_acknowledged_at_once_and_the_card_is_updated_in_place(
    feishu: FakeFeishu, start_adapter
) -> None:
    q1, q2 = _question(step=1), _question("text", step=2, prompt="What went well?", field_id="well")

    def script(i: Incoming) -> list[Reply]:
        if i.text == "/selfreview":
            return [Reply(text="Question 1 of 4", question=q1, buttons=_answers(q1), private=True)]
        if i.action == "form:answer" and i.value == "7:1:4":
            return [
                Reply(
                    text="Question 2 of 4",
                    question=q2,
                    buttons=(Button("Back", "form:back", "7:2:"),),
                    private=True,
                )
            ]
        if i.action == "form:answer" and i.value == "7:2:Fewer refunds, faster":
            return [Reply(text="Thanks, submitted.")]
        return [Reply(text=f"unexpected {i.action} {i.value!r}")]

    router = ScriptedRouter(script)
    adapter = await start_adapter(router)
    li = FeishuChat(feishu, adapter, feishu.user("Li"))
    calls = await li.say("/selfreview")
    assert seen(calls) == [
        (
            "card",
            "Question 1 of 4\n\n(1/4) Task completion?",
            ["1 · level", "2 · level", "3 · level", "4 · level", "5 · level"],
        )
    ]
    first = li.card_message()
    calls = await li.press("4 · level")
    assert seen(calls) == [("patch", "Question 2 of 4\n\n(2/4) What went well?", ["Send", "Back"])]
    assert calls[0].path.endswith(first)
    assert feishu.deliveries[-1].body == {}, "the press is acked empty; the card is patched"
    calls = await li.submit("Send", answer="Fewer refunds, faster")
    assert seen(calls) == [
        ("patch", "Question 2 of 4\n\n(2/4) What went well?", []),
        ("card", "Thanks, submitted.", []),
    ]
    assert (
        router.seen[-1].action == "form:answer"
        and router.seen[-1].value == "7:2:Fewer refunds, faster"
    )
    assert li.live_cards() == 0


async def test_the_same_event_delivered_twice_is_handled_once(
    feishu: FakeFeishu, start_adapter
) -> None:
    router = ScriptedRouter(lambda i: [Reply(text="ok")])
    adapter = await start_adapter(router)
    user = feishu.user("Li")
    payload = feishu.message_event(user, "/help")
    first = await feishu.push(payload)
    again = await feishu.push(payload)  # Feishu retries a delivery it thinks failed
    assert first.status == again.status == 200
    await adapter.wait_handled(1, timeout=CEILING_S)
    await feishu.wait_until(lambda: len(feishu.screen(user.p2p_chat)) == 1)
    assert len(router.seen) == 1 and feishu.screen(user.p2p_chat) == ["ok"]


async def test_a_callback_not_from_feishu_is_refused(feishu: FakeFeishu, start_adapter) -> None:
    router = ScriptedRouter(lambda i: [Reply(text="ok")])
    await start_adapter(router)
    user = feishu.user("Li")
    payload = feishu.message_event(user, "/help")
    body, headers = feishu.encode(payload, sign_with="not-the-encrypt-key")
    assert (await feishu.push(payload, body=body, headers=headers)).status == 401
    payload["header"]["token"] = "forged"
    assert (await feishu.push(payload)).status == 401
    assert router.seen == []
    answer = await feishu.verify_url()
    assert answer.status == 200 and set(answer.body) == {"challenge"}


async def test_in_a_group_kpibot_quotes_the_message_and_says_private_things_privately(
    feishu: FakeFeishu, start_adapter
) -> None:
    def script(i: Incoming) -> list[Reply]:
        return [Reply(text="the team ranking"), Reply(text="your own score", private=True),
                Reply(text="managers only", ephemeral=True)]  # fmt: skip

    router = ScriptedRouter(script)
    adapter = await start_adapter(router)
    group = feishu.group("客服一组")
    li = FeishuChat(feishu, adapter, feishu.user("李娜"))
    calls = await li.say("/rank", chat_id=group)
    assert seen(calls) == [("reply", "the team ranking", []), ("card", "your own score", []),
                           ("card", "managers only", [])]  # fmt: skip
    assert feishu.screen(group) == ["the team ranking"]
    assert li.screen() == ["your own score", "managers only"]
    assert router.seen[0].chat == "group" and router.seen[0].text == "/rank"
    # a group message that neither mentions kpibot nor is a command is not kpibot's
    before = adapter.handled
    await feishu.send_text(li.user, "午饭吃什么", chat_id=group, mention=False)
    assert adapter.handled == before and len(router.seen) == 1


async def test_a_chart_is_uploaded_and_shown_in_the_card(feishu: FakeFeishu, start_adapter) -> None:
    router = ScriptedRouter(
        lambda i: [Reply(text="1. 李娜 92.0", image=Image("rank.png", PNG, alt="ranking"))]
    )
    adapter = await start_adapter(router)
    li = FeishuChat(feishu, adapter, feishu.user("李娜"))
    calls = await li.say("/rank")
    assert seen(calls) == [("image",), ("card", "1. 李娜 92.0\n[image]", [])]
    (key,) = feishu.images
    assert feishu.images[key] == PNG


async def test_too_fast_is_waited_out_and_nothing_is_shown_twice(
    feishu: FakeFeishu, start_adapter
) -> None:
    router = ScriptedRouter(lambda i: [Reply(text=f"part {n}") for n in range(8)])
    adapter = await start_adapter(router)
    feishu.fail_next("create", code=99991400, msg="request trigger frequency limit", status=429)
    feishu.fail_next("create", code=500, msg="internal error", status=500)
    li = FeishuChat(feishu, adapter, feishu.user("Li"))
    await feishu.send_text(li.user, "/rank")
    await adapter.wait_handled(1, timeout=CEILING_S)
    assert li.screen() == [f"part {n}" for n in range(8)]
    assert feishu.limited.get(230020, 0) == 0  # paced under 5 a second to one person


async def test_a_whole_form_card_shows_its_errors_on_the_same_card(
    feishu: FakeFeishu, start_adapter
) -> None:
    ability = _question(form_id="review", field_id="ability", prompt="Ability")
    comment = Question(form_id="review", conversation_id=7, field_id="comment", kind="text",
                       prompt="Comment", step=2, total=2, required=False)  # fmt: skip

    def script(i: Incoming) -> list[Reply]:
        if i.text.startswith("/review"):
            return [
                Reply(
                    text="Review of Alice",
                    question=ability,
                    form=(ability, comment),
                    private=True,
                    buttons=(*_answers(ability), Button("Cancel", "form:cancel", "7:1:")),
                )
            ]
        if i.action == "form:modal" and i.values.get("comment") == "bad":
            return [
                Reply(
                    text="Some answers need another look.",
                    errors={"comment": "Say more."},
                    private=True,
                )
            ]
        if i.action == "form:modal":
            return [
                Reply(
                    text="Summary", buttons=(Button("Submit", "form:submit", "7:3:"),), private=True
                )
            ]
        return []

    router = ScriptedRouter(script)
    adapter = await start_adapter(router)
    mary = FeishuChat(feishu, adapter, feishu.user("Mary"))
    calls = await mary.say("/review Alice")
    assert seen(calls) == [
        ("card", "Review of Alice\nAbility\nComment (optional)", ["Next", "Cancel"])
    ]
    calls = await mary.submit("Next", ability="4", comment="bad")
    assert router.seen[-1].values == {"ability": "4", "comment": "bad"}
    assert seen(calls) == [
        (
            "patch",
            "Some answers need another look.\nAbility\nComment (optional)\n⚠ Say more.",
            ["Next", "Cancel"],
        )
    ]
    card = feishu.bot_cards(mary.user.p2p_chat)[-1]
    form = next(e for e in card["body"]["elements"] if e["tag"] == "form")
    select = next(e for e in form["elements"] if e.get("name") == "ability")
    assert select["initial_option"] == "4"  # what was chosen stays chosen
    calls = await mary.submit("Next", comment="good work")
    assert router.seen[-1].values == {"ability": "4", "comment": "good work"}
    assert seen(calls) == [("patch", "Summary", ["Submit"])]


async def test_a_card_over_feishus_limits_is_refused_by_the_fake(
    feishu: FakeFeishu, start_adapter
) -> None:
    """The fake is as strict as Feishu: kpibot splits a long text so each card fits 30 KB."""
    long_text = "\n".join(f"{n}. 客服{n} 得分 {n}.0 分" for n in range(1, 2001))
    router = ScriptedRouter(lambda i: [Reply(text=long_text)])
    adapter = await start_adapter(router)
    feishu.relax()
    li = FeishuChat(feishu, adapter, feishu.user("Li"))
    calls = await li.say("/rank")
    assert len(calls) > 1 and all(c.ok for c in calls)
    assert "\n".join(li.screen()).replace("\n\n", "\n") == long_text


async def test_a_slow_answer_does_not_delay_the_callback(feishu: FakeFeishu, start_adapter) -> None:
    """The press is acked while the router is still working on it (held until the test lets
    it go), not when the answer is ready: no clock, so a loaded machine cannot fail it."""
    q = _question()
    release, answered = threading.Event(), threading.Event()

    def script(i: Incoming) -> list[Reply]:
        if i.action:
            try:
                release.wait(CEILING_S)
            finally:
                answered.set()
            return [Reply(text="saved")]
        return [Reply(text="Q", question=q, buttons=_answers(q), private=True)]

    adapter = await start_adapter(ScriptedRouter(script))
    li = FeishuChat(feishu, adapter, feishu.user("Li"))
    await li.say("/selfreview")
    delivery = await feishu.press(li.user, li.card_message(), "3")
    assert delivery.status == 200 and not answered.is_set(), "acked before the answer"
    release.set()
    await adapter.wait_handled(2, timeout=CEILING_S)
    assert li.screen()[-1] == "saved"
