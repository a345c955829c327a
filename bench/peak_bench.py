"""Month start at the size of a real organisation (issue 16): 2,000 agents across 100 teams,
one Slack workspace, open their self-review within one minute and press through the first
three questions, against the strict fake Slack (every Web API method's tier, chat.postMessage
about one a second per channel) and, for comparison, the same flow with every limit off (the
fake's tiers relaxed and kpibot's own pacing off).

kpibot runs as in production: the real router on a SQLite file (or ``--database-url``), the
Slack adapter (``bot.slack.build_slack``) behind its web app, each request signed as Slack
signs it (``tests/slack/sender.py``); every agent is a linked member whose language is stored.

Measured, per press (or typed answer): the time from sending it until the next question is
in the agent's DM (p50, p99, max), limited and unlimited; and the 429 answers kpibot caused,
as a share of its Web API calls. Goals: p99 ≤ 2 s and ≤ 3 × the unlimited run; 429s ≤ 1 %.
The last line is JSON.

    .venv/bin/python bench/peak_bench.py [--agents 2000] [--teams 100] [--window 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from bot.settings import load_settings  # noqa: E402
from bot.slack.adapter import build_slack  # noqa: E402
from bot.web import build_web_app  # noqa: E402
from commands.context import AppConfig  # noqa: E402
from commands.router import Router  # noqa: E402
from scoring.scheme import parse_scheme  # noqa: E402
from storage import repo  # noqa: E402
from storage.db import make_engine, unit_of_work, upgrade  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack  # noqa: E402
from tests.slack.sender import SIGNING_SECRET, SlackSender  # noqa: E402

SCHEME = (
    Path(__file__).resolve().parents[1] / "tests" / "conversations" / "data" / "mini_shop.toml"
).read_text(encoding="utf-8")
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
OPENS = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
CLOSES = datetime(2026, 11, 6, 10, 0, tzinfo=UTC)
PERIOD = "2026-10"
ANSWER = "4 · above expectations"


def user_id(team: int, agent: int) -> str:
    return f"U{team:03d}A{agent:04d}"


def populate(engine: Any, teams: int, agents: int) -> list[str]:
    """The teams, their managers and agents (linked to Slack, language stored), an open period."""
    parsed = parse_scheme(SCHEME)
    users: list[str] = []
    per_team = agents // teams
    with unit_of_work(engine) as session:
        scheme = repo.get_or_create_scheme(
            session=session, key=parsed.id, text=SCHEME, name_zh=parsed.name_zh,
            name_en=parsed.name_en, content_hash=parsed.content_hash,
        )  # fmt: skip
        for t in range(teams):
            team = repo.create_team(session=session, name=f"team{t:03d}", lang="en", scheme=scheme)
            manager = repo.add_member(
                session=session, team=team, name=f"manager {t}", role="manager"
            )
            repo.get_or_create_period(
                session=session, team=team, key=PERIOD, status="open",
                review_opens_at=OPENS, review_closes_at=CLOSES,
            )  # fmt: skip
            for a in range(per_team):
                member = repo.add_member(
                    session=session, team=team, name=f"agent {t}-{a}", role="agent", manager=manager
                )
                member.lang = "en"
                uid = user_id(t, a)
                repo.link_platform(
                    session=session, member=member, platform="slack", user_id=uid, actor="bench"
                )
                users.append(uid)
    return users


async def agent_flow(
    sender: SlackSender, fake: FakeSlack, uid: str, delay: float, latencies: list[float]
) -> None:
    """Open the self-review after ``delay``, then answer three questions; each answer's time
    until the next question is in the DM goes into ``latencies``."""
    await asyncio.sleep(delay)
    dm = fake.dm_channel(uid)
    await sender.command(uid, "/selfreview", channel_id="C0TEAM", channel_name="team")
    await _until(fake, dm, "Question 1 of ")
    for step in (2, 3, 4):
        last = fake.messages_in(dm)[-1]
        started = time.monotonic()
        if step < 4:
            await sender.click(uid, {**last, "channel": dm}, ANSWER)
        else:
            await sender.dm(uid, "Calm with angry customers")
        await _until(fake, dm, f"Question {step} of ")
        latencies.append(time.monotonic() - started)


async def _until(fake: FakeSlack, dm: str, prefix: str, timeout: float = 600) -> None:
    """Until the DM's newest messages include one starting with ``prefix`` (read without
    copying: 2,000 agents poll at once, and copies would cost more than kpibot)."""
    deadline = time.monotonic() + timeout
    while True:
        shown = fake.messages.get(dm) or []
        if any(str(m.get("text", "")).startswith(prefix) for m in shown[-2:]):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{dm} never saw {prefix!r}")
        await asyncio.sleep(0.05)


async def run(args: argparse.Namespace, *, limited: bool) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="kpibot-peak-"))
    engine = make_engine(args.database_url or f"sqlite:///{workdir / 'peak.db'}")
    upgrade(engine)
    users = populate(engine, args.teams, args.agents)
    with FakeSlack() as fake:
        if not limited:
            fake.tiers.relax()
        for uid in users:
            fake.add_user(uid, uid.lower(), locale="en-US")
        router = Router(engine, AppConfig(default_lang="en"), lambda: NOW)
        settings = load_settings(
            slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_app_token=None,
            slack_api_url=fake.api_url, default_lang="en",
        )  # fmt: skip
        adapter = build_slack(settings, router, engine=engine, pace=limited)
        app = build_web_app(routes=adapter.routes())
        latencies: list[float] = []
        rng = random.Random(args.seed)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://kpibot.bench", timeout=60
        ) as client:
            sender = SlackSender(client, fake)
            started = time.monotonic()
            await asyncio.gather(*(
                agent_flow(sender, fake, uid, rng.uniform(0, args.window), latencies) for uid in users
            ))  # fmt: skip
            wall = time.monotonic() - started
            await adapter.idle()
        await adapter.stop()
        calls = [c for c in fake.calls if c.method not in ("auth.test", "response_url", "upload")]
        limited_429 = sum(1 for c in calls if c.status == 429)
        by_method: dict[str, int] = {}
        for c in calls:
            by_method[c.method] = by_method.get(c.method, 0) + 1
    ordered = sorted(latencies)
    return {
        "limits": "on" if limited else "off", "agents": len(users), "presses": len(ordered),
        "p50_s": round(statistics.median(ordered), 3),
        "p99_s": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 3),
        "max_s": round(ordered[-1], 3), "wall_s": round(wall, 1),
        "calls": len(calls), "calls_429": limited_429,
        "share_429": round(limited_429 / max(1, len(calls)), 4), "calls_by_method": by_method,
        "pacing_waited_s": round(adapter.pacing.waited_s, 1), "tidying_skipped": adapter.pacing.skipped,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--teams", type=int, default=100)
    parser.add_argument(
        "--window", type=float, default=60.0, help="Seconds over which agents start."
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    on = asyncio.run(run(args, limited=True))
    print(json.dumps(on), flush=True)
    off = asyncio.run(run(args, limited=False))
    print(json.dumps(off), flush=True)
    result = {
        "p50_s": on["p50_s"], "p99_s": on["p99_s"], "max_s": on["max_s"],
        "unlimited_p99_s": off["p99_s"], "ratio_p99": round(on["p99_s"] / max(off["p99_s"], 1e-9), 2),
        "share_429": on["share_429"], "calls_429": on["calls_429"], "calls": on["calls"],
        "goals_met": on["p99_s"] <= 2.0 and on["p99_s"] <= 3 * off["p99_s"] and on["share_429"] <= 0.01,
        "date": datetime.now(UTC).date().isoformat(),
    }  # fmt: skip
    print(json.dumps(result))


if __name__ == "__main__":
    main()
