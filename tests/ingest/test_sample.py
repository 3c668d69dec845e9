"""The sample dump a fresh machine gets from PyPI is the real enwiki slice."""

from __future__ import annotations

from pathlib import Path

from ingest.sample import fetch_enwiki_sample, is_sample
from tests.conftest import ENWIKI


def test_sample_comes_from_the_gensim_wheel(tmp_path: Path) -> None:
    assert is_sample("sample:enwiki") and not is_sample(str(ENWIKI))
    path = fetch_enwiki_sample(tmp_path)
    assert path.read_bytes() == ENWIKI.read_bytes()
    mtime = path.stat().st_mtime_ns
    assert fetch_enwiki_sample(tmp_path) == path and path.stat().st_mtime_ns == mtime  # cached
