"""A modal submission answered after the ack budget: Slack got "checking and saving your
answers" in the ack, and the answer is shown in the same modal with ``views.update``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest

from bot.slack.adapter import SlackAdapter
from commands.messages import Button, Choice, Incoming, Question, Reply
from tests.fakes.slack_api import FakeSlack, check_view
from tests.slack.conftest import ScriptedRouter, make_adapter, web_app
from tests.slack.sender import Sent, SlackSender
from tests.slack.test_modal import review_form, review_script

ANSWERS = {"ability": "4", "collaboration": "3", "service": "5"}
SAVED = "Review of Li Lei saved. Total preview: 88.1"


class Late:
    """The adapter with a tiny ack budget and a router held until the ack has gone."""

    def __init__(self, adapter: SlackAdapter, slack: SlackSender, scripted: ScriptedRouter) -> None:
        self.adapter, self.slack, self.scripted = adapter, slack, scripted

    async def open_review(self, user: str = "U0ALICE") -> dict[str, Any]:
        await self.slack.command(user, "/review", "<@U0AGENT01>")
        await self.adapter.idle()
        return list(self.slack.fake.views.values())[-1]

    async def submit(
        self, view: Mapping[str, Any], answers: Mapping[str, str], *, user: str = "U0ALICE",
        closed: bool = False,
    ) -> Sent:  # fmt: skip
        """Submit past the budget; ``closed``: the person closes the modal before the answer."""
        self.scripted.hold()
        sent = await self.slack.submit(user, view, answers)
        assert sent.ack["response_action"] == "update", "past the budget: the working view"
        assert check_view(sent.ack["view"]) == []
        if closed:
            del self.slack.fake.views[view["id"]]
        self.scripted.release()
        await self.adapter.idle()
        return sent


@pytest.fixture
async def late(fake_slack: FakeSlack, scripted: ScriptedRouter) -> AsyncIterator[Late]:
    adapter = make_adapter(fake_slack, scripted, ack_budget=0.05)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web_app(adapter)), base_url="http://kpibot.test"
    ) as client:
        yield Late(adapter, SlackSender(client, fake_slack), scripted)
    scripted.release()
    await adapter.stop()


def inputs(view: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}


def shown_errors(view: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(the input above, the error)`` for each error line in the view."""
    found = []
    for above, block in zip(view["blocks"], view["blocks"][1:], strict=False):
        if block["type"] == "context" and above["type"] == "input":
            found.append((above["block_id"], block["elements"][0]["text"]))
    return found


async def test_a_late_error_shows_the_form_again_with_the_answers_and_the_error_under_its_field(
    late: Late, fake_slack: FakeSlack, scripted: ScriptedRouter
) -> None:
    scripted.script = review_script
    view = await late.open_review()
    await late.submit(view, ANSWERS)

    again = fake_slack.views[view["id"]]
    assert list(inputs(again)) == ["ability", "collaboration", "service", "comment"]
    assert {
        k: e["initial_option"]["value"] for k, e in inputs(again).items() if k != "comment"
    } == ANSWERS
    assert "initial_value" not in inputs(again)["comment"]
    assert shown_errors(again) == [("comment", "⚠ A score of 5 needs a comment.")]
    assert (again["submit"]["text"], again["private_metadata"]) == (
        "Next",
        view["private_metadata"],
    )
    assert fake_slack.texts_in("D0ALICE") == [], "the error is on the form, not in the DM"

    late.adapter.ack_budget = 2.5  # the person adds the comment; this time kpibot is quick
    right = await late.slack.submit(
        "U0ALICE", again, {**ANSWERS, "comment": "Calm with angry buyers"}
    )
    assert right.ack == {}, "the modal closes"
    await late.adapter.idle()
    assert dict(scripted.seen[-1].values) == {**ANSWERS, "comment": "Calm with angry buyers"}
    assert fake_slack.texts_in("D0ALICE") == [SAVED]


async def test_a_second_late_error_replaces_the_first_and_typed_text_stays(
    late: Late, fake_slack: FakeSlack, scripted: ScriptedRouter
) -> None:
    def script(incoming: Incoming) -> list[Reply]:
        if incoming.text.startswith("/review"):
            return [review_form()]
        said = incoming.values.get("comment", "")
        return [
            Reply(
                text="Some answers need another look.",
                errors={"comment": f"“{said}” is too short.", "total": "Check the total."},
            )
        ]

    scripted.script = script
    view = await late.open_review()
    await late.submit(view, {**ANSWERS, "comment": "ok"})
    await late.submit(fake_slack.views[view["id"]], {**ANSWERS, "comment": "fine"})

    again = fake_slack.views[view["id"]]
    assert inputs(again)["comment"]["initial_value"] == "fine"
    assert shown_errors(again) == [
        ("ability", "⚠ Check the total."),  # not an input of the form: shown on the first one
        ("comment", "⚠ “fine” is too short."),
    ]


async def test_a_late_next_form_replaces_the_working_view(
    late: Late, fake_slack: FakeSlack, scripted: ScriptedRouter
) -> None:
    confirm = Question(
        form_id="review", conversation_id=42, field_id="confirm", kind="yesno",
        prompt="Send the review to Li Lei?", step=4, total=5,
        choices=(Choice("Yes", "yes"), Choice("No", "no")),
    )  # fmt: skip

    def script(incoming: Incoming) -> list[Reply]:
        if incoming.text.startswith("/review"):
            return [review_form()]
        return [Reply(text="Scores noted.", private=True),
                Reply(text="One more question", form=(confirm,), private=True)]  # fmt: skip

    scripted.script = script
    view = await late.open_review()
    await late.submit(view, ANSWERS)

    shown = fake_slack.views[view["id"]]
    assert list(inputs(shown)) == ["confirm"] and shown["submit"]["text"] == "Next"
    assert '"step":4' in shown["private_metadata"]
    assert fake_slack.texts_in("D0ALICE") == ["Scores noted."]


async def test_a_modal_closed_before_the_late_answer_gets_it_in_the_dm_errors_included(
    late: Late, fake_slack: FakeSlack, scripted: ScriptedRouter
) -> None:
    scripted.script = review_script
    view = await late.open_review()
    await late.submit(view, ANSWERS, closed=True)

    [refused] = fake_slack.calls_to("views.update")
    assert refused.response["error"] == "not_found"
    assert fake_slack.texts_in("D0ALICE") == [
        "• Comment (required for a 1 or a 5): A score of 5 needs a comment."
    ]


async def test_a_modal_closed_before_a_late_success_gets_it_in_the_dm_once(
    late: Late, fake_slack: FakeSlack, scripted: ScriptedRouter
) -> None:
    scripted.script = review_script
    view = await late.open_review()
    await late.submit(view, {**ANSWERS, "comment": "Calm"}, closed=True)
    assert fake_slack.texts_in("D0ALICE") == [SAVED]


async def test_the_router_failing_late_apologises_in_the_dm_and_in_the_modal(
    late: Late, fake_slack: FakeSlack, scripted: ScriptedRouter
) -> None:
    def script(incoming: Incoming) -> list[Reply]:
        if incoming.text.startswith("/review"):
            return [review_form()]
        raise RuntimeError("database went away")

    scripted.script = script
    view = await late.open_review()
    await late.submit(view, ANSWERS)

    [apology] = fake_slack.texts_in("D0ALICE")
    assert apology.startswith("Sorry, something went wrong on our side.")
    shown = fake_slack.views[view["id"]]
    assert [b["text"]["text"] for b in shown["blocks"]] == [apology]
    assert "submit" not in shown


async def test_a_late_result_with_buttons_in_the_dm_says_so_in_the_modal(
    late: Late, fake_slack: FakeSlack, scripted: ScriptedRouter
) -> None:
    def script(incoming: Incoming) -> list[Reply]:
        if incoming.text.startswith("/review"):
            return [review_form()]
        return [Reply(text="Summary of your manager review", private=True,
                      buttons=(Button("Submit", "review:submit"),))]  # fmt: skip

    scripted.script = script
    view = await late.open_review()
    await late.submit(view, {**ANSWERS, "comment": "Calm"})
    shown = fake_slack.views[view["id"]]
    assert shown["blocks"][0]["text"]["text"] == "Summary of your manager review"
    assert shown["blocks"][-1]["elements"][0]["text"].startswith("To go on, use the buttons")
    [message] = fake_slack.messages_in("D0ALICE")
    assert message["text"] == "Summary of your manager review"


def chinese_review_form() -> Reply:
    ability = Question(
        form_id="review", conversation_id=7, field_id="ability", kind="score", prompt="业务能力",
        step=0, total=1, choices=tuple(Choice(f"{i} 分", str(i)) for i in range(1, 6)),
    )  # fmt: skip
    return Reply(text="李雷 的 2026-10 评价。", form=(ability,), private=True)


async def test_a_chinese_form_says_it_is_working_in_chinese(
    late: Late, fake_slack: FakeSlack, scripted: ScriptedRouter
) -> None:
    scripted.script = lambda incoming: (
        [chinese_review_form()] if incoming.text.startswith("/review") else [Reply(text="")]
    )
    view = await late.open_review(user="U0MANAGER")
    sent = await late.submit(view, {"ability": "4"}, user="U0MANAGER")

    working = sent.ack["view"]
    assert working["blocks"][0]["text"]["text"] == "正在检查并保存你的回答……"
    assert working["close"]["text"] == "关闭"
    done = fake_slack.views[view["id"]]
    assert [b["text"]["text"] for b in done["blocks"]] == ["已保存。"]
    assert done["close"]["text"] == "完成"


async def test_a_view_without_an_id_closes_and_answers_in_the_dm_as_before(
    late: Late, fake_slack: FakeSlack, scripted: ScriptedRouter
) -> None:
    scripted.script = review_script
    view = await late.open_review()
    scripted.hold()
    sent = await late.slack.submit(
        "U0ALICE", {k: v for k, v in view.items() if k != "id"}, {**ANSWERS, "comment": "Calm"}
    )
    assert sent.ack == {}
    scripted.release()
    await late.adapter.idle()
    assert fake_slack.calls_to("views.update") == []
    assert fake_slack.texts_in("D0ALICE") == [SAVED]
