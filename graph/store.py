"""Operations on the knowledge graph built from graph.queries: batched writes,
counts, and single-entity reads. Everything receives an open backend."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypedDict

from graph import queries as Q
from graph.backend import FalkorBackend, GraphBackend, open_backend
from graph.errors import GraphError
from graph.model import Rel
from hcsp.settings import Settings, get_settings


@contextlib.contextmanager
def open_graph(uri: str | None = None, *, settings: Settings | None = None,
               autostart: bool = True) -> Iterator[GraphBackend]:
    """Open the graph named by ``uri`` (default: the HCSP_GRAPH_URI setting), close it
    on exit. An embedded engine started here is stopped here."""
    s = settings or get_settings()
    backend = open_backend(uri or s.graph_uri, user=s.neo4j_user,
                           password=s.neo4j_password.get_secret_value(),
                           database=s.neo4j_database, autostart=autostart)
    try:
        yield backend
    finally:
        backend.close()


@contextlib.contextmanager
def exclusive_writer(backend: GraphBackend, name: str = "ingest") -> Iterator[None]:
    """One writer at a time for a job that assumes it is alone (an ingest decides
    between bulk insert and MERGE by looking at the graph first). Enforced for the
    embedded engine by a lock file; on Neo4j it is the operator's to keep."""
    if isinstance(backend, FalkorBackend):
        with backend.engine.exclusive(name):
            yield
    else:
        yield


def write_rows(backend: GraphBackend, query: str, rows: Sequence[dict[str, Any]],
               batch_size: int = 5000) -> int:
    """Write ``rows`` through an ``UNWIND $rows`` query in batches. Returns len(rows)."""
    for i in range(0, len(rows), batch_size):
        backend.write(query, {"rows": list(rows[i:i + batch_size])})
    return len(rows)


def update_degrees(backend: GraphBackend, batch_size: int = 5000, buckets: int = 4096) -> int:
    """Recompute popularity (in-links), out_links and n_facts of every entity, a range
    of buckets per query sized to about ``batch_size`` entities. Returns how many."""
    total = int((backend.read(Q.COUNT_ENTITIES) or [{}])[0].get("entities") or 0)
    if total == 0:
        return 0
    step = max(1, min(buckets, buckets * batch_size // total))
    query = Q.degree_update(backend.dialect)
    n = 0
    for lo in range(0, buckets, step):
        rows = backend.write(query, {"lo": lo, "hi": min(buckets, lo + step)})
        n += int(rows[0]["n"]) if rows else 0
    return n


def backfill_fact_buckets(backend: GraphBackend, batch_size: int = 5000) -> int:
    """Give every literal fact that lacks them its blur buckets (graph.buckets); a
    graph loaded by this version's loaders has them all. Returns how many were set."""
    from graph.buckets import BUCKETS_VERSION, fact_bucket_props

    rows = backend.read(Q.FACTS_WITHOUT_BUCKETS, {"version": BUCKETS_VERSION})
    todo = [{"id": r["id"], **fact_bucket_props(r)} for r in rows]
    write_rows(backend, Q.SET_FACT_BUCKETS, todo, batch_size)
    return len(todo)


@dataclass(slots=True)
class GraphStats:
    """What the graph holds."""

    entities: int = 0
    stubs: int = 0
    disambiguation: int = 0
    aliases: int = 0
    links: int = 0
    entity_facts: int = 0
    literal_facts: dict[str, int] = field(default_factory=dict)
    categories: int = 0
    category_edges: int = 0
    dumps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def facts(self) -> int:
        """All facts: entity-to-entity plus literal."""
        return self.entity_facts + sum(self.literal_facts.values())

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["facts"] = self.facts
        return d


def _one(backend: GraphBackend, query: str) -> int:
    rows = backend.read(query)
    return int(rows[0]["n"] or 0) if rows else 0


def graph_stats(backend: GraphBackend) -> GraphStats:
    """Counts of entities, aliases, links, facts by kind and categories."""
    row = (backend.read(Q.COUNT_ENTITIES) or [{}])[0]
    return GraphStats(
        entities=int(row.get("entities") or 0),
        stubs=int(row.get("stubs") or 0),
        disambiguation=int(row.get("disambiguation") or 0),
        aliases=int(row.get("aliases") or 0),
        links=_one(backend, Q.COUNT_LINKS),
        entity_facts=_one(backend, Q.COUNT_ENTITY_FACTS),
        literal_facts={r["kind"]: int(r["n"]) for r in backend.read(Q.COUNT_FACTS_BY_KIND)},
        categories=_one(backend, Q.COUNT_CATEGORIES),
        category_edges=_one(backend, Q.COUNT_CATEGORY_EDGES),
        dumps=backend.read(Q.LIST_DUMPS),
    )


def export(backend: GraphBackend, what: str, page: int = 10000) -> list[dict[str, Any]]:
    """Every row of one EXPORT_* query ('entities', 'links', 'entity_facts',
    'literal_facts', 'categories'), in a stable order, read a page at a time."""
    query = getattr(Q, f"EXPORT_{what.upper()}")
    rows: list[dict[str, Any]] = []
    while True:
        got = backend.read(query, {"skip": len(rows), "limit": page})
        rows.extend(got)
        if len(got) < page:
            return rows


def entity(backend: GraphBackend, title: str) -> dict[str, Any] | None:
    """One entity's properties, or None."""
    rows = backend.read(Q.ENTITY_BY_TITLE, {"title": title})
    return rows[0] if rows else None


class LiteralFact(TypedDict):
    """An infobox value that is not a link (graph.model's Fact), as readers get it."""

    key: str
    kind: str
    text: str | None
    num: float | None
    num_hi: float | None
    unit: str | None
    year: int | None
    month: int | None
    day: int | None
    date: str | None
    raw: str | None


class EntityFact(TypedDict):
    """An infobox value that links: (entity)-[:FACT {key, text}]->(target)."""

    key: str
    target: str
    text: str | None


class Neighbour(TypedDict):
    """An entity at the other end of a FACT or LINKS_TO edge, with what the edge says
    (``key``/``text`` for facts, ``sentence``/``anchor`` for links; None otherwise)."""

    title: str
    stub: bool
    disambiguation: bool
    n_facts: int | None
    out_links: int | None
    popularity: int | None
    key: str | None
    text: str | None
    sentence: str | None
    anchor: str | None


_NEIGHBOUR_QUERIES = {(Rel.FACT, "out"): Q.NEIGHBOURS_FACT_OUT,
                      (Rel.FACT, "in"): Q.NEIGHBOURS_FACT_IN,
                      (Rel.LINKS_TO, "out"): Q.NEIGHBOURS_LINK_OUT,
                      (Rel.LINKS_TO, "in"): Q.NEIGHBOURS_LINK_IN}


def literal_facts(backend: GraphBackend, title: str) -> list[LiteralFact]:
    """An entity's typed literal facts, by key."""
    return backend.read(Q.LITERAL_FACTS_OF, {"title": title})  # type: ignore[return-value]


def entity_facts(backend: GraphBackend, title: str) -> list[EntityFact]:
    """An entity's facts that point at other entities, by key."""
    return backend.read(Q.ENTITY_FACTS_OF, {"title": title})  # type: ignore[return-value]


class Card(TypedDict):
    """What blurring an entity reads of it (graph.queries.CARD_OF), in one query."""

    description: str | None
    infobox: str | None
    facts: list[LiteralFact]
    entity_facts: list[EntityFact]
    categories: list[str]


def _ascending(*values: Any) -> tuple[Any, ...]:
    """A sort key that orders as Cypher's ORDER BY does: nulls after every value."""
    return tuple((v is None, "" if v is None else v) for v in values)


def card(backend: GraphBackend, title: str) -> Card | None:
    """An entity's description, infobox name, literal facts, entity facts and
    categories in one round trip (each list in the order literal_facts, entity_facts
    and categories give: their ORDER BY, ties broken alike), or None where there is no
    such entity."""
    rows = backend.read(Q.CARD_OF, {"title": title})
    return _card(rows[0]) if rows else None


def cards(backend: GraphBackend, titles: list[str]) -> dict[str, Card]:
    """:func:`card` of each of ``titles`` (those that exist), in one round trip."""
    if not titles:
        return {}
    return {r["title"]: _card(r) for r in backend.read(Q.CARDS_OF, {"titles": titles})}


def _card(r: dict[str, Any]) -> Card:
    facts = sorted((f for f in r["facts"] if f["key"] is not None),
                   key=lambda f: _ascending(f["key"], f["text"], f["kind"], f["raw"], f["num"],
                                             f["num_hi"], f["unit"], f["date"]))
    efs = sorted((f for f in r["entity_facts"] if f["key"] is not None),
                 key=lambda f: _ascending(f["key"], f["target"], f["text"]))
    return {"description": r["description"], "infobox": r["infobox"],
            "facts": facts, "entity_facts": efs,  # type: ignore[typeddict-item]
            "categories": sorted(c for c in r["categories"] if c is not None)}


NEIGHBOURS_READ = 300
"""Neighbours read per entity and direction at most (graph.queries: a fixed sample)."""


def neighbours(backend: GraphBackend, title: str, rel: Rel, direction: str,
               limit: int = NEIGHBOURS_READ) -> list[Neighbour]:
    """The entities ``title`` reaches by ``rel`` edges going ``direction`` ("out": its
    own edges; "in": edges to it), by title; of a hub's, ``limit`` (a fixed sample:
    enough to walk on and to name a few, at a bounded cost)."""
    query = _NEIGHBOUR_QUERIES.get((rel, direction))
    if query is None:
        raise GraphError(f"no neighbours query for {rel}/{direction}")
    empty = {"key": None, "text": None, "sentence": None, "anchor": None}
    return [{**empty, **r}  # type: ignore[misc]
            for r in backend.read(query, {"title": title, "limit": limit})]


def aliases_of(backend: GraphBackend, titles: Sequence[str]) -> dict[str, list[str]]:
    """The redirect titles of each of ``titles`` (those in the graph)."""
    return {r["title"]: list(r["aliases"] or [])
            for r in backend.read(Q.ALIASES_OF, {"titles": list(titles)})}


def dump_languages(backend: GraphBackend) -> set[str]:
    """The languages of the dumps the graph holds ("en", "ltg", ...)."""
    return {r["lang"] for r in backend.read(Q.LIST_DUMP_LANGUAGES) if r["lang"]}


def pool_counts(backend: GraphBackend) -> dict[int, int]:
    """Stored research trees by number of vertices."""
    return {int(r["n_vertices"]): int(r["n"]) for r in backend.read(Q.COUNT_TREES)}


def links(backend: GraphBackend, title: str) -> list[dict[str, Any]]:
    """An entity's body links with their sentences."""
    return backend.read(Q.LINKS_OF, {"title": title})


def categories(backend: GraphBackend, title: str) -> list[str]:
    """An entity's category names."""
    return [r["name"] for r in backend.read(Q.CATEGORIES_OF, {"title": title})]


def titles_by_alias(backend: GraphBackend, alias: str) -> list[str]:
    """Entities that carry ``alias`` (a redirect title)."""
    return [r["title"] for r in backend.read(Q.ENTITY_BY_ALIAS, {"alias": alias})]
