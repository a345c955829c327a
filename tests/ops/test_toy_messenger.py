"""Issue 19's proof of the seam: a messenger that is one new package (tests/toychat) and one
line of the registry is served by the composition root, answers /help as the member linked
to its id, knows nobody by name, and carries the outbox within its own limits."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from bot import messengers
from bot.main import build_service
from bot.settings import load_settings
from commands.messages import Reply
from commands.outbox import enqueue
from storage import repo
from storage.db import unit_of_work
from tests import toychat
from tests.conversations.world import build_world
from tests.waiting import CEILING_S

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SECRET = "Zq8-kV3rT0pW5yNc1xLb7Hm2Jd9Gs4Fa6Ue0Oi3Rk"


async def test_a_toy_messenger_in_one_package_and_one_registry_line_runs_help(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(messengers, "MESSENGERS", (*messengers.MESSENGERS, toychat.MESSENGER))
    ids = build_world(engine)
    with unit_of_work(engine) as session:
        mary = repo.get_member(session=session, member_id=ids["Mary"])
        assert mary is not None
        repo.link_platform(
            session=session, member=mary, platform="toychat", user_id="toy-mary", actor="test"
        )
    service = build_service(
        load_settings(data_dir=tmp_path, kpibot_secret=SECRET), engine=engine, clock=lambda: NOW
    )
    [toy] = service.adapters
    assert isinstance(toy, toychat.ToyAdapter)

    async def say(user: str, text: str) -> str:
        transport = httpx.ASGITransport(app=service.web)
        async with httpx.AsyncClient(transport=transport, base_url="http://kpibot.test") as c:
            answer = await c.post("/toychat/message", json={"user": user, "text": text})
        assert answer.status_code == 200
        return "\n".join(answer.json()["replies"])

    help_text = await say("toy-mary", "/help")
    assert "/rank" in help_text and "/review" in help_text, "a manager's help, in English"
    for stranger in ("Mary", str(ids["Mary"]), "london/Mary"):
        answer = await say(stranger, "/help")
        assert answer == (
            "I don't know you yet. Ask your kpibot admin for a one-time link code and send it to "
            "me here: /start CODE. Or the admin can link your Toy chat account (your id there is "
            f"{stranger}): kpibot member link --team TEAM --name NAME --platform toychat --id "
            f"{stranger}"
        )

    assert service.sender is not None
    assert service.sender.limits["toychat"] == toychat.MESSENGER.limits
    with unit_of_work(engine) as session:
        mary = repo.get_member(session=session, member_id=ids["Mary"])
        team = repo.get_team_by_name(session=session, name="london")
        assert mary is not None and team is not None
        queued = enqueue(session, team=team, period=None, member=mary, kind="notice",
                         reply=Reply(text="Results are out."), now=NOW)  # fmt: skip
        assert queued
    await service.start()
    try:
        deadline = time.monotonic() + CEILING_S
        while not toy.sent and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        await service.stop(within=5)
    [sent] = toy.sent
    assert (sent.member_id, sent.reply.text) == (ids["Mary"], "Results are out.")
