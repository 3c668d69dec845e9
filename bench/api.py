"""API benchmark: prints a table. Not a test; run it by hand.

    .venv/bin/python bench/api.py                # ltgwiki graph, 1/16/200 clients
    .venv/bin/python bench/api.py --seconds 5 --workers 2

Starts `hcsp serve` in its own process on loopback over the ltgwiki graph, fills the
pool, then measures requests/s (the asyncio client counts answers without an error;
wrk counts all) and p50/p95/p99 latency for (a) a stored question
(GET /v1/trees/{id}) and (b) an on-demand 6-vertex question (POST /v1/questions,
from_pool=false, a new seed per request), at each concurrency. The load comes from
`wrk` (Debian's package) when it is installed, else from a minimal asyncio HTTP/1.1
client in this process (it shares the machine's cores with the server). Every run is
bounded in time and in requests; only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from table import print_table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LTGWIKI = ROOT.parent / "shared" / "data" / "wiki" / "ltgwiki-complete-2004.xml.bz2"
HCSP = str(Path(sys.executable).parent / "hcsp")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def load(port: int, make_request, concurrency: int, seconds: float, max_requests: int
               ) -> tuple[int, int, list[float], float]:
    """``concurrency`` keep-alive connections, each sending the next request as soon as
    the last answer is in: (requests answered, errors, latencies of the answers without
    an error, seconds). HTTP/1.1 written and read by hand on asyncio streams: an httpx
    client capped the count near 750 requests/s, its own CPU (the client shares the
    cores with the server). Answers need a Content-Length (the API's JSON has one);
    a chunked one counts as an error and its connection is dropped."""
    latencies: list[float] = []
    answered = errors = sent = 0
    deadline = time.perf_counter() + seconds

    async def exchange(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], data: bytes
                       ) -> tuple[int, bool]:
        reader, writer = conn
        writer.write(data)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        fields = {k.strip().lower(): v.strip() for k, v in
                  (ln.split(b":", 1) for ln in head.split(b"\r\n")[1:] if b":" in ln)}
        if b"content-length" not in fields:
            raise ValueError("an answer without a Content-Length")
        await reader.readexactly(int(fields[b"content-length"]))
        return status, fields.get(b"connection", b"").lower() == b"close"

    async def worker() -> None:
        nonlocal answered, errors, sent
        conn = None
        while time.perf_counter() < deadline and sent < max_requests:
            sent += 1
            method, path, body = make_request(sent)
            data = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                    "\r\n").encode() + body
            t = time.perf_counter()
            try:
                if conn is None:
                    conn = await asyncio.wait_for(
                        asyncio.open_connection("127.0.0.1", port), 10)
                status, close = await asyncio.wait_for(exchange(conn, data), 60)
            except (TimeoutError, OSError, asyncio.IncompleteReadError,
                    asyncio.LimitOverrunError, ValueError):
                errors += 1
                if conn is not None:
                    conn[1].close()
                    conn = None
                await asyncio.sleep(0.05)  # not a tight loop against a server that is down
                continue
            answered += 1
            if status >= 400:
                errors += 1
            else:
                latencies.append(time.perf_counter() - t)
            if close:
                conn[1].close()
                conn = None
        if conn is not None:
            conn[1].close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return answered, errors, latencies, time.perf_counter() - t0


WRK_SCRIPT = """
local ids = {%(ids)s}
local n = 0
local mode = "%(mode)s"
request = function()
  n = n + 1
  if mode == "stored" then
    return wrk.format("GET", "/v1/trees/" .. ids[(n %% #ids) + 1])
  end
  local body = '{"vertices": 6, "count": 1, "from_pool": false, "seed": ' .. (%(base)d + n) .. '}'
  return wrk.format("POST", "/v1/questions", {["Content-Type"] = "application/json"}, body)
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT %%d %%d %%f %%f %%f %%f %%f\\n", summary.requests, errors,
    summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3, 0))
end
"""


def wrk_load(url: str, mode: str, ids: list[str], concurrency: int, seconds: float,
             base: int, tmp: Path) -> tuple[str, str, str, str, str, str]:
    script = tmp / f"{mode}-{concurrency}.lua"
    script.write_text(WRK_SCRIPT % {"ids": ", ".join(f'"{i}"' for i in ids), "mode": mode,
                                    "base": base})
    threads = min(2, concurrency)
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{seconds:.0f}s",
                          "--timeout", "30s", "-s", str(script), url], capture_output=True,
                         text=True, timeout=seconds + 60).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT"))
    n, errors, dur, p50, p95, p99, _ = (float(x) for x in line.split()[1:])
    return (f"{n / dur:,.1f}", f"{p50:,.1f}", f"{p95:,.1f}", f"{p99:,.1f}", f"{int(errors)}",
            "wrk")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seconds", type=float, default=8.0, help="per measurement")
    ap.add_argument("--concurrency", default="1,16,200")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn workers")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hcsp-bench-api-"))
    env = {**os.environ, "HCSP_GRAPH_URI": str(tmp / "graph"), "HCSP_API_TOKEN": "bench"}
    subprocess.run([HCSP, "ingest", str(LTGWIKI), "--staging", str(tmp / "st")], env=env,
                   check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen([HCSP, "serve", "--port", str(port), "--workers",
                               str(args.workers), "--log-level", "warning"], env=env,
                              start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    rows = []
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        fill = httpx.post(f"{url}/v1/pool", json={"vertices": 6, "count": 50, "seed": 1},
                          headers={"Authorization": "Bearer bench"}, timeout=600).json()
        ids = [i["id"] for i in httpx.get(f"{url}/v1/questions",
                                          params={"limit": 500}).json()["items"]]
        rows.append(("pool", f"{fill['stored']} stored", "", "", "", "", "", ""))

        def stored(i: int) -> tuple[str, str, bytes]:
            return "GET", f"/v1/trees/{ids[i % len(ids)]}", b""

        use_wrk = shutil.which("wrk") is not None
        base = 10_000  # each row asks for seeds no row before it asked for

        def on_demand(i: int) -> tuple[str, str, bytes]:
            return "POST", "/v1/questions", json.dumps({
                "vertices": 6, "count": 1, "seed": base + i, "from_pool": False}).encode()

        for name, mode, fn, cap in (("stored question", "stored", stored, 200_000),
                                    ("on-demand 6-vertex", "demand", on_demand, 5_000)):
            for c in (int(x) for x in args.concurrency.split(",")):
                # Generation takes tens of ms of CPU: give queued clients time to finish.
                secs = args.seconds if mode == "stored" else max(args.seconds, c / 10 + 5)
                if use_wrk:
                    rows.append((name, str(c), *wrk_load(url, mode, ids, c, secs, base, tmp)))
                else:
                    _, errors, lat, el = asyncio.run(load(port, fn, c, secs, cap))
                    rows.append((name, str(c), f"{len(lat) / el:,.1f}",
                                 f"{pct(lat, .5):,.1f}", f"{pct(lat, .95):,.1f}",
                                 f"{pct(lat, .99):,.1f}", str(errors), "asyncio"))
                base += 1_000_000
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"uvicorn workers: {args.workers}; {args.seconds:.0f} s per row; embedded engine, "
          "ltgwiki graph")
    print_table(("request", "clients", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "load"),
                rows)


if __name__ == "__main__":
    main()
