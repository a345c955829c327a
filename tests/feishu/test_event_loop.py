"""Issue 19's ack stall: no Open API call runs on the event loop that answers Feishu's callbacks.

lark-oapi's ``a*`` methods build an ``httpx.AsyncClient`` for every call, and with it a TLS
context (the CA bundle read and parsed, 20-60 ms); on the event loop, every callback in
flight waited for each of them (``bench/ack_bench.py --platform feishu``: p99 2.7-5 s during a
broadcast, py-spy: the loop in ``ssl.create_default_context`` under ``Transport.aexecute``).
"""

from __future__ import annotations

import ssl
import threading
from typing import Any

import pytest

from commands.messages import Button, Image, Outgoing, Reply
from tests.fakes.feishu_api import FakeFeishu
from tests.feishu.chat import FeishuChat, seen
from tests.feishu.conftest import ScriptedRouter

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


async def test_answers_sends_and_uploads_build_nothing_on_the_event_loop(
    feishu: FakeFeishu, start_adapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop_thread = threading.current_thread()
    on_loop: list[str] = []
    build = ssl.create_default_context

    def recorded(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        if threading.current_thread() is loop_thread:
            on_loop.append("TLS context")
        return build(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", recorded)

    def script(incoming: Any) -> list[Reply]:
        if incoming.action == "help:0":
            return [Reply(text="Help", buttons=(Button("Again", "help:0"),))]
        return [
            Reply(
                text="Your rank", image=Image("rank.png", PNG), buttons=(Button("Help", "help:0"),)
            )
        ]

    lina = feishu.user("李娜")
    adapter = await start_adapter(ScriptedRouter(script), address={1: lina.open_id}.get)
    li = FeishuChat(feishu, adapter, lina)
    calls = await li.say("/rank")  # an image uploaded, a card created
    assert feishu.screen(lina.p2p_chat) == ["Your rank\n[image]"]
    calls = await li.press("Help")  # the pressed card patched in place
    assert seen(calls) == [("patch", "Help", ["Again"])]
    assert await adapter.send_outgoing(Outgoing(1, Reply(text="2026-10 的结果已发布"), key="r:1"))
    assert feishu.screen(lina.p2p_chat)[-1] == "2026-10 的结果已发布"
    assert on_loop == []
