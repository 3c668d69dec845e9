"""``hcsp graph ...``: counts, migrations, and the embedded engine's start/stop/status."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from graph.backend import embedded_path, is_neo4j_uri
from graph.embedded import EmbeddedEngine
from graph.errors import GraphError
from graph.schema import migrate
from graph.store import graph_stats, open_graph
from hcsp.cliutil import GraphUriOption, friendly_errors
from hcsp.settings import get_settings

graph_app = typer.Typer(no_args_is_help=True)
out = Console()
err = Console(stderr=True)

def _embedded(uri: str | None) -> EmbeddedEngine:
    uri = uri or get_settings().graph_uri
    if is_neo4j_uri(uri):
        raise GraphError(f"{uri} is a Neo4j URI; start/stop/status manage the embedded engine",
                         hint="run Neo4j with `docker compose up -d neo4j`")
    return EmbeddedEngine(embedded_path(uri))


@graph_app.command("migrate")
@friendly_errors
def migrate_command(graph_uri: GraphUriOption = None,
                    refresh: Annotated[bool, typer.Option(
                        "--refresh-summary",
                        help="Recount the summary even if the graph has one.")] = False
                    ) -> None:
    """Bring a graph to this version: indexes, data steps, and the summary of counts
    that sampling reads (after a neo4j-admin import, or a graph from an older version).
    Rerunning it does nothing more."""
    from graph.summary import refresh as refresh_summary

    t0 = time.perf_counter()
    with open_graph(graph_uri) as backend:
        done = migrate(backend)
        if refresh and not any(d.startswith("summary") for d in done):
            refresh_summary(backend)
            done.append("summary (recounted)")
        where = backend.uri
    what = ", ".join(done) if done else "nothing: the graph is up to date"
    out.print(f"migrated {where} in {time.perf_counter() - t0:.1f} s: {what}", highlight=False)


@graph_app.command("stats")
@friendly_errors
def stats_command(graph_uri: GraphUriOption = None,
                  as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False
                  ) -> None:
    """Counts of entities, aliases, links, facts (by kind) and categories."""
    with open_graph(graph_uri) as backend:
        s = graph_stats(backend)
        where = backend.uri
    if as_json:
        print(json.dumps({"graph": where, **s.as_dict()}))
        return
    t = Table(title=f"graph {where}", show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column(justify="right")
    t.add_row("entities", f"{s.entities:,}")
    t.add_row("  of which stubs (link targets missing from the dumps)", f"{s.stubs:,}")
    t.add_row("  of which disambiguation pages", f"{s.disambiguation:,}")
    t.add_row("aliases (from redirects)", f"{s.aliases:,}")
    t.add_row("links", f"{s.links:,}")
    t.add_row("facts: entity-to-entity", f"{s.entity_facts:,}")
    for kind, n in sorted(s.literal_facts.items()):
        t.add_row(f"facts: {kind}", f"{n:,}")
    t.add_row("categories", f"{s.categories:,}")
    t.add_row("category memberships", f"{s.category_edges:,}")
    for d in s.dumps:
        state = "complete" if d.get("finished") else "partial"
        t.add_row(f"dump ({state})", str(d.get("source")))
    out.print(t)


@graph_app.command("start")
@friendly_errors
def start_command(graph_uri: GraphUriOption = None) -> None:
    """Start the embedded engine and leave it running for later commands."""
    eng = _embedded(graph_uri)
    before = eng.info()
    eng.start(detached=True)
    st = eng.status()
    if not before["running"]:
        word = "started"
    elif before["owner_pid"]:
        word = (f"already running (started by pid {before['owner_pid']}, which stops it when "
                "it ends)")
    else:
        word = "already running"
    out.print(f"embedded engine {word}: pid {st.pid}, data in {st.path}, socket {st.socket}")


@graph_app.command("stop")
@friendly_errors
def stop_command(graph_uri: GraphUriOption = None) -> None:
    """Save the graph to disk and stop the embedded engine."""
    eng = _embedded(graph_uri)
    if eng.stop():
        out.print(f"embedded engine stopped; data saved in {eng.path}")
    else:
        out.print(f"embedded engine for {eng.path} was not running")


@graph_app.command("status")
@friendly_errors
def status_command(graph_uri: GraphUriOption = None,
                   as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Whether the embedded engine is running, and where its data is."""
    eng = _embedded(graph_uri)
    st, info = eng.status(), eng.info()
    if as_json:
        print(json.dumps({"path": str(st.path), "running": st.running, "pid": st.pid,
                          "socket": st.socket, "disk_bytes": st.disk_bytes,
                          **{k: info[k] for k in ("uptime_s", "owner_pid", "supervised",
                                                  "supervisor_pid", "restarts")}}))
        return
    if st.running:
        who = (f"started by pid {info['owner_pid']}" if info["owner_pid"]
               else "started by `hcsp graph start`")
        sup = (f", supervised by pid {info['supervisor_pid']} ({info['restarts']} restarts)"
               if info["supervised"] else "")
        out.print(f"running: pid {st.pid}, up {info['uptime_s']} s, {who}{sup}; data in "
                  f"{st.path} ({st.disk_bytes / 1e6:.1f} MB)")
    else:
        out.print(f"not running; data in {st.path} ({st.disk_bytes / 1e6:.1f} MB). "
                  "Commands start it on demand; `hcsp graph start` keeps it up.")
