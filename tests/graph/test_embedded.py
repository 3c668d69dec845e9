"""The embedded engine's lifecycle: start, find, persist, stop."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from graph.backend import FalkorBackend, open_backend
from graph.embedded import EmbeddedEngine
from graph.errors import GraphError, GraphUnavailable


def test_start_status_stop_and_persistence(tmp_path: Path) -> None:
    eng = EmbeddedEngine(tmp_path / "g")
    assert not eng.status().running
    assert eng.start() is True
    assert eng.start() is False  # already running: found, not started twice
    st = eng.status()
    assert st.running and st.pid and Path(st.socket).exists()

    b = FalkorBackend(str(tmp_path / "g"))
    assert b.owns_engine is False  # someone else started it: this backend leaves it up
    b.write("CREATE (:Entity {title: 'Kept'})")
    b.close()
    assert eng.status().running

    t = time.perf_counter()
    assert eng.stop() is True
    assert time.perf_counter() - t < 5  # no multi-second wait on the server's threads
    assert not eng.status().running
    assert eng.stop() is False

    b = FalkorBackend(str(tmp_path / "g"))  # started on demand, stopped on close
    assert b.owns_engine is True
    assert b.read("MATCH (e:Entity) RETURN e.title AS t") == [{"t": "Kept"}]
    b.close()
    assert not eng.status().running


def test_no_autostart_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(GraphUnavailable, match="not running") as info:
        FalkorBackend(str(tmp_path / "g"), autostart=False)
    assert "hcsp graph start" in (info.value.hint or "")


def test_long_paths_use_a_short_socket(tmp_path: Path) -> None:
    deep = tmp_path / ("x" * 60) / ("y" * 60)
    b = FalkorBackend(str(deep))
    try:
        assert b.read("RETURN 1 AS one") == [{"one": 1}]
        assert len(b.engine.socket_path) <= 100
    finally:
        b.close()


def test_unwritable_folder_and_unknown_scheme(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(GraphUnavailable, match="cannot create the graph folder"):
        FalkorBackend(str(blocker / "g"))
    with pytest.raises(GraphError, match="unknown graph URI scheme"):
        open_backend("redis://localhost:6379")


def test_neo4j_down_is_one_clear_error() -> None:
    with pytest.raises(GraphUnavailable, match=r"cannot reach Neo4j at bolt://127\.0\.0\.1:1") \
            as info:
        open_backend("bolt://127.0.0.1:1", password="x")
    assert "docker compose up -d neo4j" in (info.value.hint or "")
