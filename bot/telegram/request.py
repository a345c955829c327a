"""python-telegram-bot's HTTP transport on aiohttp instead of httpx, for sending in bulk.

PTB's default ``HTTPXRequest`` spends most of a broadcast's CPU in httpx/httpcore (its
connection pool and anyio streams: several milliseconds a call on a busy machine); aiohttp
does the same request in a fraction of that. Everything above the transport (PTB's
request data, its answers and errors, the rate limiter) is unchanged.

    application = ApplicationBuilder().token(token).request(AiohttpRequest()).build()

Only the bot's own calls go through it; long polling (``getUpdates``) keeps PTB's default.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

__all__ = ["AiohttpRequest", "AnswerLost"]

FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


class AnswerLost(NetworkError):
    """The request was (or may have been) written, and no answer came: Telegram may have
    carried it out. Sending it again could deliver a message twice (``bot.sender`` does not)."""


class AiohttpRequest(BaseRequest):
    """A :class:`telegram.request.BaseRequest` on one ``aiohttp.ClientSession`` kept open."""

    def __init__(
        self,
        *,
        connection_pool_size: int = 64,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            await self.initialize()
        assert self._session is not None
        files = request_data.multipart_data if request_data is not None else None
        read = self._read_timeout if _is_default(read_timeout) else read_timeout
        connect = self._connect_timeout if _is_default(connect_timeout) else connect_timeout
        write = write_timeout
        if _is_default(write_timeout):
            write = self._media_write_timeout if files else self._write_timeout
        # aiohttp has no write timeout of its own: the whole call gets read + write at most
        total = None if read is None or write is None else float(read) + float(write)
        timeout = aiohttp.ClientTimeout(total=total, sock_connect=connect, sock_read=read)
        data: Any = None
        headers: dict[str, str] | None = None
        if request_data is not None:
            if files:
                form = aiohttp.FormData()
                for name, value in request_data.json_parameters.items():
                    form.add_field(name, value)
                for name, (filename, content, mimetype) in files.items():
                    body = content if isinstance(content, bytes) else content.read()
                    form.add_field(name, body, filename=filename, content_type=mimetype)
                data = form
            else:
                # the form encoded once, as bytes: aiohttp's FormData (a multipart writer, a
                # payload lookup per field) was a twentieth of a broadcast's CPU
                data = request_data.url_encoded_parameters().encode()
                headers = FORM_HEADERS
        # Not connected yet (refused, or no connection within the connect timeout): nothing
        # was written, a retry is safe (NetworkError). Anything after that is ambiguous:
        # TimedOut (no answer in time) or AnswerLost (the connection dropped).
        try:
            async with self._session.request(
                method, url, data=data, headers=headers, timeout=timeout
            ) as answer:
                return answer.status, await answer.read()
        except aiohttp.ClientConnectorError as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err
        except _CONNECT_TIMEOUT as err:
            raise NetworkError(f"no connection within {connect} s") from err
        except TimeoutError as err:
            raise TimedOut from err
        except asyncio.TimeoutError as err:  # noqa: UP041 - aiohttp may raise the alias
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise AnswerLost(f"aiohttp.{type(err).__name__}: {err}") from err


_CONNECT_TIMEOUT: tuple[type[BaseException], ...] = tuple(
    t for t in (getattr(aiohttp, "ConnectionTimeoutError", None),) if isinstance(t, type)
)


def _is_default(value: Any) -> bool:
    return isinstance(value, type(BaseRequest.DEFAULT_NONE))
