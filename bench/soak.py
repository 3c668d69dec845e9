"""Soak test of the embedded stack under faults: prints a table; exits 1 if it fails.

    .venv/bin/python bench/soak.py                  # 60 s, 200 clients, 2 engine kills
    .venv/bin/python bench/soak.py --seconds 15     # what CI runs (tests/api/test_soak.py)

Ingests the ltgwiki dump into a temporary folder, starts `hcsp serve` on 127.0.0.1
(which starts and supervises the embedded engine), stores a few questions, then runs
``--clients`` concurrent clients for ``--seconds``: reads of stored questions (a tree's
JSON and page, pages of the pool, pool-first requests), on-demand generation and pool
fills. The engine is SIGKILLed ``--kills`` times, evenly spread over the run. Then the
API is stopped with SIGTERM.

Passes when every answer is 200, 422 or 503, every 503 carries Retry-After, no stored
question is lost, the API answers /readyz again within 5 s of each kill, one engine
process serves the folder while the API runs and none once it stopped.

Every loop is bounded in requests and in time and stops by itself; only 127.0.0.1 is
contacted; the folder, the server and its engine are removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from table import print_table  # noqa: E402

from graph.embedded import EmbeddedEngine, engine_processes  # noqa: E402

DATA = Path(os.environ.get("HCSP_SHARED_DATA", ROOT.parent / "shared" / "data")) / "wiki"
LTGWIKI = DATA / "ltgwiki-complete-2004.xml.bz2"
HCSP = [sys.executable, "-m", "hcsp.cli"]
TOKEN = "soak-token"
RECOVERY_LIMIT_S = 5.0
ALLOWED = {200, 422, 503}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else float("nan")


def rss_mb(pid: int) -> float:
    """Resident memory of the API: its process and its workers."""
    try:
        p = psutil.Process(pid)
        procs = [p, *(c for c in p.children(recursive=True) if "redis" not in c.name())]
        return sum(c.memory_info().rss for c in procs) / 2**20
    except psutil.Error:
        return float("nan")


def stored_ids(url: str) -> set[str]:
    """Every stored question id, paged through GET /v1/questions (bounded)."""
    ids: set[str] = set()
    params: dict[str, object] = {"limit": 500}
    with httpx.Client(base_url=url, timeout=60) as c:
        for _ in range(1000):
            page = c.get("/v1/questions", params=params).raise_for_status().json()
            ids.update(i["id"] for i in page["items"])
            if not page["next_cursor"]:
                return ids
            params["cursor"] = page["next_cursor"]
    raise RuntimeError("more than 500,000 stored questions: not a soak graph")


def wait_ready(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the API at {url} was not ready within {timeout:.0f} s")


class Load:
    """The clients' results: per request kind, status, latency, Retry-After."""

    def __init__(self, cap: int) -> None:
        self.cap = cap  # requests in all, at most
        self.statuses: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()
        self.latencies: list[float] = []
        self.by_kind: dict[str, list[float]] = {}
        self.no_retry_after = 0
        self.causes: Counter[str] = Counter()  # of the 503s
        self.sent = 0


def cause_of(r: httpx.Response) -> str:
    """Why a 503 came back: the engine down, generation at its limit, or out of time."""
    try:
        error = str(r.json().get("error", ""))
    except ValueError:
        return "not JSON"
    if "busy generating" in error:
        return "busy generating (backpressure)"
    if "could be generated within" in error:
        return "generation time budget"
    return "graph unavailable (engine down)"


async def client_loop(cid: int, http: httpx.AsyncClient, ids: list[str], load: Load,
                      deadline: float, max_requests: int) -> None:
    rng = random.Random(cid)
    admin = {"Authorization": f"Bearer {TOKEN}"}
    for _ in range(max_requests):  # bounded in count ...
        if time.monotonic() >= deadline or load.sent >= load.cap:  # ... and in time
            return
        load.sent += 1
        x = rng.random()
        tid = rng.choice(ids)
        if x < 0.25:
            kind, req = "stored: tree json", http.get(f"/v1/trees/{tid}")
        elif x < 0.40:
            kind, req = "stored: tree page", http.get(f"/v1/trees/{tid}/view")
        elif x < 0.55:
            kind, req = "stored: pool page", http.get(
                "/v1/questions", params={"limit": 20, "vertices": 5})
        elif x < 0.65:
            kind, req = "stored: pool-first", http.post(
                "/v1/questions", json={"vertices": 5, "count": 2, "seed": 1})
        elif x < 0.92:
            kind, req = "on-demand", http.post("/v1/questions", json={
                "vertices": rng.choice((4, 5, 6)), "count": 1, "from_pool": False,
                "seed": rng.randrange(1, 2**40)})
        else:
            kind, req = "pool fill", http.post("/v1/pool", headers=admin, json={
                "vertices": 5, "count": 1, "seed": rng.randrange(1, 2**40)})
        t = time.perf_counter()
        try:
            r = await req
            status = str(r.status_code)
            if r.status_code == 503:
                if not r.headers.get("Retry-After"):
                    load.no_retry_after += 1
                load.causes[cause_of(r)] += 1
        except httpx.HTTPError as e:
            status = f"error: {type(e).__name__}"
        load.latencies.append(time.perf_counter() - t)
        load.by_kind.setdefault(kind, []).append(load.latencies[-1])
        load.statuses[status] += 1
        load.kinds[kind] += 1


async def killer(url: str, graph: Path, at: list[float], t0: float,
                 results: list[dict[str, float]]) -> None:
    """SIGKILL the engine at each offset; time until /readyz answers 200 again."""
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        for offset in at:
            await asyncio.sleep(max(0.0, t0 + offset - time.monotonic()))
            pid = EmbeddedEngine(graph).info()["pid"]
            if not pid:
                results.append({"at_s": offset, "recovered_s": float("inf"), "engine_s": 0})
                continue
            os.kill(int(pid), signal.SIGKILL)
            killed = time.monotonic()
            killed_wall = time.time()
            recovered = float("inf")
            while time.monotonic() - killed < 30:  # bounded
                with contextlib.suppress(httpx.HTTPError):
                    r = await http.get("/readyz")
                    if r.status_code == 200 and r.json()["engine"]["pid"] != pid:
                        recovered = time.monotonic() - killed
                        break
                await asyncio.sleep(0.02)
            info = EmbeddedEngine(graph).info()
            # The new engine's process started (time.time() - uptime) after the kill.
            engine_s = (time.time() - (info["uptime_s"] or 0) - killed_wall
                        if info["running"] else float("inf"))
            results.append({"at_s": round(killed - t0, 1), "recovered_s": recovered,
                            "engine_s": max(0.0, engine_s), "restarts": info["restarts"]})


async def run_load(url: str, graph: Path, ids: list[str], clients: int, seconds: float,
                   kills: int, max_requests: int) -> tuple[Load, list[dict[str, float]], float]:
    load = Load(max_requests)
    per_client = max(1, max_requests // clients)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    kill_results: list[dict[str, float]] = []
    t0 = time.monotonic()
    deadline = t0 + seconds
    at = [seconds * (i + 1) / (kills + 1) for i in range(kills)]
    # One connection per client, each its own pool: a shared pool of 200 connections
    # costs httpx more CPU than the requests do.
    # (plain HTTP on loopback: no TLS context, whose CA loading costs 60 ms a client)
    async with contextlib.AsyncExitStack() as stack:
        https = [await stack.enter_async_context(httpx.AsyncClient(
            base_url=url, timeout=60, limits=limits, verify=False)) for _ in range(clients)]
        tasks = [asyncio.create_task(client_loop(i, https[i], ids, load, deadline, per_client))
                 for i in range(clients)]
        tasks.append(asyncio.create_task(killer(url, graph, at, t0, kill_results)))
        # In-flight requests finish after the deadline; none may outlive 90 s more.
        _, pending = await asyncio.wait(tasks, timeout=seconds + 90)
        for t in pending:
            t.cancel()
        if pending:
            load.statuses["error: still running at the end"] += len(pending)
    return load, kill_results, time.monotonic() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0, help="how long the clients run")
    ap.add_argument("--clients", type=int, default=200, help="concurrent clients")
    ap.add_argument("--kills", type=int, default=2, help="engine SIGKILLs during the run")
    ap.add_argument("--max-requests", type=int, default=200_000, help="at most, in all")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn workers")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="hcsp-soak-"))
    graph = tmp / "graph"
    env = {**os.environ, "HCSP_GRAPH_URI": str(graph), "HCSP_API_TOKEN": TOKEN,
           "HCSP_API_GENERATE_TIMEOUT_S": "5", "HCSP_API_POOL_TIMEOUT_S": "10",
           "PYTHONUNBUFFERED": "1"}
    server: subprocess.Popen[bytes] | None = None
    result: dict[str, object] = {}
    try:
        subprocess.run([*HCSP, "ingest", str(LTGWIKI), "--staging", str(tmp / "staging")],
                       env=env, check=True, capture_output=True, timeout=600, cwd=ROOT)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = open(tmp / "serve.log", "wb")  # noqa: SIM115 - closed with the server
        server = subprocess.Popen(
            [*HCSP, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers",
             str(args.workers), "--log-level", "warning"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)
        wait_ready(url, 60)
        fill = httpx.post(f"{url}/v1/pool", json={"vertices": 5, "count": 12, "seed": 1},
                          headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120)
        fill.raise_for_status()
        before = stored_ids(url)
        rss_start = rss_mb(server.pid)

        load, kills, elapsed = asyncio.run(run_load(
            url, graph, sorted(before), args.clients, args.seconds, args.kills,
            args.max_requests))

        wait_ready(url, 30)
        after = stored_ids(url)
        rss_end = rss_mb(server.pid)
        engines_running = len(engine_processes(graph))
        readyz = httpx.get(f"{url}/readyz", timeout=10).json()["engine"]
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
        log.close()
        engines_after = len(engine_processes(graph))
        supervisor_lines = [ln for ln in (tmp / "serve.log").read_text(errors="replace")
                            .splitlines() if "hcsp.engine" in ln]

        lat = load.latencies
        bad_status = sorted(s for s in load.statuses if not (s.isdigit() and int(s) in ALLOWED))
        lost = sorted(before - after)
        slow = [k for k in kills if not k["recovered_s"] < RECOVERY_LIMIT_S]
        failures = []
        if bad_status:
            failures.append(f"answers other than 200/422/503: {bad_status}")
        if load.no_retry_after:
            failures.append(f"{load.no_retry_after} answers 503 without Retry-After")
        if lost:
            failures.append(f"{len(lost)} stored questions lost")
        if slow or len(kills) != args.kills:
            failures.append(f"recovery not within {RECOVERY_LIMIT_S:.0f} s: {kills}")
        if engines_running != 1 or engines_after != 0:
            failures.append(f"engine processes: {engines_running} while serving, "
                            f"{engines_after} after the API stopped")
        if code != 143:
            failures.append(f"hcsp serve exited with {code} on SIGTERM")

        rows = [
            ("requests", f"{sum(load.statuses.values()):,} in {elapsed:.1f} s "
             f"({sum(load.statuses.values()) / elapsed:,.0f}/s), {args.clients} clients"),
            *((f"  status {s}", f"{n:,}") for s, n in sorted(load.statuses.items())),
            *((f"  503: {c}", f"{n:,}") for c, n in sorted(load.causes.items())),
            ("  503 without Retry-After", str(load.no_retry_after)),
            *((f"  {k}: requests, p50 / p99", f"{n:,}, {pct(load.by_kind[k], .5):,.0f} / "
               f"{pct(load.by_kind[k], .99):,.0f} ms") for k, n in sorted(load.kinds.items())),
            ("latency p50 / p95 / p99", f"{pct(lat, .5):,.0f} / {pct(lat, .95):,.0f} / "
             f"{pct(lat, .99):,.0f} ms"),
            *((f"kill {i + 1} at {k['at_s']:.1f} s", f"API ready again in "
               f"{k['recovered_s']:.2f} s (engine back in {k['engine_s']:.2f} s)")
              for i, k in enumerate(kills)),
            ("engine restarts (readyz)", f"{readyz['restarts']} (supervised: "
             f"{readyz['supervised']}, owned: {readyz['owned']})"),
            ("supervisor log lines", str(len(supervisor_lines))),
            ("stored trees before / after", f"{len(before)} / {len(after)} (lost: {len(lost)})"),
            ("engine processes: serving / after stop", f"{engines_running} / {engines_after}"),
            ("API RSS start / end", f"{rss_start:,.0f} / {rss_end:,.0f} MB"),
            ("hcsp serve exit on SIGTERM", str(code)),
            ("result", "PASS" if not failures else "FAIL: " + "; ".join(failures)),
        ]
        print(f"soak: {args.seconds:.0f} s, {args.clients} clients, {args.kills} engine "
              f"SIGKILLs, {args.workers} worker(s), ltgwiki graph, 127.0.0.1")
        print_table(("what", "value"), rows)
        result = {"passed": not failures, "failures": failures,
                  "statuses": dict(load.statuses), "no_retry_after": load.no_retry_after,
                  "causes_503": dict(load.causes),
                  "kills": kills, "stored_before": len(before), "stored_after": len(after),
                  "lost": lost, "engines_running": engines_running,
                  "engines_after": engines_after, "rss_mb": [rss_start, rss_end],
                  "requests": sum(load.statuses.values()), "exit_code": code,
                  "p50_ms": pct(lat, .5), "p95_ms": pct(lat, .95), "p99_ms": pct(lat, .99)}
        if args.json:
            args.json.write_text(json.dumps(result))
        return 0 if not failures else 1
    finally:
        if server is not None and server.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
        for pid in engine_processes(graph):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
