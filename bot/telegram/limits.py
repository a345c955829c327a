"""Pacing for Telegram: PTB's rate limiter plus about one message a second per private chat."""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter

PRIVATE_LIMITERS = 10_000


class KpibotRateLimiter(AIORateLimiter):
    """PTB's limiter (30/s overall, 20/min per group, 429 retried) plus about 1/s per private chat.

    A private chat may burst ``private_burst`` messages, then one per second, which is
    what Telegram asks for ("avoid sending more than one message per second" in a chat).
    """

    def __init__(self, *, max_retries: int = 3, private_burst: int = 4) -> None:
        super().__init__(max_retries=max_retries)
        self._private_burst = private_burst
        self._private: OrderedDict[int, AsyncLimiter] = OrderedDict()
        """Recently used private chats' limiters (kept, or the pacing would be forgotten)."""
        self.on_429: Callable[[], None] | None = None
        """Called for each ``RetryAfter`` (429) Telegram answers, before PTB waits and retries."""

    async def process_request(
        self,
        callback: Callable[..., Any],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        if self.on_429 is not None:
            callback = _counting(callback, self.on_429)
        chat_id = data.get("chat_id")
        with contextlib.suppress(TypeError, ValueError):
            chat_id = int(chat_id)  # type: ignore[arg-type]
        if isinstance(chat_id, int) and chat_id > 0 and self._private_burst:
            limiter = self._private.get(chat_id)
            if limiter is None:
                limiter = AsyncLimiter(self._private_burst, self._private_burst)
                self._private[chat_id] = limiter
                if len(self._private) > PRIVATE_LIMITERS:
                    self._private.popitem(last=False)
            self._private.move_to_end(chat_id)
            async with limiter:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )


class Bounded(OrderedDict[int, int]):
    """A small LRU mapping."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity

    def __setitem__(self, key: int, value: int) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.capacity:
            self.popitem(last=False)


def _counting(callback: Callable[..., Any], on_429: Callable[[], None]) -> Callable[..., Any]:
    """``callback`` (one request to Telegram) calling ``on_429`` when it is told to retry later."""

    async def counted(*args: Any, **kwargs: Any) -> Any:
        try:
            return await callback(*args, **kwargs)
        except RetryAfter:
            on_429()
            raise

    return counted
