"""The replica's listening socket (``bot.serving.listen``): taken before start-up, and every
connection it accepts sends without Nagle's delay (``TCP_NODELAY``)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from bot.serving import listen


async def test_every_accepted_connection_has_tcp_nodelay() -> None:
    """Without it an answer with a body (a modal's "checking…" view) waited ~40 ms for the
    client's delayed ACK; asyncio sets it only on sockets that carry the TCP protocol number."""
    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    seen: list[int] = []

    async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(
            writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        )
        writer.close()

    server = await asyncio.start_server(accepted, sock=sock)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await reader.read()
    writer.close()
    server.close()
    await server.wait_closed()
    assert seen and seen[0] != 0


def test_a_port_in_use_ends_start_up_at_once_with_uvicorns_start_up_failure_code() -> None:
    taken = listen("127.0.0.1", 0)
    taken.listen()
    try:
        with pytest.raises(SystemExit) as ended:
            listen("127.0.0.1", taken.getsockname()[1])
        assert ended.value.code == 3
    finally:
        taken.close()
