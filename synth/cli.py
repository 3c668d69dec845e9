"""``hcsp synth`` (sample, prove, render, store, export) and ``hcsp tree show|export``."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.tree import Tree as RichTree

from graph.schema import migrate
from graph.store import open_graph
from hcsp.chat import make_chat
from hcsp.cliutil import GraphUriOption, friendly_errors
from synth.errors import SynthError
from synth.model import Tree
from synth.pipeline import SynthReport, synthesize
from synth.sampler import SynthConfig
from synth.store import iter_trees, load_tree, save_trees, write_jsonl

console = Console(stderr=True)
out = Console()
tree_app = typer.Typer(no_args_is_help=True)

@friendly_errors
def synth_command(
    vertices: Annotated[int, typer.Option("--vertices", "-n",
                                          help="N: vertices per tree (>= 4).")] = 6,
    count: Annotated[int, typer.Option("--count", "-c", help="Trees to produce.")] = 10,
    seed: Annotated[int, typer.Option(help="Same graph + config + seed = same trees.")] = 0,
    out_file: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write accepted trees as JSONL here.")] = None,
    llm: Annotated[str, typer.Option(help="Write questions from the clues and their evidence "
                                     "with: none, openai:MODEL, anthropic:MODEL, "
                                     "transformers:PATH.")] = "none",
    llm_model: Annotated[str | None, typer.Option(hidden=True)] = None,
    llm_base_url: Annotated[str | None, typer.Option(
        help="OpenAI-compatible server (e.g. a local vLLM) for --llm openai:MODEL.")] = None,
    k: Annotated[int, typer.Option("--k", help="Each constraint alone must match >= K.")] = 2,
    min_popularity: Annotated[int, typer.Option(help="Answers have at least this many "
                                                "in-links.")] = 0,
    max_popularity: Annotated[int, typer.Option(help="Answers have at most this many "
                                                "in-links.")] = 10**12,
    shape: Annotated[str, typer.Option(help="deep (chains) or wide (all under the root).")
                     ] = "deep",
    max_attempts: Annotated[int | None, typer.Option(
        help="Give up after this many candidate trees (default 100 per tree, at least "
        "200).")] = None,
    store: Annotated[bool, typer.Option(help="Store accepted trees in the graph.")] = True,
    judge: Annotated[str, typer.Option(
        help="Score difficulty and verifiability (and check the LLM writer's clues) with: "
        "none or a model, as for --llm.")] = "none",
    judge_model: Annotated[str | None, typer.Option(hidden=True)] = None,
    drop_by_judge: Annotated[bool, typer.Option(
        help="Drop questions the judge answers closed-book or cannot verify.")] = False,
    workers: Annotated[int, typer.Option(help="Parallel sampling threads.")] = 2,
    show: Annotated[int, typer.Option(help="Questions to print at the end.")] = 5,
    initials: Annotated[bool, typer.Option(
        help="Allow a name's initial as a clue where nothing else narrows enough (at most "
        "one a tree); --no-initials halves acceptance on the Latgalian Wikipedia.")] = True,
    writer_claims: Annotated[bool | None, typer.Option(
        help="With --llm: links whose sentence relates the two in words no pattern reads "
        "are relations too, stated by the writer from the sentence (a tree it cannot "
        "state is dropped). Default: on with --llm.")] = None,
    graph_uri: GraphUriOption = None,
) -> None:
    """Sample N-vertex research trees, prove each unique against the graph, render them
    as questions, store them, and write JSONL."""
    if writer_claims and llm == "none":
        raise typer.BadParameter("--writer-claims needs a writer: pass --llm MODEL too")
    config = SynthConfig(vertices=vertices, k=k, shape=shape, min_popularity=min_popularity,
                         max_popularity=max_popularity, initials=initials,
                         writer_claims=(llm != "none") if writer_claims is None
                         else writer_claims)
    for flag, given, spec in (("--llm-model", llm_model, llm), ("--judge-model", judge_model,
                                                                   judge)):
        if given:  # the old spelling
            raise typer.BadParameter(f"{flag} is gone: name the model in the spec, "
                                     f"e.g. {flag.removesuffix('-model')} {spec}:{given}")
    model = make_chat(llm, llm_base_url)
    judge_llm = make_chat(judge, llm_base_url)
    with open_graph(graph_uri) as backend:
        migrated = migrate(backend)  # a graph from an older version: once, here, not in sampling
        if migrated:
            console.print(f"migrated the graph first: {', '.join(migrated)}", highlight=False)
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                      MofNCompleteColumn(), TextColumn("{task.fields[note]}"),
                      TimeElapsedColumn(), console=console) as progress:
            task = progress.add_task("synthesizing", total=count, note="0 candidates")
            write_task = None

            def sampled(accepted: int, attempts: int) -> None:
                progress.update(task, completed=accepted, note=f"{attempts:,} candidates")

            def wrote(done: int, total: int) -> None:  # the kept trees, once sampled
                nonlocal write_task
                if write_task is None:
                    write_task = progress.add_task(
                        "writing" if model is not None else "judging", total=total,
                        note="kept trees")
                progress.update(write_task, completed=done)

            trees, report = synthesize(
                backend, config, count, seed, llm=model, max_attempts=max_attempts,
                workers=workers, judge=judge_llm, drop_by_judge=drop_by_judge,
                progress=sampled, write_progress=wrote)
        if store and trees:
            save_trees(backend, trees)
    if out_file is not None:
        write_jsonl(trees, out_file)
    t = Table(title="synth summary", show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column(justify="right")
    t.add_row("accepted", f"{report.accepted:,} of {count:,} asked")
    t.add_row("candidates tried", f"{report.attempts:,}")
    for reason, n in report.rejected.items():
        t.add_row(f"  rejected: {reason}", f"{n:,}")
    if model is not None:
        t.add_row("questions written by the LLM", f"{report.llm_kept:,} "
                  f"({report.llm_fallbacks:,} kept the template: see renderer)")
    for label, value in llm_rows(report):
        t.add_row(label, value)
    rate = report.accepted / report.seconds if report.seconds else 0
    writing = f", {report.write_seconds:,.1f} s writing" if report.write_seconds else ""
    t.add_row("time", f"{report.seconds:,.1f} s ({rate:,.2f} accepted trees/s; "
              f"{report.setup_seconds:,.1f} s of it setup{writing})")
    if report.tree_seconds:
        t.add_row("per accepted tree (p50)", f"{statistics.median(report.tree_seconds):.3f} s")
    t.add_row("graph queries", f"{report.queries:,}")
    t.add_row("stored in the graph", "yes" if store and trees else "no")
    t.add_row("written to", str(out_file) if out_file else "(no --out)")
    scope = report.scope
    if scope:
        t.add_row("graph completeness", f"{scope['articles']:,} articles / "
                  f"{scope['entities']:,} entities ({scope['completeness']:.0%})")
    console.print(t)
    if scope.get("partial"):
        console.print("[yellow]note:[/] most entities of this graph are pages its dump "
                      "lacks (a slice): trees are unique within this graph only, not "
                      "within all of Wikipedia (recorded as `scope` with each tree).")
    for tree in trees[:show]:
        console.print(f"\n[dim]{tree.id}[/] {tree.question}\n  [green]→ {tree.answer}[/]",
                      highlight=False)
    if not trees:
        raise SynthError(
            f"no {vertices}-vertex tree could be proven unique in this graph after "
            f"{report.attempts:,} candidates (rejected: {report.rejected})",
            hint="try a smaller --vertices, --shape wide, a smaller --k, or a larger graph")


_ROLE = {"writer": "writer", "judge": "judge (the writer's clues)",
         "scorer": "judge (difficulty)"}


def llm_rows(report: SynthReport) -> list[tuple[str, str]]:
    """The summary's lines on model calls: per role, calls per kept question, HTTP
    requests and retries; tokens and cost, in all and per kept question."""
    rows = []
    kept = report.accepted
    per = report.llm_per_kept()
    for role, u in report.llm.items():
        value = f"{u['calls']:,} calls, {per[role]:.2f} per kept question" if kept else \
            f"{u['calls']:,} calls, none kept"
        if u["requests"] is not None:
            value += f" ({u['requests']:,} HTTP requests, {u['retries']:,} retries)"
        if u["failed"]:
            value += f", {u['failed']:,} failed"
        rows.append((f"LLM calls: {_ROLE.get(role, role)}", value))
    tokens = report.llm_input_tokens + report.llm_output_tokens
    if report.llm:
        value = "not reported"
        if tokens:
            value = f"{report.llm_input_tokens:,} in + {report.llm_output_tokens:,} out"
            if kept:
                value += f" ({tokens / kept:,.0f} per kept question)"
        rows.append(("LLM tokens", value))
        if report.llm_cost_usd is not None:
            each = f" (${report.llm_cost_usd / kept:.5f} per kept question)" if kept else ""
            rows.append(("LLM cost", f"${report.llm_cost_usd:.4f}{each}"))
    return rows


@tree_app.command("show")
@friendly_errors
def show_command(tree_id: Annotated[str, typer.Argument(help="A tree id (t...).")],
                 graph_uri: GraphUriOption = None) -> None:
    """Print one stored tree: its question, answer, vertices and evidence."""
    with open_graph(graph_uri) as backend:
        tree = load_tree(backend, tree_id)
    out.print(render_tree(tree))


@tree_app.command("export")
@friendly_errors
def export_command(out_file: Annotated[Path, typer.Option("--out", "-o")],
                   graph_uri: GraphUriOption = None) -> None:
    """Write every stored tree as JSONL."""
    with open_graph(graph_uri) as backend:
        n = write_jsonl(iter_trees(backend), out_file)
    console.print(f"wrote {n:,} trees to {out_file}")


def render_tree(tree: Tree) -> RichTree:
    """An indented view: entity vertices with their relation, constraints with provenance."""
    head = RichTree(f"[bold]{tree.id}[/]  N={tree.n_vertices}  seed={tree.seed}  "
                    f"solver agreed: {tree.solver.get('agreed')}\n[italic]{tree.question}[/]\n"
                    f"answer: [green]{tree.answer}[/]"
                    + (f" (aliases: {', '.join(tree.aliases)})" if tree.aliases else ""))
    nodes = {}
    checks = tree.checks
    for v in sorted(tree.vertices, key=lambda v: v.id):
        if v.kind == "entity":
            n = checks.get("vertex_matches", {}).get(str(v.id))
            label = f"[cyan]{v.entity}[/] ({v.noun}; matches given children: {n})"
            if v.relation is not None:
                rel = v.relation
                label = f"{rel.rel}{f' {rel.key}' if rel.key else ''} ({rel.direction}) → " \
                        + label
                if rel.sentence:
                    label += f"\n[dim]evidence: {rel.sentence}[/]"
        else:
            c = v.constraint
            assert c is not None
            alone = checks.get("constraint_alone", {}).get(str(v.id))
            prov = ", ".join(f"{k}={val}" for k, val in c.provenance.items() if k != "sentence")
            label = f"{c.text} [dim](alone: {alone}; {prov})[/]"
            if c.provenance.get("sentence"):
                label += f"\n[dim]evidence: {c.provenance['sentence']}[/]"
        nodes[v.id] = (head if v.parent is None else nodes[v.parent]).add(label)
    return head


