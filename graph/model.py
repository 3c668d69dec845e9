"""Labels and relationship types of the knowledge graph.

Queries take labels and types from these enums, never from input.

    (:Entity {title, page_id, description, short_description, infobox, aliases,
              disambiguation, stub, rand, bucket, popularity, out_links, n_facts})
        infobox: the infobox template's name ("Infobox officeholder") or null
    (:Entity)-[:LINKS_TO {sentence, anchor}]->(:Entity)  body links, via redirects;
        anchor: the text the link shows in its sentence
    (:Entity)-[:FACT {key, text, raw}]->(:Entity)        infobox values that link
    (:Entity)-[:HAS_FACT {key}]->(:Fact {id, key, kind, text, raw, num, num_hi,
                                         unit, year, month, day, date, bk_*})
        kind: date | year | number | range (num..num_hi) | text
    (:Entity)-[:IN_CATEGORY]->(:Category {name})
    (:Dump {source, dbname, sitename, ...})              one per ingested dump
    (:Migration {id})                                    applied schema steps
    (:Summary {id, stats, fingerprint, ...}), (:Selectivity {key, n})  kept by ingest
        (graph.summary): counts readers would otherwise scan for
    (:ResearchTree {id, seed, n_vertices, question, answer, json, ...})
        -[:HAS_VERTEX]->(:TreeVertex {id, idx, kind, text})-[:STANDS_FOR]->(:Entity)
    (:TreeVertex)-[:CHILD_OF]->(:TreeVertex)             the tree's own edges
"""

from __future__ import annotations

from enum import StrEnum


class Label(StrEnum):
    """Node labels."""

    ENTITY = "Entity"
    FACT = "Fact"
    CATEGORY = "Category"
    DUMP = "Dump"
    MIGRATION = "Migration"
    SUMMARY = "Summary"
    SELECTIVITY = "Selectivity"
    RESEARCH_TREE = "ResearchTree"
    TREE_VERTEX = "TreeVertex"


class Rel(StrEnum):
    """Relationship types."""

    LINKS_TO = "LINKS_TO"
    FACT = "FACT"
    HAS_FACT = "HAS_FACT"
    IN_CATEGORY = "IN_CATEGORY"
    HAS_VERTEX = "HAS_VERTEX"
    CHILD_OF = "CHILD_OF"
    STANDS_FOR = "STANDS_FOR"
