"""Every command that starts the embedded engine stops it when it is told to stop.

Real processes: each command runs as `python -m hcsp.cli ...`, gets SIGTERM, SIGINT or
SIGHUP in the middle of its work, and then no engine process may serve its folder and
the graph must reopen with the counts it had. A `hcsp serve` killed with SIGKILL
leaves its engine, which the next `hcsp serve` adopts (and stops in its turn).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from graph import queries as Q
from graph.backend import FalkorBackend
from graph.embedded import EmbeddedEngine, engine_processes
from graph.store import graph_stats
from hcsp import signals
from ingest.pipeline import IngestConfig, ingest_dump
from synth.config import SynthConfig
from synth.pipeline import synthesize
from synth.store import save_trees
from tests.api.conftest import free_port
from tests.conftest import LTGWIKI

HCSP = [sys.executable, "-m", "hcsp.cli"]

# Runs the real `hcsp` entry point with one function slowed down, so that the signal
# lands while the command is in the middle of its work (deterministically).
SLOWED = """
import sys, time
import hcsp.cli
import {module} as m
real = m.{name}
def note():
    print("WORKING", file=sys.stderr, flush=True)
    time.sleep(120)
def after(*a, **k):
    out = real(*a, **k)
    note()
    return out
def first_item(items, *a, **k):
    def slowed():
        for i, x in enumerate(items):
            if i == 1:
                note()
            yield x
    return real(slowed(), *a, **k)
setattr(m, "{name}", {how})
sys.argv = ["hcsp", *sys.argv[1:]]
hcsp.cli.main()
"""


def counts(path: Path) -> dict[str, object]:
    """What the graph holds (knowledge graph and stored trees); stops the engine."""
    b = FalkorBackend(str(path))
    try:
        stats = graph_stats(b).as_dict()
        stats["trees"] = sum(int(r["n"]) for r in b.read(Q.COUNT_TREES))
        return stats
    finally:
        b.close()
        EmbeddedEngine(path).stop()


@pytest.fixture(scope="module")
def source_graph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict]]:
    """The ltgwiki graph with a few stored trees; its engine is not running."""
    path = tmp_path_factory.mktemp("signals") / "graph"
    b = FalkorBackend(str(path))
    try:
        ingest_dump(str(LTGWIKI), b, IngestConfig(staging_root=path.parent / "staging"))
        trees, _ = synthesize(b, SynthConfig(vertices=5), 3, seed=1)
        save_trees(b, trees)
    finally:
        b.close()
    assert not engine_processes(path)
    yield path, counts(path)
    shutil.rmtree(path.parent, ignore_errors=True)


@pytest.fixture(autouse=True)
def _clean_up(tmp_path: Path) -> Iterator[None]:
    """Whatever a test leaves (only if it failed half-way): engines, then its folder."""
    yield
    for pid in engine_processes(tmp_path / "graph"):
        os.kill(pid, signal.SIGKILL)
    shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.fixture
def graph(source_graph: tuple[Path, dict], tmp_path: Path) -> Path:
    """A copy of the source graph for one test (its engine stopped)."""
    path = tmp_path / "graph"
    shutil.copytree(source_graph[0], path, ignore=shutil.ignore_patterns("*.lock", "*.sock"))
    return path


def env_for(graph: Path) -> dict[str, str]:
    return {**os.environ, "HCSP_GRAPH_URI": str(graph), "PYTHONUNBUFFERED": "1",
            "HCSP_API_TOKEN": "signals-token", "COLUMNS": "120"}


def start(graph: Path, *args: str, slowed: tuple[str, str, str] | None = None
          ) -> subprocess.Popen[str]:
    cmd = HCSP if slowed is None else [
        sys.executable, "-c", SLOWED.format(module=slowed[0], name=slowed[1], how=slowed[2])]
    return subprocess.Popen([*cmd, *args], env=env_for(graph), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def wait_owned(graph: Path, proc: subprocess.Popen[str], timeout: float = 60) -> int:
    """Wait until ``proc`` owns a running engine for ``graph``; its pid."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"exited early ({proc.returncode}): {proc.stderr.read()}"
        info = EmbeddedEngine(graph).info()
        if info["running"] and info["owner_pid"] == proc.pid:
            return int(info["pid"])
        time.sleep(0.02)
    raise AssertionError("the command never started its engine")


def wait_line(proc: subprocess.Popen[str], marker: str, timeout: float = 60) -> None:
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if marker in line:
            return
        if not line and proc.poll() is not None:
            break
    raise AssertionError(f"{marker!r} never printed; exit code {proc.poll()}")


def stop_with(proc: subprocess.Popen[str], sig: int, timeout: float = 60) -> tuple[int, str]:
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError(f"still running {timeout} s after {signal.Signals(sig).name}"
                             ) from None
    return proc.returncode, err


def assert_clean(graph: Path, before: dict[str, object]) -> None:
    assert engine_processes(graph) == [], "an engine was left running"
    assert not (graph / "engine.json").exists()
    assert counts(graph) == before


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_graph_stats_stops_its_engine(graph: Path, source_graph: tuple[Path, dict],
                                      sig: int) -> None:
    proc = start(graph, "graph", "stats", slowed=("graph.cli", "graph_stats", "after"))
    wait_owned(graph, proc)
    wait_line(proc, "WORKING")
    rc, err = stop_with(proc, sig)
    assert rc == 128 + sig, err
    assert "Traceback" not in err
    assert_clean(graph, source_graph[1])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_tree_export_stops_its_engine(graph: Path, source_graph: tuple[Path, dict],
                                      tmp_path: Path, sig: int) -> None:
    proc = start(graph, "tree", "export", "--out", str(tmp_path / "t.jsonl"),
                 slowed=("synth.cli", "write_jsonl", "first_item"))
    wait_owned(graph, proc)
    wait_line(proc, "WORKING")
    rc, err = stop_with(proc, sig)
    assert rc == 128 + sig and "stopped by" in err, err
    assert_clean(graph, source_graph[1])


def test_synth_stops_its_engine(graph: Path, source_graph: tuple[Path, dict]) -> None:
    proc = start(graph, "synth", "--vertices", "8", "--count", "500", "--seed", "5")
    wait_owned(graph, proc)
    time.sleep(2.0)  # sampling and proving, nothing stored yet (trees are stored at the end)
    rc, err = stop_with(proc, signal.SIGTERM)
    assert rc == 143, err
    assert_clean(graph, source_graph[1])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_ingest_stops_its_engine_and_resumes(tmp_path: Path, source_graph: tuple[Path, dict],
                                             sig: int) -> None:
    graph, staging = tmp_path / "graph", tmp_path / "staging"
    args = ["ingest", str(LTGWIKI), "--staging", str(staging), "--no-bulk",
            "--batch-size", "25", "--checkpoint-every", "25"]
    proc = start(graph, *args)
    wait_owned(graph, proc)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until it is writing the graph
        states = [json.loads(p.read_text() or "{}") for p in staging.glob("*/state.json")]
        if any(s.get("phase") == "loading" and s.get("pages_done") for s in states):
            break
        time.sleep(0.005)
    rc, err = stop_with(proc, sig)
    assert rc in (128 + sig, 130), err
    assert engine_processes(graph) == []
    assert not (graph / "engine.json").exists()
    resumed = subprocess.run([*HCSP, *args, "--resume"], env=env_for(graph),
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    want = {k: v for k, v in source_graph[1].items() if k not in ("dumps", "trees")}
    got = counts(graph)
    assert {k: v for k, v in got.items() if k not in ("dumps", "trees")} == want
    assert engine_processes(graph) == []


# -- hcsp serve -----------------------------------------------------------------------------
def serve(graph: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    proc = subprocess.Popen([*HCSP, "serve", "--port", str(port), "--log-level", "warning",
                             *extra], env=env_for(graph), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("hcsp serve never became ready")


def ready(url: str, timeout: float = 10, **want: object) -> dict[str, object]:
    """Wait until /readyz is 200 with engine fields ``want``; its engine info."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            r = httpx.get(f"{url}/readyz", timeout=2)
            last = r.json()
            if r.status_code == 200 and all(r.json()["engine"].get(k) == v
                                            for k, v in want.items()):
                return r.json()["engine"]
        except httpx.HTTPError as e:
            last = e
        time.sleep(0.02)
    raise AssertionError(f"not ready with {want}: {last}")


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130),
                                           (signal.SIGHUP, 0)])
def test_serve_stops_its_engine(graph: Path, source_graph: tuple[Path, dict], sig: int,
                                code: int) -> None:
    proc, url = serve(graph)
    engine = ready(url, owned=True, supervised=True, owner_pid=proc.pid)
    assert engine["pid"] in engine_processes(graph) and engine["restarts"] == 0
    assert httpx.get(f"{url}/v1/questions").status_code == 200  # mid-work: serving
    rc, err = stop_with(proc, sig)
    assert rc == code, err
    assert "Traceback" not in err
    assert_clean(graph, source_graph[1])


def test_serve_workers_share_one_supervised_engine(graph: Path,
                                                   source_graph: tuple[Path, dict]) -> None:
    proc, url = serve(graph, "--workers", "2")
    try:
        engine = ready(url, owned=True, supervised=True, owner_pid=proc.pid,
                       supervisor_pid=proc.pid)
        assert engine_processes(graph) == [engine["pid"]]
        os.kill(int(engine["pid"]), signal.SIGKILL)  # the engine crashes
        back = ready(url, restarts=1)
        assert back["pid"] != engine["pid"] and back["supervisor_pid"] == proc.pid
        assert engine_processes(graph) == [back["pid"]]
        for _ in range(6):  # whichever worker answers, it reports the same engine
            r = httpx.get(f"{url}/v1/stats")
            assert r.status_code == 200, r.text  # a worker's stale connection is renewed
            stats = r.json()
            assert stats["engine"]["pid"] == back["pid"] and stats["engine"]["owned"]
    finally:
        rc, err = stop_with(proc, signal.SIGTERM)
    assert rc == 0, err  # uvicorn's parent exits cleanly after stopping its workers
    assert_clean(graph, source_graph[1])


def test_a_killed_serve_leaves_an_engine_the_next_one_adopts(
        graph: Path, source_graph: tuple[Path, dict]) -> None:
    first, url = serve(graph)
    engine = ready(url, owner_pid=first.pid)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    assert engine_processes(graph) == [engine["pid"]]  # orphaned, still up
    assert EmbeddedEngine(graph).info()["owner_pid"] is None  # its owner is gone
    second, url = serve(graph)
    adopted = ready(url, owned=True, supervised=True, owner_pid=second.pid)
    assert adopted["pid"] == engine["pid"]  # taken over, not started twice
    rc, err = stop_with(second, signal.SIGTERM)
    assert rc == 143, err
    assert_clean(graph, source_graph[1])


def test_an_engine_started_by_hand_is_neither_stopped_nor_owned(
        graph: Path, source_graph: tuple[Path, dict]) -> None:
    eng = EmbeddedEngine(graph)
    assert eng.start(detached=True) is False
    try:
        proc, url = serve(graph)
        info = ready(url, owned=False, supervised=False)
        assert info["owner_pid"] is None
        rc, err = stop_with(proc, signal.SIGTERM)
        assert rc == 143, err
        assert engine_processes(graph) == [info["pid"]]  # left up, as it was found
    finally:
        eng.stop()
    assert_clean(graph, source_graph[1])


def test_deferred_holds_a_signal_until_the_block_ends() -> None:
    previous = {s: signal.getsignal(s) for s in signals.STOP_SIGNALS}
    signals.install()
    try:
        reached = False
        with pytest.raises(signals.Terminated) as info, signals.deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
            reached = True
        assert reached and info.value.exit_code == 143
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
