"""``hcsp agent index|search|serve-search``: the agent's local search engine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hcsp.cliutil import friendly_errors

agent_app = typer.Typer(no_args_is_help=True)
console = Console(stderr=True)
out = Console()
IndexOption = Annotated[Path, typer.Option("--index", help="The index folder.")]
DEFAULT_INDEX = Path(".hcsp/search")


@agent_app.command("index")
@friendly_errors
def index_command(
    sources: Annotated[list[str], typer.Argument(help="Dumps (files or URLs, as for ingest).")],
    index: IndexOption = DEFAULT_INDEX,
    words: Annotated[int, typer.Option(help="Words per passage (about).")] = 100,
    limit: Annotated[int | None, typer.Option(help="Read at most this many pages a dump.")
                     ] = None,
) -> None:
    """Build the BM25 passage index the agent searches, from the same dumps as ingest."""
    from agent.search import build_index
    from ingest.sample import fetch_enwiki_sample, is_sample

    paths = [str(fetch_enwiki_sample(Path(".hcsp/data"))) if is_sample(s) else s
             for s in sources]
    with console.status("indexing...") as status:
        meta = build_index(paths, index, words=words, limit=limit,
                           progress=lambda n: status.update(f"indexing: {n:,} passages"))
    console.print(f"indexed {meta.passages:,} passages of {meta.pages:,} pages in "
                  f"{meta.seconds:.1f} s into {index}")


@agent_app.command("search")
@friendly_errors
def search_command(
    queries: Annotated[list[str], typer.Argument(help="One or more queries.")],
    index: IndexOption = DEFAULT_INDEX,
    k: Annotated[int, typer.Option("-k", help="Results per query.")] = 5,
) -> None:
    """Search the index (several queries at once) and print the top passages."""
    from agent.search import SearchIndex

    idx = SearchIndex.load(index)
    for q, hits in zip(queries, idx.search(queries, k), strict=True):
        out.print(f"[bold]{q}[/]" + ("" if hits else "  (no results)"))
        for h in hits:
            out.print(f"  {h.score:7.2f}  [cyan]{h.title}[/]  {h.text[:160]}", highlight=False)


@agent_app.command("serve-search")
@friendly_errors
def serve_search_command(
    index: IndexOption = DEFAULT_INDEX,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8001,
) -> None:
    """Serve the search tool over HTTP (POST /search) for training rollouts."""
    import uvicorn

    from agent.service import create_search_app

    uvicorn.run(create_search_app(index), host=host, port=port, log_level="warning")
