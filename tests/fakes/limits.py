"""Platform limits for the fake Slack and Telegram servers: rate limits, random failures, and a
count of calls made before a retry delay had passed.

A :class:`FloodGate` is switched on with ``fake.flood_gate(...)``. For every sending call it:

1. counts the call as *early* when it reaches a chat (or the whole bot / workspace) that was
   told to wait (429 with a retry delay) and the delay has not passed yet — and answers 429
   again with what is left of the delay;
2. answers 429 when the call goes over a limit: ``overall`` calls a second for the bot or
   workspace, ``per_chat`` a second for one chat (token buckets holding one second's worth);
3. else, with probability ``p429``, answers 429 for that chat (a random flood-control answer)
   and with probability ``p5xx`` a 5xx (nothing delivered), from a seeded generator.

The delay is ``retry_after`` whole seconds (the platforms send integers), or the time to the
next token when a limit was hit, rounded up.
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass, field


@dataclass
class _TokenBucket:
    rate: float
    tokens: float
    at: float

    def take(self, now: float) -> float:
        """0 when a token was taken, else the seconds until the next one."""
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass(frozen=True)
class Verdict:
    """``status`` 200: go ahead; else answer it (429 with ``retry_after`` seconds, or a 5xx)."""

    status: int = 200
    retry_after: int = 0
    scope: str = ""


@dataclass
class FloodGate:
    overall: float | None = None
    per_chat: float | None = None
    p429: float = 0.0
    p5xx: float = 0.0
    retry_after: int = 1
    seed: int = 0
    early: int = 0
    """Calls that arrived before their chat's (or the bot's) retry delay had passed."""
    limited: int = 0
    """429s because a limit was really exceeded (not the random ones)."""
    random_429: int = 0
    random_5xx: int = 0
    _rng: random.Random = field(init=False)
    _buckets: dict[str, _TokenBucket] = field(default_factory=dict)
    _until: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def _bucket(self, key: str, rate: float, now: float) -> _TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _TokenBucket(rate, rate, now)
        return bucket

    def _wait(self, scope: str, seconds: float, now: float) -> Verdict:
        whole = max(1, math.ceil(seconds))
        self._until[scope] = max(self._until.get(scope, 0.0), now + whole)
        return Verdict(429, whole, scope)

    def check(self, bot: str, chat: str) -> Verdict:
        """The verdict on one sending call from ``bot`` (a token / workspace) to ``chat``."""
        now = time.monotonic()
        with self._lock:
            for scope in (f"bot:{bot}", f"chat:{chat}"):
                left = self._until.get(scope, 0.0) - now
                if left > 0:
                    self.early += 1
                    return Verdict(429, max(1, math.ceil(left)), scope)
            if self.overall:
                wait = self._bucket(f"bot:{bot}", self.overall, now).take(now)
                if wait:
                    self.limited += 1
                    return self._wait(f"bot:{bot}", wait, now)
            if self.per_chat:
                wait = self._bucket(f"chat:{chat}", self.per_chat, now).take(now)
                if wait:
                    self.limited += 1
                    return self._wait(f"chat:{chat}", wait, now)
            draw = self._rng.random()
            if draw < self.p5xx:
                self.random_5xx += 1
                return Verdict(502, 0, f"chat:{chat}")
            if draw < self.p5xx + self.p429:
                self.random_429 += 1
                return self._wait(f"chat:{chat}", self.retry_after, now)
        return Verdict()
