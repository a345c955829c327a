"""Issue 19's ack budget: lark-oapi's Open API calls keep their connection (bot.feishu.keepalive).

lark-oapi's transport called ``requests.request``: a new session, a new TCP connection (a new
TLS handshake on open.feishu.cn) and two scans of the environment for every card sent, CPU on
the replica that answers Feishu's callbacks. The fake Feishu records each call's client port.
"""

from __future__ import annotations

import asyncio
import json
from http.client import HTTPMessage

import pytest
import requests
from requests.cookies import MockRequest, MockResponse

from bot.feishu import keepalive
from bot.feishu.adapter import API_THREADS
from commands.messages import Outgoing, Reply
from tests.fakes.feishu_api import FakeFeishu
from tests.feishu.chat import FeishuChat
from tests.feishu.conftest import ScriptedRouter


async def test_the_cards_of_a_conversation_share_connections(
    feishu: FakeFeishu, start_adapter
) -> None:
    lina = feishu.user("李娜")
    router = ScriptedRouter(lambda i: [Reply(text=f"you said {i.text}")])
    adapter = await start_adapter(router, address={1: lina.open_id}.get)
    li = FeishuChat(feishu, adapter, lina)
    start = len(feishu.calls)
    for text in ("/help", "/me", "/rank", "/status"):
        await li.say(text)
    for n in range(8):
        assert await adapter.send_outgoing(Outgoing(1, Reply(text=f"结果 {n}"), key=f"r:{n}"))
    sends = [c for c in feishu.calls[start:] if c.name == "create"]
    assert len(sends) == 12 and all(c.ok for c in sends)
    # one connection per API thread at most (a send may find a new thread: a call's result is
    # set before its thread counts as idle again); before, each send had its own (12)
    ports = {c.client_port for c in sends}
    assert len(ports) <= API_THREADS < len(sends), [c.client_port for c in sends]


async def test_the_calls_of_one_thread_go_over_one_connection(
    feishu: FakeFeishu, start_adapter
) -> None:
    from lark_oapi.api.im.v1 import CreateMessageRequest, CreateMessageRequestBody

    lina = feishu.user("李娜")
    adapter = await start_adapter(ScriptedRouter(lambda i: []))

    def send(n: int) -> bool:
        body = CreateMessageRequestBody.builder().receive_id(lina.open_id).msg_type("text")
        request = (
            CreateMessageRequest.builder().receive_id_type("open_id")
            .request_body(body.content(json.dumps({"text": f"第 {n} 条"})).build()).build()
        )  # fmt: skip
        return bool(adapter.client.im.v1.message.create(request).success())

    start = len(feishu.calls)
    assert await asyncio.to_thread(lambda: all(send(n) for n in range(5)))
    sends = [c for c in feishu.calls[start:] if c.name == "create"]
    assert len(sends) == 5 and len({c.client_port for c in sends}) == 1, sends


def test_a_session_reads_the_environment_once_for_its_origin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corp-ca.pem")
    kept = keepalive.KeptAlive()
    feishu = kept.session("https://open.feishu.cn/open-apis/im/v1/messages?receive_id_type=open_id")
    assert feishu.proxies.get("https") == "http://proxy.corp:3128"
    assert feishu.verify == "/etc/ssl/corp-ca.pem" and not feishu.trust_env
    assert kept.session("https://open.feishu.cn/open-apis/auth/v3/x") is feishu
    inside = kept.session("https://internal.example/open-apis")
    assert inside is not feishu and "https" not in inside.proxies
    # a load balancer's cookie in an answer is not kept (requests.request kept none either)
    answer = HTTPMessage()
    answer["Set-Cookie"] = "lb=1; Path=/"
    asked = requests.Request("POST", "https://open.feishu.cn/open-apis/im/v1/messages").prepare()
    feishu.cookies.extract_cookies(MockResponse(answer), MockRequest(asked))  # type: ignore[arg-type]
    assert not feishu.cookies
    plain = requests.Session()
    plain.cookies.extract_cookies(MockResponse(answer), MockRequest(asked))  # type: ignore[arg-type]
    assert plain.cookies, "a session's jar would have kept it"


def test_lark_oapis_transport_calls_the_kept_alive_sessions(feishu: FakeFeishu) -> None:
    from lark_oapi.core.http import transport

    from bot.feishu.adapter import build_feishu
    from tests.feishu.conftest import settings_for

    build_feishu(settings_for(feishu), ScriptedRouter(lambda i: []))
    assert transport.requests is keepalive.install()
