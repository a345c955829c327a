"""Waiting in tests on a condition, never for a fixed time (issue 18).

``wait_until`` polls a condition until it holds, with a ceiling generous enough for a
loaded 2-core machine: a test waits only as long as the condition takes, and fails naming
what it waited for. ``settle`` lets every task of the event loop that can run, run, before
a test checks that something has *not* happened (which no wait can show).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

CEILING_S = 60.0
"""How long a condition may take before the test fails (never how long a test waits)."""


async def wait_until(
    condition: Callable[[], bool], *, what: str, timeout: float = CEILING_S, every: float = 0.005
) -> None:
    """Return as soon as ``condition()`` holds; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        await asyncio.sleep(every)


async def settle(rounds: int = 50) -> None:
    """Give every runnable task of this event loop its turns: what is ready to happen
    without I/O or another thread has happened when this returns."""
    for _ in range(rounds):
        await asyncio.sleep(0)
