"""The real enwiki sample into the real embedded engine; facts checked by hand in the XML."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph import store
from graph.backend import FalkorBackend
from ingest.pipeline import IngestConfig, IngestReport, ingest_dump
from tests.conftest import ENWIKI, ENWIKI_10K


@pytest.fixture(scope="module")
def ingested(embedded: FalkorBackend, graph_dir: Path) -> tuple[IngestReport, FalkorBackend]:
    cfg = IngestConfig(staging_root=graph_dir / "staging")
    return ingest_dump(str(ENWIKI), embedded, cfg), embedded


def test_counts_match_the_dump(ingested: tuple[IngestReport, FalkorBackend]) -> None:
    report, backend = ingested
    # 206 pages: 106 articles, 99 redirects in namespace 0 and one project-namespace page.
    assert report.pages_read == 206
    assert report.articles == 106
    assert report.redirects == 99
    assert report.skipped == {"namespace_4": 1}
    stats = store.graph_stats(backend)
    assert stats.entities - stats.stubs == 106
    assert stats.disambiguation == 8  # e.g. "Austin (disambiguation)", "Ada"
    # 13 redirects point at articles inside the sample (the rest leave it).
    assert stats.aliases == 13


def test_redirects_become_aliases(ingested: tuple[IngestReport, FalkorBackend]) -> None:
    _, backend = ingested
    assert store.entity(backend, "Ayn Rand")["aliases"] == ["AynRand"]
    assert store.entity(backend, "Afroasiatic languages")["aliases"] == [
        "Afro-asiatic languages", "AfroAsiaticLanguages"]
    assert store.entity(backend, "Analysis of variance")["aliases"] == [
        "ANOVA", "Analysis of Variance"]
    assert store.titles_by_alias(backend, "AbacuS") == ["Abacus"]
    # A redirect is never an entity of its own.
    assert store.entity(backend, "AynRand") is None


def test_typed_infobox_facts(ingested: tuple[IngestReport, FalkorBackend]) -> None:
    _, backend = ingested
    facts = {(f["key"], f["kind"]): f for f in store.literal_facts(backend, "Abraham Lincoln")}
    assert facts[("birth_date", "date")]["date"] == "1809-02-12"
    assert facts[("birth_date", "date")]["year"] == 1809
    assert facts[("term_start3", "year")]["year"] == 1834
    assert facts[("nationality", "text")]["text"] == "American"
    linked = {(f["key"], f["target"]) for f in store.entity_facts(backend, "Abraham Lincoln")}
    assert ("birth_place", "Hodgenville, Kentucky") in linked
    assert ("spouse", "Mary Todd Lincoln") in linked
    assert ("successor1", "Andrew Johnson") in linked


def test_link_keeps_its_sentence(ingested: tuple[IngestReport, FalkorBackend]) -> None:
    _, backend = ingested
    links = {lk["target"]: lk["sentence"] for lk in store.links(backend, "Abraham Lincoln")}
    assert links["Hodgenville, Kentucky"].startswith("Born in Hodgenville, Kentucky, Lincoln "
                                                     "grew up on the western frontier")
    assert "[[" not in "".join(links.values())


def test_entity_fields(ingested: tuple[IngestReport, FalkorBackend]) -> None:
    _, backend = ingested
    e = store.entity(backend, "Abraham Lincoln")
    assert e["page_id"] == 307
    assert e["description"].startswith("Abraham Lincoln (February 12, 1809 – April 15, 1865)")
    assert e["stub"] is False and e["disambiguation"] is False
    assert 0 <= e["rand"] < 1 and 0 <= e["bucket"] < 4096
    assert e["out_links"] > 300 and e["n_facts"] > 40
    assert "Presidents of the United States" in store.categories(backend, "Abraham Lincoln")
    assert store.entity(backend, "Austin (disambiguation)")["disambiguation"] is True
    # A link target missing from the sample is a stub (documented default), never an answer.
    stub = store.entity(backend, "Hodgenville, Kentucky")
    assert stub["stub"] is True and stub["page_id"] is None
    assert stub["popularity"] >= 1


def test_entities_name_their_infobox(ingested: tuple[IngestReport, FalkorBackend]) -> None:
    _, backend = ingested
    # As written in the XML, first letter upper case ("{{speciesbox", "{{automatic taxobox").
    expected = {"Abraham Lincoln": "Infobox officeholder", "Actrius": "Infobox film",
                "Aardvark": "Speciesbox", "Aardwolf": "Taxobox",
                "Amphibian": "Automatic taxobox", "Algeria": "Infobox country",
                "Anarchism": None}
    for title, infobox in expected.items():
        assert store.entity(backend, title)["infobox"] == infobox, title
    entities = store.export(backend, "entities")
    assert sum(e["infobox"] is not None for e in entities) == 50  # counted in the XML
    # No page of this old sample has a {{Short description}}; description falls back.
    assert all(e["short_description"] is None for e in entities)
    lincoln = store.entity(backend, "Abraham Lincoln")
    assert lincoln["short_description"] is None and lincoln["description"]


def test_links_carry_their_anchor(ingested: tuple[IngestReport, FalkorBackend]) -> None:
    _, backend = ingested
    links = store.export(backend, "links")
    shown = sum(lk["anchor"] is not None and lk["anchor"] in lk["sentence"] for lk in links)
    assert shown >= 0.99 * len(links)  # the rest: sentences cut inside a link ("C.W.")
    by_target = {lk["target"]: lk for lk in store.links(backend, "Abraham Lincoln")}
    assert by_target["American frontier"]["anchor"] == "western frontier"
    assert by_target["American frontier"]["sentence"].startswith("Born in Hodgenville")
    assert by_target["List of Presidents of the United States"]["anchor"] == (
        "16th President of the United States")


def test_literal_values_are_clean(ingested: tuple[IngestReport, FalkorBackend]) -> None:
    _, backend = ingested
    facts = store.export(backend, "literal_facts")
    for f in facts:
        if f["kind"] == "number" and f["unit"] not in (None, "ordinal"):
            assert len(f["unit"].split()) <= 3 and not any(c in f["unit"] for c in "–-:+"), f
        assert not f["text"].rstrip().endswith("px"), f
        assert (f["num_hi"] is not None) == (f["kind"] == "range"), f
    rand = {(f["key"], f["kind"]): f for f in store.literal_facts(backend, "Ayn Rand")}
    assert (rand[("period", "range")]["num"], rand[("period", "range")]["num_hi"]) == (1934, 1982)
    # Her infobox has the full dates, so "1905 births" adds nothing.
    assert [k for k in rand if k[0] == "birth_date"] == [("birth_date", "date")]
    dwan = {(f["key"], f["kind"]): f for f in store.literal_facts(backend, "Allan Dwan")}
    assert dwan[("years_active", "range")]["text"] == "1911–1961"


def test_rerun_changes_nothing(ingested: tuple[IngestReport, FalkorBackend],
                               graph_dir: Path) -> None:
    _, backend = ingested
    before = store.graph_stats(backend).as_dict()
    ingest_dump(str(ENWIKI), backend, IngestConfig(staging_root=graph_dir / "staging"))
    assert store.graph_stats(backend).as_dict() == before


def test_a_second_dump_adds_to_the_same_graph(ingested: tuple[IngestReport, FalkorBackend],
                                              graph_dir: Path) -> None:
    _, backend = ingested
    before = store.graph_stats(backend)
    report = ingest_dump(str(ENWIKI_10K), backend,
                         IngestConfig(staging_root=graph_dir / "staging"))
    after = store.graph_stats(backend)
    assert report.articles == 68
    assert after.entities - after.stubs == before.entities - before.stubs + 68
    assert {d["dbname"] for d in after.dumps} == {"enwiki"} and len(after.dumps) == 2
    kilbucho = store.entity(backend, "Kilbucho")
    assert kilbucho["short_description"] == kilbucho["description"] == "Village in Scotland"
    assert store.entity(backend, "Four Star Air Cargo")["short_description"] == (
        "Former cargo airline based in San Juan, Puerto Rico")
    # A person without an infobox gets birth and death years from "1829 births" and
    # "1901 deaths".
    lagan = store.entity(backend, "Matthew D. Lagan")
    assert lagan["infobox"] is None
    years = {f["key"]: f for f in store.literal_facts(backend, "Matthew D. Lagan")}
    assert (years["birth_date"]["kind"], years["birth_date"]["year"]) == ("year", 1829)
    assert years["birth_date"]["raw"] == "1829 births" and years["birth_date"]["text"] == "1829"
    assert (years["death_date"]["year"], years["death_date"]["raw"]) == (1901, "1901 deaths")
