"""The complete Latgalian Wikipedia in this module's embedded graph, for synth tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.backend import FalkorBackend
from ingest.pipeline import IngestConfig, ingest_dump
from tests.conftest import LTGWIKI


@pytest.fixture(scope="module")
def ltg(embedded: FalkorBackend, graph_dir: Path) -> FalkorBackend:
    ingest_dump(str(LTGWIKI), embedded, IngestConfig(staging_root=graph_dir / "staging"))
    return embedded
