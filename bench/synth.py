"""Research-tree sampling benchmark: prints a table. Not a test; run it by hand.

    .venv/bin/python bench/synth.py                          # ltgwiki + synthetic 100k, 1M
    .venv/bin/python bench/synth.py --sizes 100000 --count 20

For N in {4, 5, 6, 8}: accepted trees/s, rejections by reason, graph queries per
accepted tree, and p50/p95 seconds per accepted tree; on the real Latgalian Wikipedia
(complete, closed link graph) and on Wikipedia-shaped synthetic graphs. No LLM calls:
structure and proofs are queries only.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from table import print_table  # noqa: E402

from graph.backend import FalkorBackend  # noqa: E402
from ingest.load import BulkLoader, Resolver  # noqa: E402
from ingest.pipeline import IngestConfig, ingest_dump  # noqa: E402
from ingest.synthetic import stage_synthetic  # noqa: E402
from synth.pipeline import synthesize  # noqa: E402
from synth.sampler import SynthConfig  # noqa: E402

LTGWIKI = ROOT.parent / "shared" / "data" / "wiki" / "ltgwiki-complete-2004.xml.bz2"


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def run(rows: list[list[str]], name: str, backend: FalkorBackend, sizes: list[int],
        count: int, workers: int) -> None:
    for n in sizes:
        cfg = SynthConfig(vertices=n)
        t = time.perf_counter()
        trees, rep = synthesize(backend, cfg, count=count, seed=1, workers=workers)
        sec = time.perf_counter() - t
        acc = len(trees)
        rejected = sum(rep.rejected.values())
        reasons = ", ".join(f"{k} {v / max(1, rep.attempts):.0%}"
                            for k, v in sorted(rep.rejected.items(), key=lambda kv: -kv[1]))
        sampling = max(1e-9, sec - rep.setup_seconds)
        rows.append([name, str(n), f"{acc}/{count}", f"{rep.setup_seconds:.1f}",
                     f"{acc / sampling:.2f}",
                     f"{rejected / max(1, rep.attempts):.0%} ({reasons})",
                     f"{rep.queries / max(1, acc):.0f}",
                     f"{statistics.median(rep.tree_seconds) if rep.tree_seconds else 0:.3f}",
                     f"{pct(rep.tree_seconds, 0.95):.3f}"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000", help="synthetic graph sizes")
    ap.add_argument("--vertices", default="4,5,6,8", help="N values")
    ap.add_argument("--count", type=int, default=30, help="trees per (graph, N)")
    ap.add_argument("--workers", type=int, default=2, help="parallel sampling workers")
    args = ap.parse_args()
    ns = [int(x) for x in args.vertices.split(",")]
    rows: list[list[str]] = []
    tmp = Path(tempfile.mkdtemp(prefix="hcsp-bench-synth-"))
    try:
        b = FalkorBackend(str(tmp / "ltg"))
        try:
            ingest_dump(str(LTGWIKI), b, IngestConfig(staging_root=tmp / "st"))
            run(rows, "ltgwiki (903 articles)", b, ns, args.count, args.workers)
        finally:
            b.close()
        for size in (int(s) for s in args.sizes.split(",") if s):
            staging = stage_synthetic(tmp / f"syn-{size}", size, seed=1)
            b = FalkorBackend(str(tmp / f"g-{size}"))
            try:
                BulkLoader(b).load(staging, Resolver(staging, "stub", Counter()), Counter())
                shutil.rmtree(tmp / f"syn-{size}", ignore_errors=True)
                run(rows, f"synthetic {size:,}", b, ns, args.count, args.workers)
            finally:
                b.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"workers: {args.workers}")
    print_table(["graph", "N", "accepted", "setup s", "trees/s", "rejected (by reason)",
                 "queries/tree", "p50 s/tree", "p95 s/tree"], rows)


if __name__ == "__main__":
    main()
