"""The real router behind a modal answered past the ack budget: a manager review whose
first try needs a reason is shown again with the error, then saved, all in one modal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.engine import Engine

from bot.slack.adapter import SlackAdapter
from commands.context import AppConfig
from commands.router import Router
from storage import repo
from storage.db import unit_of_work
from tests.conversations.world import build_world
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import make_adapter, web_app
from tests.slack.people import Person
from tests.slack.sender import SlackSender
from tests.slack.test_month_scenario import LONDON, SLACK_IDS


@pytest.fixture
async def mary(fake_slack: FakeSlack, engine: Engine) -> AsyncIterator[Person]:
    ids = build_world(engine)
    with unit_of_work(engine) as session:
        for name in ("Mary", "Alice"):
            member = repo.get_member(session=session, member_id=ids[name])
            assert member is not None
            repo.link_platform(
                session=session, member=member, platform="slack", user_id=SLACK_IDS[name],
                actor="test",
            )  # fmt: skip
    fake_slack.add_user("U0MARY", "mary", real_name="Mary", locale="en-GB")
    router = Router(
        engine, AppConfig(default_lang="en"), lambda: datetime(2026, 11, 2, 9, tzinfo=UTC)
    )
    adapter: SlackAdapter = make_adapter(fake_slack, router, engine=engine, ack_budget=0.0)
    transport = httpx.ASGITransport(app=web_app(adapter))
    async with httpx.AsyncClient(transport=transport, base_url="http://kpibot.test") as client:
        yield Person(SlackSender(client, fake_slack), fake_slack, adapter, "U0MARY")
    await adapter.stop()


async def test_a_late_manager_review_shows_its_error_then_its_summary_in_the_modal(
    mary: Person, fake_slack: FakeSlack
) -> None:
    await mary.command("/review", "<@U0ALICE|alice>", channel=LONDON)
    view_id = mary.modal()["id"]

    await mary.submit({"ability": "5", "collaboration": "3", "service": "3"})
    assert mary.last is not None and mary.last.ack["view"]["blocks"][0]["text"]["text"] == (
        "Checking and saving your answers…"
    )
    again = fake_slack.views[view_id]
    errors = [b for b in again["blocks"] if b.get("block_id", "").startswith("kpibot_error:")]
    assert [b["block_id"] for b in errors] == ["kpibot_error:ability_comment"]
    ability = next(b for b in again["blocks"] if b.get("block_id") == "ability")
    assert ability["element"]["initial_option"]["value"] == "5"
    assert mary.screen() == []

    await mary.submit(
        {"ability": "5", "ability_comment": "Best refund numbers", "collaboration": "3",
         "service": "3"}
    )  # fmt: skip
    result = fake_slack.views[view_id]
    assert "submit" not in result
    assert result["blocks"][0]["text"]["text"].startswith("Summary of your manager review:")
    [summary] = mary.screen()
    assert summary.startswith("Summary of your manager review:"), "the DM stays the record"
    await mary.press("Submit")
    assert "the review is submitted" in mary.screen()[-1]
