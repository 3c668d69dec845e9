"""Shared fixtures: real dumps from ../shared/data/wiki and the real embedded engine.

Each test module gets a fresh database (its own folder, its own engine process).
Contract tests also run against Neo4j when HCSP_NEO4J_URI is set (for instance after
`docker compose up -d neo4j`); that database is wiped first, so point it at a
throwaway instance.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.backend import FalkorBackend, GraphBackend, Neo4jBackend

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
