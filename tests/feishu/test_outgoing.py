"""Messages kpibot starts (reminders, the monthly broadcast) through Feishu's limits: 5 a
second to one person, the app's 50 a second; nothing refused, nothing shown twice."""

from __future__ import annotations

import asyncio
import time

from commands.messages import Button, Outgoing, Reply
from tests.fakes.feishu_api import FakeFeishu
from tests.feishu.conftest import ScriptedRouter


async def test_a_burst_to_one_person_and_to_many_stays_under_feishus_limits(
    feishu: FakeFeishu, start_adapter
) -> None:
    lina, others = feishu.user("李娜"), [feishu.user(f"客服{n}") for n in range(20)]
    address = {1: lina.open_id, **{10 + n: u.open_id for n, u in enumerate(others)}}
    adapter = await start_adapter(ScriptedRouter(lambda i: []), address=address.get)
    started = time.monotonic()
    to_lina = [Outgoing(1, Reply(text=f"提醒 {n}"), key=f"remind:{n}") for n in range(12)]
    broadcast = [
        Outgoing(
            10 + n,
            Reply(text="2026-10 的结果已发布", buttons=(Button("查看", "me:show", ""),)),
            key=f"result:{n}",
        )
        for n in range(20)
    ]
    refs = await asyncio.gather(*(adapter.send_outgoing(o) for o in [*to_lina, *broadcast]))
    took = time.monotonic() - started
    assert all(refs) and len(set(refs)) == len(refs)
    assert feishu.limited == {}  # no 230020, no 99991400
    assert feishu.screen(lina.p2p_chat) == [f"提醒 {n}" for n in range(12)]
    assert all(feishu.screen(u.p2p_chat) == ["2026-10 的结果已发布"] for u in others)
    assert took >= (12 - 5) / 5.0  # one person's 12 at 5 a second (a second's burst first)


async def test_a_member_not_on_feishu_is_not_sent_anything(
    feishu: FakeFeishu, start_adapter
) -> None:
    adapter = await start_adapter(ScriptedRouter(lambda i: []), address=lambda member_id: None)
    assert await adapter.send_outgoing(Outgoing(5, Reply(text="hello"), key="k")) is None
    assert feishu.message_calls() == []


async def test_an_outgoing_sent_again_after_an_unclear_failure_is_shown_once(
    feishu: FakeFeishu, start_adapter
) -> None:
    """Each send has a uuid from the outbox key: Feishu keeps one message per uuid for an hour."""
    lina = feishu.user("李娜")
    adapter = await start_adapter(ScriptedRouter(lambda i: []), address={1: lina.open_id}.get)
    message = Outgoing(1, Reply(text="结果已发布"), key="result:2026-10:1")
    first = await adapter.send_outgoing(message)
    again = await adapter.send_outgoing(message)  # the outbox did not hear back and sends again
    assert first == again and feishu.screen(lina.p2p_chat) == ["结果已发布"]
