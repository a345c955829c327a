"""A sender in a process of its own, for the tests that kill one with SIGKILL.

    python -m tests.cycle.sender_process --db URL --telegram BASE_URL --slack API_URL \\
        --worker NAME [--pause-after N] [--die-before-mark N] [--lease S] [--batch N]

It prints ``sent <key>`` after each mark. ``--pause-after N``: after the Nth mark it starts
no new send, lets those under way finish and mark, prints ``paused`` and freezes (holding
its claimed rows) until killed. ``--die-before-mark N``:
at the Nth send it kills itself with SIGKILL after the platform took the message and
before the mark. At the end it prints ``done <stats as JSON>``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import signal
import sys
import time
from datetime import timedelta

from bot.sender import Job, Limits, Sender
from storage.db import make_engine
from tests.cycle.conftest import slack_adapter, telegram_adapter


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--telegram", required=True)
    parser.add_argument("--slack", required=True)
    parser.add_argument("--worker", required=True)
    parser.add_argument("--pause-after", type=int, default=0)
    parser.add_argument("--die-before-mark", type=int, default=0)
    parser.add_argument("--lease", type=float, default=2.0)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--rate", type=float, default=25.0)
    args = parser.parse_args(argv)

    engine = make_engine(args.db)
    slack = slack_adapter(engine, _Url(args.slack))  # type: ignore[arg-type]
    telegram = await telegram_adapter(engine, args.telegram)
    limits = {"telegram": Limits(overall=args.rate, per_chat=5.0),
              "slack": Limits(per_workspace=args.rate, per_chat=5.0)}  # fmt: skip
    sender = Sender(
        engine,
        {"slack": slack, "telegram": telegram},
        worker=args.worker,
        limits=limits,
        batch=args.batch,
        lease=timedelta(seconds=args.lease),
    )
    marks = sends = 0
    frozen = False
    real_begin = sender._begin

    async def begin(job: Job) -> bool:
        if frozen:  # sends not yet started when the freeze began never start (nor are recorded)
            await asyncio.Event().wait()
        return await real_begin(job)

    async def freeze() -> None:
        """Let the sends already under way finish and mark, then stop dead, claims held."""
        while (
            sender._in_flight
            or sender._marks
            or (sender._writer is not None and not sender._writer.done())
        ):
            await asyncio.sleep(0.01)
        print("paused", flush=True)
        time.sleep(3600)  # frozen with its claims, until the test kills it

    sender._begin = begin  # type: ignore[method-assign]

    def before_mark(_job: Job) -> None:
        nonlocal sends
        sends += 1
        if args.die_before_mark and sends >= args.die_before_mark:
            os.kill(os.getpid(), signal.SIGKILL)

    def on_sent(job: Job) -> None:
        nonlocal marks, frozen
        marks += 1
        print("sent", job.key, flush=True)
        if args.pause_after and marks >= args.pause_after and not frozen:
            frozen = True
            asyncio.get_running_loop().create_task(freeze())

    sender.before_mark = before_mark
    sender.on_sent = on_sent
    stats = await sender.drain(timeout=120)
    print("done", json.dumps(dataclasses.asdict(stats)), flush=True)
    return 0


class _Url:
    def __init__(self, api_url: str) -> None:
        self.api_url = api_url


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
