"""Cypher for research trees: a blurred constraint or a relation becomes a pattern.

A vertex of a research tree is checked by counting the entities that satisfy all of
its constraints and are related, as the tree says, to each of its (already resolved)
entity children. :func:`candidates_query` builds that query from predicate specs;
the patterns are fixed text chosen by kind, and every value is a ``$parameter``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graph.errors import GraphError
from graph.model import Label, Rel

E, F, C = Label.ENTITY, Label.FACT, Label.CATEGORY


@dataclass(frozen=True, slots=True)
class Predicate:
    """One condition on the candidate ``e``: a constraint kind with its parameters, or
    a relation to a resolved entity (kind "relation": rel, direction, key, title)."""

    kind: str
    params: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, kind: str, params: dict[str, Any]) -> Predicate:
        return cls(kind, tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                                      for k, v in params.items())))

    def get(self, name: str) -> Any:
        for k, v in self.params:
            if k == name:
                return list(v) if isinstance(v, tuple) else v
        raise GraphError(f"predicate {self.kind} lacks parameter {name!r}")


# (pattern, where) templates by kind; {i} is the predicate's index, for unique names.
_PATTERNS: dict[str, tuple[str | None, str | None]] = {
    "fact_year": (f"(e)-[:{Rel.HAS_FACT}]->(f{{i}}:{F})",
                  "f{i}.key = $k{i} AND f{i}.year >= $lo{i} AND f{i}.year < $hi{i}"),
    "fact_number": (f"(e)-[:{Rel.HAS_FACT}]->(f{{i}}:{F})",
                    "f{i}.key = $k{i} AND f{i}.num >= $lo{i} AND f{i}.num < $hi{i}"),
    "fact_months": (f"(e)-[:{Rel.HAS_FACT}]->(f{{i}}:{F})",
                    "f{i}.key = $k{i} AND f{i}.month IN $m{i}"),
    "title_initial": (None, "e.title STARTS WITH $x{i}"),
    "category": (f"(e)-[:{Rel.IN_CATEGORY}]->(:{C} {{{{name: $x{{i}}}}}})", None),
    "links_to_named": (f"(e)-[:{Rel.LINKS_TO}]->(:{E} {{{{title: $x{{i}}}}}})", None),
    "linked_from_named": (f"(:{E} {{{{title: $x{{i}}}}}})-[:{Rel.LINKS_TO}]->(e)", None),
    "fact_named": (f"(e)-[:{Rel.FACT} {{{{key: $k{{i}}}}}}]->(:{E} {{{{title: $x{{i}}}}}})",
                   None),
}
_PARAMS = {
    "fact_year": {"key": "k", "lo": "lo", "hi": "hi"},
    "fact_number": {"key": "k", "lo": "lo", "hi": "hi"},
    "fact_months": {"key": "k", "months": "m"},
    "title_initial": {"letter": "x"},
    "category": {"name": "x"},
    "links_to_named": {"title": "x"},
    "linked_from_named": {"title": "x"},
    "fact_named": {"key": "k", "title": "x"},
}
# Anchored patterns (a named node) first, so the engine starts from an index lookup.
_ORDER = {"relation": 0, "fact_named": 0, "links_to_named": 1, "linked_from_named": 1,
          "category": 2, "fact_year": 3, "fact_number": 3, "fact_months": 3,
          "title_initial": 4}


def _relation_pattern(p: Predicate, i: int) -> str:
    rel, direction = p.get("rel"), p.get("direction")
    if rel not in (Rel.FACT, Rel.LINKS_TO) or direction not in ("out", "in"):
        raise GraphError(f"unknown relation {rel}/{direction}")
    props = f" {{key: $k{i}}}" if rel == Rel.FACT else ""
    other = f"(:{E} {{title: $x{i}}})"
    if direction == "out":  # parent -> child
        return f"(e)-[:{rel}{props}]->{other}"
    return f"{other}-[:{rel}{props}]->(e)"


def candidates_query(preds: list[Predicate], *, count: bool = True) -> tuple[str, dict[str, Any]]:
    """A query over entities ``e`` that satisfy every predicate.

    With ``count`` it returns ``n``: how many distinct entities match, counting at most
    ``$cap`` (pass the cap as a parameter). Otherwise it returns up to ``$cap`` distinct
    ``title`` values, sorted.
    """
    params: dict[str, Any] = {}
    # One MATCH clause per predicate: within a single MATCH, Cypher would force two
    # patterns onto different relationships, so two constraints on one fact (its
    # year and its month, say) could never both hold.
    clauses: list[tuple[str, list[str]]] = []
    head_where: list[str] = ["e.disambiguation = false"]
    ordered = sorted(enumerate(preds), key=lambda ip: (_ORDER.get(ip[1].kind, 9), ip[0]))
    for i, p in ordered:
        if p.kind == "relation":
            clauses.append((_relation_pattern(p, i), []))
            if p.get("rel") == Rel.FACT:
                params[f"k{i}"] = p.get("key")
            params[f"x{i}"] = p.get("title")
            continue
        if p.kind not in _PATTERNS:
            raise GraphError(f"unknown constraint kind {p.kind!r}")
        pattern, where = _PATTERNS[p.kind]
        if pattern:
            clauses.append((pattern.format(i=i), [where.format(i=i)] if where else []))
        elif where:
            head_where.append(where.format(i=i))
        for name, short in _PARAMS[p.kind].items():
            params[f"{short}{i}"] = p.get(name)
    if not clauses:
        clauses.append((f"(e:{E})", []))
    else:
        first, w = clauses[0]
        clauses[0] = (first.replace("(e)", f"(e:{E})", 1), w)
    clauses[0][1].extend(head_where)
    lines = []
    for pattern, where in clauses:
        lines.append(f"MATCH {pattern}" + (f" WHERE {' AND '.join(where)}" if where else ""))
    body = "\n".join(lines)
    if count:
        return body + "\nWITH DISTINCT e LIMIT $cap\nRETURN count(e) AS n", params
    return body + "\nWITH DISTINCT e LIMIT $cap\nRETURN e.title AS title ORDER BY title", params


def example_queries() -> dict[str, str]:
    """One query per predicate kind (for the Neo4j syntax check)."""
    samples = {
        "fact_year": {"key": "k", "lo": 1800, "hi": 1810},
        "fact_number": {"key": "k", "lo": 1.0, "hi": 10.0},
        "fact_months": {"key": "k", "months": [3, 4, 5]},
        "title_initial": {"letter": "A"},
        "category": {"name": "c"},
        "links_to_named": {"title": "t"},
        "linked_from_named": {"title": "t"},
        "fact_named": {"key": "k", "title": "t"},
    }
    preds = [Predicate.of(k, v) for k, v in samples.items()]
    preds += [Predicate.of("relation", {"rel": r, "direction": d, "key": "k", "title": "t"})
              for r in (Rel.FACT, Rel.LINKS_TO) for d in ("out", "in")]
    out = {}
    for i, p in enumerate(preds):
        out[f"candidates_{p.kind}_{i}"] = candidates_query([p])[0]
    out["candidates_all_count"] = candidates_query(preds)[0]
    out["candidates_all_titles"] = candidates_query(preds, count=False)[0]
    return out
