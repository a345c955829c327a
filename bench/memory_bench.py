"""Benchmark of a replica's memory (issue 20): proportional set size (PSS) of one
``kpibot run`` with its router workers, idle after start-up and after a broadcast.

PSS (``Pss`` of ``/proc/PID/smaps_rollup``) counts a page shared by n processes as 1/n
in each, so the sum over the replica's processes (the front process, the zygote, the
router workers, multiprocessing's resource tracker) is what the replica costs the host.

* **idle**: the replica started with Slack and Telegram on (the fakes below), its workers
  ready, nothing asked, for each ``ROUTER_PROCESSES`` of ``--processes`` (``default`` is
  kpibot's own: cores − 1, at most 4); ``per_extra_worker_mb``: what each worker past the
  default's adds;
* **after a broadcast**: ``--results`` result DMs, each with its chart (the agent's
  totals over six periods, drawn when sent), queued in the outbox before the start and
  delivered by the replica's own outbox sender through the fake Slack and the fake
  Telegram (a child process of this bench, ``bench/broadcast_bench.py --serve-fakes``,
  limits off), at the real platforms' pace; measured once every row is ``sent``;
* **bare**: one Python process importing the same third-party libraries as a replica's
  front process after start-up (the modules themselves, listed from a child that
  imports kpibot and runs ``bot.router_pool.preload``), idle: what the libraries cost
  once. ``ratio_*`` = replica ÷ bare.

Goals: a replica at default settings ≤ 300 MB PSS in all, idle and after the broadcast.
The last line is JSON: the figures, ``ratio_*`` and ``goals_met``.

    .venv/bin/python bench/memory_bench.py [--results 300] [--processes default,4]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from commands.messages import Reply  # noqa: E402
from commands.outbox import enqueue  # noqa: E402
from commands.outbox_charts import chart_ref  # noqa: E402
from storage import outbox as store  # noqa: E402
from storage import repo  # noqa: E402
from storage.db import make_engine, unit_of_work, upgrade  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, TEAM_ID  # noqa: E402
from tests.fakes.telegram_api import TOKEN  # noqa: E402
from tests.ops.replica import Replica, children  # noqa: E402

GOAL_MB = 300.0
TG_BASE = 100_000_000  # as bench/broadcast_bench.py's fakes expect
SLACK_SHARE = 5 / 35
"""Of the results, Slack's share: its 5 messages a second per workspace against Telegram's 30."""
OURS = {"bot", "commands", "scoring", "storage", "tests", "bench", "__main__"}


def rollup(pid: int) -> dict[str, float]:
    """``/proc/PID/smaps_rollup`` in MB."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, value = line.partition(":")
        fields[key] = int(value.split()[0]) / 1024
    return fields


def tree(pid: int) -> list[int]:
    found = [pid]
    for child in children(pid):
        found += tree(child)
    return found


def name(pid: int) -> str:
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
        cmdline = Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return "?"
    return "resource-tracker" if "resource_tracker" in cmdline else comm


def memory(pid: int) -> dict[str, Any]:
    """PSS in all of ``pid`` and its descendants, and each process's PSS, RSS and private MB."""
    processes: list[dict[str, Any]] = []
    for p in tree(pid):
        try:
            r = rollup(p)
        except OSError:  # ended meanwhile
            continue
        processes.append(
            {
                "pid": p,
                "name": name(p),
                "pss_mb": round(r["Pss"], 1),
                "rss_mb": round(r["Rss"], 1),
                "private_mb": round(r["Private_Clean"] + r["Private_Dirty"], 1),
            }
        )
    return {"pss_mb": round(sum(p["pss_mb"] for p in processes), 1), "processes": processes}


def populate(url: str, results: int) -> dict[str, int]:
    """One team, its manager, ``results`` agents on Slack or Telegram, one pending result DM
    with its chart each."""
    engine = make_engine(url)
    upgrade(engine)
    slack_n = round(results * SLACK_SHARE)
    with unit_of_work(engine) as s:
        team = repo.create_team(session=s, name="bench", lang="en", slack_team_id=TEAM_ID)
        period = repo.get_or_create_period(session=s, team=team, key="2026-10")
        boss = repo.add_member(session=s, team=team, name="boss", role="manager")
        for i in range(results):
            on_slack = i < slack_n
            member = repo.add_member(
                session=s, team=team, name=f"agent{i}", manager=boss,
                slack_user_id=f"U{i:08d}" if on_slack else None,
                telegram_user_id=None if on_slack else TG_BASE + i - slack_n,
            )  # fmt: skip
            params = {"member_id": member.id, "period_id": period.id, "lang": "en"}
            enqueue(s, team=team, period=period, member=member, kind="result",
                    reply=Reply(text=f"Your result for 2026-10, agent {i}.", private=True),
                    chart=chart_ref("result.history", params), now=datetime.now(UTC))  # fmt: skip
    engine.dispose()
    return {"slack": slack_n, "telegram": results - slack_n}


def outbox_counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with unit_of_work(engine) as s:
            return dict(store.status_counts(session=s))
    finally:
        engine.dispose()


def start_fakes(slack_n: int, telegram_n: int) -> tuple[subprocess.Popen[str], dict[str, str]]:
    child = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "broadcast_bench.py"), "--serve-fakes",
         "--slack-count", str(slack_n), "--tg-count", str(telegram_n), "--slack-rate", "1000",
         "--tg-rate", "1000", "--per-chat", "100", "--p429", "0", "--p5xx", "0"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert child.stdout is not None
    return child, json.loads(child.stdout.readline())


def third_party_modules() -> list[str]:
    """The third-party modules a replica's front process holds after start-up."""
    code = (
        "import sys, json; import bot.main, bot.cli.run; from bot.router_pool import preload; "
        "preload(); ours = set(json.loads(sys.argv[1])) | set(sys.stdlib_module_names); "
        "print(json.dumps(sorted(m for m in list(sys.modules) "
        "if m.split('.')[0] not in ours and not m.startswith('_'))))"
    )
    out = subprocess.run([sys.executable, "-c", code, json.dumps(sorted(OURS))], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return list(json.loads(out.strip().splitlines()[-1]))


def bare(modules: list[str]) -> dict[str, Any]:
    """PSS of one idle process that imported ``modules`` (each that imports on its own)."""
    code = (
        "import sys, json, importlib\n"
        "import matplotlib; matplotlib.use('Agg')\n"
        "for m in json.loads(sys.stdin.readline()):\n"
        "    try: importlib.import_module(m)\n"
        "    except Exception: pass\n"
        "print('ready', flush=True); sys.stdin.readline()\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, cwd=ROOT)  # fmt: skip
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(json.dumps(modules) + "\n")
    child.stdin.flush()
    assert child.stdout.readline().strip() == "ready"
    try:
        return memory(child.pid) | {"modules": len(modules)}
    finally:
        child.stdin.close()
        child.wait(30)


def replica_run(args: argparse.Namespace, processes: str, broadcast: bool) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="kpibot-memory-"))
    url = args.database_url or f"sqlite:///{workdir / 'kpibot.db'}"
    counts = populate(url, args.results if broadcast else 0)
    # every run with the platforms on (the fakes), so that the idle figures compare
    env = {"DATABASE_URL": url, "KPIBOT_SECRET": secrets.token_urlsafe(32), "DEFAULT_LANG": "en",
           "LOG_LEVEL": "WARNING"}  # fmt: skip
    fakes, urls = start_fakes(counts["slack"], counts["telegram"])
    env |= {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "bench",
            "SLACK_API_URL": urls["slack"], "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": urls["telegram"],
            "TELEGRAM_WEBHOOK_SECRET": secrets.token_urlsafe(32)}  # fmt: skip
    replica = Replica(env, workdir)
    if processes == "default":
        replica.env.pop("ROUTER_PROCESSES", None)
    else:
        replica.env["ROUTER_PROCESSES"] = processes
    try:
        replica.start()
        assert replica.process is not None
        result: dict[str, Any] = {"processes": processes, "idle": memory(replica.process.pid)}
        if broadcast:
            started = time.monotonic()
            deadline = started + args.timeout
            while (done := outbox_counts(url)).get("sent", 0) < args.results:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the broadcast did not finish: {done}")
                time.sleep(0.2)
            result["broadcast"] = memory(replica.process.pid) | {
                "results": args.results, "seconds": round(time.monotonic() - started, 1),
                "outbox": done, **counts,
            }  # fmt: skip
        return result
    finally:
        replica.terminate(timeout=60)
        assert fakes.stdin is not None
        fakes.stdin.close()
        fakes.wait(30)


def workers(run: dict[str, Any]) -> int:
    return sum(p["name"] == "kpibot-router" for p in run["idle"]["processes"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=int, default=300, help="result DMs in the broadcast")
    parser.add_argument("--processes", default="default,4",
                        help="ROUTER_PROCESSES of the idle runs, comma separated ('default': "
                             "kpibot's own); the broadcast runs at the first")  # fmt: skip
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    load = [round(x, 2) for x in os.getloadavg()]
    settings = args.processes.split(",")
    runs = [replica_run(args, settings[0], broadcast=True)]
    runs += [replica_run(args, p, broadcast=False) for p in settings[1:]]
    base = bare(third_party_modules())
    default = runs[0]
    for run in runs:
        print(
            f"ROUTER_PROCESSES={run['processes']}: idle {run['idle']['pss_mb']} MB PSS "
            + " ".join(f"{p['name']}={p['pss_mb']}" for p in run["idle"]["processes"])
        )
    after = default["broadcast"]
    print(f"after {after['results']} results ({after['seconds']} s): {after['pss_mb']} MB PSS "
          + " ".join(f"{p['name']}={p['pss_mb']}" for p in after["processes"]))  # fmt: skip
    print(f"bare process, {base['modules']} modules: {base['pss_mb']} MB PSS")
    figures = {
        "benchmark": "memory_bench",
        "date": datetime.now(UTC).isoformat(timespec="minutes"),
        "cores": len(os.sched_getaffinity(0)),
        "load_average": [load, [round(x, 2) for x in os.getloadavg()]],
        "results": args.results,
        "idle_pss_mb": {run["processes"]: run["idle"]["pss_mb"] for run in runs},
        "broadcast_pss_mb": after["pss_mb"],
        "broadcast_seconds": after["seconds"],
        "workers": {run["processes"]: workers(run) for run in runs},
        "per_extra_worker_mb": {
            run["processes"]: round(
                (run["idle"]["pss_mb"] - default["idle"]["pss_mb"])
                / max(workers(run) - workers(default), 1),
                1,
            )
            for run in runs[1:]
        },
        "bare_pss_mb": base["pss_mb"],
        "ratio_idle": round(default["idle"]["pss_mb"] / base["pss_mb"], 2),
        "ratio_broadcast": round(after["pss_mb"] / base["pss_mb"], 2),
        "processes": {"idle": default["idle"]["processes"], "broadcast": after["processes"]},
        "goal_mb": GOAL_MB,
    }
    figures["goals_met"] = bool(default["idle"]["pss_mb"] <= GOAL_MB and after["pss_mb"] <= GOAL_MB)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
