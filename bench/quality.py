"""What the questions say: prints a table. Not a test; run it by hand.

    .venv/bin/python bench/quality.py                       # every dump, N in 5,6,8, 50 trees
    .venv/bin/python bench/quality.py --baseline 7ac34bc    # and the same run at an older commit
    .venv/bin/python bench/quality.py --count 10 --show 3

For every real dump in ../shared/data/wiki/ (each in a graph of its own) and each N:
the share of questions that speak of the corpus (Wikipedia, articles, links,
categories, "begins with the letter"; target 0%), the share of clues that are facts
about the world (target >= 90%), the share of entity vertices called by a bad noun
("infobox", "article", "thing", none; target 0%), questions with an "is the one
that"-style relation + relations by a key the phrase book lacks (target 0+0), the
share of clues that are numeric ranges (<= 33%), of trees with a name's initial
(<= 10%), tautologies ("a bird that is a bird"; 0), distinct root nouns and relation
keys with the top one's share (<= 25%), the share of trees whose root a hop pins in
the world and not only in this graph (synth.policy.functional: "the city where this
physicist was born", "the country whose capital is this city"; a clue that did would
say the answer outright, and the root takes none), words per question, acceptance (accepted /
candidates) and accepted trees/s; per dump, the phrase book's coverage of the keys
behind its FACT edges. ``--baseline REF`` runs the same sampling with the code of REF
(a git worktree, in a subprocess, on the same graph) and prints its row beside each.
Then ``--show`` questions per dump, unedited.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from table import print_table  # noqa: E402

from graph.backend import FalkorBackend  # noqa: E402
from graph.summary import read_summary  # noqa: E402
from ingest.pipeline import IngestConfig, ingest_dump  # noqa: E402
from synth.config import SynthConfig  # noqa: E402
from synth.phrasebook import PhraseBook  # noqa: E402
from synth.pipeline import synthesize  # noqa: E402

DUMPS = ROOT.parent / "shared" / "data" / "wiki"
CORPUS = re.compile(r"wikipedia|\barticles?\b|\blinks? to\b|\blinked from\b|categor|"
                    r"begins with the letter|infobox|\bpage\b", re.I)
VAGUE = re.compile(r"\b(?:subject|entity|thing|item)\b", re.I)
# In trees of older versions: the constraint kinds that are facts about the world.
_OLD_WORLD = {"fact_year", "fact_number", "fact_months", "fact_named", "category"}

BASELINE = """
import json, sys, time
from typing import Any
from graph.backend import FalkorBackend
from synth.pipeline import synthesize
from synth.config import SynthConfig
b = FalkorBackend(sys.argv[1])
out = []
for n in map(int, sys.argv[2].split(",")):
    t = time.perf_counter()
    trees, rep = synthesize(b, SynthConfig(vertices=n), count=int(sys.argv[3]), seed=1,
                            workers=2)
    sec = time.perf_counter() - t
    out.append({"n": n, "accepted": len(trees), "attempts": rep.attempts, "seconds": sec,
                **_facts(trees)})
b.close()
b.engine.stop()
print(json.dumps(out))
"""


TAUTOLOGY = re.compile(r"\b([a-z]+) (?:that|who) (?:is|was) an? (?:[\w\-]+ )*?\1\b", re.I)
ONE_THAT = re.compile(r"\bis the one that\b|\bas its [a-z]+_[a-z_]+\b", re.I)


def _share(counts: dict[str, int]) -> str:
    total = sum(counts.values())
    if not total:
        return "-"
    return f"{len(counts)} ({max(counts.values()) / total:.0%})"


def _row(name: str, n: int, who: str, questions: list[str], kinds: list[list[str]],
         nouns: list[list[str | None]], rel_keys: list[list[str]], accepted: int,
         attempts: int, seconds: float, coverage: str, rel_dirs: list[list[str]],
         shapes: dict[str, Any], root_ties: list[list[list[Any]]] | None = None
         ) -> list[str]:
    """One table row from what every version's trees say (so a baseline's too);
    ``shapes``: the graph's KeyShape per infobox key (graph.summary), by which a fact
    hop is functional (pins its parent by itself)."""
    from synth.policy import BAD_NOUNS

    book = PhraseBook.default()
    q = max(1, len(questions))
    world = [sum(k in _OLD_WORLD or k in ("FACT", "link", "links_to_named",
                                          "linked_from_named") for k in ks) / max(1, len(ks))
             for ks in kinds]
    flat = [x for ns_ in nouns for x in ns_]
    bad = sum(1 for x in flat if not x or VAGUE.search(x) or x in BAD_NOUNS)
    clues = [k for ks in kinds for k in ks]
    keys = [k for ks in rel_keys for k in ks]
    off_book = sum(1 for k in keys if not k.startswith("claim:") and book.relation(k) is None)
    roots: dict[str, int] = {}
    for ns_ in nouns:
        roots[ns_[0] or "-"] = roots.get(ns_[0] or "-", 0) + 1
    by_key: dict[str, int] = {}
    for k in keys:
        by_key[k] = by_key.get(k, 0) + 1
    hops = [(k, d) for ks, ds in zip(rel_keys, rel_dirs, strict=False)
            for k, d in zip(ks, ds, strict=False) if not k.startswith("claim:")]
    pinning = sum(k in shapes and shapes[k].functional("value" if d == "in" else "holder")
                  for k, d in hops)
    root_ties = root_ties or []
    pinned = sum(any(len(tie) == 4 and _pins_root(tie, shapes) for tie in ties)
                 for ties in root_ties)
    return [name, str(n), who, f"{sum(bool(CORPUS.search(x)) for x in questions) / q:.0%}",
            f"{sum(world) / max(1, len(world)):.0%}",
            f"{bad / max(1, len(flat)):.0%}",
            f"{sum(bool(ONE_THAT.search(x)) for x in questions)}+{off_book}",
            f"{sum(k == 'fact_number' for k in clues) / max(1, len(clues)):.0%}",
            f"{sum('title_initial' in ks for ks in kinds) / q:.0%}",
            str(sum(bool(TAUTOLOGY.search(x)) for x in questions)),
            _share(roots), _share(by_key),
            f"{pinning}/{len(hops)}" if hops else "-",
            f"{pinned / max(1, len(root_ties)):.0%}" if root_ties else "-",
            f"{sum(len(x.split()) for x in questions) / q:.0f}",
            f"{accepted}/{attempts} ({accepted / max(1, attempts):.0%})",
            f"{accepted / max(1e-9, seconds):.2f}", coverage]


def _pins_root(tie: list[Any], shapes: dict[str, Any]) -> bool:
    """Whether one of a root's children (_facts' "root_ties": a hop's rel, key, direction
    and claim, or a clue's kind, params and claim) pins it in the world (synth.policy)."""
    from synth.model import Relation
    from synth.policy import functional, pins

    if len(tie) == 4:
        return functional(Relation(tie[0], tie[2], key=tie[1], claim=tie[3]), shapes)
    return pins(tie[0], tie[1], {"claim": tie[2]}, shapes)


def _facts(trees: list[Any]) -> dict[str, Any]:
    """What _row reads, from trees of this version."""
    return {"questions": [t.question for t in trees],
            "kinds": [[v.constraint.kind if v.constraint else
                       ("FACT" if v.relation.rel == "FACT" else "link")
                       for v in t.vertices if v.parent is not None] for t in trees],
            "nouns": [[v.noun for v in t.vertices if v.kind == "entity"] for t in trees],
            "rel_keys": [[v.relation.key or "claim:" + str(v.relation.claim)
                          for v in t.vertices if v.relation is not None] for t in trees],
            "rel_dirs": [[v.relation.direction for v in t.vertices if v.relation is not None]
                         for t in trees],
            "root_ties": [[[v.relation.rel, v.relation.key, v.relation.direction,
                            v.relation.claim] if v.relation is not None else
                           [v.constraint.kind, v.constraint.params,
                            v.constraint.provenance.get("claim")]
                           for v in t.vertices if v.parent == 0] for t in trees]}


def baseline_rows(ref: str, graph: Path, name: str, ns: list[int], count: int,
                  work: Path, coverage: str, shapes: dict[str, Any]) -> list[list[str]]:
    tree = work / "baseline"
    if not tree.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f",
                        str(tree), ref], check=True, capture_output=True)
    # The trees are read as this version reads them (_facts, its source run there too).
    script = BASELINE.replace("out = []", inspect.getsource(_facts) + "\nout = []", 1)
    res = subprocess.run([sys.executable, "-c", script, str(graph), ",".join(map(str, ns)),
                          str(count)], capture_output=True, text=True, cwd=tree,
                         env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}, check=True)
    rows = []
    for r in json.loads(res.stdout.strip().splitlines()[-1]):
        rows.append(_row(name, r["n"], f"at {ref[:7]}", r["questions"], r["kinds"],
                         r["nouns"], r.get("rel_keys", []), r["accepted"], r["attempts"],
                         r["seconds"], coverage, r.get("rel_dirs", []), shapes,
                         r.get("root_ties")))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--vertices", default="5,6,8", help="N values")
    ap.add_argument("--count", type=int, default=50, help="trees per (dump, N)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--baseline", default=None, help="a git ref to compare with")
    ap.add_argument("--show", type=int, default=10, help="questions to print per dump")
    add_llm_args(ap)
    args = ap.parse_args()
    models = llm_models(args)
    calls: list[list[str]] = []
    ns = [int(x) for x in args.vertices.split(",")]
    book = PhraseBook.default()
    rows: list[list[str]] = []
    shown: dict[str, list[str]] = {}
    work = Path(tempfile.mkdtemp(prefix="hcsp-bench-quality-"))
    try:
        for dump in sorted(DUMPS.glob("*.xml.bz2")):
            name = dump.name.split(".")[0]
            graph = work / name
            b = FalkorBackend(str(graph))
            ingest_dump(str(dump), b, IngestConfig(staging_root=work / f"st-{name}"))
            keys = b.read("MATCH (:Entity)-[r:FACT]->(:Entity) RETURN r.key AS key, "
                          "count(r) AS n")
            share, missing = book.coverage((r["key"], r["n"]) for r in keys)
            coverage = f"{share:.1%} of {sum(r['n'] for r in keys):,}"
            if missing:
                coverage += f" (first missing: {', '.join(missing[:3])})"
            shapes = read_summary(b).keys
            if args.baseline:
                b.close()
                b.engine.stop()
                rows += baseline_rows(args.baseline, graph, name, ns, args.count, work,
                                      coverage, shapes)
                b = FalkorBackend(str(graph))
            try:
                for n in ns:
                    t = time.perf_counter()
                    trees, rep = synthesize(b, SynthConfig(vertices=n), count=args.count,
                                            seed=1, workers=args.workers)
                    sec = time.perf_counter() - t
                    f = _facts(trees)
                    rows.append(_row(name, n, "now", f["questions"], f["kinds"], f["nouns"],
                                     f["rel_keys"], len(trees), rep.attempts, sec, coverage,
                                     f["rel_dirs"], shapes, f["root_ties"]))
                    if models:
                        calls.append(llm_calls_row(b, name, n, args, models))
                    shown.setdefault(name, [])
                    for t in trees[: max(0, args.show - len(shown[name]))]:
                        shown[name].append(f"[N={n}] {t.question} → {t.answer}")
            finally:
                b.close()
                b.engine.stop()
    finally:
        if args.baseline and (work / "baseline").exists():
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                            str(work / "baseline")], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    print_table(["dump", "N", "code", "speaks of corpus", "world clues", "bad nouns",
                 "'one that'+off-book rels", "number clues", "trees w/ initial",
                 "tautologies", "root nouns (top)", "rel keys (top)",
                 "functional fact hops", "roots a hop pins in the world", "words/q",
                 "accepted/candidates", "trees/s", "phrase book covers"], rows)
    print_llm_calls(calls)
    for name, qs in shown.items():
        print(f"\n{name}:")
        for q in qs:
            print(f"  {q}")


# ---- --llm: model calls per kept question (the same sampling, with the writer) ----

def add_llm_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--llm", default=None, metavar="SPEC",
                    help="also run the same sampling with this writer (openai:MODEL, ...) "
                    "and print its calls per kept question")
    ap.add_argument("--llm-base-url", default=None, metavar="URL",
                    help="OpenAI-compatible server for --llm (and --judge)")
    ap.add_argument("--judge", default=None, metavar="SPEC",
                    help="with --llm: the judge (checks the writer's clues, scores difficulty)")


def llm_models(args: argparse.Namespace) -> tuple[Any, Any] | None:
    """(writer, judge) from --llm and --judge, or None without --llm."""
    if not args.llm:
        return None
    from hcsp.chat import make_chat

    return (make_chat(args.llm, args.llm_base_url),
            make_chat(args.judge, args.llm_base_url) if args.judge else None)


def llm_calls_row(b: FalkorBackend, name: str, n: int, args: argparse.Namespace,
                  models: tuple[Any, Any]) -> list[str]:
    """One (dump, N) row: the sampling of the table above again, with the writer."""
    writer, judge = models
    t = time.perf_counter()
    _, rep = synthesize(b, SynthConfig(vertices=n), count=args.count, seed=1,
                        workers=args.workers, llm=writer, judge=judge)
    sec = time.perf_counter() - t
    per, kept = rep.llm_per_kept(), max(1, rep.accepted)
    requests = [u["requests"] for u in rep.llm.values() if u["requests"] is not None]
    retries = [u["retries"] for u in rep.llm.values() if u["retries"] is not None]
    cost = "-" if rep.llm_cost_usd is None else f"${rep.llm_cost_usd / kept:.5f}"
    return [name, str(n), str(rep.accepted), f"{rep.llm_kept}",
            *(f"{per[r]:.2f}" if per.get(r) is not None else "0" for r in
              ("writer", "judge", "scorer")),
            f"{sum(requests) / kept:.2f}" if requests else "-",
            str(sum(retries)) if retries else "-",
            f"{(rep.llm_input_tokens + rep.llm_output_tokens) / kept:,.0f}", cost,
            f"{rep.accepted / max(1e-9, sec):.2f}"]


def print_llm_calls(rows: list[list[str]]) -> None:
    if rows:
        print("\nmodel calls per kept question (--llm; target: writer 1, judge at most 1)")
        print_table(["dump", "N", "kept", "written", "writer", "judge", "difficulty judge",
                     "HTTP requests", "retries", "tokens", "cost", "trees/s"], rows)


if __name__ == "__main__":
    main()
