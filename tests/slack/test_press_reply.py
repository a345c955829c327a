"""A press in the DM is answered through its ``response_url`` (issue 16, the peak): the pressed
message is replaced by what was chosen and the next question, so the next question does not
wait for Slack's one post a second in the DM. The fake holds a ``response_url`` to Slack's
rules: 5 responses within 30 minutes, each a message Slack would accept, a new message in the
channel counted against its posts a second."""

from __future__ import annotations

import httpx
import pytest

from commands.messages import Button, Incoming, Reply
from tests.fakes.slack_api import RESPONSE_URL_TTL_S, RESPONSE_URL_USES, FakeSlack
from tests.slack.conftest import ScriptedRouter
from tests.slack.sender import SlackSender

DM = "D0AGENT01"


def question(n: int, *, of: int = 3) -> Reply:
    """Question ``n`` of a DM conversation, its buttons carrying the step."""
    buttons = tuple(Button(str(v), "form:answer", f"7:{n}:{v}") for v in range(1, 6))
    return Reply(
        text=f"Question {n} of {of}: how was it?",
        buttons=(*buttons, Button("Cancel", "form:cancel", "7:0:", style="danger")),
        private=True,
    )


def conversation(incoming: Incoming) -> list[Reply]:
    """/selfreview asks question 1; each press asks the next; the last one thanks."""
    if incoming.action is None:
        return [question(1)]
    step = int((incoming.value or "7:0:0").split(":")[1])
    return [question(step + 1)] if step < 3 else [Reply(text="Thank you, saved.", private=True)]


# -- the fake's response_url, as Slack holds it ------------------------------------------


async def test_a_response_url_takes_five_responses_and_refuses_a_sixth(
    fake_slack: FakeSlack,
) -> None:
    url = fake_slack.new_response_url("C0KPITEAM")
    async with httpx.AsyncClient() as http:
        answers = [
            await http.post(url, json={"text": f"part {i}", "response_type": "ephemeral"})
            for i in range(RESPONSE_URL_USES + 1)
        ]
    assert [a.status_code for a in answers] == [200] * RESPONSE_URL_USES + [404]
    assert answers[-1].text == "used_url"
    assert len(fake_slack.response_posts(url)) == RESPONSE_URL_USES


async def test_a_response_url_expires_thirty_minutes_after_the_payload(
    fake_slack: FakeSlack,
) -> None:
    now = [1000.0]
    fake_slack.clock = lambda: now[0]
    url = fake_slack.new_response_url("C0KPITEAM")
    async with httpx.AsyncClient() as http:
        now[0] += RESPONSE_URL_TTL_S - 1
        fresh = await http.post(url, json={"text": "still in time"})
        now[0] += 2
        late = await http.post(url, json={"text": "too late"})
    assert fresh.status_code == 200
    assert (late.status_code, late.text) == (404, "expired_url")
    assert [p["text"] for p in fake_slack.response_posts(url)] == ["still in time"]


async def test_a_response_url_checks_the_message_as_slack_does(fake_slack: FakeSlack) -> None:
    url = fake_slack.new_response_url("C0KPITEAM")
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    async with httpx.AsyncClient() as http:
        too_many = await http.post(url, json={"text": "t", "blocks": [section] * 51})
        empty = await http.post(url, json={"response_type": "in_channel"})
        fifty = await http.post(url, json={"text": "t", "blocks": [section] * 50})
    assert (too_many.status_code, too_many.text) == (400, "invalid_blocks")
    assert (empty.status_code, empty.text) == (400, "no_text")
    assert fifty.status_code == 200
    assert len(fake_slack.response_posts(url)) == 1, "refused responses are not shown"


async def test_replace_original_edits_the_pressed_message_in_place(fake_slack: FakeSlack) -> None:
    async with httpx.AsyncClient(base_url=fake_slack.api_url) as api:
        posted = await api.post(
            "chat.postMessage",
            headers={"Authorization": f"Bearer {fake_slack.token}"},
            json={"channel": DM, "text": "Question 1"},
        )
        ts = posted.json()["ts"]
        url = fake_slack.new_response_url(DM, ts)
        replaced = await api.post(url, json={"replace_original": True, "text": "Question 2"})
    assert replaced.status_code == 200
    [message] = fake_slack.messages_in(DM)
    assert (message["ts"], message["text"], message.get("edited")) == (ts, "Question 2", True)


async def test_new_messages_through_response_urls_count_against_the_channels_posts_a_second(
    fake_slack: FakeSlack,
) -> None:
    """Slack: "no more than one message per second per channel, whether a message is posted
    via chat.postMessage, an incoming webhook, or one of the many other ways"."""
    async with httpx.AsyncClient() as http:
        answers = [
            await http.post(
                fake_slack.new_response_url(DM), json={"text": "x", "response_type": "in_channel"}
            )
            for _ in range(6)
        ]
    limited = [a for a in answers if a.status_code == 429]
    assert limited, "a burst of new messages in one channel is limited"
    assert all(int(a.headers["Retry-After"]) >= 1 for a in limited)
    assert len(fake_slack.messages_in(DM)) == 6 - len(limited)


# -- kpibot answers a press through it -----------------------------------------------------


async def test_the_next_question_replaces_the_pressed_one_through_the_response_url(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter, adapter
) -> None:
    scripted.script = conversation
    await slack.command("U0AGENT01", "/selfreview")
    await adapter.idle()
    [first] = fake_slack.messages_in(DM)
    pressed = await slack.click("U0AGENT01", {**first, "channel": DM}, "4")
    await adapter.idle()

    [shown] = fake_slack.messages_in(DM)
    assert shown["ts"] == first["ts"] and shown["text"].startswith("Question 2 of 3")
    texts = [e["text"] for b in shown["blocks"] if b["type"] == "context" for e in b["elements"]]
    assert texts == ["→ 4"], "what was chosen stays under question 1"
    [actions] = [b for b in shown["blocks"] if b["type"] == "actions"]
    assert actions["elements"][0]["value"] == "7:2:1", "only question 2 can be answered"
    [response] = fake_slack.response_posts(pressed.response_url)
    assert response["replace_original"] is True
    posts = [c.args.get("text") for c in fake_slack.calls_to("chat.postMessage")]
    assert posts == ["Question 1 of 3: how was it?"], "question 2 was not posted"
    assert fake_slack.calls_to("chat.update") == [], "the pressed buttons went in the same call"

    await slack.click("U0AGENT01", {**shown, "channel": DM}, "5")
    await adapter.idle()
    [shown] = fake_slack.messages_in(DM)
    texts = [e["text"] for b in shown["blocks"] if b["type"] == "context" for e in b["elements"]]
    assert shown["text"].startswith("Question 3 of 3") and texts == ["→ 4", "→ 5"]


async def test_a_refused_response_url_leaves_the_next_question_to_chat_post_message(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter, adapter
) -> None:
    """A press answered after the response_url's 30 minutes: the question is posted instead,
    and the pressed message still shows what was chosen."""
    scripted.script = conversation
    await slack.command("U0AGENT01", "/selfreview")
    await adapter.idle()
    [first] = fake_slack.messages_in(DM)
    now = [0.0]
    fake_slack.clock = lambda: now[0]
    scripted.hold()
    await slack.click("U0AGENT01", {**first, "channel": DM}, "4")
    now[0] += RESPONSE_URL_TTL_S + 1
    scripted.release()
    await adapter.idle()

    [refused] = fake_slack.calls_to("response_url")
    assert (refused.status, refused.response["error"]) == (404, "expired_url")
    old, new = fake_slack.messages_in(DM)
    assert new["text"].startswith("Question 2 of 3")
    assert [b["type"] for b in old["blocks"]][-1] == "context", "the old buttons were taken off"


@pytest.mark.parametrize("questions", [30])
async def test_a_conversation_longer_than_one_message_holds_goes_on_in_a_new_message(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter, adapter, questions: int
) -> None:
    """Each answered question keeps two blocks in the replaced message; past Slack's 50 the
    next question is posted as a message of its own."""

    def long(incoming: Incoming) -> list[Reply]:
        step = 0 if incoming.action is None else int((incoming.value or "").split(":")[1])
        return [question(step + 1, of=questions)]

    scripted.script = long
    await slack.command("U0AGENT01", "/selfreview")
    await adapter.idle()
    for _ in range(questions - 1):
        last = fake_slack.messages_in(DM)[-1]
        await slack.click("U0AGENT01", {**last, "channel": DM}, "3")
        await adapter.idle()
    shown = fake_slack.messages_in(DM)
    assert shown[-1]["text"].startswith(f"Question {questions} of {questions}")
    assert len(shown) == 2 and all(len(m["blocks"]) <= 50 for m in shown)
    assert [c for c in fake_slack.calls if c.status != 200] == [], "nothing refused on the way"
