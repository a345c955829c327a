"""Replies as Feishu cards, checked against the fake's card rules (Feishu's card JSON 2.0
limits: 30 KB, 200 components, forms with named fields and a submit button)."""

from __future__ import annotations

import json

from bot.feishu import render
from commands.messages import Button, Choice, Question, Reply
from tests.fakes.feishu_api import FakeFeishu, button_labels, card_problems, card_text
from tests.feishu.chat import FeishuChat
from tests.feishu.conftest import ScriptedRouter


def _ok(card: dict[str, object]) -> bool:
    return card_problems(json.dumps(card, ensure_ascii=False)) == []


def test_a_picker_of_204_agents_is_one_select_not_a_wall_of_buttons() -> None:
    people = tuple(Button(f"客服{n:03d}", "review:pick", f"m{n}") for n in range(204))
    reply = Reply(text="选择要评价的客服", buttons=(*people, Button("取消", "review:cancel", "")))
    (card,) = render.render(reply, "zh").cards
    assert _ok(card)
    assert button_labels(card) == ["确定", "取消"]
    form = next(e for e in card["body"]["elements"] if e["tag"] == "form")
    assert len(form["elements"][0]["options"]) == 204


async def test_the_picked_person_comes_back_as_the_pickers_action(
    feishu: FakeFeishu, start_adapter
) -> None:
    people = tuple(Button(f"Agent {n}", "review:pick", f"m{n}") for n in range(30))
    router = ScriptedRouter(
        lambda i: (
            [Reply(text="Pick one", buttons=people)]
            if i.text
            else [Reply(text=f"{i.action} {i.value}")]
        )
    )
    adapter = await start_adapter(router)
    mary = FeishuChat(feishu, adapter, feishu.user("Mary"))
    await mary.say("/review")
    await mary.submit("OK", pick="Agent 17")
    assert (router.seen[-1].action, router.seen[-1].value) == ("review:pick", "m17")
    assert mary.screen()[-1] == "review:pick m17"


def test_every_card_of_a_long_text_fits_and_nothing_is_lost() -> None:
    text = "\n".join(f"{n}. 客服{n} 得分 {n}.0 分，比上月提高 {n % 7} 分" for n in range(1, 3001))
    cards = render.render(Reply(text=text), "zh").cards
    assert len(cards) > 2 and all(_ok(c) for c in cards)
    assert all(render.card_bytes(c) <= render.CARD_BYTES_MAX for c in cards)
    assert "\n".join(card_text(c) for c in cards) == text


def test_a_name_or_comment_is_shown_as_typed_never_as_markdown() -> None:
    (card,) = render.render(Reply(text="**李娜** <at id=all></at> [x](https://evil)"), "zh").cards
    assert card["body"]["elements"] == [
        {
            "tag": "div",
            "text": {"tag": "plain_text", "content": "**李娜** <at id=all></at> [x](https://evil)"},
        }
    ]


def test_a_whole_review_form_is_one_card_with_selects_inputs_and_one_submit() -> None:
    scale = tuple(Choice(f"{n} · level", str(n)) for n in range(1, 6))
    questions = tuple(
        Question(
            form_id="review",
            conversation_id=3,
            field_id=f,
            kind=k,  # type: ignore[arg-type]
            prompt=f,
            step=i,
            total=7,
            choices=scale if k == "score" else (),
            required=k == "score",
            max_length=500,
        )
        for i, (f, k) in enumerate(
            [
                ("ability", "score"),
                ("ability_comment", "text"),
                ("collaboration", "score"),
                ("collaboration_comment", "text"),
                ("service", "score"),
                ("service_comment", "text"),
                ("comment", "text"),
            ]
        )
    )
    rendered = render.render(
        Reply(text="Review of Carol", question=questions[0], form=questions, private=True), "en"
    )
    (card,) = rendered.cards
    assert _ok(card) and rendered.form is not None and rendered.interactive
    (form,) = [e for e in card["body"]["elements"] if e["tag"] == "form"]
    tags = [(e["tag"], e.get("name")) for e in form["elements"] if e["tag"] != "div"]
    assert tags == [
        ("select_static", "ability"),
        ("input", "ability_comment"),
        ("select_static", "collaboration"),
        ("input", "collaboration_comment"),
        ("select_static", "service"),
        ("input", "service_comment"),
        ("input", "comment"),
        ("button", "submit"),
    ]


def _replies_of_every_shape() -> list[tuple[Reply, render.FormAgain | None]]:
    scale = tuple(Choice(f"{n} · level", str(n)) for n in range(1, 6))

    def ask(kind: str, form_id: str = "selfreview", field: str = "task") -> Question:
        return Question(form_id=form_id, conversation_id=3, field_id=field, kind=kind,  # type: ignore[arg-type]
                        prompt="Task completion?", step=1, total=2,
                        choices=scale if kind == "score" else ())  # fmt: skip

    review = (ask("score", "review", "ability"), ask("text", "review", "comment"))
    people = tuple(Button(f"Agent{n:02d}", "review:pick", f"m{n}") for n in range(30))
    again = render.FormAgain(review, (Button("Cancel", "form:cancel", ""),))
    return [
        (Reply(text="Your rank: 3rd of 12"), None),
        (Reply(text="kpibot", buttons=(Button("Help", "help:0"), Button("Me", "me:0"))), None),
        (Reply(text="Task completion?", question=ask("score")), None),
        (Reply(text="Task completion?", question=ask("yesno")), None),
        (Reply(text="What went well?", question=ask("text")), None),
        (Reply(text="How many?", question=ask("number")), None),
        (Reply(text="Pick an agent", buttons=(*people, Button("Cancel", "review:cancel"))), None),
        (Reply(text="Review of Carol", question=review[0], form=review), None),
        (Reply(text="Please rate ability", errors={"ability": "required"}), again),
        (Reply(text="Saved", errors={}), again),
    ]


def test_a_card_needs_the_persons_language_exactly_when_it_says_words_of_its_own() -> None:
    """The adapter looks the language up (a database read per reply) only when the cards
    differ by it: ``needs_lang`` and ``render`` agree on every shape of reply."""
    needing = []
    for reply, again in _replies_of_every_shape():
        zh = render.render(reply, "zh", form_again=again).cards
        en = render.render(reply, "en", form_again=again).cards
        assert render.needs_lang(reply, again) == (zh != en), reply.text
        needing.append(render.needs_lang(reply, again))
    assert needing == [False, False, False, False, True, True, True, True, True, False]


async def test_the_language_is_looked_up_only_for_a_card_with_words_of_its_own(
    feishu: FakeFeishu, start_adapter
) -> None:
    people = tuple(Button(f"Agent {n}", "review:pick", f"m{n}") for n in range(30))
    router = ScriptedRouter(
        lambda i: (
            [Reply(text="Pick one", buttons=people)]
            if i.text == "/review"
            else [Reply(text="kpibot", buttons=(Button("Help", "help:0"),))]
        )
    )
    asked: list[str] = []
    adapter = await start_adapter(router, lang_of=lambda open_id: asked.append(open_id) or "zh")
    mary = FeishuChat(feishu, adapter, feishu.user("Mary", locale="en_US"))
    await mary.say("/help")
    await mary.press("Help")
    assert asked == [], "a card of text and buttons reads the same in every language"
    await mary.say("/review")
    assert asked == [mary.user.open_id]
    picker = json.loads(feishu.chat_messages(mary.user.p2p_chat)[-1]["content"])
    assert "确定" in button_labels(picker), "the picker's own words in the member's language"
