"""The forms behind the commands, on Feishu, to their end (issue 19 item 5): a manager picks the
agent to review from a card (as on Slack and Telegram) and gets the review form card; a
colleague picks whom to rate, fills the peer form on the card and submits it anonymously."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import select

from commands import registry
from commands.context import AppConfig
from commands.router import Router
from storage.db import unit_of_work
from storage.models import Review
from tests.conversations.world import build_world
from tests.fakes.feishu_api import FakeFeishu, button_labels
from tests.feishu.chat import FeishuChat
from tests.feishu.world import link

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


async def test_a_manager_picks_the_agent_and_a_colleague_rates_another_on_cards(
    feishu: FakeFeishu, start_adapter, engine: Engine
) -> None:
    ids = build_world(engine)
    users = {name: feishu.user(name) for name in ("王经理", "Bob", "Alice")}
    router = Router(engine, AppConfig(default_lang="en"), lambda: NOW, modules=registry.MODULES)
    front = link(engine, router, ids, {n: u.open_id for n, u in users.items()})
    adapter = await start_adapter(front, lang_of=front.lang_of, default_lang="zh")
    feishu.relax()
    wang, bob = (FeishuChat(feishu, adapter, users[n]) for n in ("王经理", "Bob"))

    await wang.say("/review")
    picker = feishu.bot_cards(wang.user.p2p_chat)[-1]
    assert button_labels(picker)[:4] == [f"{n} (2026-10)" for n in ("李娜", "张伟", "刘洋", "陈静")]
    await wang.press("刘洋")
    form = feishu.bot_cards(wang.user.p2p_chat)[-1]
    assert '"tag": "form"' in json.dumps(form, ensure_ascii=False), "the review form, one card"
    assert "下一步" in button_labels(form)

    await bob.say("/peer")
    await bob.press("Alice")
    peer_form = feishu.bot_cards(bob.user.p2p_chat)[-1]
    assert '"tag": "form"' in json.dumps(peer_form, ensure_ascii=False), "the peer form, one card"
    [submit] = [label for label in button_labels(peer_form) if label != "Cancel"][:1]
    await bob.submit(submit, collaboration="4", service="5")
    await bob.press("Submit")
    with unit_of_work(engine) as session:
        [peer] = session.exec(select(Review).where(Review.kind == "peer")).all()
        assert (peer.subject_id, peer.answers) == (ids["Alice"], {"collaboration": 4, "service": 5})
    alice_chat = feishu.screen(users["Alice"].p2p_chat)
    assert not any("Bob" in text for text in alice_chat), "Alice is not told who rated her"
