"""How fast kpibot may send through Feishu, and what it does when Feishu says "too fast".

https://open.feishu.cn/document/server-docs/im-v1/message/create: at most 5 messages a
second to one user, 5 a second shared by the bots of one group, and the send API's 50 a
second (1000 a minute) per app. Past a limit Feishu answers code 230020 (one chat) or HTTP
429 with code 99991400 and ``x-ogw-ratelimit-reset`` (the seconds until the window resets).

:class:`Pacer` keeps kpibot under the limits (a token bucket per chat and one for the app,
each a hair under Feishu's); :func:`retry_after` reads how long to wait from a refusal.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

PER_CHAT_PER_S = 5.0
APP_PER_S = 50.0
MARGIN = 0.9
RATE_LIMITED = frozenset({99991400, 230020})
"""Feishu's "too fast" codes: the app's rate (HTTP 429), one chat's rate."""
RETRIES = 4


@dataclass
class _Bucket:
    rate: float
    tokens: float
    at: float
    capacity: float = 1.0

    def wait(self, now: float) -> float:
        """0 and a token taken, else the seconds until the next token (nothing taken)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class Pacer:
    """``await pacer.wait(chat)`` before each message to ``chat`` (a chat id or an open_id).

    A chat gets evenly spaced messages, no burst: Feishu's window then stays nearly full, so
    a few requests that a busy process sends late and that arrive close together still fit
    (a burst first would leave no room for them)."""

    def __init__(
        self,
        per_chat: float = PER_CHAT_PER_S * MARGIN,
        overall: float = APP_PER_S * MARGIN,
        capacity: int = 10_000,
    ) -> None:
        self.per_chat, self.overall = per_chat, overall
        self._chats: OrderedDict[str, _Bucket] = OrderedDict()
        self._app = _Bucket(overall, 1.0, time.monotonic(), capacity=max(1.0, overall / 5))
        self._capacity = capacity
        self.waited_s = 0.0

    def _chat(self, key: str, now: float) -> _Bucket:
        bucket = self._chats.get(key)
        if bucket is None:
            bucket = self._chats[key] = _Bucket(self.per_chat, 1.0, now)
            while len(self._chats) > self._capacity:
                self._chats.popitem(last=False)
        self._chats.move_to_end(key)
        return bucket

    async def wait(self, chat: str) -> None:
        while True:
            now = time.monotonic()
            bucket = self._chat(chat, now)
            pause = bucket.wait(now)
            if not pause:
                app_pause = self._app.wait(now)
                if not app_pause:
                    return
                bucket.tokens += 1  # not sent: give the chat's token back
                pause = app_pause
            self.waited_s += pause
            await asyncio.sleep(pause)


def retry_after(code: int, headers: Mapping[str, str] | None) -> float:
    """Seconds to wait after a refusal with ``code``: ``x-ogw-ratelimit-reset`` when Feishu
    sent it, else one second (a chat's 5-a-second window)."""
    for key, value in (headers or {}).items():
        if key.lower() == "x-ogw-ratelimit-reset":
            try:
                return max(0.1, float(value))
            except ValueError:
                break
    return 1.0 if code in RATE_LIMITED else 0.5
