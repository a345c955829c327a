"""Month start at the size of a real organisation (issue 16): 2,000 agents across 100 teams,
one Slack workspace, open their self-review within one minute and press through the first
three questions, against the strict fake Slack (every Web API method's tier, chat.postMessage
about one a second per channel) and, for comparison, the same flow with every limit off (the
fake's tiers relaxed and kpibot's own pacing off).

Three processes, as in production:

* **kpibot** runs on its own: ``kpibot run --no-chat`` (HTTP mode on ``/slack/events``, the
  router's worker processes as ``ROUTER_PROCESSES`` says, default cores − 1), on a SQLite
  file (or ``--database-url``) the bench fills first: the teams, their managers and agents
  (linked to Slack, language stored), an open period. The unlimited run starts the same
  ``kpibot run`` with its Slack pacing off (``--serve-kpibot --no-pace``).
* **the fake Slack** (``tests/fakes/slack_api.FakeSlack``, strict) in a process of its own;
  it streams every message posted or updated in a DM to the bench (one JSON line each), as
  Slack's client shows a person their DM.
* **the 2,000 clients** in the bench process: each request signed as Slack signs it
  (``tests/slack/sender.py``), sent over HTTP to kpibot's port.

Measured, per press (or typed answer): the time from sending it until the next question is
in the agent's DM (p50, p99, max), limited and unlimited; the 429 answers kpibot caused, as a
share of its Web API calls; and the CPU seconds the kpibot process and its router workers
spent, per request (``front_cpu_s``: the process that serves HTTP, the rest is the workers'),
beside what the harness spent on the same machine (``fake_cpu_s``, ``clients_cpu_s``). Goals:
p99 ≤ 2 s and ≤ 3 × the unlimited run; 429s ≤ 1 %. The last line is JSON.

The load model. By default (``--think 0``) each client presses the moment the question is
shown, which no person does. Slack lets kpibot post about one message a second in a DM (a
few at once); a press is answered by replacing the pressed message through the press's
``response_url`` (an edit, not a post), so only the question after the typed answer (3 → 4)
is a ``chat.postMessage`` under that rule (until 2026-12-04 every next question was, and the
limited run's p50 sat at ≈ 1 s by Slack's rule alone). ``--think S`` lets each agent read
each question for 0.5–1.5 × S seconds first (the same draws in both runs, so the baseline
changes exactly as kpibot's run does); the time measured is still press → next question.

    .venv/bin/python bench/peak_bench.py [--agents 2000] [--teams 100] [--window 60]
        [--think S] [--router-processes N] [--profile DIR]   # DIR: py-spy profiles (if installed)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import os
import queue
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from scoring.scheme_parser import parse_scheme  # noqa: E402
from storage import repo  # noqa: E402
from storage.db import make_engine, unit_of_work, upgrade  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack, ResponseSource  # noqa: E402
from tests.slack.sender import SIGNING_SECRET, SlackSender  # noqa: E402

SCHEME = (ROOT / "tests" / "conversations" / "data" / "mini_shop.toml").read_text(encoding="utf-8")
ANSWER = "4 · above expectations"
KPIBOT = Path(sys.executable).with_name("kpibot")
KEEPALIVE_S = 2.0
"""How long the clients keep an idle connection (uvicorn's ``timeout_keep_alive`` is 5 s)."""
NOT_KPIBOT = ("auth.test", "upload")
"""Calls in the fake's log that are not kpibot's (or not rate-limited ones); its responses
through a press's ``response_url`` are counted with its Web API calls."""


def user_id(team: int, agent: int) -> str:
    return f"U{team:03d}A{agent:04d}"


def period_window(now: datetime) -> tuple[str, datetime, datetime]:
    """Last month's period, its self-review open since yesterday (kpibot runs on the real clock)."""
    key = (now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    return key, now - timedelta(days=1), now + timedelta(days=4)


def populate(engine: Any, teams: int, agents: int) -> list[str]:
    """The teams, their managers and agents (linked to Slack, language stored), an open period."""
    parsed = parse_scheme(SCHEME)
    key, opens, closes = period_window(datetime.now(UTC))
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
                session=session, team=team, key=key, status="open",
                review_opens_at=opens, review_closes_at=closes,
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


# --------------------------------------------------------------------------- the fake's process
class _AnyTrigger(dict[str, bool]):
    """Trigger ids made by the bench process (Slack makes them; here the clients do)."""

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> bool:
        return False


class _AnyResponseUrl(dict[str, list[dict[str, Any]]]):
    """Response URLs made by the bench process: each one known on its first use."""

    def get(self, key: str, default: Any = None) -> list[dict[str, Any]]:
        return self.setdefault(key, [])


class _AnySource(dict[str, ResponseSource]):
    """What a bench-made response URL answers to, read off its path (``…/<channel>/<ts>``),
    valid from its first use (a run lasts minutes, the URL 30)."""

    def get(self, key: str, default: Any = None) -> ResponseSource:
        if key not in self:
            *_rest, channel, ts = key.split("/")
            self[key] = ResponseSource(channel or None, None if ts == "-" else ts, time.monotonic())
        return self[key]


def serve_fake(args: argparse.Namespace) -> None:
    """The child process: the strict fake Slack; every DM message posted or updated goes to
    stdout as a JSON line; ``report`` on stdin → the calls kpibot made."""
    out: queue.SimpleQueue[str | None] = queue.SimpleQueue()

    def writer() -> None:
        while (line := out.get()) is not None:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    threading.Thread(target=writer, daemon=True, name="stream").start()
    with FakeSlack() as fake:
        if args.unlimited:
            fake.tiers.relax()
        fake._triggers = _AnyTrigger()
        fake.responses = _AnyResponseUrl()
        fake.response_sources = _AnySource()
        per_team = args.agents // args.teams
        for t in range(args.teams):
            for a in range(per_team):
                uid = user_id(t, a)
                fake.add_user(uid, uid.lower(), locale="en-US")

        def shown(channel: str, message: dict[str, Any]) -> None:
            """A DM message posted, edited or replaced (through a response_url), as the
            person's Slack shows it."""
            if channel.startswith("D"):
                out.put(json.dumps({"c": channel, "m": message}, ensure_ascii=False))

        fake.on_message = shown
        out.put(json.dumps({"api_url": fake.api_url, "url": fake.url}))
        for line in sys.stdin:
            if line.strip() == "report":
                with fake._lock:
                    calls = [c for c in fake.calls if c.method not in NOT_KPIBOT]
                    by_method: dict[str, int] = {}
                    for c in calls:
                        by_method[c.method] = by_method.get(c.method, 0) + 1
                    report = {
                        "calls": len(calls),
                        "calls_429": sum(1 for c in calls if c.status == 429),
                        "calls_by_method": by_method,
                        "limited_by_method": dict(fake.tiers.limited),
                        "refused_by_method": refused(calls),
                    }
                out.put(json.dumps({"report": report}))
    out.put(None)


def refused(calls: list[Any]) -> dict[str, int]:
    """Calls the fake refused, by method and answer (``response_url used_url`` …)."""
    found: dict[str, int] = {}
    for c in calls:
        if not c.ok:
            key = f"{c.method} {c.response.get('error')}"
            found[key] = found.get(key, 0) + 1
    return found


class RemoteFake:
    """What ``SlackSender`` asks of the fake, answered in the bench process: trigger ids and
    response URLs made here, and a copy of every DM, kept from the fake's stream."""

    dm_channel = staticmethod(FakeSlack.dm_channel)

    def __init__(self, url: str) -> None:
        self.url = url
        self.users: dict[str, Any] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._changed: dict[str, asyncio.Event] = {}
        self.reports: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def new_trigger_id(self) -> str:
        n = next(self._ids)
        return f"{n}.{int(time.time())}.bench{n:06d}"

    def new_response_url(self, channel: str | None = None, message_ts: str | None = None) -> str:
        """A response URL whose path carries what it answers to (the fake reads it there)."""
        n = next(self._ids)
        return (
            f"{self.url}response/T0KPIBOT/{n:08d}/bench{n:06d}/{channel or ''}/{message_ts or '-'}"
        )

    def messages_in(self, channel: str) -> list[dict[str, Any]]:
        return list(self.messages.get(channel, []))

    def take(self, event: dict[str, Any]) -> None:
        if "report" in event:
            self.reports.put_nowait(event["report"])
            return
        channel, message = event["c"], event["m"]
        shown = self.messages.setdefault(channel, [])
        for i, old in enumerate(shown):
            if old["ts"] == message["ts"]:
                shown[i] = message
                break
        else:
            shown.append(message)
        waiting = self._changed.get(channel)
        if waiting is not None:
            waiting.set()

    async def until(self, dm: str, prefix: str, timeout: float = 600) -> None:
        """Until the DM's newest messages include one starting with ``prefix``."""
        deadline = time.monotonic() + timeout
        changed = self._changed.setdefault(dm, asyncio.Event())
        while True:
            shown = self.messages.get(dm) or []
            if any(str(m.get("text", "")).startswith(prefix) for m in shown[-2:]):
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{dm} never saw {prefix!r}")
            changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), left)


async def agent_flow(
    sender: SlackSender,
    fake: RemoteFake,
    uid: str,
    delay: float,
    latencies: list[float],
    thinks: tuple[float, ...] = (0.0, 0.0, 0.0),
) -> None:
    """Open the self-review after ``delay``, then answer three questions, each after reading
    it for its ``thinks`` seconds; each answer's time until the next question is in the DM
    goes into ``latencies``."""
    await asyncio.sleep(delay)
    dm = fake.dm_channel(uid)
    await sender.command(uid, "/selfreview", channel_id="C0TEAM", channel_name="team")
    await fake.until(dm, "Question 1 of ")
    for step, think in zip((2, 3, 4), thinks, strict=True):
        if think > 0:
            await asyncio.sleep(think)
        last = fake.messages_in(dm)[-1]
        started = time.monotonic()
        if step < 4:
            await sender.click(uid, {**last, "channel": dm}, ANSWER)
        else:
            await sender.dm(uid, "Calm with angry customers")
        await fake.until(dm, f"Question {step} of ")
        latencies.append(time.monotonic() - started)


# --------------------------------------------------------------------------- kpibot's process
def serve_kpibot(args: argparse.Namespace) -> None:
    """``kpibot run --no-chat`` itself, its Slack pacing off (``--no-pace``: the unlimited run)."""
    if args.no_pace:
        import bot.slack.adapter

        build = bot.slack.adapter.build_slack

        def unpaced(*a: Any, **kw: Any) -> Any:
            return build(*a, **{**kw, "pace": False})

        bot.slack.adapter.build_slack = unpaced
    from bot.cli.run import run

    sys.argv = ["kpibot", "run", "--no-chat"]
    run(chat=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_kpibot(
    args: argparse.Namespace, workdir: Path, database_url: str, api_url: str, *, limited: bool
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "TELEGRAM_", "KPIBOT_"))
        },
        "PORT": str(port),
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": api_url,
        "DEFAULT_LANG": "en",
        "DATA_DIR": str(workdir),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "WARNING",
        "CYCLE_ENABLED": "false",
        "PYTHONUNBUFFERED": "1",
        "KPIBOT_SECRET": secrets.token_urlsafe(32),
    }
    if args.router_processes is not None:
        env["ROUTER_PROCESSES"] = str(args.router_processes)
    command = (
        [str(KPIBOT), "run", "--no-chat"]
        if limited
        else [sys.executable, __file__, "--serve-kpibot", "--no-pace"]
    )
    log = (workdir / "kpibot.log").open("ab")
    process = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"kpibot exited with {process.returncode}: see {workdir / 'kpibot.log'}"
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return process, url
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"kpibot did not become ready: see {workdir / 'kpibot.log'}")


def cpu_seconds(pid: int, *, started: bool = True) -> float:
    """User + system CPU of ``pid`` and (``started``) of every process under it: the router's
    workers are the zygote's children, so grandchildren of kpibot's process (counting only its
    children had left the workers' CPU out of ``cpu_ms_per_request`` before 2026-12-04)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in [pid, *(descendants(pid) if started else ())]:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def descendants(pid: int) -> list[int]:
    from tests.ops.replica import children

    found, todo = [], [pid]
    while todo:
        for child in children(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


# --------------------------------------------------------------------------- one run
async def run(args: argparse.Namespace, *, limited: bool) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="kpibot-peak-"))
    database_url = args.database_url or f"sqlite:///{workdir / 'peak.db'}"
    engine = make_engine(database_url)
    upgrade(engine)
    users = populate(engine, args.teams, args.agents)
    engine.dispose()
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve-fake",
        "--agents",
        str(args.agents),
        "--teams",
        str(args.teams),
        *(["--unlimited"] if not limited else []),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=1 << 24,
    )
    assert child.stdin is not None and child.stdout is not None
    urls = json.loads(await asyncio.wait_for(child.stdout.readline(), 60))
    fake = RemoteFake(urls["url"])

    async def stream() -> None:
        assert child.stdout is not None
        async for line in child.stdout:
            fake.take(json.loads(line))

    reader = asyncio.create_task(stream())
    kpibot, url = await asyncio.to_thread(
        start_kpibot, args, workdir, database_url, urls["api_url"], limited=limited
    )
    profiler = None
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(KPIBOT.parent))
    if args.profile and spy:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
        out = Path(args.profile) / f"kpibot-{'limited' if limited else 'unlimited'}.txt"
        profiler = subprocess.Popen(
            [spy, "record", "--pid", str(kpibot.pid), "--subprocesses", "--gil", "-f", "raw",
             "-r", "100", "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    latencies: list[float] = []
    rng = random.Random(args.seed)
    try:
        async with httpx.AsyncClient(
            base_url=url,
            timeout=60,
            # idle connections closed by the client well before uvicorn closes them (5 s):
            # a request sent on a connection the server is closing ends in a ReadError
            limits=httpx.Limits(
                max_connections=args.connections,
                max_keepalive_connections=args.connections,
                keepalive_expiry=KEEPALIVE_S,
            ),
        ) as client:
            sender = SlackSender(client, fake)  # type: ignore[arg-type]
            cpu_before, started = cpu_seconds(kpibot.pid), time.monotonic()
            front_before = cpu_seconds(kpibot.pid, started=False)
            fake_before, clients_before = cpu_seconds(child.pid), time.process_time()
            await asyncio.gather(
                *(
                    agent_flow(
                        sender,
                        fake,
                        uid,
                        rng.uniform(0, args.window),
                        latencies,
                        tuple(rng.uniform(0.5, 1.5) * args.think for _ in range(3)),
                    )
                    for uid in users
                )
            )
            wall, cpu = time.monotonic() - started, cpu_seconds(kpibot.pid) - cpu_before
            front_cpu = cpu_seconds(kpibot.pid, started=False) - front_before
            fake_cpu = cpu_seconds(child.pid) - fake_before
            clients_cpu = time.process_time() - clients_before
        report = await settled_report(child, fake)
    finally:
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            await asyncio.to_thread(profiler.wait, 60)
        kpibot.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(kpibot.wait, 60)
        except subprocess.TimeoutExpired:
            kpibot.kill()
        child.stdin.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(child.wait(), 30)
        reader.cancel()
    ordered = sorted(latencies)
    requests = len(users) + len(ordered)
    return {
        "limits": "on" if limited else "off",
        "agents": len(users),
        "presses": len(ordered),
        "p50_s": round(statistics.median(ordered), 3),
        "p99_s": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 3),
        "max_s": round(ordered[-1], 3),
        "wall_s": round(wall, 1),
        "calls": report["calls"],
        "calls_429": report["calls_429"],
        "share_429": round(report["calls_429"] / max(1, report["calls"]), 4),
        "calls_by_method": report["calls_by_method"],
        "limited_by_method": report["limited_by_method"],
        "refused_by_method": report["refused_by_method"],
        "kpibot_cpu_s": round(cpu, 1),
        "cpu_ms_per_request": round(1000 * cpu / max(1, requests), 1),
        "front_cpu_s": round(front_cpu, 1),
        "fake_cpu_s": round(fake_cpu, 1),
        "clients_cpu_s": round(clients_cpu, 1),
        "think_s": args.think,
        "load_average": round(os.getloadavg()[0], 2),
    }


async def settled_report(child: Any, fake: RemoteFake) -> dict[str, Any]:
    """The fake's count of kpibot's calls, once the best-effort tidying after the last
    question has gone out too (two reports a second apart agree), at most 60 s."""
    last: dict[str, Any] | None = None
    deadline = time.monotonic() + 60
    while True:
        child.stdin.write(b"report\n")
        await child.stdin.drain()
        report = await asyncio.wait_for(fake.reports.get(), 60)
        if last is not None and report["calls"] == last["calls"] or time.monotonic() > deadline:
            return report
        last = report
        await asyncio.sleep(1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--teams", type=int, default=100)
    parser.add_argument(
        "--window", type=float, default=60.0, help="Seconds over which agents start."
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="Mean seconds an agent reads a question before answering it (each wait drawn from "
        "0.5–1.5 × this, the same draws in both runs); 0: presses at once, the old model.",
    )
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--router-processes", type=int, default=None,
        help="kpibot's ROUTER_PROCESSES (default: kpibot's own, cores − 1).",
    )  # fmt: skip
    parser.add_argument(
        "--connections", type=int, default=200, help="HTTP connections the clients keep open."
    )
    parser.add_argument("--only", choices=("limited", "unlimited"), default=None)
    parser.add_argument(
        "--profile", default=None, help="A folder for py-spy profiles of the kpibot process."
    )
    parser.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--unlimited", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-kpibot", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-pace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake:
        serve_fake(args)
        return
    if args.serve_kpibot:
        serve_kpibot(args)
        return
    logging.basicConfig(level=logging.WARNING)
    on = asyncio.run(run(args, limited=True)) if args.only != "unlimited" else None
    if on is not None:
        print(json.dumps(on), flush=True)
    off = asyncio.run(run(args, limited=False)) if args.only != "limited" else None
    if off is not None:
        print(json.dumps(off), flush=True)
    if on is None or off is None:
        return
    result = {
        "p50_s": on["p50_s"],
        "p99_s": on["p99_s"],
        "max_s": on["max_s"],
        "unlimited_p99_s": off["p99_s"],
        "ratio_p99": round(on["p99_s"] / max(off["p99_s"], 1e-9), 2),
        "share_429": on["share_429"],
        "calls_429": on["calls_429"],
        "calls": on["calls"],
        "cpu_ms_per_request": on["cpu_ms_per_request"],
        "think_s": args.think,
        "goals_met": on["p99_s"] <= 2.0
        and on["p99_s"] <= 3 * off["p99_s"]
        and on["share_429"] <= 0.01,
        "date": datetime.now(UTC).date().isoformat(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
