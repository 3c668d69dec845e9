"""``hcsp serve``: run the API with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from hcsp.cliutil import friendly_errors


@friendly_errors
def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    graph_uri: Annotated[str | None, typer.Option(
        "--graph-uri", envvar="HCSP_GRAPH_URI",
        help="A folder for the embedded engine, or bolt://host:7687 for Neo4j.")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve questions, trees and stats over REST (OpenAPI at /docs)."""
    import uvicorn

    from api.main import create_app

    uvicorn.run(create_app(graph_uri=graph_uri), host=host, port=port, log_level=log_level)
