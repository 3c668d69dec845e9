"""Shared CLI plumbing: the options every command spells the same way, and how our
errors reach a user of the command line."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Annotated, Any

import typer
from rich.console import Console

from hcsp.errors import HcspError
from hcsp.signals import Terminated

err_console = Console(stderr=True, soft_wrap=True)

GraphUriOption = Annotated[str | None, typer.Option(
    "--graph-uri", envvar="HCSP_GRAPH_URI",
    help="A folder for the embedded engine, or bolt://host:7687 for Neo4j.")]


def friendly_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn our errors into one clear line (plus what to do) and an exit code."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except HcspError as e:
            err_console.print(f"[bold red]error:[/] {e.message}", highlight=False)
            if e.hint:
                err_console.print(f"[yellow]what to do:[/] {e.hint}", highlight=False)
            raise typer.Exit(e.exit_code) from None
        except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM/SIGHUP (hcsp.signals)
            if isinstance(e, Terminated) and e.signame != "SIGINT":
                err_console.print(f"[yellow]stopped by {e.signame}[/]")
                raise typer.Exit(e.exit_code) from None
            err_console.print("[yellow]interrupted[/]; rerun with --resume to continue")
            raise typer.Exit(130) from None

    return wrapper
