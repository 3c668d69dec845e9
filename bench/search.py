"""Search benchmark: prints a table. Not a test; run it by hand.

    .venv/bin/python bench/search.py                    # real dumps + 1M synthetic passages
    .venv/bin/python bench/search.py --synthetic 100000

Index build time, then queries/s and p50/p95 latency at k=5 for one query per call
and for 8 queries per call (the agent's parallel multi-query step), over the index of
the ltgwiki and enwiki samples, and over a synthetic corpus of Zipf-distributed words;
each with bm25s's numpy scorer and its numba one (what indexes of 100k passages or more
use), in one run.
"""

from __future__ import annotations

import argparse
import itertools
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from table import print_table  # noqa: E402

from agent.search import SearchIndex, build_index  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "wiki"
DUMPS = [DATA / "enwiki-sample-206.xml.bz2", DATA / "enwiki-10k-196.xml.bz2",
         DATA / "ltgwiki-complete-2004.xml.bz2"]


def measure(name: str, search, queries: list[str], batch: int, rows: list[list[str]],
            seconds: float = 5.0) -> None:
    lat: list[float] = []
    n = 0
    t_end = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < t_end:
        qs = [queries[(i + j) % len(queries)] for j in range(batch)]
        i += batch
        t = time.perf_counter()
        search(qs, 5)
        lat.append(time.perf_counter() - t)
        n += batch
    total = sum(lat)
    lat.sort()
    rows.append([name, f"{batch} per call", f"{n / total:,.0f}",
                 f"{lat[len(lat) // 2] * 1000:.2f}", f"{lat[int(len(lat) * .95)] * 1000:.2f}"])


def synthetic(n: int, rows: list[list[str]], tmp: Path) -> None:
    import bm25s

    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(200_000)]
    cum = list(itertools.accumulate(1 / (r + 1) for r in range(len(vocab))))
    t = time.perf_counter()
    docs = [rng.choices(vocab, cum_weights=cum, k=100) for _ in range(n)]
    gen = time.perf_counter() - t
    name = f"synthetic {n:,} passages"
    retrievers = {}
    for backend in ("numpy", "numba"):
        t = time.perf_counter()
        retrievers[backend] = bm25s.BM25(backend=backend)
        retrievers[backend].index(docs, show_progress=False)
        rows.append([name, f"build (index only), {backend}",
                     f"{time.perf_counter() - t:.1f} s", f"(generate {gen:.1f} s)", ""])
    queries = [" ".join(rng.choices(vocab[:50_000], k=4)) for _ in range(500)]
    for backend, retriever in retrievers.items():
        vocab_ids = retriever.vocab_dict

        def search(qs: list[str], k: int, retriever=retriever, vocab_ids=vocab_ids) -> None:
            toks = [[w for w in q.split() if w in vocab_ids] for q in qs]
            retriever.retrieve(toks, k=k, show_progress=False, n_threads=1)

        t = time.perf_counter()
        search(queries[:1], 5)  # numba compiles here
        first = time.perf_counter() - t
        for batch in (1, 8):
            measure(f"{name}, {backend} (first query {first:.1f} s)", search, queries, batch,
                    rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--synthetic", type=int, default=1_000_000, help="passages (0: none)")
    args = ap.parse_args()
    rows: list[list[str]] = []
    tmp = Path(tempfile.mkdtemp(prefix="hcsp-bench-search-"))
    try:
        meta = build_index([str(p) for p in DUMPS], tmp / "idx")
        rows.append(["3 real dumps", f"build: {meta.pages:,} pages, {meta.passages:,} passages",
                     f"{meta.seconds:.1f} s", "", ""])
        index = SearchIndex.load(tmp / "idx")
        rng = random.Random(0)
        titles = sorted({p.title for p in index.passages})
        queries = [" ".join(rng.sample(p.text.split(), min(4, len(p.text.split()))))
                   for p in rng.sample(index.passages, 500)] + titles[:100]
        for batch in (1, 8):
            measure("3 real dumps, numpy", index.search, queries, batch, rows)
        fast = SearchIndex.load(tmp / "idx", backend="numba")
        fast.search(queries[:1], 5)
        for batch in (1, 8):
            measure("3 real dumps, numba", fast.search, queries, batch, rows)
        if args.synthetic:
            synthetic(args.synthetic, rows, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print_table(["corpus", "measure", "queries/s (or time)", "p50 ms/call", "p95 ms/call"],
                rows)


if __name__ == "__main__":
    main()
