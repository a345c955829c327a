"""A form that fits one screen (the manager review) as a modal, with errors shown inline."""

from __future__ import annotations

import httpx

from commands.messages import Choice, Incoming, Question, Reply
from tests.fakes.slack_api import FakeSlack, check_view
from tests.slack.conftest import ScriptedRouter, make_adapter, web_app
from tests.slack.sender import SlackSender

ANCHORS = ("1 Poor", "2 Below", "3 Meets", "4 Above", "5 Outstanding")


def review_form() -> Reply:
    def score(field_id: str, prompt: str, step: int) -> Question:
        return Question(
            form_id="review", conversation_id=42, field_id=field_id, kind="score", prompt=prompt,
            step=step, total=4, choices=tuple(Choice(a, str(i)) for i, a in enumerate(ANCHORS, 1)),
        )  # fmt: skip

    comment = Question(
        form_id="review", conversation_id=42, field_id="comment", kind="text",
        prompt="Comment (required for a 1 or a 5)", step=3, total=4, required=False, max_length=500,
    )  # fmt: skip
    return Reply(
        text="Manager review of Li Lei, 2026-10\nKPI table: 86.5 points",
        form=(score("ability", "Ability", 0), score("collaboration", "Collaboration", 1),
              score("service", "Service", 2), comment),
        private=True,
    )  # fmt: skip


def review_script(incoming: Incoming) -> list[Reply]:
    if incoming.text.startswith("/review"):
        return [review_form()]
    values = dict(incoming.values)
    if values.get("service") == "5" and not values.get("comment"):
        return [Reply(text="", errors={"comment": "A score of 5 needs a comment."})]
    return [Reply(text="Review of Li Lei saved. Total preview: 88.1", private=True)]


async def test_review_opens_as_a_modal_with_one_input_per_question(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter, adapter
) -> None:
    scripted.script = review_script
    sent = await slack.command("U0ALICE", "/review", "<@U0AGENT01|li.lei> 2026-10")
    await adapter.idle()
    [opened] = fake_slack.calls_to("views.open", ok=True)
    assert opened.args["trigger_id"] == sent.trigger_id
    [view] = fake_slack.views.values()
    title = view["title"]["text"]
    assert len(title) <= 24 and title.startswith("Manager review of Li") and title.endswith("…")
    assert (view["submit"]["text"], view["close"]["text"]) == ("Next", "Close")
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert [b["block_id"] for b in inputs] == ["ability", "collaboration", "service", "comment"]
    assert [o["value"] for o in inputs[0]["element"]["options"]] == ["1", "2", "3", "4", "5"]
    assert inputs[3]["optional"] is True and inputs[3]["element"]["multiline"] is True
    assert fake_slack.response_posts(sent.response_url) == [], (
        "the form is the modal, not a message"
    )


async def test_a_wrong_answer_comes_back_inline_and_a_right_one_closes_the_modal(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter, adapter
) -> None:
    scripted.script = review_script
    await slack.command("U0ALICE", "/review", "<@U0AGENT01|li.lei>")
    await adapter.idle()
    [view] = fake_slack.views.values()

    wrong = await slack.submit(
        "U0ALICE", view, {"ability": "4", "collaboration": "3", "service": "5"}
    )
    assert wrong.response.status_code == 200
    assert wrong.ack == {
        "response_action": "errors",
        "errors": {"comment": "A score of 5 needs a comment."},
    }
    submitted = scripted.seen[-1]
    assert (submitted.action, submitted.value) == ("form:modal", "42:0:")
    assert dict(submitted.values) == {"ability": "4", "collaboration": "3", "service": "5"}
    await adapter.idle()
    assert fake_slack.texts_in("D0ALICE") == [], (
        "nothing is said outside the modal on an inline error"
    )

    right = await slack.submit(
        "U0ALICE",
        view,
        {"ability": "4", "collaboration": "3", "service": "5", "comment": "Calm with angry buyers"},
    )
    assert right.ack == {}, "an empty ack closes the modal"
    await adapter.idle()
    assert fake_slack.texts_in("D0ALICE") == ["Review of Li Lei saved. Total preview: 88.1"]


async def test_a_next_screen_of_the_form_replaces_the_modal(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter, adapter
) -> None:
    scripted.script = lambda incoming: [review_form()]
    await slack.command("U0ALICE", "/review", "<@U0AGENT01>")
    await adapter.idle()
    [view] = fake_slack.views.values()
    sent = await slack.submit(
        "U0ALICE", view, {"ability": "3", "collaboration": "3", "service": "3"}
    )
    assert sent.ack["response_action"] == "update"
    assert [b["block_id"] for b in sent.ack["view"]["blocks"] if b["type"] == "input"][
        0
    ] == "ability"


async def test_a_slow_submission_shows_working_on_it_then_the_result_in_the_same_modal(
    fake_slack: FakeSlack, scripted: ScriptedRouter
) -> None:
    scripted.script = review_script
    adapter = make_adapter(fake_slack, scripted, ack_budget=0.2)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web_app(adapter)), base_url="http://t"
    ) as c:
        slack = SlackSender(c, fake_slack)
        await slack.command("U0ALICE", "/review", "<@U0AGENT01>")
        await adapter.idle()
        [view] = fake_slack.views.values()
        scripted.hold()
        sent = await slack.submit(
            "U0ALICE", view, {"ability": "4", "collaboration": "4", "service": "4"}
        )
        assert scripted.finished[-1].text.startswith("/review"), "acked while still working"
        assert sent.ack["response_action"] == "update"
        working = sent.ack["view"]
        assert check_view(working) == []
        assert (working["callback_id"], working["title"], working["private_metadata"]) == (
            view["callback_id"], view["title"], view["private_metadata"],
        )  # fmt: skip
        assert "submit" not in working and working["close"]["text"] == "Close"
        assert [b["text"]["text"] for b in working["blocks"] if b["type"] == "section"] == [
            "Checking and saving your answers…"
        ]
        scripted.release()
        await adapter.idle()
    await adapter.stop()
    [update] = fake_slack.calls_to("views.update", ok=True)
    assert update.args["view_id"] == view["id"] and "hash" not in update.args
    result = fake_slack.views[view["id"]]
    assert "submit" not in result and result["close"]["text"] == "Done"
    assert [b["text"]["text"] for b in result["blocks"]] == [
        "Review of Li Lei saved. Total preview: 88.1"
    ]
    assert fake_slack.texts_in("D0ALICE") == ["Review of Li Lei saved. Total preview: 88.1"], (
        "the DM stays the record"
    )


async def test_an_expired_trigger_falls_back_to_asking_in_messages(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter, adapter
) -> None:
    form = review_form()
    scripted.script = lambda incoming: [
        Reply(text=form.text, form=form.form, question=form.form[0], private=True)
    ]
    scripted.hold()
    sent = await slack.command("U0ALICE", "/review", "<@U0AGENT01>")
    fake_slack.expire_trigger(sent.trigger_id)  # Slack's 3 s trigger window passes
    scripted.release()
    await adapter.idle()
    assert fake_slack.calls_to("views.open", ok=False)[0].response["error"] == "expired_trigger_id"
    assert fake_slack.texts_in("D0ALICE") == [form.text]
