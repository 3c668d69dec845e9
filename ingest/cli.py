"""``hcsp ingest SOURCE``: a dump into the graph, with progress and a summary."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from graph.store import graph_stats, open_graph
from hcsp.cliutil import GraphUriOption
from ingest.errors import DumpError
from ingest.pipeline import IngestConfig, IngestReport, ingest_dump
from ingest.sample import fetch_enwiki_sample, is_sample

console = Console(stderr=True)


def ingest_command(
    source: Annotated[str, typer.Argument(
        help="A pages-articles dump: a local .xml / .xml.bz2 / .xml.gz file, an http(s) "
             "URL of one (streamed), or sample:enwiki (a real 206-page English slice, "
             "fetched from PyPI inside the gensim wheel).")],
    graph_uri: GraphUriOption = None,
    limit: Annotated[int | None, typer.Option(
        help="Read at most this many pages of the dump.")] = None,
    resume: Annotated[bool, typer.Option(
        help="Skip the pages an interrupted run of the same dump finished.")] = False,
    missing_links: Annotated[str, typer.Option(
        help="Links to pages the dump lacks: 'stub' (a bare entity) or 'drop'.")] = "stub",
    batch_size: Annotated[int, typer.Option(help="Rows per write batch.")] = 2000,
    bulk: Annotated[bool, typer.Option(
        help="Into an empty embedded graph, load with the engine's bulk insert "
             "(--no-bulk: batched MERGEs, as for a graph that holds data).")] = True,
    checkpoint_every: Annotated[int, typer.Option(
        help="Save a resume point after this many articles.")] = 2000,
    staging: Annotated[Path | None, typer.Option(
        help="Where links wait for redirects (default: .hcsp/staging).")] = None,
    neo4j_csv: Annotated[Path | None, typer.Option(
        help="Write CSV files for `neo4j-admin database import` here instead of loading a "
             "graph (the bulk path for a full dump into Neo4j).")] = None,
) -> None:
    """Ingest a Wikipedia dump: pages, redirects, links with sentences, infobox facts,
    categories. Rerunning it changes nothing; --resume continues a broken-off run."""
    config = IngestConfig(limit=limit, resume=resume, missing_links=missing_links,
                          batch_size=batch_size, checkpoint_every=checkpoint_every,
                          bulk=None if bulk else False, neo4j_csv=neo4j_csv,
                          staging_root=staging or IngestConfig.staging_root)
    if is_sample(source):
        path = fetch_enwiki_sample(Path(".hcsp/data"))
        console.print(f"using the enwiki sample dump from the gensim wheel: {path}")
        source = str(path)
    t0 = time.perf_counter()
    if neo4j_csv is not None:
        report = ingest_dump(source, None, config)
        console.print(f"wrote neo4j-admin import files for {report.articles:,} articles "
                      f"({report.pages_read:,} pages read) to {neo4j_csv}; with Neo4j "
                      f"stopped, run {neo4j_csv / 'import.sh'} (neo4j-admin on PATH), or let "
                      f"scripts/neo4j.sh import {neo4j_csv} stop, import and restart it;\n"
                      "then, with Neo4j running: hcsp graph migrate --graph-uri bolt://...",
                      highlight=False)
        return
    with open_graph(graph_uri) as backend:
        with _progress() as progress:
            task = progress.add_task("reading", total=None, detail="")
            load_task = None

            def on_progress(pages: int, nbytes: int, total: int | None) -> None:
                el = max(time.perf_counter() - t0, 1e-6)
                size = f"{nbytes / 1e6:,.1f}" + (f"/{total / 1e6:,.1f}" if total else "")
                detail = (f"{size} MB  {nbytes / 1e6 / el:,.2f} MB/s  {pages:,} pages  "
                          f"{pages / el:,.0f} pages/s")
                progress.update(task, completed=nbytes, total=total, detail=detail)

            def on_load(what: str, n: int) -> None:
                nonlocal load_task
                label = f"loading: {what}" + (f" {n:,}" if n else "")
                if load_task is None:
                    load_task = progress.add_task(label, total=None, detail="")
                progress.update(load_task, description=label)

            error: DumpError | None = None
            try:
                report = ingest_dump(source, backend, config, progress=on_progress,
                                     load_progress=on_load)
            except DumpError as e:
                error = e
                report = getattr(e, "report", None)
        if report is not None:
            _summary(report, backend, graph_uri or backend.uri)
        if error is not None:
            raise error


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(), console=console, transient=False)


def _summary(report: IngestReport, backend: object, where: str) -> None:
    stats = graph_stats(backend)  # type: ignore[arg-type]
    t = Table(title="ingest summary", show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column(justify="right")
    if report.resumed_from:
        t.add_row("resumed after page", f"{report.resumed_from:,}")
    t.add_row("pages read", f"{report.pages_read:,}")
    t.add_row("articles", f"{report.articles:,}")
    t.add_row("redirects (aliases)", f"{report.redirects:,}")
    for reason, n in sorted(report.skipped.items()):
        t.add_row(f"  pages skipped: {reason}", f"{n:,}")
    for what, n in report.resolved.items():
        t.add_row(f"  {what.replace(':', ' ')}", f"{n:,}")
    for what, n in sorted(report.written.items()):
        t.add_row(f"rows written: {what}", f"{n:,}")
    t.add_row("graph now: entities (stubs)", f"{stats.entities:,} ({stats.stubs:,})")
    t.add_row("graph now: aliases", f"{stats.aliases:,}")
    t.add_row("graph now: links", f"{stats.links:,}")
    t.add_row("graph now: facts (entity/literal)",
              f"{stats.facts:,} ({stats.entity_facts:,}/{sum(stats.literal_facts.values()):,})")
    t.add_row("graph now: categories", f"{stats.categories:,}")
    mb = report.bytes_read / 1e6
    t.add_row("read", f"{mb:,.1f} MB in {report.seconds:,.1f} s")
    t.add_row(f"parse / load time ({report.loader})",
              f"{report.parse_seconds:,.1f} s / {report.load_seconds:,.1f} s")
    t.add_row("graph", where)
    console.print(t)
