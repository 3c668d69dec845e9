"""`hcsp serve --workers N` hands its workers a socket on which accepted connections
get TCP_NODELAY (uvicorn's own, up to 0.54, left Nagle's algorithm on: ~40 ms per keep-alive
response). Checked on a real listening socket and a real connection."""

from __future__ import annotations

import asyncio
import socket

import pytest
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


def _bound_as_uvicorn_054_did() -> socket.socket:
    """A listening TCP socket made with ``proto`` 0, as uvicorn bound its workers' one
    up to 0.54 (0.55 binds with IPPROTO_TCP; pyproject allows >= 0.29)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.set_inheritable(True)
    return sock


class _OlderUvicorn:
    """Only what listening_socket asks of uvicorn's Config: its bound socket."""

    def bind_socket(self) -> socket.socket:
        return _bound_as_uvicorn_054_did()


def test_a_socket_bound_with_proto_0_gets_nodelay_only_when_re_wrapped() -> None:
    """What the re-wrap is for, whichever uvicorn is installed: connections accepted on
    a proto-0 socket keep Nagle's algorithm on; on the re-wrapped one they do not."""
    raw = _bound_as_uvicorn_054_did()
    assert raw.proto == 0 and nodelay_of_accepted(raw) == 0
    sock = listening_socket(_OlderUvicorn())
    assert sock.proto == socket.IPPROTO_TCP and sock.get_inheritable()
    assert nodelay_of_accepted(sock) == 1


def test_a_socket_uvicorn_binds_as_tcp_is_handed_on_as_it_is() -> None:
    config = uvicorn.Config("api.main:create_app", factory=True, host="127.0.0.1",
                            port=free_port(), workers=2)
    sock = config.bind_socket()
    if sock.proto == 0:
        sock.close()
        pytest.skip(f"uvicorn {uvicorn.__version__} binds with proto 0 (older than 0.55)")
    fd = sock.fileno()

    class Bound:
        def bind_socket(self) -> socket.socket:
            return sock

    assert listening_socket(Bound()) is sock and sock.fileno() == fd
    assert nodelay_of_accepted(sock) == 1
