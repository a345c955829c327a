"""/qa through Telegram: the real adapter and router against the fake Bot API.

A QA reviewer scores a sample with inline buttons and a typed comment; the agent's result
travels through the outbox row to Telegram with a Dispute button; under blind review the
reviewer's whole chat never shows the agent's name.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine

from commands.context import AppConfig
from commands.messages import Outgoing
from commands.outbox import reply_from_json
from commands.router import Router
from storage import outbox as outbox_store
from storage import repo
from storage.db import unit_of_work
from tests.conftest import Clock
from tests.fakes.telegram_api import FakeTelegram
from tests.qa.conftest import AGENTS, build_qa_world
from tests.telegram.chat import TelegramChat, labels

IDS = {"Quinn": 501, "Mary": 502, "Alice": 511, "Bob": 512, "Carol": 513}


def _link(engine: Engine, world: dict[str, int]) -> None:
    with unit_of_work(engine) as session:
        for name, telegram_id in IDS.items():
            member = repo.get_member(session=session, member_id=world[name])
            assert member is not None
            repo.link_platform(
                session=session,
                member=member,
                platform="telegram",
                user_id=telegram_id,
                actor="test",
            )


@pytest.mark.slow
@pytest.mark.parametrize("blind", [False, True], ids=["named", "blind"])
async def test_a_quality_review_through_telegram(
    telegram_api: FakeTelegram,
    start_adapter,
    engine: Engine,
    blind: bool,  # type: ignore[no-untyped-def]
) -> None:
    world = build_qa_world(engine, blind=blind)
    _link(engine, world)
    router = Router(
        engine, AppConfig(default_lang="en"), Clock(datetime(2026, 10, 20, 9, 0, tzinfo=UTC))
    )
    adapter = await start_adapter(router, engine=engine, private_burst=0)
    telegram_api.relax("per_chat")  # answers faster than any human; pacing is tested on its own
    person = {
        n: TelegramChat(telegram_api, adapter, telegram_api.user(i, n, language_code="en"))
        for n, i in IDS.items()
    }
    mary, quinn = person["Mary"], person["Quinn"]

    await mary.say("/qa draw seed=7")
    assert "10 samples from 20 sessions" in mary.screen()[-1]

    calls = await quinn.say("/qa")
    sent = [c for c in calls if c.method == "sendMessage"]
    card, question = sent[0].params["text"], sent[-1].params["text"]
    assert "Quality review of sample 1 (2026-10)." in card and "Reference: M-05-" in card
    assert ("Agent: hidden (blind review)" if blind else "Agent: Mary") in card
    assert question.startswith("Question 1 of 4: Greeting")
    assert labels(sent[-1]) == [["Pass", "Fail", "N/A"], ["Cancel"]]
    await quinn.press("Pass")
    await quinn.press("Pass")
    await quinn.press("Fail")
    await quinn.say("Check the order number before answering.")
    summary = quinn.screen()[-1]
    assert "3. Correct answer: Fail" in summary and "Sample score: 50" in summary
    await quinn.press("Submit")
    assert quinn.screen()[-1] == "Thank you, the review is saved. Send /qa for the next sample."

    # the rest of the queue, so the agents get results too
    for _ in range(9):
        await quinn.say("/qa")
        for _answer in range(3):
            await quinn.press("Pass")
        await quinn.press("Skip")
        await quinn.press("Submit")
    await quinn.say("/qa")
    assert quinn.screen()[-1] == "Your review queue is empty. Well done!"
    if blind:
        everything = "\n".join(quinn.screen())
        for name in (*AGENTS, "Mary"):
            assert not re.search(rf"\b{name}\b", everything), name

    # Alice's first result, delivered from its outbox row as the sender would
    with unit_of_work(engine) as session:
        rows = [
            m
            for m in outbox_store.list_messages(session=session)
            if m.kind.startswith("qa.result.") and m.member_id == world["Alice"]
        ]
        outgoing = Outgoing(
            member_id=world["Alice"], reply=reply_from_json(rows[0].reply), key=rows[0].key
        )
    assert len(rows) == 3
    assert await adapter.send_outgoing(outgoing) is not None
    alice = person["Alice"]
    assert alice.screen()[-1].startswith("QA result for your conversation A-05-")
    assert "No check failed." in alice.screen()[-1]
    number = re.search(r"/qa dispute (\d+)", alice.screen()[-1])
    assert number is not None
    await alice.press("Dispute")
    assert f"send /qa dispute {number.group(1)} followed by your reason" in alice.screen()[-1]
    await alice.say(f"/qa dispute {number.group(1)} The customer asked me not to greet.")
    assert "is recorded" in alice.screen()[-1]
