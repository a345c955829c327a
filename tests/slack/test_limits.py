"""Slack's documented limits, as the strict fake applies them: what kpibot sends fits them."""

from __future__ import annotations

import asyncio

import pytest

from bot.slack import render
from commands.messages import Button, Incoming, Reply
from tests.fakes.slack_api import FakeSlack, check_view
from tests.slack.conftest import ScriptedRouter
from tests.slack.sender import SlackSender

ADMIN_PICKER = 1_308
"""An admin's /review with no name, in an organisation of 1,300: one button per agent."""


def people(count: int) -> tuple[Button, ...]:
    return tuple(Button(f"Agent {i:04d} 客服", "review:pick", str(1000 + i)) for i in range(count))


def test_the_strict_fake_refuses_what_slack_refuses_with_slacks_own_errors() -> None:
    """The checks the fake makes, each with the shape Slack answers."""
    fake = FakeSlack()
    too_many = {"text": "x", "blocks": [{"type": "divider"}] * 51}
    header = {"text": "x", "blocks": [{"type": "header", "text": render.plain("h" * 151)}]}
    context = {"text": "x", "blocks": [{"type": "context", "elements": [render.plain("c")] * 11}]}
    options = [{"text": render.plain(str(i)), "value": str(i)} for i in range(101)]
    select = {
        "text": "x",
        "blocks": [{"type": "actions", "elements": [
            {"type": "static_select", "action_id": "a", "placeholder": render.plain("p"),
             "options": options},
        ]}],
    }  # fmt: skip
    for payload in (too_many, header, context, select):
        with pytest.raises(Exception) as refused:
            fake._message(payload)
        assert refused.value.error == "invalid_blocks"  # type: ignore[attr-defined]
        assert refused.value.extra["response_metadata"]["messages"]  # type: ignore[attr-defined]
    modal = {"type": "modal", "title": render.plain("t"), "blocks": [{"type": "divider"}] * 101}
    assert any("100" in p for p in check_view(modal))


def test_a_long_reply_is_split_into_messages_and_a_big_picker_is_select_menus() -> None:
    text = "\n".join(f"{i:05d} " + "明细" * 40 for i in range(2_000))  # ~170,000 characters
    reply = Reply(text=text, buttons=(*people(ADMIN_PICKER), Button("Cancel", "form:cancel")))
    parts = render.messages(reply)
    assert len(parts) > 1 and all(len(p["blocks"]) <= render.MESSAGE_BLOCKS_MAX for p in parts)
    shown = "\n".join(
        b["text"]["text"] for p in parts for b in p["blocks"] if b["type"] == "section"
    )
    assert shown.replace("\n", "") == render.escape(text).replace("\n", ""), "every word, in order"
    selects = [
        e for p in parts for b in p["blocks"] if b["type"] == "actions" for e in b["elements"]
        if e["type"] == "static_select"
    ]  # fmt: skip
    assert all(len(s["options"]) <= 100 for s in selects)
    assert sum(len(s["options"]) for s in selects) == ADMIN_PICKER, "everyone can be picked"
    assert selects[0]["placeholder"]["text"] == "Agent 0000 客服 … Agent 0099 客服"
    cancel = parts[-1]["blocks"][-1]["elements"][-1]
    assert cancel["type"] == "button" and cancel["text"]["text"] == "Cancel", "few buttons stay"


async def test_an_admins_picker_of_1308_agents_reaches_slack_and_a_choice_comes_back_as_the_action(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter, adapter
) -> None:
    """Reproduces issue 16 item 1: 1,308 buttons in 54 blocks were refused (invalid_blocks)."""

    def script(incoming: Incoming) -> list[Reply]:
        if incoming.action is None:
            return [Reply(text="Whom do you review?", buttons=people(ADMIN_PICKER), private=True)]
        return [Reply(text=f"picked {incoming.value}", private=True)]

    scripted.script = script
    await slack.command("U0MANAGER", "/review")
    await adapter.idle()
    assert fake_slack.calls_to("chat.postMessage", ok=False) == []
    [picker] = fake_slack.messages_in("D0MANAGER")
    await slack.click("U0MANAGER", {**picker, "channel": "D0MANAGER"}, "Agent 0777 客服")
    await adapter.idle()
    chosen = scripted.seen[-1]
    assert (chosen.action, chosen.value) == ("review:pick", "1777")
    assert fake_slack.texts_in("D0MANAGER")[-1] == "picked 1777"


async def test_slack_sends_and_lt_gt_escaped_and_kpibot_keeps_what_was_typed_once(
    slack: SlackSender, scripted: ScriptedRouter, adapter
) -> None:
    """Reproduces issue 16 item 2: ``&amp;`` was stored and shown as typed text."""
    await slack.command("U0MANAGER", "/kpi", "team add R&D <Shanghai>")
    await slack.dm("U0AGENT01", "I typed &lt; literally & <this>")
    await adapter.idle()
    assert sorted(i.text for i in scripted.seen) == [
        "/team add R&D <Shanghai>",
        "I typed &lt; literally & <this>",
    ]


async def test_dms_to_200_members_cost_no_conversations_open_and_no_429(
    fake_slack: FakeSlack, adapter
) -> None:
    """Reproduces issue 16 item 4: conversations.open (Tier 3) before every first DM."""
    users = [f"U0BULK{i:03d}" for i in range(200)]
    for user in users:
        fake_slack.add_user(user, user.lower())
    await asyncio.gather(*(adapter.send(u, Reply(text="Results are out")) for u in users))
    assert fake_slack.calls_to("conversations.open") == []
    assert fake_slack.calls_to(ok=False) == []
    assert all(fake_slack.texts_in(fake_slack.dm_channel(u)) == ["Results are out"] for u in users)


PAUSE_SCOPES = [
    # (method, arguments of the call Slack answers 429, of another caller's, must it wait)
    ("chat.postMessage", {"channel": "D0ONE", "text": "x"}, {"channel": "D0ONE"}, True),
    ("chat.postMessage", {"channel": "D0ONE", "text": "x"}, {"channel": "D0TWO"}, False),
    ("conversations.open", {"users": "U0ONE"}, {"users": "U0TWO"}, True),
    ("chat.update", {"channel": "D0ONE", "ts": "1.0", "text": "x"}, {"channel": "D0TWO"}, True),
    ("users.info", {"user": "U0ONE"}, {"user": "U0TWO"}, True),
]


@pytest.mark.parametrize(("method", "refused", "other", "waits"), PAUSE_SCOPES)
async def test_a_429_pauses_chat_post_message_in_its_channel_and_a_tier_method_in_the_workspace(
    fake_slack: FakeSlack,
    adapter,
    method: str,
    refused: dict[str, str],
    other: dict[str, str],
    waits: bool,
) -> None:
    """Slack limits ``chat.postMessage`` per channel ("1 per second per channel") and the
    tiered methods per method per workspace: a 429's pause has the limit's scope."""
    fake_slack.rate_limit(method, calls=0, per=60.0, retry_after=3, channel=refused.get("channel"))
    call = asyncio.create_task(adapter.client.api_call(method, json=refused))
    await fake_slack.wait_until(lambda: fake_slack.calls_to(method, ok=False) != [])
    await fake_slack.wait_until(lambda: adapter.pacing.pause_left(method) > 0)
    left = adapter.pacing.pause_left(method, other.get("channel", ""))
    call.cancel()
    assert (left > 1.0) is waits, f"{method} {other}: {left:.1f} s left"


async def test_a_429_in_one_dm_holds_back_that_dm_only_and_its_message_arrives_after_it(
    fake_slack: FakeSlack, adapter
) -> None:
    """Reproduces issue 16's broadcast pauses: a 429 on one DM paused chat.postMessage for
    the whole workspace, a second of Slack's share each (about 15 per 10,000 results)."""
    waiting, meanwhile = "U0WAIT01", "U0WAIT02"
    for user in (waiting, meanwhile):
        fake_slack.add_user(user, user.lower())
        await adapter.send(user, Reply(text="first"))  # kpibot learns the DM channel
    dm = fake_slack.dm_channel(waiting)
    fake_slack.rate_limit("chat.postMessage", calls=0, per=3.0, retry_after=3, channel=dm)
    late = asyncio.create_task(adapter.send(waiting, Reply(text="told to wait")))
    await fake_slack.wait_until(lambda: adapter.pacing.pause_left("chat.postMessage") > 0)
    fake_slack.rate_limit("chat.postMessage", calls=1_000, per=3.0, channel=dm)  # Slack lets go
    waited = adapter.pacing.waited_s
    await adapter.send(meanwhile, Reply(text="someone else, meanwhile"))
    assert adapter.pacing.waited_s == waited, "the other DM waited for this one's Retry-After"
    await late
    assert fake_slack.texts_in(dm) == ["first", "told to wait"]
    assert fake_slack.texts_in(fake_slack.dm_channel(meanwhile))[-1] == "someone else, meanwhile"
    assert len(fake_slack.calls_to("chat.postMessage", ok=False)) == 1, "nobody refused again"
