"""The bulk loader and the MERGE loader build the same graph, property by property."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph import store
from graph.backend import FalkorBackend
from ingest.pipeline import IngestConfig, ingest_dump
from tests.conftest import ENWIKI, LTGWIKI

PARTS = ("entities", "links", "entity_facts", "literal_facts", "categories")
# Properties added later, which the comparison must see set on some rows (the sample
# dumps have no {{Short description}}; the synthetic graph checks that one).
NEW_PROPS = {"entities": ("infobox",), "links": ("anchor",), "literal_facts": ("num_hi",)}


def build(tmp: Path, source: Path, bulk: bool) -> dict[str, list[dict[str, object]]]:
    b = FalkorBackend(str(tmp / f"graph-{bulk}"))
    try:
        report = ingest_dump(str(source), b, IngestConfig(staging_root=tmp / f"s-{bulk}",
                                                          bulk=None if bulk else False))
        assert report.loader == ("bulk" if bulk else "merge")
        graph = {part: store.export(b, part) for part in PARTS}
        # A rerun into the now non-empty graph goes through MERGE and changes nothing.
        again = ingest_dump(str(source), b, IngestConfig(staging_root=tmp / f"s-{bulk}"))
        assert again.loader == "merge"
        assert {part: store.export(b, part) for part in PARTS} == graph
        return graph
    finally:
        b.close()


@pytest.mark.parametrize("source", [LTGWIKI, ENWIKI], ids=["ltgwiki", "enwiki"])
def test_bulk_and_merge_agree(tmp_path: Path, source: Path) -> None:
    bulk, merge = build(tmp_path, source, True), build(tmp_path, source, False)
    for part in PARTS:
        assert len(bulk[part]) == len(merge[part]) > 0, part
        assert bulk[part] == merge[part], part
    for part, props in NEW_PROPS.items():
        for prop in props:
            assert any(row[prop] is not None for row in bulk[part]), (part, prop)


def test_synthetic_graph_loads_the_same_both_ways(tmp_path: Path) -> None:
    from collections import Counter

    from ingest.load import BulkLoader, MergeLoader, Resolver
    from ingest.synthetic import stage_synthetic

    staging = stage_synthetic(tmp_path / "staged", 3000, seed=7)
    graphs = []
    for name in ("bulk", "merge"):
        b = FalkorBackend(str(tmp_path / name))
        try:
            loader = BulkLoader(b) if name == "bulk" else MergeLoader(b, 1000)
            loader.load(staging, Resolver(staging, "stub", Counter()), Counter())
            graphs.append({part: store.export(b, part) for part in PARTS})
            stats = store.graph_stats(b)
        finally:
            b.close()
    assert graphs[0] == graphs[1]
    for prop in ("infobox", "short_description"):
        assert any(e[prop] is not None for e in graphs[0]["entities"]), prop
    assert all(lk["anchor"] is not None for lk in graphs[0]["links"])
    assert stats.entities - stats.stubs == 3000 and stats.stubs > 0
    assert stats.links > 3000 * 2 and stats.aliases > 500
    assert set(stats.literal_facts) == {"date", "number", "text", "year"}
    pops = sorted((e["popularity"] for e in graphs[0]["entities"]), reverse=True)
    assert pops[0] > 20 * (sum(pops) / len(pops))  # heavy-tailed, like Wikipedia
