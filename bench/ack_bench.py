"""Time to acknowledge Slack requests under load: kpibot vs a bare slack-bolt app (issue #10).

One ``kpibot run`` (a child process, uvicorn on 127.0.0.1, Slack HTTP mode, its Web API
calls going to the fake Slack of ``tests/fakes/slack_api.py``) and one bare slack-bolt app
(a child process too: the same bolt, the same signing secret, listeners that only ack)
receive the same 2,000 signed requests, 50 at a time: slash commands (``/kpi help|me|rank``),
``block_actions`` (a button press) and ``view_submission`` (a manager submitting a review
modal that kpibot really opened; kpibot's ack of a submission waits for the router, so
that Slack can show errors inline). The time to acknowledgement is measured by the
client, from sending the request to the whole answer.

The two apps take turns (``--rounds``, a slice of the same requests each; kpibot's work
left over from its turn is finished before the bare app's turn), so that both meet the
same moments of a noisy machine.

While the load runs, a broadcast is sending: every member has ten result messages in the
outbox and the outbox sender delivers them (to the fake Slack) during the run; the number
delivered while kpibot took its load is printed. When the running replica has no sender, a
separate process runs ``bot.sender.Sender`` on the same database.

Goals: p99 ≤ 300 ms, p99 ≤ 1.5 × the bare app's, no ack later than 3 s. The last line is
JSON with at least ``p99_ms``, ``ratio_p99`` and ``late_acks``.

    .venv/bin/python bench/ack_bench.py [--requests 2000] [--concurrency 50] [--db URL]

``--platform feishu`` measures Feishu's card callbacks the same way against a bare lark-oapi
handler that only answers (:func:`main_feishu`; goal: p99 ≤ 1.5 × bare, none later than 3 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECRET = "bench-secret-Zq3v8Rk2pWn5Yt7Lc9Hs4Jd6Fb1Mx0Ge"
EXTRA_AGENTS = 45
LATE_S = 3.0


# ---------------------------------------------------------------- the bare app (child process)


def serve_bare(port: int, api_url: str) -> None:
    """A slack-bolt AsyncApp that only acks, under uvicorn (what Slack's own examples do)."""
    import re

    import uvicorn
    from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.routing import Route

    from tests.fakes.slack_api import BOT_TOKEN
    from tests.slack.sender import SIGNING_SECRET

    app = AsyncApp(
        client=AsyncWebClient(token=BOT_TOKEN, base_url=api_url),
        signing_secret=SIGNING_SECRET,
        process_before_response=False,
    )

    async def ack_only(ack: Any) -> None:
        await ack()

    app.command(re.compile(".*"))(ack_only)
    app.action(re.compile(".+"))(ack_only)
    app.view(re.compile(".*"))(ack_only)
    handler = AsyncSlackRequestHandler(app)

    async def events(request: Request) -> Any:
        return await handler.handle(request)

    web = Starlette(routes=[Route("/slack/events", events, methods=["POST"])])
    uvicorn.run(web, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# ---------------------------------------------------------------- the world


def prepare(url: str) -> dict[str, Any]:
    """The london team of the test world, 45 more agents, all linked to Slack, the review
    window open now, and ten result messages per member in the outbox."""
    from storage import repo
    from storage.db import make_engine, unit_of_work, upgrade
    from tests.conversations.world import build_world

    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    ids = build_world(engine, opens=now - timedelta(days=1), closes=now + timedelta(days=5))
    users: dict[str, str] = {}
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="london")
        assert team is not None
        manager = repo.get_member(session=session, member_id=ids["Mary"])
        assert manager is not None
        names = ["Alice", "Bob", "Carol", "Dave"]
        for n in range(EXTRA_AGENTS):
            agent = repo.add_member(
                session=session, team=team, name=f"Agent{n:02d}", role="agent", manager=manager
            )
            ids[agent.name] = agent.id or 0
            names.append(agent.name)
        for name in ["Mary", *names]:
            member = repo.get_member(session=session, member_id=ids[name])
            assert member is not None
            user_id = "U0" + "".join(ch for ch in name.upper() if ch.isalnum())
            repo.link_platform(
                session=session, member=member, platform="slack", user_id=user_id, actor="bench"
            )
            users[name] = user_id
    queued = enqueue_broadcast(engine, ids, names)
    engine.dispose()
    return {"users": users, "agents": names, "queued": queued}


def enqueue_broadcast(engine: Any, ids: dict[str, int], names: list[str]) -> int:
    try:
        from commands.outbox import enqueue
    except ImportError:
        return 0
    from commands.messages import Reply
    from storage import repo
    from storage.db import unit_of_work

    count = 0
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="london")
        assert team is not None
        for name in names:
            member = repo.get_member(session=session, member_id=ids[name])
            for kind in (
                "result",
                "result.detail",
                "result.tips",
                "result.chart",
                "result.history",
                "result.goals",
                "result.feedback",
                "result.qa",
                "result.survey",
                "result.next",
            ):
                count += enqueue(
                    session,
                    team=team,
                    period=None,
                    member=member,
                    kind=f"bench.{kind}",
                    reply=Reply(text=f"{name}: your October result ({kind})", private=True),
                )
    return count


# ---------------------------------------------------------------- the load


def wait_ready(url: str, path: str, proc: subprocess.Popen[bytes], timeout: float = 90.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited with {proc.returncode}")
        try:
            httpx.post(url + path, timeout=1) if path == "/slack/events" else httpx.get(
                url + path, timeout=1
            )
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not start")


async def open_review_modals(
    base_url: str, fake: Any, users: dict[str, str], agents: list[str]
) -> list[dict[str, Any]]:
    """Mary opens the review modal for each agent (kpibot calls views.open on the fake)."""
    import httpx

    from tests.slack.sender import SlackSender

    views: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        sender = SlackSender(client, fake)
        for agent in agents[:20]:
            before = len(fake.views)
            await sender.command(users["Mary"], "/kpi", f"review {agent}")
            try:
                await fake.wait_until(lambda b=before: len(fake.views) > b, timeout=20)
            except AssertionError:
                continue
            views.append(list(fake.views.values())[-1])
    return views


def answers_for(view: dict[str, Any]) -> dict[str, str]:
    answers: dict[str, str] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        options = element.get("options") or []
        answers[block["block_id"]] = (
            options[-2]["value"] if len(options) > 1 else "Good work this month."
        )
    return answers


def plan(
    n: int, users: dict[str, str], agents: list[str], views: list[dict[str, Any]]
) -> list[tuple[str, Any]]:
    rng = random.Random(10)
    people = [users[a] for a in agents]
    button = {
        "ts": "1700000000.000100",
        "text": "kpibot",
        "blocks": [
            {
                "type": "actions",
                "block_id": "b1",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "help:0",
                        "text": {"type": "plain_text", "text": "Help"},
                        "value": "",
                    }
                ],
            }
        ],
    }
    requests: list[tuple[str, Any]] = []
    for k in range(n):
        kind = ("command", "action", "view")[k % 3] if views else ("command", "action")[k % 2]
        if kind == "command":
            requests.append(("command", (rng.choice(people), rng.choice(["help", "me", "rank"]))))
        elif kind == "action":
            requests.append(("action", (rng.choice(people), button)))
        else:
            view = views[k % len(views)]
            requests.append(("view", (users["Mary"], view, answers_for(view))))
    return requests


class _Recorder:
    """Stands in for the HTTP client of ``SlackSender``: keeps each body instead of sending it."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, str]] = []

    async def post(self, _path: str, *, content: bytes, headers: dict[str, str]) -> Any:
        import httpx

        self.bodies.append((content.decode(), headers["Content-Type"]))
        return httpx.Response(200)


async def bodies_for(fake: Any, requests: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    """Each request's body, built by ``tests/slack/sender.py`` as Slack would send it (its
    response_url and trigger id registered in the fake); signed later, at send time."""
    from tests.slack.sender import SlackSender

    recorder = _Recorder()
    sender = SlackSender(recorder, fake)  # type: ignore[arg-type]
    for kind, args in requests:
        if kind == "command":
            await sender.command(args[0], "/kpi", args[1])
        elif kind == "action":
            await sender.click(args[0], args[1], "Help", channel_id="C0BENCH")
        else:
            await sender.submit(*args)
    return recorder.bodies


def load(
    port: int, bodies: list[tuple[str, Any]], concurrency: int, *, client: str = "--client"
) -> list[float]:
    """Run the load from a child process (raw keep-alive HTTP/1.1), so that the fake Slack in
    this process and the client never compete for one interpreter."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(bodies, fh)
    out = subprocess.run([sys.executable, __file__, client, fh.name, str(port), str(concurrency)],
                         capture_output=True, text=True, check=True)  # fmt: skip
    os.unlink(fh.name)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["failures"]:
        print(
            f"  {result['failures']} requests were not answered 200 ({result['statuses']})",
            flush=True,
        )
    return list(result["times"])


async def _post_all(port: int, concurrency: int, requests: list[Callable[[], bytes]]) -> None:
    """Send each request (made when it is sent: a signature carries the time) over keep-alive
    HTTP/1.1 connections, ``concurrency`` at once; print each one's time to its whole answer
    and the answers' statuses as one JSON line."""
    queue: asyncio.Queue[tuple[int, Callable[[], bytes]]] = asyncio.Queue()
    for n, make in enumerate(requests):
        queue.put_nowait((n, make))
    times: list[float] = [0.0] * len(requests)
    statuses: dict[str, int] = {}

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while not queue.empty():
            n, make = queue.get_nowait()
            payload = make()
            started = time.perf_counter()
            writer.write(payload)
            await writer.drain()
            status_line = await reader.readline()
            length, close = 0, False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _sep, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "connection" and "close" in value.lower():
                    close = True
            await reader.readexactly(length)
            times[n] = time.perf_counter() - started
            status = status_line.split()[1].decode() if status_line else "none"
            statuses[status] = statuses.get(status, 0) + 1
            if close:
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    failures = sum(n for status, n in statuses.items() if status != "200")
    print(json.dumps({"times": times, "failures": failures, "statuses": statuses}))


async def _client(path: str, port: int, concurrency: int) -> None:
    """Signed Slack Events API POSTs of the prepared bodies to ``/slack/events``."""
    import hashlib
    import hmac

    from tests.slack.sender import SIGNING_SECRET

    def signed(body: str, content_type: str) -> Callable[[], bytes]:
        def make() -> bytes:
            raw = body.encode()
            ts = str(int(time.time()))
            mac = hmac.new(SIGNING_SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256)
            head = (
                f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Content-Type: {content_type}\r\nContent-Length: {len(raw)}\r\n"
                f"X-Slack-Request-Timestamp: {ts}\r\nX-Slack-Signature: v0={mac.hexdigest()}\r\n"
                "\r\n"
            )
            return head.encode() + raw

        return make

    bodies = json.loads(Path(path).read_text(encoding="utf-8"))
    await _post_all(
        port, concurrency, [signed(body, content_type) for body, content_type in bodies]
    )


def cpu_s(*pids: int) -> float:
    """CPU seconds (user + system) the processes have used so far (Linux ``/proc``)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``: the router's workers are the zygote's children
    (bot.router_pool), not the replica's, so its children alone miss their CPU."""
    from tests.ops.replica import children

    found, todo = [], children(pid)
    while todo:
        child = todo.pop()
        found.append(child)
        todo += children(child)
    return found


def drain(pid: int, measure: Any, quiet_s: float = 0.5, timeout: float = 60.0) -> None:
    """Wait until kpibot (and its workers) have finished the work the load left behind."""
    deadline = time.monotonic() + timeout
    last = measure(pid, *descendants(pid))
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = measure(pid, *descendants(pid))
        if now - last < quiet_s * 0.05:
            return
        last = now


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "p50_ms": round(q[49] * 1000, 1),
        "p99_ms": round(q[98] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def start_broadcast_process(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """The outbox sender in a process of its own, on the same database (when the replica has
    none)."""
    return subprocess.Popen([sys.executable, __file__, "--broadcast"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


async def broadcast() -> None:
    from bot.main import build_service
    from bot.sender import Sender
    from bot.settings import load_settings

    service = build_service(load_settings())
    await Sender(service.engine, {"slack": service.adapters[0]}).drain(timeout=600)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--rounds", type=int, default=8, help="turns each app takes (a slice of the requests each)"
    )
    parser.add_argument(
        "--db", default=None, help="database URL (default: a SQLite file in a temp folder)"
    )
    parser.add_argument(
        "--platform", choices=("slack", "feishu"), default="slack",
        help="feishu: Feishu's callback URL against a bare lark-oapi handler (see main_feishu)",
    )  # fmt: skip
    parser.add_argument(
        "--forms", type=int, default=20, help="feishu: review form cards opened first"
    )
    args = parser.parse_args()
    if args.platform == "feishu":
        await main_feishu(args)
        return

    from tests.fakes.slack_api import BOT_TOKEN, FakeSlack
    from tests.ops.replica import free_port
    from tests.slack.sender import SIGNING_SECRET

    workdir = Path(tempfile.mkdtemp(prefix="kpibot-ack-bench-"))
    url = args.db or f"sqlite:///{workdir / 'kpibot.db'}"
    world = prepare(url)
    with FakeSlack() as fake:
        for name, user_id in world["users"].items():
            fake.add_user(user_id, name.lower().replace(" ", "."), locale="en-GB")
        kpibot_port, bare_port = free_port(), free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "PORT": str(kpibot_port),
            "DATA_DIR": str(workdir),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.api_url,
            "KPIBOT_SECRET": SECRET,
            "DEFAULT_LANG": "en",
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "json",
        }
        kpibot = subprocess.Popen(
            [str(Path(sys.executable).with_name("kpibot")), "run", "--no-chat"],
            cwd=workdir,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(workdir / "kpibot.log", "wb"),  # noqa: SIM115
        )
        bare = subprocess.Popen(
            [sys.executable, __file__, "--serve-bare", str(bare_port), fake.api_url],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        broadcaster = None
        try:
            wait_ready(f"http://127.0.0.1:{kpibot_port}", "/readyz", kpibot)
            wait_ready(f"http://127.0.0.1:{bare_port}", "/slack/events", bare)
            kpibot_url = f"http://127.0.0.1:{kpibot_port}"
            views = await open_review_modals(kpibot_url, fake, world["users"], world["agents"])
            requests = plan(args.requests, world["users"], world["agents"], views)
            wired = "Sender(" in (ROOT / "bot" / "main.py").read_text(encoding="utf-8")
            if world["queued"] and not wired:
                broadcaster = start_broadcast_process(env)
            await asyncio.sleep(1.0)  # the broadcast under way
            warmup = plan(100, world["users"], world["agents"], views)
            load(kpibot_port, await bodies_for(fake, warmup), args.concurrency)
            load(bare_port, await bodies_for(fake, warmup), args.concurrency)
            mine_bodies = await bodies_for(fake, requests)
            theirs_bodies = await bodies_for(fake, requests)
            # Side by side: the two apps take turns, a slice of the same requests each, so
            # that both meet the same moments of a noisy machine.
            mine, theirs, window, posts_during = [], [], 0.0, 0
            spent = dict.fromkeys(("front", "workers", "fake", "bare"), 0.0)

            def usage() -> dict[str, float]:
                return {
                    "front": cpu_s(kpibot.pid),
                    "workers": cpu_s(*descendants(kpibot.pid)),
                    "fake": cpu_s(os.getpid()),
                }

            size = -(-len(requests) // args.rounds)
            for first in range(0, len(requests), size):
                posts_before = len(fake.calls_to("chat.postMessage", ok=True))
                started = time.monotonic()
                before = usage()
                mine += await asyncio.to_thread(
                    load, kpibot_port, mine_bodies[first : first + size], args.concurrency
                )
                window += time.monotonic() - started
                for key, value in usage().items():
                    spent[key] += value - before[key]
                posts_during += len(fake.calls_to("chat.postMessage", ok=True)) - posts_before
                await asyncio.to_thread(
                    drain, kpibot.pid, cpu_s
                )  # kpibot's late work must not load the bare app's turn
                bare_before = cpu_s(bare.pid)
                theirs += await asyncio.to_thread(
                    load, bare_port, theirs_bodies[first : first + size], args.concurrency
                )
                spent["bare"] += cpu_s(bare.pid) - bare_before
            cpu = {key: round(value * 1000 / len(requests), 2) for key, value in spent.items()}
        finally:
            for proc in (kpibot, bare, broadcaster):
                if proc is not None and proc.poll() is None:
                    proc.terminate()
                    try:
                        proc.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        proc.kill()
    k, b = summary(mine), summary(theirs)
    for kind in ("command", "action", "view"):
        picked = [t for (x, _a), t in zip(requests, mine, strict=True) if x == kind]
        bare_picked = [t for (x, _a), t in zip(requests, theirs, strict=True) if x == kind]
        if len(picked) > 2:
            pk, pb = summary(picked), summary(bare_picked)
            print(
                f"  {kind:8s} kpibot p50 {pk['p50_ms']:7.1f} p99 {pk['p99_ms']:7.1f}   bare p50 "
                f"{pb['p50_ms']:7.1f} p99 {pb['p99_ms']:7.1f}"
            )
    late = sum(t > LATE_S for t in mine)
    kinds = {
        kind: sum(1 for x, _ in requests if x == kind) for kind in ("command", "action", "view")
    }
    print(
        f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, database "
        f"{url.split(':')[0]}"
    )
    print(
        f"requests: {len(requests)} ({kinds}), {args.concurrency} at a time, {len(views)} review "
        f"modals opened first"
    )
    who = "the replica's own sender" if wired else "a sender process on the same database"
    print(
        f"broadcast: {world['queued']} outbox messages queued, {posts_during} chat.postMessage "
        f"calls while kpibot took its load ({window:.1f} s in {args.rounds} turns; {who})"
    )
    print(
        f"CPU per request (ms): kpibot front {cpu['front']}, its router workers {cpu['workers']}, "
        f"the fake Slack {cpu['fake']}; bare app {cpu['bare']}"
    )
    print(
        f"kpibot     p50 {k['p50_ms']:7.1f} ms   p99 {k['p99_ms']:7.1f} ms   max "
        f"{k['max_ms']:7.1f} ms   late (>3 s) {late}"
    )
    print(
        f"bare bolt  p50 {b['p50_ms']:7.1f} ms   p99 {b['p99_ms']:7.1f} ms   max "
        f"{b['max_ms']:7.1f} ms"
    )
    ratio = round(k["p99_ms"] / b["p99_ms"], 2) if b["p99_ms"] else None
    goals = {
        "p99_le_300ms": k["p99_ms"] <= 300,
        "ratio_le_1_5": ratio is not None and ratio <= 1.5,
        "no_late": late == 0,
    }
    print(f"goals: {goals}")
    print(
        json.dumps(
            {
                "p50_ms": k["p50_ms"],
                "p99_ms": k["p99_ms"],
                "max_ms": k["max_ms"],
                "bare_p50_ms": b["p50_ms"],
                "bare_p99_ms": b["p99_ms"],
                "bare_max_ms": b["max_ms"],
                "ratio_p99": ratio,
                "late_acks": late,
                "requests": len(requests),
                "concurrency": args.concurrency,
                "broadcast_messages_during_load": posts_during,
                "cpu_ms_per_request": cpu,
            }
        )
    )


# ---------------------------------------------------------------- Feishu (issue 19)
#
# ``--platform feishu``: the same side-by-side method for Feishu's callback URL. kpibot runs in
# callback mode (``FEISHU_EVENTS=callback``, its Open API calls going to the fake Feishu of
# ``tests/fakes/feishu_api.py``); the bare app is lark-oapi's ``EventDispatcherHandler`` with
# the same encrypt key and verification token, whose handlers only answer. Both get the same
# encrypted, signed envelopes: ``card.action.trigger`` for a button press (a card kpibot's
# renderer drew) and for a manager's review form submitted (on the cards kpibot really sent),
# and ``im.message.receive_v1`` for a typed command. Feishu shows the person an error when a
# card callback is not answered within 3 s.

FEISHU_COMMANDS = ("/help", "/me", "/rank")


def serve_bare_feishu(port: int, encrypt_key: str, verification_token: str) -> None:
    """lark-oapi's dispatcher under uvicorn, handlers that only answer (what its examples do)."""
    import lark_oapi as lark
    import uvicorn
    from lark_oapi.core.model import RawRequest
    from lark_oapi.event.callback.model.p2_card_action_trigger import (
        P2CardActionTriggerResponse,
    )
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    def on_message(_data: Any) -> None:
        return None

    def on_card(_data: Any) -> Any:
        return P2CardActionTriggerResponse({})

    dispatcher = (
        lark.EventDispatcherHandler.builder(encrypt_key, verification_token)
        .register_p2_im_message_receive_v1(on_message)
        .register_p2_card_action_trigger(on_card)
        .build()
    )

    async def events(request: Request) -> Response:
        raw = RawRequest()
        raw.uri = request.url.path
        raw.body = await request.body()
        raw.headers = {k.title(): v for k, v in request.headers.items()}  # X-Lark-Signature
        answer = dispatcher.do(raw)
        return Response(answer.content or b"{}", status_code=answer.status_code or 200,
                        media_type="application/json")  # fmt: skip

    web = Starlette(routes=[Route("/feishu/events", events, methods=["POST"])])
    uvicorn.run(web, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def feishu_open_id(name: str) -> str:
    import hashlib

    return "ou_" + hashlib.sha256(name.encode()).hexdigest()[:32]


def prepare_feishu(url: str) -> dict[str, Any]:
    """The london team of the test world, 45 more agents, all linked to Feishu (open_ids),
    the review window open now, and ten result messages per member in the outbox."""
    from storage import repo
    from storage.db import make_engine, unit_of_work, upgrade
    from tests.conversations.world import build_world

    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    ids = build_world(engine, opens=now - timedelta(days=1), closes=now + timedelta(days=5))
    names = ["Alice", "Bob", "Carol", "Dave"]
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="london")
        manager = repo.get_member(session=session, member_id=ids["Mary"])
        assert team is not None and manager is not None
        for n in range(EXTRA_AGENTS):
            agent = repo.add_member(
                session=session, team=team, name=f"Agent{n:02d}", role="agent", manager=manager
            )
            ids[agent.name] = agent.id or 0
            names.append(agent.name)
        for name in ["Mary", *names]:
            member = repo.get_member(session=session, member_id=ids[name])
            assert member is not None
            repo.link_platform(session=session, member=member, platform="feishu",
                               user_id=feishu_open_id(name), actor="bench")  # fmt: skip
    queued = enqueue_broadcast(engine, ids, names)
    engine.dispose()
    return {"agents": names, "queued": queued}


def help_card(fake: Any, user: Any) -> str:
    """A card with one button in ``user``'s private chat, drawn by kpibot's renderer (as if
    kpibot had sent it); the message id."""
    from bot.feishu import render
    from commands.messages import Button, Reply

    [card] = render.render(Reply(text="kpibot", buttons=(Button("Help", "help:0"),)), "en").cards
    with fake._lock:
        message = fake._new_message(
            user.p2p_chat,
            {"msg_type": "interactive", "content": json.dumps(card, ensure_ascii=False)},
        )
    return str(message["message_id"])


async def open_review_cards(
    fake: Any, mary: Any, agents: list[str], count: int = 20
) -> dict[str, str]:
    """Mary asks kpibot for the review of each of ``count`` agents: each form card kpibot sent (its
    message id → the card as sent; kpibot later takes the buttons off an older card)."""
    forms: dict[str, str] = {}
    for agent in agents[:count]:
        before = len(fake.chat_messages(mary.p2p_chat))
        await fake.send_text(mary, f"/review @{agent}")
        try:
            await fake.wait_until(
                lambda b=before: any(
                    '"form"' in m["content"] for m in fake.chat_messages(mary.p2p_chat)[b:]
                ),
                timeout=20,
            )
        except AssertionError:
            continue
        forms.update(
            {
                m["message_id"]: m["content"]
                for m in fake.chat_messages(mary.p2p_chat)[before:]
                if m["sender"] == "app" and '"form"' in m["content"]
            }
        )
    return forms


def submit_event(fake: Any, mary: Any, message_id: str, card: str) -> dict[str, Any]:
    """Mary submits the review form of the card ``message_id`` as she saw it when it came."""
    with fake._lock:
        now, fake.messages[message_id]["content"] = fake.messages[message_id]["content"], card
        try:
            return dict(
                fake.press_event(
                    mary,
                    message_id,
                    "Next",
                    form={"ability": "4", "collaboration": "3", "service": "3"},
                )
            )
        finally:
            fake.messages[message_id]["content"] = now


def feishu_bodies(
    fake: Any, n: int, users: dict[str, Any], agents: list[str], cards: dict[str, str],
    forms: dict[str, str], seed: int,
) -> tuple[list[str], list[tuple[str, dict[str, str]]]]:  # fmt: skip
    """``n`` requests as Feishu sends them (each its own event id): kinds and encoded bodies."""
    rng = random.Random(seed)
    order = list(forms)
    kinds: list[str] = []
    bodies: list[tuple[str, dict[str, str]]] = []
    cycle = ("message", "press", "submit") if forms else ("message", "press")
    for k in range(n):
        kind = cycle[k % len(cycle)]
        if kind == "message":
            payload = fake.message_event(users[rng.choice(agents)], rng.choice(FEISHU_COMMANDS))
        elif kind == "press":
            name = rng.choice(agents)
            payload = fake.press_event(users[name], cards[name], "Help")
        else:
            message_id = order[k % len(order)]
            payload = submit_event(fake, users["Mary"], message_id, forms[message_id])
        body, headers = fake.encode(payload)
        kinds.append(kind)
        bodies.append((body.decode(), headers))
    return kinds, bodies


def feishu_load(
    port: int, bodies: list[tuple[str, dict[str, str]]], concurrency: int
) -> list[float]:
    """Like :func:`load`: the requests from a child process, each timed to its whole answer."""
    return load(port, bodies, concurrency, client="--feishu-client")


async def _feishu_client(path: str, port: int, concurrency: int) -> None:
    """Keep-alive HTTP/1.1 POSTs of the prepared envelopes to ``/feishu/events``."""

    def request(body: str, headers: dict[str, str]) -> Callable[[], bytes]:
        raw = body.encode()
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head = (f"POST /feishu/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}"
                f"Content-Length: {len(raw)}\r\n\r\n")  # fmt: skip
        payload = head.encode() + raw
        return lambda: payload

    bodies = json.loads(Path(path).read_text(encoding="utf-8"))
    await _post_all(port, concurrency, [request(body, headers) for body, headers in bodies])


async def main_feishu(args: argparse.Namespace) -> None:
    from tests.fakes.feishu_api import FakeFeishu
    from tests.ops.replica import free_port

    workdir = Path(tempfile.mkdtemp(prefix="kpibot-ack-bench-feishu-"))
    url = args.db or f"sqlite:///{workdir / 'kpibot.db'}"
    world = prepare_feishu(url)
    agents: list[str] = world["agents"]
    with FakeFeishu() as fake:
        users = {
            name: fake.user(name, feishu_open_id(name), locale="en_US")
            for name in ["Mary", *agents]
        }
        cards = {name: help_card(fake, users[name]) for name in agents}
        kpibot_port, bare_port = free_port(), free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "PORT": str(kpibot_port),
            "DATA_DIR": str(workdir),
            "FEISHU_APP_ID": fake.app_id,
            "FEISHU_APP_SECRET": fake.app_secret,
            "FEISHU_DOMAIN": fake.domain,
            "FEISHU_EVENTS": "callback",
            "FEISHU_VERIFICATION_TOKEN": fake.verification_token,
            "FEISHU_ENCRYPT_KEY": fake.encrypt_key or "",
            "FEISHU_DEFAULT_LANG": "en",
            "KPIBOT_SECRET": SECRET,
            "DEFAULT_LANG": "en",
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "json",
        }
        for key in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "TELEGRAM_BOT_TOKEN"):
            env.pop(key, None)
        kpibot = subprocess.Popen(
            [str(Path(sys.executable).with_name("kpibot")), "run", "--no-chat"],
            cwd=workdir,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(workdir / "kpibot.log", "wb"),  # noqa: SIM115
        )
        bare = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve-bare-feishu",
                str(bare_port),
                fake.encrypt_key or "",
                fake.verification_token,
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            # a loaded machine can take minutes to start kpibot and its router workers
            wait_ready(f"http://127.0.0.1:{kpibot_port}", "/readyz", kpibot, timeout=300)
            wait_ready(f"http://127.0.0.1:{bare_port}", "/healthz", bare, timeout=300)
            fake.callback_url = f"http://127.0.0.1:{kpibot_port}/feishu/events"
            forms = await open_review_cards(fake, users["Mary"], agents, args.forms)
            await asyncio.sleep(1.0)  # the broadcast under way
            # every body is built before any is sent: a submission turns its form card into
            # the review's summary, and the envelopes carry the card as the person saw it
            warm = feishu_bodies(fake, 100, users, agents, cards, forms, seed=1)[1]
            kinds, mine_bodies = feishu_bodies(
                fake, args.requests, users, agents, cards, forms, seed=19
            )
            _kinds, theirs_bodies = feishu_bodies(
                fake, args.requests, users, agents, cards, forms, seed=19
            )
            feishu_load(kpibot_port, warm, args.concurrency)
            feishu_load(bare_port, warm, args.concurrency)
            mine: list[float] = []
            theirs: list[float] = []
            window, sent_during = 0.0, 0
            spent = dict.fromkeys(("front", "workers", "fake", "bare"), 0.0)

            def usage() -> dict[str, float]:
                return {"front": cpu_s(kpibot.pid), "workers": cpu_s(*descendants(kpibot.pid)),
                        "fake": cpu_s(os.getpid())}  # fmt: skip

            def sends() -> int:
                return len([c for c in fake.calls_to("create") if c.ok])

            size = -(-len(mine_bodies) // args.rounds)
            for first in range(0, len(mine_bodies), size):
                sends_before, started, before = sends(), time.monotonic(), usage()
                mine += await asyncio.to_thread(
                    feishu_load, kpibot_port, mine_bodies[first : first + size], args.concurrency
                )
                window += time.monotonic() - started
                for key, value in usage().items():
                    spent[key] += value - before[key]
                sent_during += sends() - sends_before
                await asyncio.to_thread(drain, kpibot.pid, cpu_s)  # kpibot's late work first
                bare_before = cpu_s(bare.pid)
                theirs += await asyncio.to_thread(
                    feishu_load, bare_port, theirs_bodies[first : first + size], args.concurrency
                )
                spent["bare"] += cpu_s(bare.pid) - bare_before
            cpu = {key: round(value * 1000 / len(mine_bodies), 2) for key, value in spent.items()}
            limited = dict(fake.limited)
        finally:
            for proc in (kpibot, bare):
                if proc.poll() is None:
                    proc.terminate()
                    try:
                        proc.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        proc.kill()
    k, b = summary(mine), summary(theirs)
    per_kind: dict[str, dict[str, float]] = {}
    for kind in ("message", "press", "submit"):
        picked = [t for x, t in zip(kinds, mine, strict=True) if x == kind]
        bare_picked = [t for x, t in zip(kinds, theirs, strict=True) if x == kind]
        if len(picked) > 2:
            pk, pb = summary(picked), summary(bare_picked)
            per_kind[kind] = {"p99_ms": pk["p99_ms"], "bare_p99_ms": pb["p99_ms"]}
            print(f"  {kind:8s} kpibot p50 {pk['p50_ms']:7.1f} p99 {pk['p99_ms']:7.1f}   "
                  f"bare p50 {pb['p50_ms']:7.1f} p99 {pb['p99_ms']:7.1f}")  # fmt: skip
    cards_mine = [t for x, t in zip(kinds, mine, strict=True) if x != "message"]
    cards_bare = [t for x, t in zip(kinds, theirs, strict=True) if x != "message"]
    kc, bc = summary(cards_mine), summary(cards_bare)
    late = sum(t > LATE_S for t in mine)
    late_cards = sum(t > LATE_S for t in cards_mine)
    counts = {kind: kinds.count(kind) for kind in ("message", "press", "submit")}
    load1, load5, _load15 = os.getloadavg()
    print(
        f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, database "
        f"{url.split(':')[0]}, load average {load1:.1f} / {load5:.1f}"
    )
    print(f"requests: {len(kinds)} Feishu callbacks ({counts}), {args.concurrency} at a time, "
          f"{len(forms)} review form cards opened first")  # fmt: skip
    print(
        f"broadcast: {world['queued']} outbox messages queued, {sent_during} messages sent to the "
        f"fake Feishu while kpibot took its load ({window:.1f} s in {args.rounds} turns); Feishu's "
        f"'too fast' answers: {limited}"
    )
    print(
        f"CPU per request (ms): kpibot front {cpu['front']}, its router workers {cpu['workers']}, "
        f"the fake Feishu {cpu['fake']}; bare app {cpu['bare']}"
    )
    print(
        f"card callbacks  kpibot p50 {kc['p50_ms']:7.1f} ms  p99 {kc['p99_ms']:7.1f} ms  max "
        f"{kc['max_ms']:7.1f} ms  late (>3 s) {late_cards}"
    )
    print(
        f"card callbacks  bare   p50 {bc['p50_ms']:7.1f} ms  p99 {bc['p99_ms']:7.1f} ms  max "
        f"{bc['max_ms']:7.1f} ms"
    )
    print(
        f"all requests    kpibot p99 {k['p99_ms']:7.1f} ms, bare p99 {b['p99_ms']:7.1f} ms, late "
        f"(>3 s) {late}"
    )
    ratio = round(kc["p99_ms"] / bc["p99_ms"], 2) if bc["p99_ms"] else None
    ratio_all = round(k["p99_ms"] / b["p99_ms"], 2) if b["p99_ms"] else None
    goals = {"ratio_le_1_5": ratio is not None and ratio <= 1.5, "no_late": late == 0}
    print(f"goals: {goals}")
    print(
        json.dumps(
            {
                "platform": "feishu",
                "p50_ms": kc["p50_ms"],
                "p99_ms": kc["p99_ms"],
                "max_ms": kc["max_ms"],
                "bare_p50_ms": bc["p50_ms"],
                "bare_p99_ms": bc["p99_ms"],
                "bare_max_ms": bc["max_ms"],
                "ratio_p99": ratio,
                "ratio_p99_all": ratio_all,
                "p99_ms_all": k["p99_ms"],
                "bare_p99_ms_all": b["p99_ms"],
                "per_kind": per_kind,
                "late_acks": late,
                "requests": len(kinds),
                "concurrency": args.concurrency,
                "broadcast_messages_during_load": sent_during,
                "cpu_ms_per_request": cpu,
                "load_average_1m": round(load1, 2),
                "goals_met": all(goals.values()),
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve-bare":
        serve_bare(int(sys.argv[2]), sys.argv[3])
    elif sys.argv[1:] == ["--broadcast"]:
        asyncio.run(broadcast())
    elif len(sys.argv) == 5 and sys.argv[1] == "--client":
        asyncio.run(_client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
    elif len(sys.argv) == 5 and sys.argv[1] == "--serve-bare-feishu":
        serve_bare_feishu(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    elif len(sys.argv) == 5 and sys.argv[1] == "--feishu-client":
        asyncio.run(_feishu_client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
    else:
        asyncio.run(main())
