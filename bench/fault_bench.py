"""The outbox's fault matrix, run once (issue 21): kpibot's real sender and adapters against
the fake Slack and the fake Telegram, on PostgreSQL (``TEST_DATABASE_URL``, default
``postgresql://postgres@127.0.0.1:5432/test``; a schema of its own per fault, dropped after)
reached through a TCP proxy of ours that refuses/resets (``cut``) or silences (``freeze``)
the database. The scenarios are ``tests/ops/faults.py``'s, the same the suite asserts on:

* ``db_{cut,freeze}_idle``: the database away for ``--outage`` seconds (longer than the
  3 s lease) while the sender is idle; the broadcast is queued meanwhile;
* ``db_{cut,freeze}_mid``: the same a fifth of the way through a broadcast;
* ``frozen_shutdown``: the sender stopped while the database is silent mid-broadcast, the
  rest sent by the next one;
* ``telegram_late``: Telegram delivers at once but answers after the client's read timeout
  (``--late`` sends): each such send is ambiguous, counted, never re-sent.

Printed per fault: people who never got their message (``lost``), deliveries past the
first (``duplicated``), rows left ``ambiguous`` (reported, not re-sent), the drain time
after the fault (``drain_s``) and how long the sender took to stop (``stop_s``). Goals:
0 lost and 0 duplicated wherever the sends could be settled; an ambiguous count no larger
than the sends that were in doubt (``telegram_late``: exactly ``--late``;
``frozen_shutdown``: lost never above ambiguous); every stop within the grace
(``tests/ops/faults.py:GRACE_S`` and a quarter to cancel). The last line is one JSON object.

    .venv/bin/python bench/fault_bench.py [--rows 300] [--outage 4] [--only db_cut_mid,...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import _pg_admin_engine  # noqa: E402
from tests.ops import faults  # noqa: E402

FAULTS = (
    "db_cut_idle",
    "db_freeze_idle",
    "db_cut_mid",
    "db_freeze_mid",
    "frozen_shutdown",
    "telegram_late",
)


async def one(name: str, admin: Any, args: argparse.Namespace) -> dict[str, Any]:
    telegram = max(args.rows * 2 // 3, 1)
    slack = max(args.rows - telegram, 0)
    async with faults.rig(admin) as r:
        if name.startswith("db_"):
            _db, fault, when = name.split("_")
            return await faults.database_fault(
                r, fault=fault, when=when, telegram=telegram, slack=slack, outage_s=args.outage
            )
        if name == "frozen_shutdown":
            return await faults.frozen_shutdown(r, telegram=telegram, slack=slack)
        return await faults.telegram_late(
            r, telegram=max(args.rows // 10, args.late * 2), late=args.late
        )


def met(name: str, got: dict[str, Any], args: argparse.Namespace) -> bool:
    stop_s: float = got["stop_s"]
    lost: int = got["lost"]
    duplicated: int = got["duplicated"]
    ambiguous: int = got["ambiguous"]
    stopped = stop_s <= faults.GRACE_S * 1.25 + 0.5
    if name == "telegram_late":
        return stopped and lost == duplicated == 0 and ambiguous == args.late
    if name == "frozen_shutdown":
        return stopped and duplicated == 0 and lost <= ambiguous
    return stopped and lost == duplicated == ambiguous == 0


FIGURES = ("lost", "duplicated", "ambiguous", "drain_s", "stop_s", "goal_met")
"""What the JSON line reports of each fault."""


async def run(args: argparse.Namespace) -> dict[str, Any]:
    admin = _pg_admin_engine()
    chosen = [f for f in FAULTS if not args.only or f in args.only.split(",")]
    results: dict[str, Any] = {}
    started = time.monotonic()
    for name in chosen:
        began = time.monotonic()
        got = await one(name, admin, args)
        got["goal_met"] = met(name, got, args)
        got["wall_s"] = round(time.monotonic() - began, 1)
        results[name] = got
        print(f"{name}: lost {got['lost']}, duplicated {got['duplicated']}, "
              f"ambiguous {got['ambiguous']}, drain {got['drain_s']} s, stop {got['stop_s']} s "
              f"({'ok' if got['goal_met'] else 'GOAL MISSED'})",
              flush=True)  # fmt: skip
    admin.dispose()
    return {
        "rows": args.rows, "outage_s": args.outage, "lease_s": faults.LEASE.total_seconds(),
        "faults": {name: {k: got[k] for k in FIGURES} for name, got in results.items()},
        "lost": sum(g["lost"] for g in results.values()),
        "duplicated": sum(g["duplicated"] for g in results.values()),
        "wall_s": round(time.monotonic() - started, 1),
        "goals_met": all(g["goal_met"] for g in results.values()),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows",
        type=int,
        default=300,
        help="Messages in each broadcast (2/3 Telegram, 1/3 Slack).",
    )
    parser.add_argument(
        "--outage", type=float, default=4.0, help="Seconds the database stays away (lease: 3 s)."
    )
    parser.add_argument(
        "--late", type=int, default=5, help="telegram_late: sends answered after the read timeout."
    )
    parser.add_argument(
        "--only", default="", help=f"Comma-separated subset of {', '.join(FAULTS)}."
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    result = asyncio.run(run(args))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
