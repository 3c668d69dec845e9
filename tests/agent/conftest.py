"""HCSP questions synthesized from the real Latgalian graph and exported as JSONL:
the agent reads only the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.backend import FalkorBackend
from ingest.pipeline import IngestConfig, ingest_dump
from synth.config import SynthConfig
from synth.pipeline import synthesize
from synth.store import write_jsonl
from tests.conftest import LTGWIKI


@pytest.fixture(scope="module")
def hcsp_file(embedded: FalkorBackend, graph_dir: Path, tmp_path_factory: pytest.TempPathFactory
              ) -> Path:
    ingest_dump(str(LTGWIKI), embedded, IngestConfig(staging_root=graph_dir / "staging"))
    trees, _ = synthesize(embedded, SynthConfig(vertices=5), count=3, seed=7)
    path = tmp_path_factory.mktemp("questions") / "hcsp.jsonl"
    write_jsonl(trees, path)
    return path
