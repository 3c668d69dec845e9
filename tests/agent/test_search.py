"""The agent's search engine over the real dumps: passages, BM25, the HTTP tool."""

from __future__ import annotations

import itertools
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agent.errors import AgentError
from agent.search import NUMBA_FROM, SearchIndex, backend_for, build_index, passages_of, tokenize
from agent.service import create_search_app
from tests.conftest import ENWIKI, ENWIKI_10K, LTGWIKI


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("search") / "idx"
    meta = build_index([str(ENWIKI), str(LTGWIKI), str(ENWIKI_10K)], path)
    # 106 + 68 English articles (one title is in both samples, indexed once) and 893 of the
    # 903 Latgalian ones: 10 (the main page, lists of towns, ...) are all tables and
    # templates, with no running text left to search.
    assert meta.pages == 106 + 68 - 1 + 893
    assert meta.passages > 5000
    return path


@pytest.fixture(scope="module")
def index(index_dir: Path) -> SearchIndex:
    return SearchIndex.load(index_dir)


def test_known_pages_come_first(index: SearchIndex) -> None:
    lincoln, rezne, anarchism = index.search(
        ["Lincoln born Hodgenville Kentucky", "Rēzne Latgolys mīsts", "anarchism"], k=5)
    assert lincoln[0].title == "Abraham Lincoln"
    assert "Rēzne" in {h.title for h in rezne[:2]}
    assert anarchism[0].title == "Anarchism"
    assert all(a.score >= b.score for a, b in itertools.pairwise(lincoln))


def test_passages_keep_titles_and_plain_text(index: SearchIndex) -> None:
    texts = [p for p in index.passages if p.title == "Abraham Lincoln"]
    assert len(texts) > 20
    assert texts[0].text.startswith("Abraham Lincoln (February 12, 1809 – April 15, 1865)")
    assert not any("[[" in p.text or "{{" in p.text or "<ref" in p.text for p in texts)
    assert all(len(p.text.split()) < 400 for p in texts)


def test_no_results_and_bad_k(index: SearchIndex) -> None:
    assert index.search(["qqqzzzxxy", ""], k=3) == [[], []]
    with pytest.raises(AgentError, match="k must be at least 1"):
        index.search(["Lincoln"], k=0)


def test_saved_index_reloads_to_the_same_answers(index: SearchIndex, index_dir: Path) -> None:
    again = SearchIndex.load(index_dir)
    q = ["Alabama capital", "Latgola"]
    assert again.search(q, 5) == index.search(q, 5)
    with pytest.raises(AgentError, match="no search index"):
        SearchIndex.load(index_dir.parent / "missing")


def test_numba_scorer_gives_the_numpy_answers(index: SearchIndex, index_dir: Path) -> None:
    # large indexes score with numba (compiled at the first query); same hits, same scores
    assert index.retriever.backend == "numpy" and backend_for(NUMBA_FROM) == "numba"
    fast = SearchIndex.load(index_dir, backend="numba")
    assert fast.retriever.backend == "numba"
    rng = random.Random(1)
    queries = [" ".join(rng.sample(p.text.split(), min(4, len(p.text.split()))))
               for p in rng.sample(index.passages, 40)]
    queries += ["Lincoln born Hodgenville Kentucky", "Rēzne Latgolys mīsts", "qqqzzzxxy"]
    got, want = fast.search(queries, 5), index.search(queries, 5)
    for g, w in zip(got, want, strict=True):
        scores = [h.score for h in w]
        assert [h.score for h in g] == scores
        # equal scores may come in another order (and the last place may go to another
        # passage of the same score); any other score of its own names one passage
        own = {sc for sc in scores[:-1] if scores.count(sc) == 1}
        assert {h.passage for h in g if h.score in own} == {h.passage for h in w if h.score in own}
    assert sum(map(len, got)) > 150


def test_passage_cutting() -> None:
    assert tokenize("Rēzne, 1285!") == ["rēzne", "1285"]
    paras = ["One two three. Four five six.", "Seven eight nine ten."]
    assert passages_of("T", paras, words=4) == ["One two three.", "Four five six.",
                                                "Seven eight nine ten."]


def test_http_tool(index_dir: Path) -> None:
    with TestClient(create_search_app(index_dir)) as c:
        assert c.get("/healthz").json()["passages"] > 5000
        r = c.post("/search", json={"queries": ["Abraham Lincoln Illinois", "Daugpiļs"],
                                    "k": 3})
        assert r.status_code == 200
        results = r.json()["results"]
        assert results[0][0]["title"] == "Abraham Lincoln" and len(results[1]) == 3
        assert c.post("/search", json={"queries": [], "k": 3}).status_code == 422
        assert c.post("/search", json={"queries": ["x"], "k": 99}).status_code == 422


def test_http_tool_splits_long_lists_and_outlives_a_restart(index_dir: Path) -> None:
    """HttpSearch against the service on loopback, started only after the first request
    was refused: the retry gets through; 40 queries go as two requests."""
    import socket
    import threading

    import uvicorn

    from agent.tools import REQUEST_QUERIES, HttpSearch

    app = create_search_app(index_dir)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    index = SearchIndex.load(index_dir, backend="numba")  # the service's scorer
    rng = random.Random(2)
    queries = [" ".join(rng.sample(p.text.split(), min(3, len(p.text.split()))))
               for p in rng.sample(index.passages, REQUEST_QUERIES + 8)]
    want = index.search(queries, 3)
    thread = threading.Thread(target=lambda: (threading.Event().wait(0.3), server.run()),
                              daemon=True)
    thread.start()
    try:
        got = HttpSearch(f"http://127.0.0.1:{port}", retries=4).search(queries, 3)
        assert server.started and got == want
    finally:
        server.should_exit = True
        thread.join(10)


def test_cli_index_and_search(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "150"}
    hcsp = [sys.executable, "-m", "hcsp.cli", "agent"]
    r = subprocess.run([*hcsp, "index", str(LTGWIKI), "--index", str(tmp_path / "i")],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "passages of 893 pages" in r.stderr
    meta = json.loads((tmp_path / "i" / "meta.json").read_text())
    assert meta["pages"] == 893
    r = subprocess.run([*hcsp, "search", "Rēzne mīsts", "--index", str(tmp_path / "i"),
                        "-k", "2"], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0 and "Rēzne" in r.stdout
    r = subprocess.run([*hcsp, "search", "x", "--index", str(tmp_path / "none")],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 1 and "no search index" in r.stderr
