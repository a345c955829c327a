"""Acks first: while more than BUSY_REQUESTS requests are being acknowledged, the work after
the acks goes one request at a time, and a modal submission is acked at once."""

from __future__ import annotations

import asyncio

import httpx

from bot.slack import adapter as slack_module
from bot.slack.adapter import BUSY_REQUESTS, SlackAdapter
from commands.messages import Reply
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import ScriptedRouter, make_adapter, web_app
from tests.slack.sender import SlackSender
from tests.slack.test_modal import review_script
from tests.waiting import CEILING_S, settle, wait_until


def burst(adapter: SlackAdapter, extra: int = 1) -> None:
    """As if BUSY_REQUESTS + extra other requests were being acknowledged right now."""
    for _ in range(BUSY_REQUESTS + extra):
        adapter._request_started()


async def burst_over(adapter: SlackAdapter, extra: int = 1) -> None:
    for _ in range(BUSY_REQUESTS + extra):
        await adapter._request_acked()


async def test_while_busy_the_work_after_the_acks_goes_one_at_a_time_then_all_at_once(
    fake_slack: FakeSlack, scripted: ScriptedRouter
) -> None:
    adapter = make_adapter(fake_slack, scripted)
    started: list[int] = []
    finish = {n: asyncio.Event() for n in range(4)}

    async def work(n: int) -> int:
        started.append(n)
        await finish[n].wait()
        return n

    burst(adapter)
    tasks = [adapter._spawn(work(n)) for n in range(4)]
    await wait_until(lambda: bool(started), what="the first request's work starts")
    await settle()
    assert started == [0], "one request's work at a time while the acks of a burst go out"
    finish[0].set()
    await wait_until(lambda: len(started) > 1, what="the next request's work starts")
    await settle()
    assert started == [0, 1], "the next one in order takes its turn"
    await burst_over(adapter)
    await wait_until(lambda: len(started) == 4, what="the rest start once the burst is over")
    assert started == [0, 1, 2, 3], "the burst is over: everyone's turn at once"
    for event in finish.values():
        event.set()
    assert [await t for t in tasks] == [0, 1, 2, 3]
    await adapter.stop()


async def test_when_not_busy_the_work_starts_at_once_side_by_side(
    fake_slack: FakeSlack, scripted: ScriptedRouter
) -> None:
    adapter = make_adapter(fake_slack, scripted)
    for _ in range(BUSY_REQUESTS):  # exactly at the limit is not busy
        adapter._request_started()
    started: list[int] = []
    gate = asyncio.Event()

    async def work(n: int) -> None:
        started.append(n)
        await gate.wait()

    tasks = [adapter._spawn(work(n)) for n in range(3)]
    await wait_until(lambda: len(started) == 3, what="all three start while none has finished")
    assert sorted(started) == [0, 1, 2]
    gate.set()
    await asyncio.gather(*tasks)
    await adapter.stop()


async def test_a_command_in_a_burst_is_acked_at_once_and_answered_when_its_turn_comes(
    fake_slack: FakeSlack,
) -> None:
    scripted = ScriptedRouter(lambda incoming: [Reply(text=f"answer to {incoming.text}")])
    adapter = make_adapter(fake_slack, scripted)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web_app(adapter)), base_url="http://t"
    ) as client:
        slack = SlackSender(client, fake_slack)
        scripted.hold()
        burst(adapter)
        first = await slack.command("U0ALICE", "/rank", "")
        second = await slack.command("U0ALICE", "/me", "")
        assert first.response.status_code == second.response.status_code == 200
        await wait_until(lambda: bool(scripted.seen), what="the first command reaches the router")
        await settle()
        assert [i.text for i in scripted.seen] == ["/rank"], "the second waits for its turn"
        scripted.release()
        await wait_until(lambda: len(scripted.seen) > 1, what="the second command's turn comes")
        assert [i.text for i in scripted.seen] == ["/rank", "/me"], (
            "one at a time, not never: the next starts when the first is done"
        )
        await burst_over(adapter)
        await adapter.idle()
    assert [p["text"] for p in fake_slack.response_posts(first.response_url)] == ["answer to /rank"]
    assert [p["text"] for p in fake_slack.response_posts(second.response_url)] == ["answer to /me"]
    await adapter.stop()


async def test_a_submission_in_a_burst_is_acked_at_once_with_working_on_it_then_updated(
    fake_slack: FakeSlack, scripted: ScriptedRouter, monkeypatch
) -> None:
    monkeypatch.setattr(slack_module, "WORKING_VIEW_MIN_S", 0.05)
    scripted.script = review_script
    adapter = make_adapter(fake_slack, scripted, ack_budget=2 * CEILING_S)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web_app(adapter)), base_url="http://t"
    ) as client:
        slack = SlackSender(client, fake_slack)
        await slack.command("U0ALICE", "/review", "<@U0AGENT01>")
        await adapter.idle()
        [view] = fake_slack.views.values()
        burst(adapter)
        sent = await asyncio.wait_for(
            slack.submit("U0ALICE", view, {"ability": "4", "collaboration": "4", "service": "4"}),
            timeout=CEILING_S,  # half the budget: an ack that waited for it fails here
        )
        assert sent.ack["response_action"] == "update", "acked without waiting the budget"
        assert "submit" not in sent.ack["view"], "the working view cannot be submitted again"
        await burst_over(adapter)
        await adapter.idle()
    assert fake_slack.texts_in("D0ALICE") == ["Review of Li Lei saved. Total preview: 88.1"]
    [updated] = [c.args["view"] for c in fake_slack.calls_to("views.update", ok=True)]
    assert "Review of Li Lei saved" in str(updated)
    await adapter.stop()


async def test_in_flight_counts_requests_until_their_ack_whatever_they_are(
    fake_slack: FakeSlack, scripted: ScriptedRouter
) -> None:
    scripted.script = lambda incoming: [Reply(text="ok")]
    adapter = make_adapter(fake_slack, scripted)
    seen: list[int] = []
    real = adapter._request_acked

    async def watch() -> None:
        seen.append(adapter.in_flight)
        await real()

    adapter._request_acked = watch  # type: ignore[method-assign]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web_app(adapter)), base_url="http://t"
    ) as client:
        slack = SlackSender(client, fake_slack)
        await asyncio.gather(*(slack.command("U0ALICE", "/help", "") for _ in range(5)))
        await adapter.idle()
    assert len(seen) == 5 and max(seen) >= 1
    assert adapter.in_flight == 0
    await adapter.stop()
