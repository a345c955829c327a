"""Pacing for Slack's Web API: kpibot waits for its own turn instead of being told to (429).

Slack limits each method per workspace per app (https://api.slack.com/apis/rate-limits):
tiers of 1+, 20+, 50+ and 100+ calls a minute, and ``chat.postMessage`` about one message a
second per channel with short bursts (and a workspace-wide ceiling the outbox's lane stays
under). :class:`SlackPacing` keeps a token bucket per (workspace token, method), or per
channel for ``chat.postMessage``, a little under what Slack tolerates. When Slack answers 429
anyway, the pause has the limit's own scope: a tiered method (``conversations.open``,
``users.info`` …) is paused for everyone in that workspace until ``Retry-After`` has passed,
so the other callers do not spend calls that would only be refused too; ``chat.postMessage``
is paused for that channel only (its limit is per channel: a 429 in one DM says nothing about
the others, and pausing them all had cost a broadcast a second of Slack's share per 429).

:class:`PacedWebClient` runs every call through it; :class:`PausingRateLimitRetryHandler` is
slack_sdk's own 429 retry, which also tells the pacing about the pause.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
PER_CHANNEL = frozenset({"chat.postMessage"})
"""Methods whose limit (and so whose 429's pause) is per channel, not per workspace."""
METHOD_TIERS = {
    "conversations.open": 3, "chat.update": 3, "chat.delete": 3, "chat.postEphemeral": 4,
    "users.info": 4, "views.open": 4, "views.update": 4, "views.push": 4,
    "files.getUploadURLExternal": 4, "files.completeUploadExternal": 4, "files.info": 4,
}  # fmt: skip
"""The methods kpibot calls and their tiers (each method's page in
https://api.slack.com/methods)."""
POST_PER_CHANNEL_S = 1.0
POST_BURST = 2
"""``chat.postMessage``: one a second per channel; Slack allows "short bursts >1", kpibot
bursts two (one below what Slack was seen to tolerate, so timing jitter does not cost a 429)."""
BUCKETS_KEPT = 20_000
TIDY_WAIT_S = 5.0
"""How long a best-effort call (taking old buttons off a message) may wait for its turn."""

_MAX_WAIT: ContextVar[float | None] = ContextVar("slack_max_wait", default=None)
_CHANNEL: ContextVar[str] = ContextVar("slack_channel", default="")
"""The channel of the Web API call under way (slack_sdk's retry handlers see only the URL and
headers of a JSON call, not its body)."""


class TurnTooFar(Exception):
    """A best-effort call was left out: its turn under the rate limit was too far away."""


@contextmanager
def best_effort(max_wait: float = TIDY_WAIT_S) -> Iterator[None]:
    """Calls made inside wait at most ``max_wait`` for their turn, else raise
    :class:`TurnTooFar`."""
    token = _MAX_WAIT.set(max_wait)
    try:
        yield
    finally:
        _MAX_WAIT.reset(token)


@dataclass
class _Bucket:
    rate: float
    burst: float
    tokens: float
    at: float

    def reserve(self, now: float, max_wait: float | None) -> float | None:
        """Take a token, perhaps one not there yet: the seconds to wait for it (``None``, and
        nothing taken, when that would be longer than ``max_wait``)."""
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        wait = 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate
        if max_wait is not None and wait > max_wait:
            return None
        self.tokens -= 1
        return wait


class SlackPacing:
    def __init__(
        self,
        *,
        tiers: dict[str, int] | None = None,
        post_per_channel_s: float = POST_PER_CHANNEL_S,
        post_burst: float = POST_BURST,
        enabled: bool = True,
    ) -> None:
        self.enabled = enabled
        self.tiers = dict(METHOD_TIERS if tiers is None else tiers)
        self.post_rate = post_per_channel_s
        self.post_burst = post_burst
        self._buckets: OrderedDict[tuple[str, str, str], _Bucket] = OrderedDict()
        self._paused: dict[tuple[str, str, str], float] = {}
        self.waited_s = 0.0
        """Seconds callers waited for their turn (a figure for the benches)."""
        self.skipped = 0
        """Best-effort calls left out because their turn was too far away."""

    def _bucket(self, token: str, method: str, channel: str) -> _Bucket | None:
        if method == "chat.postMessage":
            rate, burst, key = self.post_rate, self.post_burst, (token, method, channel)
        elif method in self.tiers:
            per_minute = TIER_PER_MINUTE[self.tiers[method]]
            rate, burst, key = per_minute / 60, max(1, per_minute - 1), (token, method, "")
        else:
            return None
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(rate, burst, burst, time.monotonic())
            while len(self._buckets) > BUCKETS_KEPT:
                self._buckets.popitem(last=False)
        self._buckets.move_to_end(key)
        return bucket

    @staticmethod
    def _pause_key(token: str, method: str, channel: str) -> tuple[str, str, str]:
        return (token, method, channel if method in PER_CHANNEL else "")

    def pause(self, token: str, method: str, seconds: float, channel: str = "") -> None:
        """Slack said 429 to ``method``: nobody in that workspace calls it for ``seconds``
        (``chat.postMessage``: nobody posts in that ``channel``)."""
        now = time.monotonic()
        for key, until in list(self._paused.items()):
            if until <= now:  # over: forgotten (one key per channel that ever got a 429)
                del self._paused[key]
        key = self._pause_key(token, method, channel)
        self._paused[key] = max(self._paused.get(key, 0.0), now + seconds)

    def pause_left(self, method: str, channel: str | None = None) -> float:
        """Seconds until ``method`` may be called again, the longest pause of any workspace
        (for a per-channel method and a ``channel``: that channel's; without one, any's)."""
        now = time.monotonic()
        return max(
            [
                until - now
                for (_t, m, c), until in self._paused.items()
                if m == method and (channel is None or c == self._pause_key("", m, channel)[2])
            ]
            + [0.0]
        )

    async def turn(
        self, token: str, method: str, channel: str = "", *, max_wait: float | None = None
    ) -> bool:
        """Wait for this call's turn; ``False`` (and no waiting) when a best-effort call
        (``max_wait``) would have to wait longer than that."""
        if not self.enabled:
            return True
        now = time.monotonic()
        paused = self._paused.get(self._pause_key(token, method, channel), 0.0) - now
        if max_wait is not None and paused > max_wait:
            self.skipped += 1
            return False
        bucket = self._bucket(token, method, channel)
        wait = 0.0 if bucket is None else bucket.reserve(now, max_wait)
        if wait is None:
            self.skipped += 1
            return False
        wait = max(wait, paused)
        if wait > 0:
            self.waited_s += wait
            await asyncio.sleep(wait)
        return True


def _channel(kwargs: dict[str, Any]) -> str:
    for part in ("json", "params", "data"):
        value = kwargs.get(part)
        if isinstance(value, dict) and value.get("channel"):
            return str(value["channel"])
    return ""


class PacedWebClient(AsyncWebClient):
    """slack_sdk's client, every Web API call taking its turn in :class:`SlackPacing` first."""

    def __init__(self, *args: Any, pacing: SlackPacing, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pacing = pacing

    async def api_call(self, api_method: str, **kwargs: Any) -> Any:
        channel = _channel(kwargs)
        if not await self.pacing.turn(
            self.token or "", api_method, channel, max_wait=_MAX_WAIT.get()
        ):
            raise TurnTooFar(api_method)
        token = _CHANNEL.set(channel)
        try:
            return await super().api_call(api_method, **kwargs)
        finally:
            _CHANNEL.reset(token)


def paced(client: AsyncWebClient, pacing: SlackPacing) -> AsyncWebClient:
    """``client`` (bolt makes one per request) as a :class:`PacedWebClient` on the same
    token, session and retry handlers."""
    if isinstance(client, PacedWebClient):
        return client
    return PacedWebClient(
        token=client.token, base_url=client.base_url, timeout=client.timeout, ssl=client.ssl,
        proxy=client.proxy, session=client.session, headers=client.headers,
        logger=client.logger, retry_handlers=client.retry_handlers,
        pacing=pacing,
    )  # fmt: skip


class PausingRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 retry (wait ``Retry-After``, try again), which first pauses the method
    in :class:`SlackPacing`: for the whole workspace, or for the call's channel where the
    method's limit is per channel (:data:`PER_CHANNEL`)."""

    def __init__(self, pacing: SlackPacing, max_retry_count: int = 5) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.pacing = pacing

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is not None:
            retry_after = next(
                (v for k, v in response.headers.items() if k.lower() == "retry-after"), ["1"]
            )
            try:
                seconds = float(retry_after[0] if isinstance(retry_after, list) else retry_after)
            except ValueError:
                seconds = 1.0
            method = request.url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
            auth: Any = next(
                (v for k, v in request.headers.items() if k.lower() == "authorization"), ""
            )
            if isinstance(auth, list):  # slack_sdk keeps header values as lists
                auth = auth[0] if auth else ""
            self.pacing.pause(
                str(auth).removeprefix("Bearer "), method, seconds, channel=_CHANNEL.get()
            )
        await super().prepare_for_next_attempt_async(
            state=state, request=request, response=response, error=error
        )


class RateLimitCounter(AsyncRetryHandler):
    """A retry handler that never retries and calls :attr:`on_429` for every 429 answer.

    First in the list of retry handlers every Slack client of an adapter shares (its own,
    the response_url webhooks, OAuth workspaces) from the start, so each answer passes it
    before slack_sdk's own handlers retry; who is told is set later (``count_rate_limits``)."""

    def __init__(self) -> None:
        super().__init__(max_retry_count=2**31)  # asked about every answer, never retrying
        self.on_429: Callable[[], None] | None = None

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is not None and response.status_code == 429 and self.on_429 is not None:
            self.on_429()
        return False
