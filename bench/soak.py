"""Soak: one simulated month for an organisation of 10,000 agents in 1,000 teams (issues #10, #20).

The service is built by the composition root (``bot.main.build_service``) and driven
through the same observed router every adapter calls, as Slack and Telegram people (their
platform user ids, an event id per request), on a simulated clock: 1,000 teams of one
manager and ten agents (a seventh of the teams on Slack, the rest on Telegram, so both
platforms' limits take about as long), an open period whose review window is the first
seven days. Each simulated day: during the window every agent works on their self-review
(one step a day: start, answer, answer, write, write, submit); every day a share of the
agents (2 %) asks ``/me``, of the managers (10 %) ``/rank`` and (5 %) ``/status``, and some
managers type something kpibot does not understand. The cycle's reminders (``remind.1`` on
day 3, ``remind.2`` on day 5, for every team) go into the outbox, and every day kpibot's
outbox sender (``bot.sender.Sender``, the real Slack and Telegram adapters) delivers what
is queued through the strict fakes (``tests/fakes``: every Slack method tier on, Telegram's
flood limits; the limits ×20 as in ``broadcast_bench.py``, 1 % 429s and 0.5 % 5xx), in a
process of their own.

The organisation is stored in bulk before the month (:func:`organisation`: the rows the
product's one-row functions write, a test compares them), so the set-up of 10,000 agents
takes seconds, not minutes.

Reported per simulated day: requests, p99 per command (ms: what a person waits, and the
process's CPU time, which the machine's load does not inflate), the process's resident
memory (RSS; after a warm-up week it must stay flat: growth under 10 % from day 8 to the
last day), messages sent and delivered, the load average. Goals: 0 error replies, memory
flat, every queued message delivered once, every day played.

    .venv/bin/python bench/soak.py [--teams 1000] [--agents-per-team 10] [--days 30] [--db URL]
        [--no-fakes] [--stop-at HH:MM]

``--stop-at`` (UTC) begins no simulated day after that time: on a shared machine the report
then covers the days that fitted (``days``), and ``goals_met`` is false.

The last line is JSON: ``requests``, ``days``, ``p99_ms`` and ``cpu_p99_ms`` per command by
day, ``rss_mb``, ``load_by_day`` and ``seconds_by_day``; the garbage collector's time, longest
pass and full passes by day (``gc_ms_by_day``, ``gc_longest_ms_by_day``,
``gc_full_passes_by_day``); ``growth_pct``, ``flat`` (``null`` before day 9), ``errors``,
``sent``/``delivered``, ``goals_met``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCALE = (
    20  # the platforms' limits ×20 (as broadcast_bench.py), so a month's messages fit in minutes
)
REMINDERS = {
    2: "remind.1",
    4: "remind.2",
}  # simulated day (from 0) → the cycle step run for every team
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


class Collections:
    """The cyclic garbage collector's passes (``gc.callbacks``): how long they took in all, and
    the longest one, since :meth:`reset`; a full pass over a big heap is a pause in whatever
    request it lands in."""

    def __init__(self) -> None:
        self.total = self.longest = 0.0
        self.full = 0
        self._began = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
            return
        took = time.perf_counter() - self._began
        self.total += took
        self.longest = max(self.longest, took)
        self.full += info.get("generation") == 2

    def reset(self) -> None:
        self.total = self.longest = 0.0
        self.full = 0


SLACK_EVERY = 7
"""Every seventh team is on Slack: Slack's scaled limit (100 posts a second) is a sixth of
Telegram's (600), so both platforms' shares take about as long."""


@dataclass
class Person:
    name: str
    platform: str
    user_id: str


@dataclass
class TeamPlan:
    """One team of the organisation as it is to be stored: its manager, its agents and their
    two KPI values (``(agent, indicator, value)``)."""

    name: str
    platform: str
    manager: Person
    agents: list[Person]
    values: list[tuple[Person, str, str | int]]


def plan(teams: int, per_team: int) -> list[TeamPlan]:
    """Teams t0000…, each a manager ``m<t>`` and agents ``a<t>-<n>``, linked on Slack
    (``U00000000``…) or Telegram (``TG_BASE``…) as the fakes number them; KPI values for
    everyone."""
    from bench.broadcast_bench import TG_BASE

    rng = random.Random(30)
    numbers = {"slack": 0, "telegram": 0}

    def person(name: str, kind: str) -> Person:
        k = numbers[kind]
        numbers[kind] += 1
        return Person(name, kind, f"U{k:08d}" if kind == "slack" else str(TG_BASE + k))

    planned: list[TeamPlan] = []
    for t in range(teams):
        kind = "slack" if t % SLACK_EVERY == 0 else "telegram"
        team = TeamPlan(f"t{t:04d}", kind, person(f"m{t:04d}", kind), [], [])
        for n in range(per_team):
            agent = person(f"a{t:04d}-{n:02d}", kind)
            team.agents.append(agent)
            team.values.append((agent, "refund_ratio", f"{rng.uniform(0.01, 0.09):.3f}"))
            team.values.append((agent, "avg_response_s", rng.randint(15, 90)))
        planned.append(team)
    return planned


SETUP_AT = START - timedelta(days=1)
"""When the organisation is stored (the day before the month begins, on the simulated clock)."""


def _columns(row: Any) -> dict[str, Any]:
    """A new model object's columns but its id, as its constructor set them (the defaults)."""
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key != "id"}


def _insert(session: Any, model: Any, rows: list[Any]) -> list[int]:
    """One multi-row INSERT of new ``model`` objects; their ids, in the objects' order."""
    from sqlalchemy import insert

    table = model.__table__
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return [int(r[0]) for r in session.execute(statement, [_columns(row) for row in rows])]


def organisation(engine: Any, teams: int, per_team: int) -> tuple[list[Person], list[Person]]:
    """The organisation of :func:`plan` stored in bulk: a few multi-row INSERTs per hundred
    teams instead of one call (and flush) per row. The rows are the ones ``storage.repo``'s
    one-row functions write for the same people, ids and order included
    (``tests/ops/test_soak.py`` stores both and compares every table): the team, its manager
    (with ``team_manager``), the open period, the agents, every ``member_identity``, each
    agent's two ``indicator_value`` rows with their ``indicator_value.set`` audit entry, and
    the periods' inputs' version bumped by the one rule that bumps it."""
    from scoring.scheme_parser import parse_scheme
    from storage import repo
    from storage.db import unit_of_work
    from storage.models import AuditLog, IndicatorValue, Member, Period, Team
    from storage.models.results import _bump as bump
    from storage.repo.values import exact_value
    from tests.fakes.slack_api import TEAM_ID as SLACK_TEAM_ID

    starts_on, ends_on = repo.period_bounds("2026-10")
    text = SCHEME.read_text(encoding="utf-8")
    parsed = parse_scheme(text)
    planned = plan(teams, per_team)
    for start in range(0, teams, 100):  # a transaction per hundred teams
        with unit_of_work(engine) as session:
            scheme = repo.get_or_create_scheme(
                session=session,
                key=parsed.id,
                text=text,
                name_zh=parsed.name_zh,
                name_en=parsed.name_en,
                content_hash=parsed.content_hash,
                now=SETUP_AT,
            )
            chunk = planned[start : start + 100]
            team_rows = [
                Team(
                    name=team.name,
                    lang="en" if team.platform == "slack" else "zh",
                    scheme_id=scheme.id,
                    slack_team_id=SLACK_TEAM_ID if team.platform == "slack" else None,
                    created_at=SETUP_AT,
                )
                for team in chunk
            ]
            team_ids = _insert(session, Team, team_rows)
            people = [
                (team_id, p, "manager" if p is team.manager else "agent")
                for team_id, team in zip(team_ids, chunk, strict=True)
                for p in (team.manager, *team.agents)
            ]
            member_rows = [
                Member(team_id=team_id, name=p.name, role=role, created_at=SETUP_AT)
                for team_id, p, role in people
            ]
            member_ids = _insert(session, Member, member_rows)
            ids = {p.name: i for (_, p, _), i in zip(people, member_ids, strict=True)}
            _link(session, chunk, team_ids, ids)
            period_rows = [
                Period(
                    team_id=team_id,
                    key="2026-10",
                    starts_on=starts_on,
                    ends_on=ends_on,
                    status="open",
                    scheme_id=scheme.id,
                    review_opens_at=START,
                    review_closes_at=START + timedelta(days=7),
                )
                for team_id in team_ids
            ]
            period_ids = _insert(session, Period, period_rows)
            values = [
                IndicatorValue(
                    period_id=period_id,
                    member_id=ids[agent.name],
                    indicator=indicator,
                    value=exact_value(value),
                    source="soak",
                    import_id=None,
                    updated_at=SETUP_AT,
                )
                for period_id, team in zip(period_ids, chunk, strict=True)
                for agent, indicator, value in team.values
            ]
            for row, value_id in zip(values, _insert(session, IndicatorValue, values), strict=True):
                row.id = value_id
            audit = [
                AuditLog(
                    at=SETUP_AT,
                    actor="soak",
                    action="indicator_value.set",
                    entity="indicator_value",
                    entity_id=str(row.id),
                    before=None,
                    after=repo.snapshot(row),
                    reason=None,
                )
                for row in values
            ]
            _insert(session, AuditLog, audit)
            bump(
                session, set(), set(team_ids)
            )  # who the agents are changed: their periods' version
    return [team.manager for team in planned], [agent for team in planned for agent in team.agents]


def _link(session: Any, chunk: list[TeamPlan], team_ids: list[int], ids: dict[str, int]) -> None:
    """The agents' manager, everyone's messenger account, and the team each manager manages."""
    from sqlalchemy import bindparam, insert, update

    from storage.models import Member, MemberIdentity, TeamManager

    member = Member.__table__  # type: ignore[attr-defined]
    session.execute(
        update(member)
        .where(member.c.id == bindparam("agent"))
        .values(manager_id=bindparam("manager")),
        [
            {"agent": ids[agent.name], "manager": ids[team.manager.name]}
            for team in chunk
            for agent in team.agents
        ],
    )
    session.execute(
        insert(MemberIdentity.__table__),  # type: ignore[attr-defined]
        [
            {"member_id": ids[p.name], "platform": p.platform, "external_id": p.user_id}
            for team in chunk
            for p in (team.manager, *team.agents)
        ],
    )
    session.execute(
        insert(TeamManager.__table__),  # type: ignore[attr-defined]
        [
            {"team_id": team_id, "member_id": ids[team.manager.name]}
            for team_id, team in zip(team_ids, chunk, strict=True)
        ],
    )


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return (
        ordered[min(len(ordered) - 1, max(0, round(0.99 * (len(ordered) - 1))))] if ordered else 0.0
    )


class Platforms:
    """The strict fakes in a child process (``broadcast_bench.py --serve-fakes``), kpibot's real
    Slack and Telegram adapters talking to them, and the outbox sender, on one event loop."""

    def __init__(self, engine: Any, slack_n: int, telegram_n: int, seed: int = 1) -> None:
        import subprocess

        from bot.sender import DEFAULT_LIMITS

        self.engine, self.slack_n, self.telegram_n = engine, slack_n, telegram_n
        self.loop = asyncio.new_event_loop()
        self.tg_limits = DEFAULT_LIMITS["telegram"].scaled(SCALE)
        self.slack_limits = DEFAULT_LIMITS["slack"].scaled(SCALE)
        self.child = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "bench" / "broadcast_bench.py"),
                "--serve-fakes",
                "--slack-count",
                str(slack_n),
                "--tg-count",
                str(telegram_n),
                "--slack-rate",
                str(float(self.slack_limits.per_workspace or 0)),
                "--tg-rate",
                str(float(self.tg_limits.overall or 0)),
                "--per-chat",
                str(self.tg_limits.per_chat),
                "--p429",
                "0.01",
                "--p5xx",
                "0.005",
                "--seed",
                str(seed),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.child.stdout is not None
        urls = json.loads(self.child.stdout.readline())
        self.loop.run_until_complete(self._start(urls))

    async def _start(self, urls: dict[str, str]) -> None:
        from bench.broadcast_bench import NoRouter, telegram_adapter
        from bot.sender import Sender
        from bot.settings import load_settings
        from bot.slack.adapter import build_slack
        from tests.fakes.slack_api import BOT_TOKEN

        settings = load_settings(
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret="soak",
            slack_app_token=None,
            slack_api_url=urls["slack"],
            default_lang="en",
        )
        self.slack = build_slack(settings, NoRouter(), engine=self.engine)
        self.telegram = telegram_adapter(self.engine, urls["telegram"])
        await self.telegram.application.initialize()
        self.sender = Sender(
            self.engine,
            {"slack": self.slack, "telegram": self.telegram},
            worker="soak",
            batch=1000,
            limits={"telegram": self.tg_limits, "slack": self.slack_limits},
        )

    def drain(self) -> Any:
        return self.loop.run_until_complete(self.sender.drain(timeout=900))

    def report(self) -> dict[str, Any]:
        assert self.child.stdin is not None and self.child.stdout is not None
        self.child.stdin.write("report\n")
        self.child.stdin.flush()
        return dict(json.loads(self.child.stdout.readline()))

    def close(self) -> None:
        async def stop() -> None:
            await self.telegram.application.shutdown()
            await self.slack.close_sessions()

        self.loop.run_until_complete(stop())
        self.loop.close()
        assert self.child.stdin is not None
        self.child.stdin.close()
        self.child.wait(30)


KINDS = ("selfreview", "me", "rank", "status", "other")


def arguments(argv: list[str] | None) -> argparse.Namespace:
    """The command line; ``stop_at`` as a UTC time (or ``None``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--teams", type=int, default=1000)
    parser.add_argument("--agents-per-team", type=int, default=10)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--me-share", type=float, default=0.02, help="agents asking /me each day")
    parser.add_argument(
        "--rank-share", type=float, default=0.1, help="managers asking /rank each day"
    )
    parser.add_argument(
        "--status-share", type=float, default=0.05, help="managers asking /status each day"
    )
    parser.add_argument("--db", default=None)
    parser.add_argument(
        "--no-fakes", action="store_true", help="no outbox sender, no fakes (requests only)"
    )
    parser.add_argument(
        "--verbose", action="store_true", help="show the first agent's conversation"
    )
    parser.add_argument(
        "--stop-at",
        default=None,
        help="UTC time (HH:MM today, or ISO 8601) after which no further simulated day is "
        "begun; the report then covers the days played",
    )
    args = parser.parse_args(argv)
    if args.stop_at and len(args.stop_at) > 5:  # a whole ISO 8601 time
        args.stop_at = datetime.fromisoformat(args.stop_at).astimezone(UTC)
    elif args.stop_at:
        hour, minute = (int(part) for part in args.stop_at.split(":"))
        args.stop_at = datetime.now(UTC).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return args


class Chat:
    """The people's requests through the observed router: each timed (wall clock and CPU) by
    kind, error replies counted, the last Submit button of each person kept to press."""

    def __init__(self, router: Any, watched: Person | None) -> None:
        self.router, self.watched = router, watched
        self.requests = 0
        self.unexpected = 0
        self.pending: dict[str, Any] = {}  # an agent's last buttons, to press Submit
        self.times: dict[str, list[float]] = defaultdict(list)
        self.cpu_times: dict[str, list[float]] = defaultdict(list)

    def say(self, person: Person, text: str, kind: str) -> list[Any]:
        from bot.observed_router import is_apology
        from commands.messages import Incoming

        self.requests += 1
        event = f"soak-{self.requests}"
        if text == "Submit" and person.user_id in self.pending:
            button = self.pending.pop(person.user_id)
            incoming = Incoming(
                platform=person.platform,
                user_id=person.user_id,
                action=button.action,
                value=button.value,
                event_id=event,
            )
        else:
            incoming = Incoming(
                platform=person.platform, user_id=person.user_id, text=text, event_id=event
            )
        cpu_started = time.process_time()  # a system call: outside the wall-clock window
        started = time.perf_counter()
        replies: list[Any] = self.router.handle(incoming)
        self.times[kind].append(time.perf_counter() - started)
        self.cpu_times[kind].append(time.process_time() - cpu_started)
        if is_apology(replies) or not replies:
            self.unexpected += 1
            if self.unexpected <= 3:
                said = replies[0].text[:200] if replies else "(nothing)"
                print(f"  error reply to {person.name} {text!r}: {said}", flush=True)
        if person is self.watched:
            print(f"  {person.name} {text!r} -> {[r.text[:70] for r in replies]}", flush=True)
        for reply in replies:
            for button in reply.buttons:
                if button.label in ("Submit", "提交"):
                    self.pending[person.user_id] = button
        return replies


def requests_of_the_day(
    chat: Chat, day: int, agents: list[Person], managers: list[Person], rng: random.Random,
    args: argparse.Namespace,
) -> None:  # fmt: skip
    """The self-review step of the day for every agent (in the window), then the day's
    ``/me``, ``/rank``, ``/status`` and words kpibot does not understand."""
    if day < len(SELF_REVIEW):
        for agent in agents:
            chat.say(agent, SELF_REVIEW[day], "selfreview")
    for agent in rng.sample(agents, max(1, int(len(agents) * args.me_share))):
        chat.say(agent, "/me", "me")
    for manager in rng.sample(managers, max(1, int(len(managers) * args.rank_share))):
        chat.say(manager, "/rank", "rank")
    for manager in rng.sample(managers, max(1, int(len(managers) * args.status_share))):
        chat.say(manager, "/status", "status")
    for manager in rng.sample(managers, min(20, len(managers))):
        chat.say(manager, "what is my bonus?", "other")  # not a command: kpibot says what it does


@dataclass
class Days:
    """The figures of each simulated day."""

    rss: list[float]
    p99_ms: dict[str, list[float | None]]
    cpu_p99_ms: dict[str, list[float | None]]
    loads: list[float]
    seconds: list[float]
    sent: list[int]
    gc_ms: list[float]
    gc_longest_ms: list[float]
    gc_full: list[int]

    @classmethod
    def empty(cls) -> Days:
        return cls([], defaultdict(list), defaultdict(list), [], [], [], [], [], [])

    def record(self, chat: Chat, collections: Collections, sent: int, started: float) -> None:
        """The day's figures: the collector's passes of the day's requests and deliveries,
        then (after a full collection) the resident memory, each kind's p99."""
        self.sent.append(sent)
        self.gc_ms.append(round(collections.total * 1000, 1))
        self.gc_longest_ms.append(round(collections.longest * 1000, 1))
        self.gc_full.append(collections.full)
        gc.collect()
        self.rss.append(round(rss_mb(), 1))
        for kind in KINDS:
            wall, cpu = chat.times[kind], chat.cpu_times[kind]
            self.p99_ms[kind].append(round(p99(wall) * 1000, 1) if wall else None)
            self.cpu_p99_ms[kind].append(round(p99(cpu) * 1000, 1) if cpu else None)
        self.loads.append(round(os.getloadavg()[0], 2))
        self.seconds.append(round(time.monotonic() - started, 1))
        print(
            f"{len(self.rss):>4} {chat.requests:>9} {self.rss[-1]:>8.1f} {sent:>6} "
            f"{self.seconds[-1]:>6.1f}  "
            + " ".join(f"{'' if self.p99_ms[k][-1] is None else self.p99_ms[k][-1]:>10}"
                       for k in KINDS),
            flush=True,
        )  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = arguments(argv)

    from bot.main import build_service
    from bot.observed_router import ObservedRouter
    from bot.settings import load_settings
    from commands.cycle import run_step
    from storage import repo
    from storage.db import make_engine, unit_of_work, upgrade

    workdir = Path(tempfile.mkdtemp(prefix="kpibot-soak-"))
    url = args.db or f"sqlite:///{workdir / 'kpibot.db'}"
    engine = make_engine(url)
    upgrade(engine)
    load_before = os.getloadavg()[0]
    began = time.monotonic()
    managers, agents = organisation(engine, args.teams, args.agents_per_team)
    everyone = managers + agents
    slack_n = sum(p.platform == "slack" for p in everyone)
    print(
        f"organisation: {len(managers)} teams, {len(agents)} agents ({slack_n} people on Slack, "
        f"{len(everyone) - slack_n} on Telegram) in {time.monotonic() - began:.0f} s",
        flush=True,
    )
    platforms = None if args.no_fakes else Platforms(engine, slack_n, len(everyone) - slack_n)

    now = [START]
    settings = load_settings(
        database_url=url,
        data_dir=workdir,
        kpibot_secret=SECRET,
        default_lang="en",
        slack_bot_token=None,
        telegram_bot_token=None,
    )
    service = build_service(settings, engine=engine, clock=lambda: now[0])
    assert service.database is not None
    router = ObservedRouter(service.router, service.metrics, service.database, "en")
    rng = random.Random(1)
    chat = Chat(router, agents[0] if args.verbose else None)

    def steps(step: str) -> None:
        with unit_of_work(engine) as session:
            for team in repo.list_teams(session=session):
                run_step(
                    session, team=team, period_key="2026-10", step=step, now=now[0], worker="soak"
                )

    figures = Days.empty()
    collections = Collections()
    print(
        f"{'day':>4} {'requests':>9} {'rss MB':>8} {'sent':>6} {'s':>6}  p99 ms: "
        + " ".join(f"{k:>10}" for k in KINDS),
        flush=True,
    )
    totals = {"sent": 0, "failed": 0, "ambiguous": 0, "retried_429": 0}
    for day in range(args.days):
        if args.stop_at is not None and datetime.now(UTC) >= args.stop_at:
            print(f"stopped at {datetime.now(UTC):%H:%M} UTC (--stop-at) after {day} days")
            break
        now[0] = START + timedelta(days=day, hours=2)
        started = time.monotonic()
        chat.times.clear()
        chat.cpu_times.clear()
        collections.reset()
        requests_of_the_day(chat, day, agents, managers, rng, args)
        if day in REMINDERS:
            now[0] = START + timedelta(days=day, hours=10)
            steps(REMINDERS[day])
        today_sent = 0
        if platforms is not None:
            stats = platforms.drain()  # the sender's counts since it started
            today_sent = stats.sent - totals["sent"]
            totals = {key: int(getattr(stats, key)) for key in totals}
        figures.record(chat, collections, today_sent, started)

    delivered = None
    if platforms is not None:
        report = platforms.report()
        delivered = sum(int(n) * c for n, c in report["counts"].items())
        platforms.close()
    return summary(
        engine, args, chat, figures, totals, delivered, people=(managers, agents),
        url=url, load_before=load_before, began=began,
    )  # fmt: skip


def summary(
    engine: Any, args: argparse.Namespace, chat: Chat, figures: Days, totals: dict[str, int],
    delivered: int | None, *, people: tuple[list[Person], list[Person]], url: str,
    load_before: float, began: float,
) -> dict[str, Any]:  # fmt: skip
    """The month's report, and its JSON last line."""
    from sqlmodel import select

    from storage.db import unit_of_work
    from storage.models import Review
    from storage.outbox import status_counts

    managers, agents = people
    rss = figures.rss
    with unit_of_work(engine) as session:
        reviews = len(session.exec(select(Review).where(Review.kind == "self")).all())
        outbox = status_counts(session=session)
    days = len(rss)
    base = rss[min(7, days - 1)] if rss else 0.0
    growth = round((rss[-1] - base) / base * 100, 1) if base else 0.0
    worst = {k: max((v for v in figures.p99_ms[k] if v is not None), default=None) for k in KINDS}
    print(f"machine: {platform.node()} {platform.machine()}, Python {platform.python_version()}, "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, database {url.split(':')[0]}, "
          f"load average {load_before:.2f} → {os.getloadavg()[0]:.2f}")  # fmt: skip
    print(
        f"{chat.requests} requests over {days} simulated days in "
        f"{time.monotonic() - began:.0f} s; {reviews} self-reviews stored for {len(agents)} "
        f"agents; {chat.unexpected} error replies"
    )
    print(f"worst p99 of a day (ms): {worst}")
    if not args.no_fakes:
        print(
            f"outbox: {totals['sent']} sent, {delivered} delivered by the fakes, "
            f"{totals['failed']} failed, {totals['retried_429']} 429s retried; rows {outbox}"
        )
    flat = growth < 10.0 if days > 8 else None  # after the warm-up week, or not measured
    if flat is None:
        print(f"RSS by day: {rss} MB (flatness is measured from day 8: {days} days played)")
    else:
        print(f"RSS day 8 → day {days}: {base} → {rss[-1]} MB ({growth:+.1f} %)")
    once = args.no_fakes or (delivered == totals["sent"] and totals["failed"] == 0)
    result = {
        "requests": chat.requests,
        "days": days,
        "teams": len(managers),
        "agents": len(agents),
        "self_reviews": reviews,
        "errors": chat.unexpected,
        "p99_ms": dict(figures.p99_ms),
        "worst_p99_ms": worst,
        "cpu_p99_ms": dict(figures.cpu_p99_ms),
        "load_by_day": figures.loads,
        "gc_ms_by_day": figures.gc_ms,
        "gc_longest_ms_by_day": figures.gc_longest_ms,
        "gc_full_passes_by_day": figures.gc_full,
        "seconds_by_day": figures.seconds,
        "rss_mb": rss,
        "growth_pct": growth,
        "flat": flat,
        "sent": totals["sent"],
        "delivered": delivered,
        "failed": totals["failed"],
        "sent_by_day": figures.sent,
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "goals_met": bool(flat and chat.unexpected == 0 and once and days == args.days),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
