"""``hcsp serve``: run the API with uvicorn.

The embedded engine is started (or adopted) here, in the one process that outlives the
workers, and supervised here: restarted when it dies. Workers only connect to it. On
SIGTERM, SIGINT or SIGHUP the server shuts down and the engine it started is stopped
(with ``--workers N``, SIGHUP keeps uvicorn's meaning: replace the workers).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
from typing import Annotated

import typer

from hcsp.cliutil import GraphUriOption, friendly_errors


def _log_engine_events() -> None:
    """The supervisor's messages (hcsp.engine) go to stderr like uvicorn's own."""
    logger = logging.getLogger("hcsp")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


@friendly_errors
def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
    graph_uri: GraphUriOption = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve questions, trees and stats over REST (OpenAPI at /docs)."""
    import uvicorn

    from graph.backend import hold_engine
    from hcsp.settings import get_settings

    uri = graph_uri or get_settings().graph_uri
    os.environ["HCSP_GRAPH_URI"] = uri  # the workers read it
    _log_engine_events()
    with hold_engine(uri, supervise=True):
        if workers > 1:
            _run_workers(uvicorn.Config("api.main:create_app", factory=True, host=host,
                                        port=port, workers=workers, log_level=log_level))
            return
        config = uvicorn.Config("api.main:create_app", factory=True, host=host, port=port,
                                log_level=log_level)
        server = uvicorn.Server(config)

        # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal
        # (our handler: hcsp.signals); SIGHUP it leaves alone, so ask it the same way.
        def hangup(signum: int, frame: object) -> None:
            server.should_exit = True

        previous = signal.signal(signal.SIGHUP, hangup)
        try:
            server.run()
        finally:
            signal.signal(signal.SIGHUP, previous)
        if not server.started:
            raise typer.Exit(3)  # it could not bind the port: uvicorn said why


def _run_workers(config: object) -> None:
    """uvicorn.run's multi-worker path, with a listening socket that says it is TCP."""
    from uvicorn.supervisors import Multiprocess

    Multiprocess(config, sockets=[listening_socket(config)]).run()  # type: ignore[arg-type]


def listening_socket(config: object) -> socket.socket:
    """The socket uvicorn binds for its workers, re-wrapped (same file descriptor) to
    say it is TCP where it was bound with ``proto`` 0, as uvicorn did up to 0.54 (0.55
    binds with IPPROTO_TCP, and its socket is handed on as it is); the sockets it accepts
    inherit that, and asyncio then leaves Nagle's algorithm on (it sets TCP_NODELAY
    only for IPPROTO_TCP), so every keep-alive response after the first waited ~40 ms
    for the client's delayed ACK: 21 stored questions/s at one client instead of 600
    (uvicorn issue 3149)."""
    sock: socket.socket = config.bind_socket()  # type: ignore[attr-defined]
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
        inheritable = sock.get_inheritable()
        sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        sock.set_inheritable(inheritable)
    return sock
