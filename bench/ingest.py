"""Ingest benchmark: prints a table. Not a test; run it by hand.

    .venv/bin/python bench/ingest.py                    # 100k and 1M synthetic entities
    .venv/bin/python bench/ingest.py --sizes 100000     # quicker

Measures, in one run (ratios are what to compare; these machines are noisy):
  1. wikitext parsing, MB/s on one core: our extractor (links with sentences, infobox
     facts, categories) next to a naive full mwparserfromhell parse of each page;
  2. the real enwiki sample end to end, and rows/s written by each loader;
  3. a Wikipedia-shaped synthetic graph (ingest.synthetic) at each size: rows/s with
     the bulk loader (and MERGE batches where it finishes in reasonable time), the
     engine's resident memory and its snapshot size;
  4. (--project, on by default) a projection to simplewiki and the full English dump
     on this machine, from per-stage rates measured in the same run: bz2 decompression
     (one stream, and a process pool over multistream streams), XML reading, parsing,
     staging, link resolution, bulk loading, the engine's memory per entity and per
     link, the ingest's own peak memory, the neo4j-admin CSV export; and the largest
     graph the embedded engine holds in 24 GB (see bench/ingest_project.py).

    .venv/bin/python bench/ingest.py --sizes ""    # parse, enwiki sample, projection (~7 min)
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import mwparserfromhell
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graph.backend import FalkorBackend  # noqa: E402
from graph.store import graph_stats  # noqa: E402
from ingest.dump import DumpReader  # noqa: E402
from ingest.load import BulkLoader, MergeLoader, Resolver  # noqa: E402
from ingest.pipeline import IngestConfig, ingest_dump  # noqa: E402
from ingest.synthetic import stage_synthetic  # noqa: E402
from ingest.values import infobox_facts  # noqa: E402
from ingest.wikitext import DISAMBIGUATION_TEMPLATES, WikitextParser  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest_project import dump_json, run_projection  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "wiki"
ENWIKI = DATA / "enwiki-sample-206.xml.bz2"


def articles(path: Path) -> tuple[list[str], object]:
    with DumpReader(str(path)) as r:
        texts = [p.text for p in r.pages() if p.ns == 0 and not p.redirect_to and p.text]
        return texts, r.info.namespaces


def bench_parse(rows: list[tuple[str, str, str]]) -> None:
    texts, ns = articles(ENWIKI)
    mb = sum(len(t.encode()) for t in texts) / 1e6
    parser = WikitextParser(ns, disambiguation_templates=DISAMBIGUATION_TEMPLATES)  # type: ignore[arg-type]

    def ours() -> int:
        n = 0
        for t in texts:
            a = parser.parse(t)
            n += len(a.links) + (len(infobox_facts(a.infobox, ns)) if a.infobox else 0)  # type: ignore[arg-type]
        return n

    def naive() -> int:
        n = 0
        for t in texts:
            code = mwparserfromhell.parse(t)
            n += len(code.filter_wikilinks()) + len(code.filter_templates())
            code.strip_code()
        return n

    times = {}
    for name, fn in (("ours", ours), ("naive", naive)):
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t)
        times[name] = best
    rows.append(("parse", f"enwiki sample, {len(texts)} articles, {mb:.1f} MB wikitext", ""))
    rows.append(("parse", "our extractor (links+sentences, infobox, categories)",
                 f"{mb / times['ours']:.1f} MB/s/core"))
    rows.append(("parse", "naive full mwparserfromhell parse",
                 f"{mb / times['naive']:.2f} MB/s/core"))
    rows.append(("parse", "speed-up (target >= 5x)", f"{times['naive'] / times['ours']:.1f}x"))


def graph_rows(stats: dict[str, object]) -> int:
    """Nodes plus relationships written."""
    facts = sum(stats["literal_facts"].values())  # type: ignore[union-attr]
    return (int(stats["entities"]) + facts + int(stats["categories"])  # type: ignore[arg-type]
            + int(stats["links"]) + int(stats["entity_facts"])  # type: ignore[arg-type]
            + facts + int(stats["category_edges"]))  # type: ignore[arg-type]


def bench_enwiki(rows: list[tuple[str, str, str]], tmp: Path) -> None:
    for bulk in (True, False):
        b = FalkorBackend(str(tmp / f"enwiki-{bulk}"))
        try:
            cfg = IngestConfig(staging_root=tmp / f"st-{bulk}", bulk=None if bulk else False)
            rep = ingest_dump(str(ENWIKI), b, cfg)
            n = graph_rows(graph_stats(b).as_dict())
        finally:
            b.close()
        mb = rep.bytes_read / 1e6
        rows.append(("enwiki", f"end to end ({rep.loader} loader)",
                     f"{rep.pages_read / rep.seconds:,.0f} pages/s, {mb / rep.seconds:.2f} "
                     "MB/s (bz2)"))
        rows.append(("enwiki", f"load: {n:,} nodes+relationships ({rep.loader})",
                     f"{n / rep.load_seconds:,.0f} rows/s"))


def rss_mb(pid: int | None) -> float:
    return psutil.Process(pid).memory_info().rss / 1e6 if pid else 0.0


def bench_synthetic(rows: list[tuple[str, str, str]], tmp: Path, n: int, merge: bool) -> None:
    t = time.perf_counter()
    staging = stage_synthetic(tmp / f"syn-{n}", n, seed=1)
    rows.append((f"synthetic {n:,}", "generate + stage", f"{time.perf_counter() - t:.1f} s"))
    loaders = [("bulk", True)] + ([("merge", False)] if merge else [])
    for name, bulk in loaders:
        b = FalkorBackend(str(tmp / f"g-{n}-{name}"))
        try:
            counts: Counter[str] = Counter()
            resolver = Resolver(staging, "stub", counts)
            loader = BulkLoader(b) if bulk else MergeLoader(b, 5000)
            t = time.perf_counter()
            loader.load(staging, resolver, Counter())
            b.sync()
            sec = time.perf_counter() - t
            stats = graph_stats(b).as_dict()
            total = graph_rows(stats)
            rows.append((f"synthetic {n:,}",
                         f"{name}: {stats['entities']:,} entities ({stats['stubs']:,} stubs), "
                         f"{stats['links']:,} links; {total:,} rows",
                         f"{total / sec:,.0f} rows/s ({sec:.1f} s)"))
            pid = b.engine.status().pid
            rows.append((f"synthetic {n:,}", f"{name}: engine resident memory",
                         f"{rss_mb(pid):,.0f} MB"))
        finally:
            b.close()
        snap = tmp / f"g-{n}-{name}" / "graph.rdb"
        if snap.exists():
            rows.append((f"synthetic {n:,}", f"{name}: snapshot on disk",
                         f"{snap.stat().st_size / 1e6:,.0f} MB"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    rows.append((f"synthetic {n:,}", "loader process peak memory (so far)", f"{peak:,.0f} MB"))
    shutil.rmtree(tmp / f"syn-{n}", ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000",
                    help="synthetic graph sizes, comma-separated")
    ap.add_argument("--merge-max", type=int, default=100000,
                    help="also time MERGE batches for sizes up to this")
    ap.add_argument("--project", action=argparse.BooleanOptionalAction, default=True,
                    help="project simplewiki and full enwiki from rates measured here")
    ap.add_argument("--fit-sizes", default="100000,300000",
                    help="two synthetic sizes for the engine memory fit (--project)")
    ap.add_argument("--dense-links", type=float, default=20.0,
                    help="mean out-links of the third synthetic graph, at the first fit size")
    ap.add_argument("--titles", type=int, default=1_000_000,
                    help="titles in the Resolver title-map measurement")
    ap.add_argument("--json", type=Path, default=None,
                    help="also write the projection's measured rates here")
    args = ap.parse_args()
    fit = [int(s) for s in args.fit_sizes.split(",") if s]
    if args.project and (len(fit) != 2 or fit[0] >= fit[1]):
        ap.error("--fit-sizes takes two sizes, smaller first (e.g. 100000,300000)")
    rows: list[tuple[str, str, str]] = []
    tmp = Path(tempfile.mkdtemp(prefix="hcsp-bench-"))
    try:
        bench_parse(rows)
        bench_enwiki(rows, tmp)
        for n in (int(s) for s in args.sizes.split(",") if s):
            bench_synthetic(rows, tmp, n, merge=n <= args.merge_max)
        if args.project:
            t = time.perf_counter()
            dumps = [ENWIKI, DATA / "enwiki-10k-196.xml.bz2",
                     DATA / "ltgwiki-complete-2004.xml.bz2"]
            m = run_projection(dumps, tmp, fit, args.dense_links, args.titles, rows)
            rows.append(("projection", "measured in", f"{time.perf_counter() - t:.0f} s"))
            if args.json:
                dump_json(m, args.json)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    w1 = max(len(r[0]) for r in rows)
    w2 = max(len(r[1]) for r in rows)
    print(f"| {'what'.ljust(w1)} | {'measure'.ljust(w2)} | result |")
    print(f"|{'-' * (w1 + 2)}|{'-' * (w2 + 2)}|--------|")
    for a, b, c in rows:
        print(f"| {a.ljust(w1)} | {b.ljust(w2)} | {c} |")


if __name__ == "__main__":
    main()
