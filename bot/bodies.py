"""Request bodies read under a cap: what the web app's middleware and each handler that reads a
body itself (Slack's, the survey page's) refuse. A leaf, so an adapter never imports the web app
that serves it.
"""

from __future__ import annotations

from starlette.requests import Request

DEFAULT_MAX_BODY_BYTES = 1_048_576
"""Slack, Telegram and survey bodies are a few kB; anything above this is refused unread."""


async def read_capped(request: Request, max_bytes: int) -> bytes | None:
    """The body, or None when it is over ``max_bytes`` (declared or streamed; the rest unread)."""
    declared = request.headers.get("content-length")
    if declared and (not declared.isdigit() or int(declared) > max_bytes):
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
