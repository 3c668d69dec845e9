"""neo4j-admin database import, measured: synthetic Wikipedia-shaped graphs written as
the CSV files `hcsp ingest --neo4j-csv` writes, then imported by the Maven-built Neo4j
5.26 (scripts/neo4j.sh admin) into a throwaway home, so a running server is untouched.

    python bench/neo4j_import.py --sizes 100000,300000

Prints per size: rows (nodes + relationships), CSV export rows/s, import wall time and
rows/s (the whole neo4j-admin run, JVM start included), and the store's size on disk.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # the project's ingest/, not bench/ingest.py

from graph.neo4j_csv import Neo4jCsvWriter  # noqa: E402
from ingest.load import BulkLoader, Resolver  # noqa: E402
from ingest.synthetic import SyntheticShape, stage_synthetic  # noqa: E402


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def measure(tmp: Path, n: int, links: float) -> dict[str, float]:
    """Stage ``n`` synthetic articles, export them as CSV, import them; the numbers."""
    st = stage_synthetic(tmp / "staging", n, seed=1, shape=SyntheticShape(mean_out_links=links))
    st.close()
    out = tmp / "csv"
    t = time.perf_counter()
    w = Neo4jCsvWriter(out)
    BulkLoader(None, writer=w).load(st, Resolver(st, "stub", Counter()), Counter())
    csv_s = time.perf_counter() - t
    rows = w.nodes_sent + w.edges_sent
    home = tmp / "home"
    env = {**os.environ, "HCSP_NEO4J_HOME": str(home),
           "NEO4J_ADMIN_HEAP": os.environ.get("NEO4J_ADMIN_HEAP", "2g")}
    (home / "conf").mkdir(parents=True)
    (home / "conf" / "neo4j.conf").write_text("server.memory.pagecache.size=1g\n")
    admin = home / "bin"
    admin.mkdir()
    (admin / "neo4j-admin").write_text(
        f'#!/usr/bin/env bash\nexec bash {ROOT / "scripts" / "neo4j.sh"} admin "$@"\n')
    (admin / "neo4j-admin").chmod(0o755)
    env["PATH"] = f"{admin}:{env['PATH']}"
    t = time.perf_counter()
    r = subprocess.run(["bash", str(out / "import.sh")], env=env, capture_output=True,
                       text=True)
    import_s = time.perf_counter() - t
    if r.returncode != 0 or "IMPORT DONE" not in r.stdout + r.stderr:
        raise SystemExit(f"neo4j-admin import failed:\n{(r.stdout + r.stderr)[-3000:]}")
    return {"n": n, "rows": rows, "nodes": w.nodes_sent, "rels": w.edges_sent,
            "csv_bytes": dir_bytes(out), "csv_s": csv_s, "import_s": import_s,
            "store_bytes": dir_bytes(home / "data")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="100000,300000", help="articles per synthetic graph")
    ap.add_argument("--links", type=float, default=5.0, help="mean body links per article")
    args = ap.parse_args()
    print("| articles | nodes + rels | CSV | CSV export | neo4j-admin import (wall) | store |")
    print("|---|---|---|---|---|---|")
    for n in (int(s) for s in args.sizes.split(",")):
        tmp = Path(tempfile.mkdtemp(prefix=f"neo4j-import-{n}-"))
        try:
            m = measure(tmp, n, args.links)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print(f"| {n:,} | {m['nodes']:,} + {m['rels']:,} = {m['rows']:,} "
              f"| {m['csv_bytes'] / 1e6:,.0f} MB "
              f"| {m['rows'] / m['csv_s']:,.0f} rows/s "
              f"| {m['import_s']:.1f} s = {m['rows'] / m['import_s']:,.0f} rows/s "
              f"| {m['store_bytes'] / 1e6:,.0f} MB |", flush=True)


if __name__ == "__main__":
    main()
