"""Benchmark of the results broadcast (issue #9): 10,000 agents through the fake Slack and the
fake Telegram, with the platforms' limits scaled up twenty times so the run fits in a minute.

* Telegram: 600 messages a second overall, 20 a second per chat (the real 30/s and 1/s ×20);
* Slack: 100 ``chat.postMessage`` a second per workspace, 20 a second per channel;
* 1 % of the sending calls are answered 429 with a retry delay (1 s) and 0.5 % with a 5xx.

The fakes (``tests/fakes``) run in threads of their own; kpibot's real adapters
(``bot.slack.adapter`` via ``build_slack``, ``bot.telegram.TelegramAdapter``) send through them, and
kpibot's outbox sender (``bot.sender.Sender``, its limits ×20) drains an outbox of one
``result`` row per agent from a SQLite file (or ``--database-url``). The Telegram adapter
here has no PTB rate limiter: the sender does the pacing (in production PTB's limiter at the
real 30/s stays as a second guard above the sender's pace).

The agents are split between the platforms so that both take the same ideal time (Slack
gets 100/700 of them). Printed: wall time; the ideal time (messages ÷ allowed rate, per
platform, the larger of the two since they run side by side) and their ratio (goal ≤ 1.10);
calls made before a retry delay had passed (goal 0); messages lost and duplicated (goal 0
and 0), counted from what the fakes delivered to each chat. The last line is JSON.

    .venv/bin/python bench/broadcast_bench.py [--agents 10000] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlmodel import select  # noqa: E402

from bot.sender import DEFAULT_LIMITS, Sender  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.slack.adapter import build_slack  # noqa: E402
from bot.telegram.adapter import TelegramAdapter  # noqa: E402
from bot.telegram.people import TelegramPeople  # noqa: E402
from commands.messages import Outgoing, Reply  # noqa: E402
from commands.outbox import outbox_key, reply_to_json  # noqa: E402
from storage import outbox as store  # noqa: E402
from storage import repo  # noqa: E402
from storage.db import make_engine, unit_of_work, upgrade  # noqa: E402
from storage.models import Member  # noqa: E402
from tests.fakes.limits import FloodGate  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, TEAM_ID, FakeSlack  # noqa: E402
from tests.fakes.telegram_api import TOKEN, FakeTelegram  # noqa: E402

SCALE = 20
TG_BASE = 100_000_000
HTTPX = False
POOL = 64
"""``--httpx``: PTB's default httpx transport instead of :mod:`bot.telegram.request` (to
compare)."""


class NoRouter:
    commands: tuple[str, ...] = ()

    def handle(self, incoming: Any) -> list[Reply]:
        return []


class TelegramInThread:
    """The fake Telegram on an event loop of its own thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.fake: FakeTelegram | None = None
        self._stop: asyncio.Event | None = None
        self.thread = threading.Thread(
            target=self.loop.run_until_complete, args=(self._serve(),), daemon=True
        )

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with FakeTelegram() as fake:
            self.fake = fake
            self.ready.set()
            await self._stop.wait()

    def __enter__(self) -> FakeTelegram:
        self.thread.start()
        if not self.ready.wait(10) or self.fake is None:
            raise RuntimeError("the fake Telegram did not start")
        return self.fake

    def __exit__(self, *exc: object) -> None:
        assert self._stop is not None
        self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(10)


def serve_fakes(args: argparse.Namespace) -> None:
    """The child process: both fakes with their flood gates; ``report`` on stdin → the counts."""
    with FakeSlack() as fake_slack, TelegramInThread() as fake_tg:
        gates = {
            "slack": fake_slack.flood_gate(
                overall=args.slack_rate,
                per_chat=args.per_chat,
                p429=args.p429,
                p5xx=args.p5xx,
                retry_after=1,
                seed=args.seed,
            ),
            "telegram": fake_tg.flood_gate(
                overall=args.tg_rate,
                per_chat=args.per_chat,
                p429=args.p429,
                p5xx=args.p5xx,
                retry_after=1,
                seed=args.seed + 1,
            ),
        }
        for i in range(args.tg_count):
            fake_tg.user(TG_BASE + i, f"agent {i}", language_code=None)
        print(json.dumps({"slack": fake_slack.api_url, "telegram": fake_tg.base_url}), flush=True)
        cpu_at_ready = time.process_time()
        for line in sys.stdin:
            if line.strip() == "report":
                got = delivered(fake_tg, fake_slack, args.slack_count, args.tg_count)
                report: dict[str, Any] = {
                    name: {
                        "early": g.early,
                        "limited": g.limited,
                        "random_429": g.random_429,
                        "random_5xx": g.random_5xx,
                    }
                    for name, g in gates.items()
                }
                report["counts"] = dict(Counter(got.values()))
                report["cpu_s"] = round(time.process_time() - cpu_at_ready, 2)
                print(json.dumps(report), flush=True)


def populate(engine: Any, slack_n: int, telegram_n: int) -> None:
    """One team, one manager, the agents, and one pending ``result`` row per agent."""
    with unit_of_work(engine) as s:
        team = repo.create_team(session=s, name="bench", lang="en", slack_team_id=TEAM_ID)
        period = repo.get_or_create_period(session=s, team=team, key="2026-10")
        boss = repo.add_member(session=s, team=team, name="boss", role="manager")
        agents = [
            Member(team_id=team.id, name=f"slack{i}", manager_id=boss.id, slack_user_id=f"U{i:08d}")
            for i in range(slack_n)
        ]
        agents += [
            Member(
                team_id=team.id,
                name=f"tg{i}",
                manager_id=boss.id,
                telegram_user_id=str(TG_BASE + i),
            )
            for i in range(telegram_n)
        ]
        s.add_all(agents)
        s.flush()
        for agent in agents:
            text = (
                f"Your result for 2026-10: member {agent.id}, total 80.0, rank 1 of {len(agents)}."
            )
            store.insert_message(
                session=s,
                team_id=team.id or 0,
                period_id=period.id,
                member_id=agent.id,
                kind="result",
                key=outbox_key(team, period, agent, "result"),
                reply=reply_to_json(Reply(text=text, private=True)),
            )


def telegram_adapter(engine: Any, base_url: str) -> TelegramAdapter:
    from telegram.ext import ApplicationBuilder
    from telegram.request import HTTPXRequest

    from bot.telegram.request import AiohttpRequest

    request = (
        HTTPXRequest(connection_pool_size=POOL)
        if HTTPX
        else AiohttpRequest(connection_pool_size=POOL)
    )
    application = ApplicationBuilder().token(TOKEN).base_url(base_url).request(request).build()
    return TelegramAdapter(
        application,
        NoRouter(),
        people=TelegramPeople(engine),
        webhook_url=None,
        webhook_secret=None,
        poll_timeout=1,
        default_lang="en",
    )


class GatedStub:
    """``--stub``: a platform answered in-process by the same flood gate as the fakes (no HTTP,
    no SDK), to show the sender's own pace without the cost of the platform clients."""

    def __init__(self, gate: FloodGate, chats: dict[int, str], latency: float) -> None:
        self.gate, self.chats, self.latency = gate, chats, latency
        self.delivered: Counter[str] = Counter()

    async def send_outgoing(self, outgoing: Outgoing) -> str | None:
        from telegram.error import NetworkError, RetryAfter

        chat = self.chats[outgoing.member_id]
        await asyncio.sleep(self.latency)
        verdict = self.gate.check("bot", chat)
        if verdict.status == 429:
            raise RetryAfter(verdict.retry_after)
        if verdict.status != 200:
            raise NetworkError("Bad Gateway")
        self.delivered[chat] += 1
        return f"{chat}:{self.delivered[chat]}"


async def run_stub(args: argparse.Namespace) -> dict[str, Any]:
    tg_limits = DEFAULT_LIMITS["telegram"].scaled(SCALE)
    slack_limits = DEFAULT_LIMITS["slack"].scaled(SCALE)
    tg_rate, slack_rate = float(tg_limits.overall or 0), float(slack_limits.per_workspace or 0)
    slack_n = round(args.agents * slack_rate / (slack_rate + tg_rate))
    telegram_n = args.agents - slack_n
    workdir = Path(tempfile.mkdtemp(prefix="kpibot-broadcast-"))
    engine = make_engine(args.database_url or f"sqlite:///{workdir / 'bench.db'}")
    upgrade(engine)
    populate(engine, slack_n, telegram_n)
    with unit_of_work(engine) as s:
        members = list(s.exec(select(Member)))
    gates = {
        "slack": FloodGate(
            overall=slack_rate,
            per_chat=slack_limits.per_chat,
            p429=args.p429,
            p5xx=args.p5xx,
            seed=args.seed,
        ),
        "telegram": FloodGate(
            overall=tg_rate,
            per_chat=tg_limits.per_chat,
            p429=args.p429,
            p5xx=args.p5xx,
            seed=args.seed + 1,
        ),
    }
    stubs = {
        "slack": GatedStub(
            gates["slack"],
            {m.id: f"slack:{m.slack_user_id}" for m in members if m.id and m.slack_user_id},
            args.latency,
        ),
        "telegram": GatedStub(
            gates["telegram"],
            {m.id: f"tg:{m.telegram_user_id}" for m in members if m.id and m.telegram_user_id},
            args.latency,
        ),
    }
    sender = Sender(engine, stubs, worker="bench", batch=args.batch,
                    limits={"telegram": tg_limits, "slack": slack_limits})  # fmt: skip
    started = time.monotonic()
    stats = await sender.drain(timeout=args.timeout)
    wall = time.monotonic() - started
    got: Counter[str] = Counter()
    for stub in stubs.values():
        for chat in stub.chats.values():
            got[chat] = stub.delivered[chat]
    with unit_of_work(engine) as s:
        statuses = store.status_counts(session=s)
    ideal = max(telegram_n / tg_rate, slack_n / slack_rate)
    gate_counts = [
        {
            "early": g.early,
            "limited": g.limited,
            "random_429": g.random_429,
            "random_5xx": g.random_5xx,
        }
        for g in gates.values()
    ]
    return summary(
        "stub",
        args,
        slack_n,
        telegram_n,
        wall,
        ideal,
        dict(Counter(got.values())),
        gate_counts,
        stats,
        statuses,
    )


def delivered(
    fake_tg: FakeTelegram, fake_slack: FakeSlack, slack_n: int, telegram_n: int
) -> Counter[str]:
    """Messages each agent received, by chat."""
    got: Counter[str] = Counter()
    for call in fake_tg.calls:
        if call.method == "sendMessage" and call.ok:
            got[f"tg:{call.params.get('chat_id')}"] += 1
    with fake_slack._lock:
        for channel, messages in fake_slack.messages.items():
            got[f"slack:{channel}"] += len(messages)
    for i in range(telegram_n):
        got.setdefault(f"tg:{TG_BASE + i}", 0)
    for i in range(slack_n):
        got.setdefault(f"slack:{FakeSlack.dm_channel(f'U{i:08d}')}", 0)
    return got


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tg_limits = DEFAULT_LIMITS["telegram"].scaled(SCALE)
    slack_limits = DEFAULT_LIMITS["slack"].scaled(SCALE)
    tg_rate, slack_rate = float(tg_limits.overall or 0), float(slack_limits.per_workspace or 0)
    slack_n = round(args.agents * slack_rate / (slack_rate + tg_rate))
    telegram_n = args.agents - slack_n
    workdir = Path(tempfile.mkdtemp(prefix="kpibot-broadcast-"))
    engine = make_engine(args.database_url or f"sqlite:///{workdir / 'bench.db'}")
    upgrade(engine)
    populate(engine, slack_n, telegram_n)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve-fakes",
        "--slack-count",
        str(slack_n),
        "--tg-count",
        str(telegram_n),
        "--slack-rate",
        str(slack_rate),
        "--tg-rate",
        str(tg_rate),
        "--per-chat",
        str(tg_limits.per_chat),
        "--p429",
        str(args.p429),
        "--p5xx",
        str(args.p5xx),
        "--seed",
        str(args.seed),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None
    urls = json.loads(await asyncio.wait_for(child.stdout.readline(), 60))
    settings = load_settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret="bench",
        slack_app_token=None,
        slack_api_url=urls["slack"],
        default_lang="en",
    )
    slack = build_slack(settings, NoRouter(), engine=engine)
    telegram = telegram_adapter(engine, urls["telegram"])
    await telegram.application.initialize()
    sender = Sender(
        engine,
        {"slack": slack, "telegram": telegram},
        worker="bench",
        batch=args.batch,
        limits={"telegram": tg_limits, "slack": slack_limits},
        concurrency=args.concurrency,
    )
    marked: dict[str, list[float]] = {"slack": [], "telegram": []}
    sender.on_sent = lambda job: marked[job.platform].append(time.monotonic())
    # As ``kpibot run`` does before it serves (bot.serving): what was imported and built so far
    # lives as long as the process, out of the collector's sight.
    gc.collect()
    gc.freeze()
    load_before = os.getloadavg()[0]
    started, cpu_started = time.monotonic(), time.process_time()
    stats = await sender.drain(timeout=args.timeout)
    wall, cpu = time.monotonic() - started, time.process_time() - cpu_started
    print(
        "seconds until this share of each platform's messages was marked sent:",
        json.dumps(
            {
                name: {
                    f"{q:.0%}": round(times[min(len(times) - 1, int(q * len(times)))] - started, 2)
                    for q in (0.1, 0.5, 0.9, 0.99, 1.0)
                }
                for name, times in marked.items()
                if times
            }
        ),
    )
    await telegram.application.shutdown()
    await slack.close_sessions()
    child.stdin.write(b"report\n")
    await child.stdin.drain()
    report = json.loads(await asyncio.wait_for(child.stdout.readline(), 60))
    child.stdin.close()
    await child.wait()
    with unit_of_work(engine) as s:
        statuses = store.status_counts(session=s)
    counts = {int(k): v for k, v in report["counts"].items()}
    ideal = max(telegram_n / tg_rate, slack_n / slack_rate)
    result = summary(
        "fakes",
        args,
        slack_n,
        telegram_n,
        wall,
        ideal,
        counts,
        [report["slack"], report["telegram"]],
        stats,
        statuses,
    )
    # How busy the machine and the two processes were: on 2 shared cores the ratio follows the load.
    result["cpu_s"] = {"kpibot": round(cpu, 2), "fakes": report["cpu_s"]}
    result["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    return result


def summary(
    mode: str,
    args: argparse.Namespace,
    slack_n: int,
    telegram_n: int,
    wall: float,
    ideal: float,
    counts: dict[int, int],
    gates: list[dict[str, int]],
    stats: Any,
    statuses: dict[str, int],
) -> dict[str, Any]:
    """The result: ``counts`` is {messages received: how many agents}."""
    return {
        "mode": mode, "agents": args.agents, "slack_agents": slack_n, "telegram_agents": telegram_n,
        "wall_s": round(wall, 2), "ideal_s": round(ideal, 2), "ratio_ideal": round(wall / ideal, 3),
        "early_retries": sum(g["early"] for g in gates),
        "lost": counts.get(0, 0),
        "duplicated": sum((n - 1) * c for n, c in counts.items() if n > 1),
        "limit_hits": sum(g["limited"] for g in gates),
        "answered_429": sum(g["random_429"] for g in gates),
        "answered_5xx": sum(g["random_5xx"] for g in gates),
        "sent": stats.sent, "retried_429": stats.retried_429, "retried_error": stats.retried_error,
        "failed": stats.failed, "outbox": statuses,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--p429", type=float, default=0.01)
    parser.add_argument("--p5xx", type=float, default=0.005)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--batch",
        type=int,
        default=1000,
        help="Rows claimed at once (about two seconds of the scaled limits).",
    )
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--stub",
        action="store_true",
        help="Platforms answered in-process by the same limits (no HTTP, no SDK): the sender "
        "alone.",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=64,
        help="Sends in flight at once (and HTTP connections).",
    )
    parser.add_argument(
        "--httpx",
        action="store_true",
        help="Telegram through PTB's default httpx transport (to compare with aiohttp).",
    )
    parser.add_argument(
        "--latency", type=float, default=0.005, help="--stub: seconds each call takes."
    )
    for hidden in ("--slack-count", "--tg-count"):
        parser.add_argument(hidden, type=int, default=0, help=argparse.SUPPRESS)
    for hidden in ("--slack-rate", "--tg-rate", "--per-chat"):
        parser.add_argument(hidden, type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--serve-fakes", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fakes:
        serve_fakes(args)
        return
    global HTTPX, POOL
    HTTPX, POOL = args.httpx, args.concurrency
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("bot.sender").setLevel(logging.ERROR)
    result = asyncio.run(run_stub(args) if args.stub else run(args))
    print(
        f"agents: {result['agents']} (Slack {result['slack_agents']}, Telegram "
        f"{result['telegram_agents']})"
    )
    print(
        f"wall time: {result['wall_s']} s; ideal: {result['ideal_s']} s; ratio "
        f"{result['ratio_ideal']} (goal ≤ 1.10)"
    )
    print(f"calls before a retry delay had passed: {result['early_retries']} (goal 0)")
    print(f"lost: {result['lost']}, duplicated: {result['duplicated']} (goal 0 and 0)")
    print(f"429 answered: {result['answered_429']}, 5xx answered: {result['answered_5xx']}, "
          f"limits exceeded: {result['limit_hits']}, outbox: {result['outbox']}")  # fmt: skip
    if "cpu_s" in result:
        print(
            f"CPU seconds while draining: kpibot {result['cpu_s']['kpibot']}, fakes "
            f"{result['cpu_s']['fakes']}; load average {result['load_average'][0]} → "
            f"{result['load_average'][1]}"
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
