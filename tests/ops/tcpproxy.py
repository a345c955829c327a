"""A small TCP proxy on 127.0.0.1 that a test can cut and restore, or use to balance.

    with TcpProxy([("127.0.0.1", 5432)]) as proxy:      # in front of PostgreSQL
        url = f"postgresql://postgres@127.0.0.1:{proxy.port}/test"
        proxy.cut()        # open connections are reset, new ones closed at once (a restart)
        proxy.restore()
        proxy.freeze()     # connections stay open but nothing passes, either way (a silent server)
        proxy.thaw()

With several targets new connections go round robin (two kpibot replicas behind one
address). It runs its own event loop on a thread, so sync tests, async tests and
subprocesses can all use it.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Sequence

from tests.waiting import CEILING_S


class TcpProxy:
    def __init__(self, targets: Sequence[tuple[str, int]]) -> None:
        self.targets = list(targets)
        self._next = itertools.cycle(range(len(self.targets)))
        self.port = 0
        self.is_cut = False
        self.accepted = 0
        self.refused = 0
        """Connections closed at once because the proxy was cut."""
        self._pipes: set[asyncio.StreamWriter] = set()
        self._flowing: asyncio.Event | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="tcp-proxy", daemon=True
        )
        self._server: asyncio.AbstractServer | None = None

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, coro: object) -> object:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=CEILING_S)  # type: ignore[arg-type]

    def start(self) -> TcpProxy:
        self._thread.start()

        async def listen() -> None:
            self._flowing = asyncio.Event()
            self._flowing.set()
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]

        self._call(listen())
        return self

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._pipes):
                writer.transport.abort()

        self._call(close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def cut(self) -> None:
        """Reset every open connection; refuse new ones until :meth:`restore`."""

        async def cut() -> None:
            self.is_cut = True
            for writer in list(self._pipes):
                writer.transport.abort()
            self._pipes.clear()

        self._call(cut())

    def restore(self) -> None:
        async def restore() -> None:
            self.is_cut = False

        self._call(restore())

    def freeze(self) -> None:
        """Nothing passes any more, in either direction, on open or new connections; nothing
        is closed either (a database that went silent)."""

        async def freeze() -> None:
            assert self._flowing is not None
            self._flowing.clear()

        self._call(freeze())

    def thaw(self) -> None:
        async def thaw() -> None:
            assert self._flowing is not None
            self._flowing.set()

        self._call(thaw())

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.is_cut:
            self.refused += 1
            writer.transport.abort()
            return
        self.accepted += 1
        assert self._flowing is not None
        await self._flowing.wait()
        host, port = self.targets[next(self._next)]
        try:
            up_reader, up_writer = await asyncio.open_connection(host, port)
        except OSError:
            writer.transport.abort()
            return
        self._pipes |= {writer, up_writer}
        try:
            await asyncio.gather(
                _pipe(reader, up_writer, self._flowing), _pipe(up_reader, writer, self._flowing)
            )
        finally:
            self._pipes.discard(writer)
            self._pipes.discard(up_writer)
            for w in (writer, up_writer):
                w.transport.abort()


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, flowing: asyncio.Event
) -> None:
    try:
        while data := await reader.read(65536):
            await flowing.wait()
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()
