"""Platform limits for the fake Slack, Telegram and Feishu servers (one rate limiter for all): rate
limits, random failures, and a
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

    def take_capped(self, now: float, capacity: float) -> float:
        """Like :meth:`take`, the bucket holding ``capacity`` tokens (a burst) not one second's."""
        self.tokens = min(capacity, self.tokens + (now - self.at) * self.rate)
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
    chat_burst: float | None = None
    """How many calls one chat may burst (default: ``per_chat``, one second's worth)."""
    per_group_minute: float | None = None
    """For chats with a negative id (groups, channels): calls a minute, a minute's worth at once
    (Telegram's 20 a minute per group); ``per_chat`` then applies to private chats only."""
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

    def _bucket(
        self, key: str, rate: float, now: float, capacity: float | None = None
    ) -> _TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _TokenBucket(rate, capacity or rate, now)
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
            group = self.per_group_minute is not None and chat.startswith("-")
            if group:
                rate = self.per_group_minute / 60  # type: ignore[operator]
                cap = float(self.per_group_minute)  # type: ignore[arg-type]
                wait = self._bucket(f"chat:{chat}", rate, now, cap).take_capped(now, cap)
                if wait:
                    self.limited += 1
                    return self._wait(f"chat:{chat}", wait, now)
            elif self.per_chat:
                burst = self.chat_burst or max(1.0, self.per_chat)
                wait = self._bucket(f"chat:{chat}", self.per_chat, now, burst).take_capped(
                    now, burst
                )
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


# -- the platforms' documented limits, applied by default ----------------------------------

SLACK_TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
"""https://api.slack.com/apis/rate-limits: each Web API method has a tier, counted per method
per workspace per app; the numbers are each tier's documented floor ("50+ per minute")."""

SLACK_TIER_BURST = {1: 3, 2: 20, 3: 50, 4: 100}
"""What a burst may hold before the pace applies: Tier 1 "a small amount of burst behaviour
is tolerated", Tier 3 "sporadic bursts are welcome", Tier 4 "generous burst behaviour" —
modelled as a minute's worth (three calls for Tier 1)."""

SLACK_METHOD_TIERS = {
    "apps.connections.open": 1,
    "conversations.open": 3,
    "chat.update": 3,
    "chat.delete": 3,
    "users.lookupByEmail": 3,
    "chat.postEphemeral": 4,
    "users.info": 4,
    "views.open": 4,
    "views.update": 4,
    "views.push": 4,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
    "files.info": 4,
    "oauth.v2.access": 4,
}
"""Each method's tier, from its page in https://api.slack.com/methods (auth.test is "special",
high and undocumented: not limited here; chat.postMessage is special: see below)."""

SLACK_POST_PER_CHANNEL = 1.0
"""chat.postMessage: "one message per second per channel", "short bursts >1 allowed"."""
SLACK_POST_BURST = 3


@dataclass
class Tiers:
    """Per-method token buckets (``per_minute`` calls a minute, ``burst`` at once) keyed by the
    workspace, or by the channel for chat.postMessage; a call over its bucket answers 429 with
    the whole seconds until the next token (``Retry-After``).

    ``relax(method)`` lifts one method's limit (a test that is about something else may);
    ``relax()`` lifts them all. ``limited`` counts the 429s per method, ``calls`` the calls
    that were checked."""

    methods: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {
            m: (SLACK_TIER_PER_MINUTE[t], SLACK_TIER_BURST[t])
            for m, t in SLACK_METHOD_TIERS.items()
        }
    )
    per_channel: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {
            "chat.postMessage": (SLACK_POST_PER_CHANNEL * 60, SLACK_POST_BURST)
        }
    )
    limited: dict[str, int] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    _buckets: dict[tuple[str, str], _TokenBucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def relax(self, *methods: str) -> None:
        with self._lock:
            for name in methods or (*self.methods, *self.per_channel):
                self.methods.pop(name, None)
                self.per_channel.pop(name, None)

    def set(self, method: str, *, per_minute: float, burst: float | None = None) -> None:
        with self._lock:
            self.methods[method] = (per_minute, per_minute if burst is None else burst)

    def check(self, method: str, workspace: str, channel: str | None) -> int:
        """0 to go ahead, else the ``Retry-After`` seconds of a 429."""
        if method in self.per_channel:
            limit, key = self.per_channel[method], f"{workspace}:{channel}"
        elif method in self.methods:
            limit, key = self.methods[method], workspace
        else:
            return 0
        per_minute, burst = limit
        now = time.monotonic()
        with self._lock:
            self.calls[method] = self.calls.get(method, 0) + 1
            bucket = self._buckets.get((method, key))
            if bucket is None:
                bucket = self._buckets[(method, key)] = _TokenBucket(per_minute / 60, burst, now)
            wait = bucket.take_capped(now, burst)
            if not wait:
                return 0
            self.limited[method] = self.limited.get(method, 0) + 1
        return max(1, math.ceil(wait))


TELEGRAM_OVERALL_PER_S = 30.0
"""https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this: "no more
than 30 messages per second" overall."""
TELEGRAM_PRIVATE_PER_S = 1.0
"""…"avoid sending more than one message per second" in a single chat (short bursts pass)."""
TELEGRAM_PRIVATE_BURST = 5
TELEGRAM_GROUP_PER_MINUTE = 20
"""…"no more than 20 messages per minute" in the same group."""


def telegram_gate(**overrides: object) -> FloodGate:
    """The Telegram limits every test runs against unless it relaxes them."""
    limits: dict[str, object] = {
        "overall": TELEGRAM_OVERALL_PER_S,
        "per_chat": TELEGRAM_PRIVATE_PER_S,
        "chat_burst": TELEGRAM_PRIVATE_BURST,
        "per_group_minute": TELEGRAM_GROUP_PER_MINUTE,
    }
    limits.update(overrides)
    return FloodGate(**limits)  # type: ignore[arg-type]


FEISHU_APP_PER_S = 50.0
"""https://open.feishu.cn/document/server-docs/im-v1/message/create: the send message API,
1000 a minute and 50 a second per app."""
FEISHU_CHAT_PER_S = 5.0
"""…5 a second to one user, and 5 a second shared by the bots of one group."""
FEISHU_PATCH_PER_S = 5.0
"""https://open.feishu.cn/document/server-docs/im-v1/message-card/patch: one card updated at
most 5 times a second."""


def feishu_gate(**overrides: object) -> FloodGate:
    """The Feishu message API's limits every test runs against unless it relaxes them."""
    limits: dict[str, object] = {
        "overall": FEISHU_APP_PER_S,
        "per_chat": FEISHU_CHAT_PER_S,
        "chat_burst": FEISHU_CHAT_PER_S,
    }
    limits.update(overrides)
    return FloodGate(**limits)  # type: ignore[arg-type]


def feishu_patch_gate() -> FloodGate:
    """Card updates, keyed by the message (``per_chat`` is per card here)."""
    return FloodGate(per_chat=FEISHU_PATCH_PER_S, chat_burst=FEISHU_PATCH_PER_S)
