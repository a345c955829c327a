"""Soak: one simulated month of traffic for a 2,000-agent organisation, memory watched (issue #10).

The service is built by the composition root (``bot.main.build_service``) and driven
through the same observed router every adapter calls, on a simulated clock: 200 teams
of one manager and ten agents, an open period whose review window is the first seven
days. Each simulated day: during the window every agent works on their self-review (one
step a day: start, answer, answer, write, write, submit), and every day a share of the
agents (2 %) asks ``/me``, some managers (10 %) ``/rank``, and some managers type something kpibot does not
understand. The process's resident memory (RSS) is printed each day; after a warm-up
week it must stay flat (growth under 10 % from day 8 to day 30).

    .venv/bin/python bench/soak.py [--teams 200] [--agents-per-team 10] [--days 30] [--db URL]

The last line is JSON: ``requests``, ``rss_mb`` by day, ``growth_pct``, ``flat``.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECRET = "soak-secret-Zq3v8Rk2pWn5Yt7Lc9Hs4Jd6Fb1Mx0Ge"
START = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)
SCHEME = ROOT / "tests" / "conversations" / "data" / "mini_shop.toml"
SELF_REVIEW = [
    "/selfreview",
    "4",
    "5",
    "Closed every ticket in time.",
    "Faster first answers.",
    "Submit",
]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def organisation(engine: Any, teams: int, per_team: int) -> tuple[list[str], list[str]]:
    """Teams t000…, each a manager ``m<t>`` and agents ``a<t>-<n>``; KPI values for everyone."""
    from scoring.scheme_parser import parse_scheme
    from storage import repo
    from storage.db import unit_of_work

    text = SCHEME.read_text(encoding="utf-8")
    parsed = parse_scheme(text)
    rng = random.Random(30)
    managers: list[str] = []
    agents: list[str] = []
    with unit_of_work(engine) as session:
        scheme = repo.get_or_create_scheme(session=session, key=parsed.id, text=text, name_zh=parsed.name_zh,
                                           name_en=parsed.name_en, content_hash=parsed.content_hash)  # fmt: skip
        for t in range(teams):
            team = repo.create_team(session=session, name=f"t{t:03d}", lang="en", scheme=scheme)
            manager = repo.add_member(session=session, team=team, name=f"m{t:03d}", role="manager")
            period = repo.get_or_create_period(session=session, team=team, key="2026-10", status="open",
                                               review_opens_at=START, review_closes_at=START + timedelta(days=7))  # fmt: skip
            managers.append(manager.name)
            for n in range(per_team):
                agent = repo.add_member(
                    session=session,
                    team=team,
                    name=f"a{t:03d}-{n:02d}",
                    role="agent",
                    manager=manager,
                )
                agents.append(agent.name)
                for indicator, value in (("refund_ratio", f"{rng.uniform(0.01, 0.09):.3f}"),
                                         ("avg_response_s", rng.randint(15, 90))):  # fmt: skip
                    repo.set_indicator_value(session=session, period=period, member=agent, indicator=indicator,
                                             value=value, source="soak", actor="soak", reason=None)  # fmt: skip
    return managers, agents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--teams", type=int, default=200)
    parser.add_argument("--agents-per-team", type=int, default=10)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--me-share", type=float, default=0.02, help="agents asking /me each day")
    parser.add_argument(
        "--rank-share", type=float, default=0.1, help="managers asking /rank each day"
    )
    parser.add_argument("--db", default=None)
    parser.add_argument(
        "--verbose", action="store_true", help="show the first agent's conversation"
    )
    args = parser.parse_args()

    from bot.main import build_service
    from bot.observed_router import ObservedRouter, is_apology
    from bot.settings import load_settings
    from commands.messages import Incoming
    from storage.db import make_engine, upgrade

    workdir = Path(tempfile.mkdtemp(prefix="kpibot-soak-"))
    url = args.db or f"sqlite:///{workdir / 'kpibot.db'}"
    engine = make_engine(url)
    upgrade(engine)
    began = time.monotonic()
    managers, agents = organisation(engine, args.teams, args.agents_per_team)
    print(
        f"organisation: {len(managers)} teams, {len(agents)} agents in {time.monotonic() - began:.0f} s",
        flush=True,
    )

    now = [START]
    settings = load_settings(database_url=url, data_dir=workdir, kpibot_secret=SECRET, default_lang="en",
                             slack_bot_token=None, telegram_bot_token=None)  # fmt: skip
    service = build_service(settings, engine=engine, clock=lambda: now[0])
    assert service.database is not None
    router = ObservedRouter(service.router, service.metrics, service.database, "en")
    rng = random.Random(1)
    requests = 0
    unexpected = 0
    pending: dict[str, Any] = {}  # an agent's last buttons, to press Submit

    def say(user: str, text: str) -> list[Any]:
        nonlocal requests, unexpected
        requests += 1
        if text == "Submit" and user in pending:
            button = pending.pop(user)
            incoming = Incoming(
                platform="test", user_id=user, action=button.action, value=button.value
            )
        else:
            incoming = Incoming(platform="test", user_id=user, text=text)
        replies = router.handle(incoming)
        if is_apology(replies):
            unexpected += 1
            if unexpected <= 2:
                print(f"  error reply to {user} {text!r}: {replies[0].text[:200]}", flush=True)
        if args.verbose and user == agents[0]:
            print(f"  {user} {text!r} -> {[r.text[:70] for r in replies]}", flush=True)
        for reply in replies:
            for button in reply.buttons:
                if button.label == "Submit":
                    pending[user] = button
        return replies

    rss: list[float] = []
    print(f"{'day':>4} {'requests':>9} {'rss MB':>8} {'s':>6}", flush=True)
    for day in range(args.days):
        now[0] = START + timedelta(days=day, hours=2)
        started = time.monotonic()
        if day < len(SELF_REVIEW):
            for agent in agents:
                say(agent, SELF_REVIEW[day])
        for agent in rng.sample(agents, int(len(agents) * args.me_share)):
            say(agent, "/me")
        for manager in rng.sample(managers, max(1, int(len(managers) * args.rank_share))):
            say(manager, "/rank")
        for manager in rng.sample(managers, min(20, len(managers))):
            say(manager, "what is my bonus?")  # not a command: kpibot says what it understands
        gc.collect()
        rss.append(round(rss_mb(), 1))
        print(
            f"{day + 1:>4} {requests:>9} {rss[-1]:>8.1f} {time.monotonic() - started:>6.1f}",
            flush=True,
        )

    from sqlmodel import select

    from storage.db import unit_of_work
    from storage.models import Review

    with unit_of_work(engine) as session:
        reviews = len(session.exec(select(Review).where(Review.kind == "self")).all())
    base = rss[min(7, len(rss) - 1)]
    growth = round((rss[-1] - base) / base * 100, 1) if base else 0.0
    print(f"machine: {platform.node()} {platform.machine()}, Python {platform.python_version()}, "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, database {url.split(':')[0]}")  # fmt: skip
    print(
        f"{requests} requests over {args.days} simulated days in {time.monotonic() - began:.0f} s; "
        f"{reviews} self-reviews stored for {len(agents)} agents; {unexpected} error replies"
    )
    print(f"RSS day 8 → day {len(rss)}: {base} → {rss[-1]} MB ({growth:+.1f} %)")
    print(json.dumps({"requests": requests, "agents": len(agents), "self_reviews": reviews, "errors": unexpected,
                      "rss_mb": rss, "growth_pct": growth, "flat": growth < 10.0}))  # fmt: skip


if __name__ == "__main__":
    main()
