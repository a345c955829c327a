"""The adapter against the fake Slack, driven by a scripted router: what Slack receives."""

from __future__ import annotations

from commands.messages import Button, Choice, FileAttachment, Image, Incoming, Question, Reply
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import ScriptedRouter
from tests.slack.sender import SlackSender

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def score_question(step: int = 0) -> Question:
    return Question(
        form_id="selfreview", conversation_id=7, field_id="task_completion", kind="score",
        prompt="How well did you complete your tasks?", step=step, total=3,
        choices=tuple(Choice(str(v), str(v)) for v in range(1, 6)),
    )  # fmt: skip


def asked(question: Question) -> Reply:
    buttons = tuple(
        Button(c.label, "form:answer", f"7:{question.step}:{c.value}") for c in question.choices
    )
    return Reply(
        text=f"Question {question.step + 1} of 3: {question.prompt}",
        buttons=(*buttons, Button("Cancel", "form:cancel", "7:0:", style="danger")),
        question=question,
        private=True,
    )


async def test_slash_command_reaches_the_router_as_neutral_text_and_answers_through_response_url(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter, adapter
) -> None:
    sent = await slack.command("U0MANAGER", "/rank", "demo 2026-10")
    assert sent.response.status_code == 200
    await adapter.idle()
    [incoming] = scripted.seen
    assert (incoming.platform, incoming.user_id, incoming.text) == (
        "slack",
        "U0MANAGER",
        "/rank demo 2026-10",
    )
    assert incoming.chat == "group" and incoming.chat_id == "C0KPITEAM"
    assert incoming.lang_hint == "zh", (
        "the Slack locale zh-CN is the hint for people kpibot does not know"
    )
    [posted] = fake_slack.response_posts(sent.response_url)
    assert posted["text"] == "you said /rank demo 2026-10"
    assert posted["response_type"] == "in_channel"
    assert posted["blocks"][0]["text"]["text"] == "you said /rank demo 2026-10"
    assert fake_slack.api_calls() == ["users.info", "response_url"]


async def test_kpi_gateway_and_the_mykpi_alias_reach_the_plain_commands(
    slack: SlackSender, scripted: ScriptedRouter, adapter
) -> None:
    await slack.command("U0ALICE", "/kpi")
    await slack.command("U0ALICE", "/kpi", "team   add  support")
    await slack.command("U0ALICE", "/mykpi", "2026-10")
    await adapter.idle()
    assert sorted(i.text for i in scripted.seen) == ["/help", "/me 2026-10", "/team add support"]


async def test_survey_is_a_slash_command_of_its_own(
    slack: SlackSender, scripted: ScriptedRouter, adapter
) -> None:
    sent = await slack.command("U0AGENT01", "/survey", "20")
    assert sent.response.status_code == 200
    await adapter.idle()
    assert [i.text for i in scripted.seen] == ["/survey 20"]


async def test_ephemeral_reply_is_shown_only_to_the_person(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter, adapter
) -> None:
    scripted.script = lambda incoming: [
        Reply(text="You can review only members of your teams.", ephemeral=True)
    ]
    sent = await slack.command("U0ALICE", "/review", "<@U0AGENT01>")
    await adapter.idle()
    [posted] = fake_slack.response_posts(sent.response_url)
    assert posted["response_type"] == "ephemeral"


async def test_private_reply_goes_to_the_members_dm_with_unfurling_off(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter, adapter
) -> None:
    scripted.script = lambda incoming: [
        Reply(text="Your result: see https://kpi.example/r/1", private=True)
    ]
    sent = await slack.command("U0AGENT01", "/mykpi")
    await adapter.idle()
    assert fake_slack.response_posts(sent.response_url) == []
    [dm] = fake_slack.messages_in("D0AGENT01")
    assert dm["text"] == "Your result: see https://kpi.example/r/1"
    assert (dm["unfurl_links"], dm["unfurl_media"]) == (False, False)
    assert fake_slack.calls_to("conversations.open") == [], "a DM costs no conversations.open"
    [post] = fake_slack.calls_to("chat.postMessage")
    assert post.args["channel"] == "U0AGENT01"


async def test_no_post_unfurls_a_link_in_a_channel_a_dm_or_through_the_response_url(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter, adapter
) -> None:
    link = "https://kpi.example/s/abc123"
    scripted.script = lambda incoming: [
        Reply(text=f"Survey link: {link}"),
        Reply(text=f"Only you see: {link}", ephemeral=True),
        Reply(text=f"In your DM: {link}", private=True),
    ]
    sent = await slack.command("U0AGENT01", "/survey")
    await slack.dm("U0AGENT01", "hello")
    await adapter.send("U0AGENT01", Reply(text=f"Reminder: {link}"))
    await adapter.idle()
    posts = [c.args for c in fake_slack.calls_to("chat.postMessage", ok=True)]
    posts += fake_slack.response_posts(sent.response_url)
    assert len(posts) == 7 and all(link in p["text"] for p in posts)
    assert [(p.get("unfurl_links"), p.get("unfurl_media")) for p in posts] == [(False, False)] * 7


async def test_question_in_a_dm_shows_score_buttons_and_a_press_comes_back_as_the_buttons_action(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter, adapter
) -> None:
    def script(incoming: Incoming) -> list[Reply]:
        if incoming.action is None:
            return [asked(score_question())]
        return [Reply(text=f"saved {incoming.value}", private=True)]

    scripted.script = script
    await slack.command("U0AGENT01", "/selfreview")
    await adapter.idle()
    [question] = fake_slack.messages_in("D0AGENT01")
    section, actions = question["blocks"]
    assert section["text"]["text"].endswith("How well did you complete your tasks?")
    assert [e["text"]["text"] for e in actions["elements"]] == ["1", "2", "3", "4", "5", "Cancel"]
    assert actions["elements"][-1]["style"] == "danger"
    assert len({e["action_id"] for e in actions["elements"]}) == 6, (
        "action ids are unique in a block"
    )

    await slack.click("U0AGENT01", {**question, "channel": "D0AGENT01"}, "4")
    await adapter.idle()
    pressed = scripted.seen[-1]
    assert (pressed.action, pressed.value, pressed.chat) == ("form:answer", "7:0:4", "private")
    assert fake_slack.texts_in("D0AGENT01")[-1] == "saved 7:0:4"


async def test_plain_text_in_the_dm_is_an_answer_and_the_reply_stays_in_that_dm(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter, adapter
) -> None:
    sent = await slack.dm("U0AGENT01", "Closed 40 tickets & mentored <new> hires")
    assert sent.response.status_code == 200
    await adapter.idle()
    [incoming] = scripted.seen
    assert incoming.text == "Closed 40 tickets & mentored <new> hires"
    assert incoming.event_id == sent.body["event_id"]
    [reply] = fake_slack.messages_in("D0AGENT01")
    assert (
        reply["blocks"][0]["text"]["text"]
        == "you said Closed 40 tickets &amp; mentored &lt;new&gt; hires"
    )
    assert fake_slack.calls_to("conversations.open") == [], (
        "kpibot answers in the DM it was written in"
    )


async def test_kpibots_own_messages_and_edits_are_not_treated_as_answers(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter, adapter
) -> None:
    bot_post = {
        "type": "event_callback",
        "event_id": "Ev0BOT",
        "team_id": "T0KPIBOT",
        "api_app_id": "AKPIBOT00",
        "event": {
            "type": "message",
            "subtype": "bot_message",
            "bot_id": "BKPIBOT00",
            "text": "hello",
            "channel": "D0AGENT01",
            "channel_type": "im",
            "ts": "1.1",
        },
    }
    import json

    await slack.post(json.dumps(bot_post), "application/json")
    edited = {
        **bot_post,
        "event_id": "Ev0EDIT",
        "event": {**bot_post["event"], "subtype": "message_changed"},
    }
    await slack.post(json.dumps(edited), "application/json")
    await adapter.idle()
    assert scripted.seen == []


async def test_ranking_image_is_uploaded_with_files_upload_v2_into_the_channel(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter, adapter
) -> None:
    scripted.script = lambda incoming: [
        Reply(
            text="Ranking demo 2026-10",
            image=Image("rank-demo-2026-10.png", PNG, alt="Bar chart of totals"),
        )
    ]
    sent = await slack.command("U0MANAGER", "/rank", "demo")
    await adapter.idle()
    assert fake_slack.api_calls() == [
        "users.info", "files.getUploadURLExternal", "upload", "files.completeUploadExternal",
    ]  # fmt: skip
    [upload] = fake_slack.files.values()
    assert upload.data == PNG and upload.completed
    assert (upload.filename, upload.alt_txt, upload.channel) == (
        "rank-demo-2026-10.png",
        "Bar chart of totals",
        "C0KPITEAM",
    )
    assert upload.initial_comment == "Ranking demo 2026-10"
    assert fake_slack.response_posts(sent.response_url) == []


async def test_image_falls_back_to_the_dm_when_kpibot_is_not_in_the_channel(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter, adapter
) -> None:
    fake_slack.refuse_channel("C0ELSEWHERE")
    scripted.script = lambda incoming: [Reply(text="Ranking", image=Image("rank.png", PNG))]
    await slack.command("U0MANAGER", "/rank", channel_id="C0ELSEWHERE", channel_name="random")
    await adapter.idle()
    shared = [f for f in fake_slack.files.values() if f.completed]
    assert [f.channel for f in shared] == ["D0MANAGER"]


async def test_send_says_something_on_kpibots_own_initiative_in_the_members_dm(
    fake_slack: FakeSlack, adapter
) -> None:
    ref = await adapter.send("U0AGENT01", Reply(text="Reminder: your self-review closes tomorrow."))
    await adapter.send(
        "U0AGENT01", Reply(text="Results are out", buttons=(Button("Acknowledge", "ack"),))
    )
    [reminder, results] = fake_slack.messages_in("D0AGENT01")
    assert ref == f"D0AGENT01:{reminder['ts']}"
    assert reminder["text"] == "Reminder: your self-review closes tomorrow."
    assert results["blocks"][-1]["elements"][0]["action_id"].startswith("ack")
    assert fake_slack.calls_to("conversations.open") == [], "a DM costs no conversations.open"
    posted_to = [c.args["channel"] for c in fake_slack.calls_to("chat.postMessage")]
    assert posted_to == ["U0AGENT01", "D0AGENT01"], "the DM channel is remembered"


async def test_a_private_file_is_uploaded_into_the_dm_with_its_name_and_bytes(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter, adapter
) -> None:
    export = FileAttachment(
        "team-demo-2026-10.xlsx", b"PK\x03\x04 workbook", mime="application/vnd.ms-excel"
    )
    scripted.script = lambda incoming: [Reply(text="Your export", file=export, private=True)]
    sent = await slack.command("U0MANAGER", "/kpi", "export demo", channel_id="C0KPITEAM")
    await adapter.idle()
    [upload] = fake_slack.files.values()
    assert (upload.filename, upload.data, upload.channel) == (
        export.filename,
        export.data,
        "D0MANAGER",
    )
    assert upload.initial_comment == "Your export"
    assert fake_slack.response_posts(sent.response_url) == []
