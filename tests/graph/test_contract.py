"""Contract tests: the same queries, the same answers, on every backend available here.

Always the embedded engine; Neo4j too when HCSP_NEO4J_URI is set (CI: always), e.g.

    eval "$(scripts/neo4j.sh start)"     # or: docker compose up -d neo4j
    pytest tests/graph
"""

from __future__ import annotations

import pytest

from graph import queries as Q
from graph import store
from graph.backend import GraphBackend
from graph.constraints import Kind, Predicate, candidates_query
from graph.dialect import Dialect
from graph.model import Rel
from graph.schema import INDEXES, apply_schema
from ingest.pipeline import rand_of

TRICKY = "O'Brien \"the\" `x` }) MATCH (n) DETACH DELETE n //"


def _entity(title: str, **kw: object) -> dict[str, object]:
    r, b = rand_of(title)
    row: dict[str, object] = {"title": title, "page_id": None, "description": None,
                              "disambiguation": False, "rand": r, "bucket": b, "text_bytes": 0}
    row.update(kw)
    return row


@pytest.fixture(scope="module")
def loaded(any_backend: GraphBackend) -> GraphBackend:
    """A tiny graph written through every ingest write query."""
    b = any_backend
    assert sorted(apply_schema(b)) == sorted(s.name for s in INDEXES)
    write_all(b)
    return b


def write_all(b: GraphBackend) -> None:
    store.write_rows(b, Q.UPSERT_ENTITIES, [
        _entity("Riga", page_id=1, description="Capital of Latvia", infobox="Infobox settlement",
                short_description="Capital of Latvia"),
        _entity("Latvia", page_id=2),
        _entity("Rēzne", page_id=3, disambiguation=True),
        _entity(TRICKY, page_id=4, description=TRICKY),
    ])
    store.write_rows(b, Q.UPSERT_STUBS, [{"title": "Daugava", "rand": 0.5, "bucket": 2048},
                                         {"title": "Old stub", "rand": 0.1, "bucket": 409}])
    store.write_rows(b, Q.SET_ALIASES, [{"title": "Riga", "aliases": ["Rīga", "Riga, Latvia"]}])
    store.write_rows(b, Q.UPSERT_LITERAL_FACTS, [
        {"title": "Riga", "id": "Riga\x1ffounded\x1f0", "key": "founded", "kind": "year",
         "text": "1201", "raw": "1201", "num": None, "unit": None, "year": 1201, "month": None,
         "day": None, "date": None},
        {"title": "Riga", "id": "Riga\x1fpopulation\x1f0", "key": "population", "kind": "number",
         "text": "605,273", "raw": "605,273", "num": 605273.0, "unit": None, "year": None,
         "month": None, "day": None, "date": None},
        {"title": TRICKY, "id": f"{TRICKY}\x1fborn\x1f0", "key": "born", "kind": "date",
         "text": "1809-02-12", "raw": "{{birth date|1809|2|12}}", "num": None, "unit": None,
         "year": 1809, "month": 2, "day": 12, "date": "1809-02-12"},
    ])
    store.write_rows(b, Q.UPSERT_CATEGORIES, [{"title": "Riga", "name": "Capitals in Europe"},
                                              {"title": "Latvia", "name": "Countries"}])
    store.write_rows(b, Q.UPSERT_LINKS, [
        {"src": "Riga", "dst": "Latvia", "sentence": "Riga is the capital of Latvia.",
         "anchor": "Latvia"},
        {"src": "Riga", "dst": "Daugava", "sentence": "Riga lies on the Daugava.",
         "anchor": "the Daugava"},
        {"src": TRICKY, "dst": "Riga", "sentence": TRICKY, "anchor": TRICKY},
    ])
    # A later row for the same pair leaves the first sentence (ON CREATE). Within one
    # batch the engines disagree on which row wins, so ingest sends one row per pair.
    store.write_rows(b, Q.UPSERT_LINKS, [
        {"src": "Riga", "dst": "Latvia", "sentence": "A second sentence, same pair.",
         "anchor": "pair"}])
    store.write_rows(b, Q.UPSERT_ENTITY_FACTS, [
        {"src": "Latvia", "key": "capital", "dst": "Riga", "text": "Riga", "raw": "[[Riga]]"}])
    b.write(Q.DELETE_STUBS, {"titles": ["Old stub", "Riga"]})
    b.write(Q.RECORD_DUMP, {"source": "test", "props": {"dbname": "testwiki", "finished": True}})
    store.update_degrees(b, batch_size=2)


def test_schema_is_rerunnable(loaded: GraphBackend) -> None:
    assert apply_schema(loaded) == []
    with pytest.raises(Exception, match=r"(?i)unique|constraint|already exists"):
        loaded.write("CREATE (:Entity {title: 'Riga'})")


def test_counts(loaded: GraphBackend) -> None:
    s = store.graph_stats(loaded)
    assert (s.entities, s.stubs, s.disambiguation, s.aliases) == (5, 1, 1, 2)
    assert (s.links, s.entity_facts, s.categories, s.category_edges) == (3, 1, 2, 2)
    assert s.literal_facts == {"date": 1, "number": 1, "year": 1}
    assert s.dumps == [{"source": "test", "dbname": "testwiki", "finished": True}]


def test_writes_are_idempotent(loaded: GraphBackend) -> None:
    before = store.graph_stats(loaded).as_dict()
    write_all(loaded)
    assert store.graph_stats(loaded).as_dict() == before


def test_reads_agree(loaded: GraphBackend) -> None:
    riga = store.entity(loaded, "Riga")
    assert riga is not None
    assert riga["description"] == "Capital of Latvia" and riga["page_id"] == 1
    assert riga["aliases"] == ["Rīga", "Riga, Latvia"]
    assert (riga["infobox"], riga["short_description"]) == ("Infobox settlement",
                                                            "Capital of Latvia")
    assert store.entity(loaded, "Latvia")["infobox"] is None
    assert (riga["popularity"], riga["out_links"], riga["n_facts"]) == (1, 2, 2)
    assert isinstance(riga["rand"], float) and isinstance(riga["bucket"], int)
    assert store.entity(loaded, "Latvia")["popularity"] == 1
    assert store.entity(loaded, "Daugava")["stub"] is True
    assert store.entity(loaded, "Old stub") is None  # deleted as a stale stub
    assert store.entity(loaded, "Rēzne")["disambiguation"] is True
    assert store.titles_by_alias(loaded, "Rīga") == ["Riga"]
    assert store.links(loaded, "Riga") == [
        {"target": "Daugava", "sentence": "Riga lies on the Daugava.", "anchor": "the Daugava"},
        {"target": "Latvia", "sentence": "Riga is the capital of Latvia.",
         "anchor": "Latvia"}]  # the first one kept, with its anchor
    assert store.entity_facts(loaded, "Latvia") == [
        {"key": "capital", "target": "Riga", "text": "Riga"}]
    assert store.categories(loaded, "Riga") == ["Capitals in Europe"]
    facts = {f["key"]: f for f in store.literal_facts(loaded, "Riga")}
    assert facts["founded"]["year"] == 1201 and facts["founded"]["num"] is None
    assert facts["population"]["num"] == 605273.0
    # The sampler's one-query card holds what the four reads above give, in their order.
    for title in ("Riga", "Latvia", "Daugava", TRICKY):
        card = store.card(loaded, title)
        assert card is not None, title
        assert card["facts"] == store.literal_facts(loaded, title), title
        assert card["entity_facts"] == store.entity_facts(loaded, title), title
        assert card["categories"] == store.categories(loaded, title), title
        assert (card["description"], card["infobox"]) == (
            store.entity(loaded, title)["description"], store.entity(loaded, title)["infobox"])
    assert store.card(loaded, "Old stub") is None


def test_values_are_parameters_never_cypher(loaded: GraphBackend) -> None:
    tricky = store.entity(loaded, TRICKY)
    assert tricky is not None and tricky["description"] == TRICKY
    assert store.links(loaded, TRICKY) == [{"target": "Riga", "sentence": TRICKY,
                                            "anchor": TRICKY}]
    (born,) = store.literal_facts(loaded, TRICKY)
    assert (born["date"], born["year"], born["month"], born["day"]) == ("1809-02-12", 1809, 2, 12)
    assert store.graph_stats(loaded).entities == 5  # nothing was deleted


def test_every_query_is_known_and_rendered(loaded: GraphBackend) -> None:
    qs = Q.all_queries(loaded.dialect)
    assert {"UPSERT_ENTITIES", "UPSERT_LINKS", "COUNT_ENTITIES", "degree_update"} <= set(qs)
    for name, q in qs.items():
        assert "$" in q or name.startswith(("COUNT_", "APPLIED_", "LIST_", "CLEAR_")), name
    other = Dialect.NEO4J if loaded.dialect is Dialect.FALKORDB else Dialect.FALKORDB
    assert Q.degree_update(loaded.dialect) != Q.degree_update(other)


def test_neighbours_past_the_limit_are_a_fixed_sample(loaded: GraphBackend) -> None:
    full = store.neighbours(loaded, "Riga", Rel.LINKS_TO, "out")
    assert [r["title"] for r in full] == ["Daugava", "Latvia"]
    rand = {t: store.entity(loaded, t)["rand"] for t in ("Daugava", "Latvia")}
    lowest = min(rand, key=rand.__getitem__)
    for _ in range(2):  # the same sample every time: the lowest random keys
        assert [r["title"] for r in
                store.neighbours(loaded, "Riga", Rel.LINKS_TO, "out", limit=1)] == [lowest]


def test_candidates_bind_named_nodes_first(loaded: GraphBackend) -> None:
    """Every named node is looked up before the walk: an intersection of several
    still means all of them, and a name the graph lacks matches nothing."""
    links = Predicate.of(Kind.LINKS_TO_NAMED, {"title": "Latvia"})
    river = Predicate.of(Kind.LINKS_TO_NAMED, {"title": "Daugava"})
    capital = Predicate.of(Kind.CATEGORY, {"name": "Capitals in Europe"})
    linked = Predicate.of(Kind.LINKED_FROM_NAMED, {"title": TRICKY})
    missing = Predicate.of(Kind.LINKS_TO_NAMED, {"title": "Nowhere"})

    def titles(preds: list[Predicate]) -> list[str]:
        q, params = candidates_query(preds, count=False)
        return [r["title"] for r in loaded.read(q, {**params, "cap": 10})]

    assert titles([links, river, capital, linked]) == ["Riga"]
    assert titles([capital, linked, river, links]) == ["Riga"]
    assert titles([links, missing]) == [] and titles([missing]) == []
    assert titles([Predicate.of(Kind.RELATION, {"rel": Rel.FACT, "direction": "in",
                                                "key": "capital", "title": "Latvia"}),
                   capital]) == ["Riga"]
