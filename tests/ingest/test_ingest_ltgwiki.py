"""The complete Latgalian Wikipedia: a closed, dense link graph with localized namespaces."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph import store
from graph.backend import FalkorBackend
from ingest.pipeline import IngestConfig, IngestReport, ingest_dump
from tests.conftest import LTGWIKI


@pytest.fixture(scope="module")
def ingested(embedded: FalkorBackend, graph_dir: Path) -> tuple[IngestReport, FalkorBackend]:
    cfg = IngestConfig(staging_root=graph_dir / "staging")
    return ingest_dump(str(LTGWIKI), embedded, cfg), embedded


def test_counts(ingested: tuple[IngestReport, FalkorBackend]) -> None:
    report, backend = ingested
    assert report.pages_read == 2004
    assert report.articles == 903
    assert report.redirects == 147
    # Templates (Taiss:) and categories (Kategoreja:) are pages of other namespaces.
    assert report.skipped["namespace_10"] == 347
    assert report.skipped["namespace_14"] == 539
    stats = store.graph_stats(backend)
    assert stats.entities - stats.stubs == 903
    assert stats.links > 5000
    assert stats.categories > 300


def test_links_through_redirects_land_on_the_target(
        ingested: tuple[IngestReport, FalkorBackend]) -> None:
    report, backend = ingested
    assert report.resolved["links:via_redirect"] > 0
    # Bolvi links [[Rēzekne]], a redirect to Rēzne (checked by hand in the XML).
    links = {lk["target"]: lk["sentence"] for lk in store.links(backend, "Bolvi")}
    assert "Rēzekne" not in links
    assert links["Rēzne"] == "Atostums da Rēzeknei - 80 km, da Reigai - 219 km."
    assert store.entity(backend, "Rēzne")["aliases"] == ["Rēzekne", "Rēzne (mīsts)"]


def test_localized_categories_and_infobox(ingested: tuple[IngestReport, FalkorBackend]) -> None:
    _, backend = ingested
    assert "Mīsti Latgolā" in store.categories(backend, "Rēzne")
    facts = {f["key"]: f for f in store.literal_facts(backend, "Aglyunys nūvods")}
    assert facts["dzeivuotuoju_skaits"]["num"] == 4561
    linked = {f["target"] for f in store.entity_facts(backend, "Aglyunys nūvods")}
    assert "Aglyunys pogosts" in linked


def test_red_links_become_counted_stubs(ingested: tuple[IngestReport, FalkorBackend]) -> None:
    report, backend = ingested
    r = report.resolved
    # Small wikis have many red links (Vydzeme, Zviers, ... are linked but unwritten):
    # each becomes one stub entity, and the links between articles stay a dense core.
    assert r["links:to_stub"] > 3000
    inside = backend.read("MATCH (a:Entity)-[r:LINKS_TO]->(b:Entity) "
                          "WHERE a.stub = false AND b.stub = false RETURN count(r) AS n")[0]["n"]
    assert inside > 1800  # 1,955 article-to-article edges when written
    stats = store.graph_stats(backend)
    assert stats.stubs == report.written["stubs"]
    assert store.entity(backend, "Vydzeme")["stub"] is True
    top = backend.read("MATCH (e:Entity) WHERE e.stub = false "
                       "RETURN e.title AS t, e.popularity AS p ORDER BY p DESC LIMIT 1")[0]
    assert top["p"] > 100  # a hub the sampler can walk through
