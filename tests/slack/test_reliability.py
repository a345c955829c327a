"""Retries, rate limits, server errors, the 3-second ack, forged requests, internal errors."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from commands.i18n import translator
from commands.messages import Image, Incoming, Reply
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import ScriptedRouter
from tests.slack.sender import SlackSender


async def test_a_retried_event_has_one_effect(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter, adapter
) -> None:
    first = await slack.dm("U0AGENT01", "4", event_id="Ev0RETRY01")
    again = await slack.dm("U0AGENT01", "4", event_id="Ev0RETRY01", retry_num=1)
    third = await slack.dm("U0AGENT01", "4", event_id="Ev0RETRY01", retry_num=2)
    await adapter.idle()
    assert [s.response.status_code for s in (first, again, third)] == [200, 200, 200]
    assert [i.event_id for i in scripted.seen] == ["Ev0RETRY01"]
    assert fake_slack.texts_in("D0AGENT01") == ["you said 4"]


async def test_the_same_event_delivered_twice_while_the_first_is_still_working_has_one_effect(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter, adapter
) -> None:
    scripted.hold()
    await slack.dm("U0AGENT01", "submit", event_id="Ev0SLOW")
    await slack.dm("U0AGENT01", "submit", event_id="Ev0SLOW", retry_num=1)
    scripted.release()
    await adapter.idle()
    assert len(scripted.seen) == 1
    assert fake_slack.texts_in("D0AGENT01") == ["you said submit"]


async def test_the_ack_arrives_while_a_slow_chart_is_still_rendering(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter, adapter
) -> None:
    scripted.script = lambda incoming: [
        Reply(text="Ranking of demo"),
        Reply(text="", image=Image("rank.png", b"\x89PNG chart", alt="chart")),
    ]
    scripted.hold()  # the chart is still being drawn
    sent = await slack.command("U0MANAGER", "/rank", "demo")
    assert sent.response.status_code == 200 and sent.response.content == b""
    assert await asyncio.to_thread(scripted.entered.wait, 10), "the router was started"
    assert scripted.finished == [], "the ack left before the slow work finished"
    assert fake_slack.response_posts(sent.response_url) == [] and fake_slack.files == {}
    scripted.release()
    await adapter.idle()
    assert [p["text"] for p in fake_slack.response_posts(sent.response_url)] == ["Ranking of demo"]
    [chart] = fake_slack.files.values()
    assert chart.data == b"\x89PNG chart" and chart.channel == "C0KPITEAM"


async def test_a_429_storm_from_many_people_at_once_is_waited_out_and_each_dm_arrives_once_in_order(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter, adapter
) -> None:
    people = ["U0MANAGER", "U0AGENT01", "U0ALICE", "U0STRANGER"]
    scripted.script = lambda incoming: [
        Reply(text=f"{incoming.user_id} line {n}", private=True) for n in (1, 2)
    ]
    fake_slack.rate_limit("chat.postMessage", calls=3, per=1.0, retry_after=1)
    await asyncio.gather(*(slack.command(user, "/selfreview") for user in people))
    await adapter.idle()
    for user in people:
        assert fake_slack.texts_in(fake_slack.dm_channel(user)) == [
            f"{user} line 1",
            f"{user} line 2",
        ]
    posts = fake_slack.calls_to("chat.postMessage")
    limited = [c for c in posts if c.status == 429]
    assert limited, "the storm happened"
    assert all(c.response == {"ok": False, "error": "ratelimited"} for c in limited)
    for refused in limited:
        retry = next(c for c in posts if c.at > refused.at and c.args == refused.args)
        assert retry.at - refused.at >= 1.0, "the client waited the Retry-After it was given"


async def test_a_rate_limited_response_url_is_waited_out_too(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter, adapter
) -> None:
    scripted.script = lambda incoming: [Reply(text=f"part {n}") for n in (1, 2, 3)]
    fake_slack.rate_limit("response_url", calls=1, per=1.0, retry_after=1)
    sent = await slack.command("U0MANAGER", "/rank", "demo")
    await adapter.idle()
    assert [p["text"] for p in fake_slack.response_posts(sent.response_url)] == [
        "part 1",
        "part 2",
        "part 3",
    ]
    assert [c.status for c in fake_slack.calls_to("response_url")].count(429) >= 1


async def test_server_errors_are_retried_with_backoff(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter, adapter
) -> None:
    scripted.script = lambda incoming: [Reply(text="hello", private=True)]
    fake_slack.fail_next("chat.postMessage", times=2, status=503)
    await slack.command("U0MANAGER", "/kpi")
    await adapter.idle()
    assert [c.status for c in fake_slack.calls_to("chat.postMessage")] == [503, 503, 200]
    assert fake_slack.texts_in("D0MANAGER") == ["hello"]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param({"secret": "not-the-signing-secret"}, id="wrong secret"),
        pytest.param(
            {"timestamp": int(time.time()) - 6 * 60}, id="timestamp over five minutes old"
        ),
        pytest.param({"headers": {"X-Slack-Signature": "v0=" + "0" * 64}}, id="forged signature"),
    ],
)
async def test_a_request_not_signed_by_slack_gets_401_and_nothing_runs(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter, adapter, tamper: dict
) -> None:
    command = await slack.command("U0MANAGER", "/rank", "demo", **tamper)
    event = await slack.dm("U0MANAGER", "hello", **tamper)
    await adapter.idle()
    assert (command.response.status_code, event.response.status_code) == (401, 401)
    assert scripted.seen == []
    assert fake_slack.calls == []


async def test_a_body_changed_after_signing_is_refused(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter, adapter
) -> None:
    body = "command=%2Frank&text=demo&user_id=U0MANAGER&trigger_id=1.2.3&response_url=x"
    ts = str(int(time.time()))
    from tests.slack.sender import SIGNING_SECRET, signature

    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature(SIGNING_SECRET, ts, body),
    }
    response = await slack.client.post(
        "/slack/events", content=body.replace("demo", "other"), headers=headers
    )
    assert response.status_code == 401
    assert scripted.seen == []


async def test_url_verification_challenge_is_answered(
    slack: SlackSender, scripted: ScriptedRouter
) -> None:
    body = {
        "token": "x",
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
        "type": "url_verification",
    }
    response = await slack.post(json.dumps(body), "application/json")
    assert response.status_code == 200
    assert response.json() == {"challenge": body["challenge"]}
    assert scripted.seen == []


def explode(incoming: Incoming) -> list[Reply]:
    raise RuntimeError("database is on fire")


APOLOGY = (
    "Sorry, something went wrong on our side. Please try again; if it keeps happening, give the "
    "admin this reference: {ref}"
)


@pytest.mark.parametrize(("user", "lang"), [("U0MANAGER", "zh"), ("U0ALICE", "en")])
async def test_an_internal_error_is_logged_with_a_reference_and_answered_in_the_members_language(
    slack: SlackSender,
    fake_slack: FakeSlack,
    scripted: ScriptedRouter,
    adapter,
    caplog,
    user: str,
    lang: str,
) -> None:
    scripted.script = explode
    sent = await slack.command(user, "/rank", "demo")
    await adapter.idle()
    [failure] = [r for r in caplog.records if r.name == "bot.slack.adapter" and r.exc_info]
    ref = failure.args[0]
    assert "database is on fire" in caplog.text
    [apology] = fake_slack.response_posts(sent.response_url)
    assert apology["response_type"] == "ephemeral"
    assert apology["text"] == translator(lang)(APOLOGY, ref=ref)
    assert (apology["text"] == APOLOGY.format(ref=ref)) == (lang == "en"), (
        "Chinese for a zh-CN Slack user"
    )


async def test_a_slack_user_kpibot_does_not_know_is_passed_on_with_their_slack_id_and_locale(
    slack: SlackSender, fake_slack: FakeSlack, scripted: ScriptedRouter, adapter
) -> None:
    await slack.command("U0STRANGER", "/rank")
    # not even in Slack's directory (deleted, or from another organisation)
    await slack.command("U0GHOST", "/rank")
    await adapter.idle()
    # two people's commands are served side by side: no order between them is promised
    assert sorted((i.user_id, i.lang_hint or "") for i in scripted.seen) == [
        ("U0GHOST", ""),
        ("U0STRANGER", "en"),
    ]
