"""``hcsp serve``: run the API with uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from hcsp.cliutil import friendly_errors


@friendly_errors
def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
    graph_uri: Annotated[str | None, typer.Option(
        "--graph-uri", envvar="HCSP_GRAPH_URI",
        help="A folder for the embedded engine, or bolt://host:7687 for Neo4j.")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve questions, trees and stats over REST (OpenAPI at /docs)."""
    import uvicorn

    from graph.backend import embedded_path, is_neo4j_uri
    from graph.embedded import EmbeddedEngine
    from hcsp.settings import get_settings

    uri = graph_uri or get_settings().graph_uri
    os.environ["HCSP_GRAPH_URI"] = uri  # the workers read it
    engine = None if is_neo4j_uri(uri) else EmbeddedEngine(embedded_path(uri))
    # The engine is started here, not by a worker, so that no worker stops it on exit.
    started = engine.start() if engine is not None else False
    try:
        uvicorn.run("api.main:create_app", factory=True, host=host, port=port,
                    workers=workers, log_level=log_level)
    finally:
        if started and engine is not None:
            engine.stop()
