"""Research-tree sampling benchmark: prints tables. Not a test; run it by hand.

    .venv/bin/python bench/synth.py                               # ltgwiki + 100k, 1M
    .venv/bin/python bench/synth.py --sizes 100000,1000000,3000000 --vertices 6
    .venv/bin/python bench/synth.py --sizes 100000 --count 20

For each N: accepted trees/s, rejections by reason, graph queries per accepted tree
(sampler and checks), counts looked up in the graph's summary, p50/p95 seconds per
tree; on the real Latgalian Wikipedia (complete, closed link graph) and on
Wikipedia-shaped synthetic graphs (ingest.synthetic, loaded and summarized as ingest
does). Then, per graph, where the time goes (query kinds by total time, and how much
of the wall clock the engine answered), and the slope: seconds per tree against
entities, per 10x. No LLM calls: structure and proofs are queries only.
"""

from __future__ import annotations

import argparse
import itertools
import math
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from table import print_table  # noqa: E402

from graph import summary  # noqa: E402
from graph.backend import FalkorBackend  # noqa: E402
from ingest.load import BulkLoader, Resolver  # noqa: E402
from ingest.pipeline import IngestConfig, ingest_dump  # noqa: E402
from ingest.synthetic import stage_synthetic  # noqa: E402
from synth.config import SynthConfig  # noqa: E402
from synth.pipeline import synthesize  # noqa: E402

LTGWIKI = ROOT.parent / "shared" / "data" / "wiki" / "ltgwiki-complete-2004.xml.bz2"


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


_ANCHOR = re.compile(r"MATCH \(a\d+:\w+ \{\w+: \$x\d+\}\)")


class QueryClock:
    """Wraps a backend's read: seconds and calls per query kind (its first clause)."""

    def __init__(self, backend: FalkorBackend) -> None:
        self.real = backend.read
        self.lock = threading.Lock()
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self.kinds: dict[str, str] = {}  # by query text: the sampler repeats ~400 texts
        backend.read = self.read  # type: ignore[method-assign]

    @staticmethod
    def kind(query: str) -> str:
        lines = [ln.strip() for ln in query.strip().splitlines() if ln.strip()]
        # candidates_query looks its named nodes up first: the kind is the first walk
        anchors = [ln for ln in lines if _ANCHOR.fullmatch(ln)]
        walk = [ln for ln in lines if not _ANCHOR.fullmatch(ln)] or lines
        first = re.sub(r"\$\w+", "$", walk[0])
        more = sum(ln.startswith("MATCH") for ln in walk[1:])
        return (first[:58] + (f" +{more} MATCH" if more else "")
                + (f" ({len(anchors)} named)" if anchors else ""))

    def read(self, query: str, params: dict | None = None) -> list[dict]:
        t = time.perf_counter()
        try:
            return self.real(query, params)
        finally:
            k = self.kinds.get(query) or self.kinds.setdefault(query, self.kind(query))
            with self.lock:
                self.seconds[k] += time.perf_counter() - t
                self.calls[k] += 1

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()


def run(rows: list[list[str]], where: list[list[str]], slope: dict[str, float], name: str,
        backend: FalkorBackend, clock: QueryClock, sizes: list[int], count: int,
        workers: int) -> None:
    for n in sizes:
        cfg = SynthConfig(vertices=n)
        clock.reset()
        t = time.perf_counter()
        trees, rep = synthesize(backend, cfg, count=count, seed=1, workers=workers)
        sec = time.perf_counter() - t
        acc = len(trees)
        rejected = sum(rep.rejected.values())
        reasons = ", ".join(f"{k} {v / max(1, rep.attempts):.0%}"
                            for k, v in sorted(rep.rejected.items(), key=lambda kv: -kv[1]))
        sampling = max(1e-9, sec - rep.setup_seconds)
        rows.append([name, str(n), f"{acc}/{count}", f"{rep.setup_seconds:.2f}",
                     f"{acc / sampling:.2f}",
                     f"{rejected / max(1, rep.attempts):.0%} ({reasons})",
                     f"{rep.queries / max(1, acc):.0f}", f"{rep.looked_up / max(1, acc):.0f}",
                     f"{statistics.median(rep.tree_seconds) if rep.tree_seconds else 0:.3f}",
                     f"{pct(rep.tree_seconds, 0.95):.3f}"])
        if acc:
            slope[name] = sampling / acc
        engine = sum(clock.seconds.values())
        top = sorted(clock.seconds.items(), key=lambda kv: -kv[1])[:5]
        for i, (kind, s) in enumerate(top):
            calls = clock.calls[kind]
            where.append([name if i == 0 else "", str(n) if i == 0 else "",
                          f"{engine / max(1e-9, sec * workers):.0%}" if i == 0 else "",
                          kind, f"{calls / max(1, acc):.1f}", f"{1000 * s / calls:.2f}",
                          f"{s / max(1e-9, engine):.0%}"])


def settle(backend: FalkorBackend, most: float = 600.0) -> float:
    """Seconds until the engine is idle. FalkorDB says its indexes are OPERATIONAL
    some seconds before its indexing thread is done (at 1M entities, ~9 s of one more
    core): sampling timed in that tail shares the 2 cores with it. Waited for here, so
    the table shows sampling alone; the tail is its own column."""
    pid = backend.engine_info().get("pid")
    t0 = time.monotonic()
    if not pid:
        return 0.0
    engine = psutil.Process(pid)
    while time.monotonic() - t0 < most:
        before = sum(engine.cpu_times()[:2])  # user + system
        time.sleep(0.5)
        if sum(engine.cpu_times()[:2]) - before < 0.05:
            break
    return time.monotonic() - t0


def synthetic_graph(where: Path, size: int) -> tuple[FalkorBackend, float]:
    """A synthetic graph loaded and summarized as ingest would; seconds to summarize.
    One already in ``where`` (from ``--graphs``) is reused, its summary recounted."""
    path = where / f"g-{size}"
    if not (path / "graph.rdb").exists() and not (path / "appendonlydir").exists():
        staging = stage_synthetic(where / f"syn-{size}", size, seed=1)
        b = FalkorBackend(str(path))
        BulkLoader(b).load(staging, Resolver(staging, "stub", Counter()), Counter())
        shutil.rmtree(where / f"syn-{size}", ignore_errors=True)
    else:
        b = FalkorBackend(str(path))
    t = time.perf_counter()
    summary.refresh(b)
    return b, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000", help="synthetic graph sizes")
    ap.add_argument("--vertices", default="4,5,6,8", help="N values")
    ap.add_argument("--count", type=int, default=30, help="trees per (graph, N)")
    ap.add_argument("--workers", type=int, default=2, help="parallel sampling workers")
    ap.add_argument("--no-ltgwiki", action="store_true", help="synthetic graphs only")
    ap.add_argument("--graphs", type=Path, default=None,
                    help="keep the synthetic graphs in this folder and reuse them (a 3M "
                    "graph takes ~20 min to build); default: a temporary folder")
    args = ap.parse_args()
    ns = [int(x) for x in args.vertices.split(",")]
    rows: list[list[str]] = []
    where: list[list[str]] = []
    made: list[list[str]] = []
    slopes: dict[int, dict[str, float]] = defaultdict(dict)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    tmp = Path(tempfile.mkdtemp(prefix="hcsp-bench-synth-"))
    try:
        if not args.no_ltgwiki:
            b = FalkorBackend(str(tmp / "ltg"))
            try:
                ingest_dump(str(LTGWIKI), b, IngestConfig(staging_root=tmp / "st"))
                clock = QueryClock(b)
                for n in ns:
                    run(rows, where, slopes[n], "ltgwiki (903 articles)", b, clock, [n],
                        args.count, args.workers)
            finally:
                b.close()
        folder = args.graphs or tmp
        folder.mkdir(parents=True, exist_ok=True)
        for size in sizes:
            t = time.perf_counter()
            b, summarize_s = synthetic_graph(folder, size)
            try:
                build_s = time.perf_counter() - t
                b.close()  # as a new `hcsp synth` finds it: engine restarted, indexes rebuilt
                t = time.perf_counter()
                b = FalkorBackend(str(folder / f"g-{size}"))
                reopen_s = time.perf_counter() - t
                made.append([f"synthetic {size:,}", f"{build_s:.0f}", f"{summarize_s:.1f}",
                             f"{reopen_s:.1f}", f"{b.index_wait_s:.1f}", f"{b.warm_s:.1f}",
                             f"{settle(b):.1f}"])
                clock = QueryClock(b)
                for n in ns:
                    run(rows, where, slopes[n], f"synthetic {size:,}", b, clock, [n],
                        args.count, args.workers)
            finally:
                b.close()
                if args.graphs is None:
                    shutil.rmtree(tmp / f"g-{size}", ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"workers: {args.workers}")
    print_table(["graph", "N", "accepted", "setup s", "trees/s", "rejected (by reason)",
                 "queries/tree", "looked up/tree", "p50 s/tree", "p95 s/tree"], rows)
    if made:
        print("\nsynthetic graphs: built (stage + bulk load + summary; a reused one: "
              "summary only), summarized, and reopened (engine load, of which waiting "
              "for its indexes and touching each relationship type once), then the seconds "
              "the engine went on indexing after it said its indexes were ready (waited "
              "out before sampling is timed)")
        print_table(["graph", "built s", "summary s", "reopen s", "index wait s", "warm s",
                     "index tail s"], made)
    print("\nwhere the time goes: the engine's share of wall clock x workers, and the "
          "five query kinds that took longest")
    print_table(["graph", "N", "engine", "query kind", "calls/tree", "ms/call",
                 "share of query time"], where)
    slope_rows = []
    for n, per in sorted(slopes.items()):
        synth = [(int(name.split()[1].replace(",", "")), s) for name, s in per.items()
                 if name.startswith("synthetic")]
        synth.sort()
        for (e0, s0), (e1, s1) in itertools.pairwise(synth):
            per10 = (s1 / s0) ** (1 / math.log10(e1 / e0))
            slope_rows.append([str(n), f"{e0:,} -> {e1:,}", f"{s0:.3f} -> {s1:.3f}",
                               f"{per10:.2f}x"])
    if slope_rows:
        print("\nslope: sampling seconds per accepted tree as the graph grows "
              "(target: at most ~2x per 10x entities)")
        print_table(["N", "entities", "s/tree", "per 10x entities"], slope_rows)


if __name__ == "__main__":
    main()
