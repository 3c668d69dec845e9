"""`hcsp serve --workers N` hands its workers a socket on which accepted connections
get TCP_NODELAY (uvicorn's own leaves Nagle's algorithm on: ~40 ms per keep-alive
response). Checked on a real listening socket and a real connection."""

from __future__ import annotations

import asyncio
import socket

import uvicorn

from api.cli import listening_socket
from tests.conftest import free_port


def nodelay_of_accepted(sock: socket.socket) -> int:
    """TCP_NODELAY of a connection accepted by an asyncio server on ``sock``."""
    async def main() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                s = transport.get_extra_info("socket")
                seen.set_result(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Probe, sock=sock)
        host, port = sock.getsockname()[:2]
        _, writer = await asyncio.open_connection(host, port)
        try:
            return await asyncio.wait_for(seen, 5)
        finally:
            writer.close()
            server.close()
            await server.wait_closed()

    return asyncio.run(main())


def test_the_workers_socket_gives_connections_nodelay() -> None:
    config = uvicorn.Config("api.main:create_app", factory=True, host="127.0.0.1",
                            port=free_port(), workers=2)
    sock = listening_socket(config)
    assert sock.proto == socket.IPPROTO_TCP and sock.get_inheritable()
    assert nodelay_of_accepted(sock) == 1


def test_uvicorns_own_socket_would_not() -> None:
    """What the re-wrap is for: if uvicorn ever binds with IPPROTO_TCP itself, this
    fails and listening_socket can go."""
    config = uvicorn.Config("api.main:create_app", factory=True, host="127.0.0.1",
                            port=free_port(), workers=2)
    assert nodelay_of_accepted(config.bind_socket()) == 0
