"""The `hcsp` command as a user runs it: real subprocesses, real dumps, real engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import LTGWIKI


def hcsp(*args: str, graph: Path | None = None, cwd: Path | None = None
         ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120"}
    if graph is not None:
        env["HCSP_GRAPH_URI"] = str(graph)
    return subprocess.run([sys.executable, "-m", "hcsp.cli", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)


def test_help_lists_the_commands() -> None:
    r = hcsp("--help")
    assert r.returncode == 0
    assert "ingest" in r.stdout and "graph" in r.stdout


def test_ingest_then_stats(tmp_path: Path) -> None:
    graph = tmp_path / "g"
    r = hcsp("ingest", str(LTGWIKI), "--limit", "400", "--staging", str(tmp_path / "s"),
             graph=graph)
    assert r.returncode == 0, r.stderr
    out = r.stderr
    assert "ingest summary" in out and "pages read" in out and "400" in out
    assert "graph now: entities" in out and str(graph) in out
    assert "pages/s" in out  # the progress line
    status = json.loads(hcsp("graph", "status", "--json", graph=graph).stdout)
    assert status["running"] is False  # started on demand, stopped when done

    r = hcsp("graph", "stats", "--json", graph=graph)
    assert r.returncode == 0, r.stderr
    stats = json.loads(r.stdout)
    assert stats["entities"] > stats["stubs"] > 0
    assert stats["dumps"][0]["finished"] is False  # --limit: a partial dump, said so
    assert set(stats) >= {"aliases", "links", "literal_facts", "entity_facts", "categories"}


def test_start_keeps_the_engine_up_for_later_commands(tmp_path: Path) -> None:
    graph = tmp_path / "g"
    try:
        r = hcsp("graph", "start", graph=graph)
        assert r.returncode == 0 and "started" in r.stdout
        assert "already running" in hcsp("graph", "start", graph=graph).stdout
        assert hcsp("graph", "stats", graph=graph).returncode == 0
        assert json.loads(hcsp("graph", "status", "--json", graph=graph).stdout)["running"]
    finally:
        r = hcsp("graph", "stop", graph=graph)
    assert "stopped" in r.stdout
    assert "not running" in hcsp("graph", "status", graph=graph).stdout


@pytest.mark.parametrize(("args", "code", "message"), [
    (["ingest", "/nonexistent/dump.xml.bz2"], 1, "error: no such file"),
    (["ingest", str(LTGWIKI), "--limit", "0"], 1, "limit must be at least 1"),
    (["ingest", str(LTGWIKI), "--missing-links", "keep"], 1, "missing_links must be"),
    (["ingest", "http://127.0.0.1:9/x.xml.bz2"], 1, "cannot reach http://127.0.0.1:9/"),
    (["graph", "stats", "--graph-uri", "bolt://127.0.0.1:1"], 3, "cannot reach Neo4j"),
    (["graph", "stats", "--graph-uri", "redis://x"], 1, "unknown graph URI scheme"),
    (["graph", "start", "--graph-uri", "bolt://127.0.0.1:1"], 1, "is a Neo4j URI"),
])
def test_errors_are_one_clear_line(tmp_path: Path, args: list[str], code: int,
                                   message: str) -> None:
    r = hcsp(*args, graph=tmp_path / "g", cwd=tmp_path)
    assert r.returncode == code, r.stderr
    assert message in r.stderr
    assert "what to do" in r.stderr or code == 1
    assert "Traceback" not in r.stderr + r.stdout
