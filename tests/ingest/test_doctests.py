"""The examples in ingest's docstrings hold (testpaths do not collect ingest/ itself)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ("ingest.values", "ingest.wikitext", "ingest.load", "ingest.pipeline")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name),
                             optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"
