"""Month start with Slack's tiers applied (issue 16 item 5): 120 agents open their self-review
at once; the next question is never held behind rate-limited lookups or tidying (it replaces
the pressed question through the press's ``response_url``: no ``chat.update`` at all)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from commands.context import AppConfig
from commands.router import Router
from scoring.scheme_parser import parse_scheme
from storage import repo
from storage.db import unit_of_work
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import make_adapter, web_app
from tests.slack.sender import SlackSender

SCHEME = (
    Path(__file__).resolve().parents[1] / "conversations" / "data" / "mini_shop.toml"
).read_text(encoding="utf-8")
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
AGENTS, TEAMS = 120, 4
ANSWER = "4 · above expectations"


def month_start(engine: Engine) -> list[str]:
    """Four teams of 30 linked agents whose language is stored, each period open."""
    parsed = parse_scheme(SCHEME)
    users: list[str] = []
    with unit_of_work(engine) as session:
        scheme = repo.get_or_create_scheme(
            session=session, key=parsed.id, text=SCHEME, name_zh=parsed.name_zh,
            name_en=parsed.name_en, content_hash=parsed.content_hash,
        )  # fmt: skip
        for t in range(TEAMS):
            team = repo.create_team(session=session, name=f"team{t}", lang="en", scheme=scheme)
            manager = repo.add_member(
                session=session, team=team, name=f"manager {t}", role="manager"
            )
            repo.get_or_create_period(
                session=session, team=team, key="2026-10", status="open",
                review_opens_at=datetime(2026, 11, 1, tzinfo=UTC),
                review_closes_at=datetime(2026, 11, 6, 10, tzinfo=UTC),
            )  # fmt: skip
            for a in range(AGENTS // TEAMS):
                member = repo.add_member(
                    session=session, team=team, name=f"agent {t}-{a}", role="agent", manager=manager
                )
                member.lang = "en"
                uid = f"U0MS{t}A{a:03d}"
                repo.link_platform(
                    session=session, member=member, platform="slack", user_id=uid, actor="test"
                )
                users.append(uid)
    return users


async def until(fake: FakeSlack, dm: str, prefix: str) -> None:
    await fake.wait_until(
        lambda: any(str(m.get("text", "")).startswith(prefix) for m in fake.messages.get(dm) or []),
        timeout=120,
    )


@pytest.mark.slow
async def test_120_agents_at_month_start_get_their_next_question_before_any_tidying_or_lookup(
    engine: Engine,
) -> None:
    """Reproduces issue 16 item 5: users.info ran before every first request and the pressed
    buttons' chat.update (Tier 3) was awaited before the next question (median 60.5 s); the
    tidying then went after the question, and now there is none."""
    users = month_start(engine)
    with FakeSlack() as fake:
        for uid in users:
            fake.add_user(uid, uid.lower(), locale="en-US")
        router = Router(engine, AppConfig(default_lang="en"), lambda: NOW)
        adapter = make_adapter(fake, router, engine=engine)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=web_app(adapter)),
            base_url="http://kpibot.test",
            timeout=60,
        ) as client:
            sender = SlackSender(client, fake)

            async def agent(uid: str) -> None:
                dm = fake.dm_channel(uid)
                await sender.command(uid, "/selfreview", channel_id="C0TEAM", channel_name="team")
                await until(fake, dm, "Question 1 of ")
                await sender.click(uid, {**fake.messages_in(dm)[-1], "channel": dm}, ANSWER)
                await until(fake, dm, "Question 2 of ")

            await asyncio.gather(*(agent(uid) for uid in users))
            await adapter.idle()
        await adapter.stop()
        calls = [c for c in fake.calls if c.method not in ("auth.test", "response_url", "upload")]

    assert [c for c in calls if c.method == "users.info"] == [], "languages are stored"
    replaced = [
        c
        for c in fake.calls
        if c.method == "response_url"
        and c.args.get("replace_original") is True
        and str(c.args.get("text", "")).startswith("Question 2 of ")
    ]
    assert len(replaced) == len(users) and all(c.ok for c in replaced), (
        "each next question replaced the pressed one through the press's response_url"
    )
    assert [c for c in calls if c.method == "chat.update"] == [], (
        "what was pressed is shown in the same call: nothing to tidy under Tier 3"
    )
    posted = [str(c.args.get("text", "")) for c in calls if c.method == "chat.postMessage"]
    assert not [t for t in posted if t.startswith("Question 2 of ")], "none waits for a post"
    limited = [c for c in fake.calls if c.status == 429]
    assert len(limited) <= 0.01 * len(calls), {c.method for c in limited}
