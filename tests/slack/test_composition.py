"""kpibot as ``kpibot run`` wires it (bot.main.build_service), answering Slack."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy.engine import Engine

from bot.main import build_service
from bot.settings import load_settings
from storage import repo
from storage.db import unit_of_work
from tests.conversations.world import build_world
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack
from tests.slack.sender import SIGNING_SECRET, SlackSender


async def test_the_composition_root_serves_slack_on_the_one_web_app(
    fake_slack: FakeSlack, engine: Engine, tmp_path: Path
) -> None:
    ids = build_world(engine)
    with unit_of_work(engine) as session:
        mary = repo.get_member(session=session, member_id=ids["Mary"])
        assert mary is not None
        repo.link_platform(
            session=session, member=mary, platform="slack", user_id="U0MARY", actor="test"
        )
    fake_slack.add_user("U0MARY", "mary", locale="en-GB")
    settings = load_settings(
        slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_app_token=None,
        slack_api_url=fake_slack.api_url, telegram_bot_token=None, data_dir=tmp_path,
        kpibot_secret="Zq8-kV3rT0pW5yNc1xLb7Hm2Jd9Gs4Fa6Ue0Oi3Rk",
    )  # fmt: skip
    service = build_service(settings, engine=engine)
    [slack] = [a for a in service.adapters if type(a).__name__ == "SlackAdapter"]
    transport = httpx.ASGITransport(app=service.web)
    async with httpx.AsyncClient(transport=transport, base_url="http://kpibot.test") as client:
        assert (await client.get("/healthz")).status_code == 200
        sent = await SlackSender(client, fake_slack).command(
            "U0MARY", "/kpi", channel_id="C0LONDON"
        )
        assert sent.response.status_code == 200
        await slack.idle()  # type: ignore[attr-defined]
    [answer] = fake_slack.response_posts(sent.response_url)
    assert answer["response_type"] == "ephemeral"
    assert "/rank" in answer["text"] and "/review" in answer["text"], "the help of a manager"
    await service.stop()
