"""Cypher for research trees: a blurred constraint or a relation becomes a pattern.

A vertex of a research tree is checked by counting the entities that satisfy all of
its constraints and are related, as the tree says, to each of its (already resolved)
entity children. :func:`candidates_query` builds that query from predicate specs;
the patterns are fixed text chosen by kind, and every value is a ``$parameter``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from graph.buckets import LEVELS
from graph.errors import GraphError
from graph.model import Label, Rel

E, F, C = Label.ENTITY, Label.FACT, Label.CATEGORY


class Kind(StrEnum):
    """What a predicate says about a candidate ``e`` (its parameters alongside)."""

    FACT_YEAR = "fact_year"                  # key, lo, hi, level, bucket: lo <= year < hi
    FACT_NUMBER = "fact_number"              # key, lo, hi, level, bucket: lo <= num < hi
    FACT_MONTHS = "fact_months"              # key, months, level, bucket: month in months
    TITLE_INITIAL = "title_initial"          # letter: the title's first character
    CATEGORY = "category"                    # name
    LINKS_TO_NAMED = "links_to_named"        # title: (e)-[:LINKS_TO]->(named)
    LINKED_FROM_NAMED = "linked_from_named"  # title: (named)-[:LINKS_TO]->(e)
    FACT_NAMED = "fact_named"                # key, title: (e)-[:FACT {key}]->(named)
    RELATION = "relation"                    # rel, direction, key, title: to a resolved child


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


# Each predicate is a MATCH clause. Every named node (an entity by title, a category
# by name) is bound first, by its own index lookup, and the patterns then run between
# bound nodes. Measured on the 1M synthetic graph: ``MATCH (e)-[:LINKS_TO]->(a {title:
# $x})`` after ``e`` was bound took 60-340 ms (FalkorDB planned it from ``a`` and
# expanded into every ``e``), where the same pattern with ``a`` bound beforehand took
# 0.3 ms; and starting at an unbound, filtered ``e`` scans every entity. The first
# predicate starts the walk from its anchor; later ones start from the bound ``e``.
#   kind: (anchor node or None, first-clause pattern, later-clause pattern, where)
# Blurred facts are equalities on precomputed, indexed buckets (graph.buckets); {p} is
# the bucket property, from the level (checked against graph.buckets.LEVELS). Facts
# are many nodes per bucket, so they have no anchor: a later fact clause filters the
# facts of the bound ``e``.
_ENTITY_ANCHOR = f"(a{{i}}:{E} {{{{title: $x{{i}}}}}})"
_CLAUSES: dict[str, tuple[str | None, str, str, str | None]] = {
    Kind.FACT_YEAR: (None, f"(f{{i}}:{F} {{{{{{p}}: $b{{i}}}}}})<-[:{Rel.HAS_FACT}]-(e)",
                     f"(e)-[:{Rel.HAS_FACT}]->(f{{i}})", "f{i}.{p} = $b{i}"),
    # The first character in upper case, as graph.summary counts it (a reader takes
    # "a name starting with I" to include "iPod"). Not a range up to the next
    # code point: FalkorDB orders strings by collation, where "[" (after "Z") sorts
    # before the letters, so "Z" <= title < "[" matched nothing.
    Kind.TITLE_INITIAL: (None, f"(e:{E})", "", "toUpper(left(e.title, 1)) = $x{i}"),
    Kind.CATEGORY: (f"(a{{i}}:{C} {{{{name: $x{{i}}}}}})", f"(a{{i}})<-[:{Rel.IN_CATEGORY}]-(e)",
                    f"(e)-[:{Rel.IN_CATEGORY}]->(a{{i}})", None),
    Kind.LINKS_TO_NAMED: (_ENTITY_ANCHOR, f"(a{{i}})<-[:{Rel.LINKS_TO}]-(e)",
                          f"(e)-[:{Rel.LINKS_TO}]->(a{{i}})", None),
    Kind.LINKED_FROM_NAMED: (_ENTITY_ANCHOR, f"(a{{i}})-[:{Rel.LINKS_TO}]->(e)",
                             f"(e)<-[:{Rel.LINKS_TO}]-(a{{i}})", None),
    Kind.FACT_NAMED: (_ENTITY_ANCHOR, f"(a{{i}})<-[:{Rel.FACT} {{{{key: $k{{i}}}}}}]-(e)",
                      f"(e)-[:{Rel.FACT} {{{{key: $k{{i}}}}}}]->(a{{i}})", None),
}
_CLAUSES[Kind.FACT_NUMBER] = _CLAUSES[Kind.FACT_MONTHS] = _CLAUSES[Kind.FACT_YEAR]
_BUCKETED = frozenset({Kind.FACT_YEAR, Kind.FACT_NUMBER, Kind.FACT_MONTHS})
_PARAMS = {
    Kind.FACT_YEAR: {"bucket": "b"},
    Kind.FACT_NUMBER: {"bucket": "b"},
    Kind.FACT_MONTHS: {"bucket": "b"},
    Kind.TITLE_INITIAL: {"letter": "x"},
    Kind.CATEGORY: {"name": "x"},
    Kind.LINKS_TO_NAMED: {"title": "x"},
    Kind.LINKED_FROM_NAMED: {"title": "x"},
    Kind.FACT_NAMED: {"key": "k", "title": "x"},
}
# Anchored patterns (a named node) first, so the engine starts from an index lookup.
_ORDER = {Kind.RELATION: 0, Kind.FACT_NAMED: 0, Kind.LINKS_TO_NAMED: 1,
          Kind.LINKED_FROM_NAMED: 1, Kind.CATEGORY: 2, Kind.FACT_YEAR: 3, Kind.FACT_NUMBER: 3,
          Kind.FACT_MONTHS: 3, Kind.TITLE_INITIAL: 4}


def _relation_clause(p: Predicate, i: int, first: bool) -> str:
    """A relation to the resolved child ``a{i}`` (bound before)."""
    rel, direction = p.get("rel"), p.get("direction")
    if rel not in (Rel.FACT, Rel.LINKS_TO) or direction not in ("out", "in"):
        raise GraphError(f"unknown relation {rel}/{direction}")
    props = f" {{key: $k{i}}}" if rel == Rel.FACT else ""
    anchor = f"(a{i})"
    if direction == "out":  # parent e -> resolved child
        return (f"{anchor}<-[:{rel}{props}]-(e)" if first
                else f"(e)-[:{rel}{props}]->{anchor}")
    return f"{anchor}-[:{rel}{props}]->(e)" if first else f"(e)<-[:{rel}{props}]-{anchor}"


def candidates_query(preds: list[Predicate], *, count: bool = True, keep: bool = False,
                     sizes: Callable[[Predicate], int | None] | None = None
                     ) -> tuple[str, dict[str, Any]]:
    """A query over entities ``e`` that satisfy every predicate.

    With ``count`` it returns ``n``: how many distinct entities match, counting at most
    ``$cap`` (pass the cap as a parameter). Otherwise it returns up to ``$cap`` distinct
    ``title`` values, sorted. With ``keep`` (``count`` aside), both: ``n`` and
    ``titles``, the first ``$keep`` of the matches (unordered).

    The named nodes of all predicates are looked up first (a missing one matches
    nothing); then one MATCH clause per predicate: within a single MATCH, Cypher would
    force two patterns onto different relationships, so two constraints on one fact
    (its year and its month, say) could never both hold.

    ``sizes`` gives how many entities a predicate matches alone where that is known
    (graph.summary keeps the large ones; None means small): the query then starts from
    the smallest set, so an intersection reads the fewest rows. Without it, anchored
    patterns come first. The order never changes the answer.
    """
    body, params = _matches(preds, sizes)
    if keep:
        return (body + "\nWITH e LIMIT $cap\nWITH collect(e) AS es\n"
                "RETURN size(es) AS n, [x IN es[..$keep] | x.title] AS titles", params)
    if count:
        return body + "\nWITH e LIMIT $cap\nRETURN count(e) AS n", params
    return body + "\nWITH e LIMIT $cap\nRETURN e.title AS title ORDER BY title", params


_PARAM = re.compile(r"\$(\w+)")


def candidates_each(pred_sets: list[list[Predicate]], *,
                    sizes: Callable[[Predicate], int | None] | None = None
                    ) -> tuple[str, dict[str, Any]]:
    """One query for several candidates_query(count=False) at once: a subquery each,
    its parameters renamed apart (``$cap`` is shared), returning one row with a list
    ``t{j}`` of up to ``$cap`` matching titles (unordered) for each set ``j``."""
    if not pred_sets:
        raise GraphError("candidates_each needs at least one set of predicates")
    parts, params = [], {}
    for j, preds in enumerate(pred_sets):
        body, own = _matches(preds, sizes)
        body = _PARAM.sub(lambda m, j=j: f"$s{j}_{m.group(1)}", body)
        parts.append(f"CALL {{\n{body}\nWITH e LIMIT $cap\nRETURN collect(e.title) AS t{j}\n}}")
        params.update({f"s{j}_{name}": v for name, v in own.items()})
    returns = ", ".join(f"t{j}" for j in range(len(pred_sets)))
    return "\n".join([*parts, f"RETURN {returns}"]), params


def members_query(tests: list[Predicate]) -> tuple[str, dict[str, Any]]:
    """Which of the entities ``$titles`` (pass them as a parameter) meet which of
    ``tests`` (constraints; relations have no test here): rows ``title``, ``i`` (the
    test's place in ``tests``) for each test met, in one query. A branch per kind (and
    blur level), its tests' values in a list parameter of rows: the text depends only
    on which kinds there are (a new text is planned again: at 1M that was 1.4 ms of a
    2.3 ms query)."""
    groups: dict[str, tuple[Predicate, list[dict[str, Any]]]] = {}
    for i, p in enumerate(tests):
        if p.kind not in _CLAUSES:
            raise GraphError(f"no membership test for predicates of kind {p.kind!r}")
        row = {"i": i, **{short: p.get(name) for name, short in _PARAMS[p.kind].items()}}
        groups.setdefault(_bucket_prop(p) or str(p.kind), (p, []))[1].append(row)
    if not groups:
        raise GraphError("members_query needs at least one test")
    query = "\nUNION ALL\n".join(_member_branch(name, groups[name][0])
                                  for name in sorted(groups))
    return query, {name: rows for name, (_, rows) in groups.items()}


def _member_branch(name: str, p: Predicate) -> str:
    """members_query's branch for the kind of ``p``: candidates_query's later clause
    (``_CLAUSES``) from the bound ``e``, its parameters read from a row ``r`` of
    ``$name``. The named node and ``e`` are both bound before the pattern, a WITH
    between: without it FalkorDB walked every in-link of the named node (10^5 for a
    hub) and filtered them by title."""
    node, _, later, where = _CLAUSES[p.kind]
    bucket = _bucket_prop(p)
    cond = where.replace("{p}", bucket).format(i=0) if where else None
    lines = [f"UNWIND ${name} AS r"]
    if node is not None:
        lines.append(f"MATCH {node.format(i=0)}")
    lines += ["UNWIND $titles AS t", f"MATCH (e:{E} {{title: t}})"]
    carried = "WITH r, t, e" + (", a0" if node is not None else "")
    if later:
        pattern = later.replace("{p}", bucket).format(i=0)
        lines += [carried, f"MATCH {pattern}" + (f" WHERE {cond}" if cond else "")]
    else:  # a title's initial: a condition on e itself
        lines.append(f"{carried} WHERE {cond}")
    lines.append("RETURN DISTINCT t AS title, r.i AS i")
    return _ROW_PARAM.sub(r"r.\1", "\n".join(lines))


def _anchor(i: int, p: Predicate) -> str | None:
    """The named node of predicate ``i`` (bound by its index before any walk), if any."""
    if p.kind == Kind.RELATION:
        return _ENTITY_ANCHOR.format(i=i)
    if p.kind not in _CLAUSES:
        raise GraphError(f"unknown constraint kind {p.kind!r}")
    node = _CLAUSES[p.kind][0]
    return None if node is None else node.format(i=i)


def _bucket_prop(p: Predicate) -> str:
    """The bucket property of a blurred fact ("bk_decade"), "" for other kinds."""
    if p.kind not in _BUCKETED:
        return ""
    level = p.get("level")
    if level not in LEVELS:
        raise GraphError(f"unknown blur level {level!r}")
    return f"bk_{level}"


def _matches(preds: list[Predicate], sizes: Callable[[Predicate], int | None] | None
             ) -> tuple[str, dict[str, Any]]:
    """candidates_query's clauses up to (and with) its distinct candidates ``e``."""
    params: dict[str, Any] = {}
    lines: list[str] = []

    def rank(ip: tuple[int, Predicate]) -> tuple[int, int, int]:
        i, p = ip
        if p.kind == Kind.TITLE_INITIAL:  # as a first clause it scans every entity
            return (2, 0, i)
        n = sizes(p) if sizes is not None else None
        return (0 if n is None else 1, n or _ORDER.get(p.kind, 9), i)

    ordered = sorted(enumerate(preds), key=rank)
    named = {i for i, p in ordered if _anchor(i, p) is not None}
    heads = [f"MATCH {_anchor(i, p)}" for i, p in enumerate(preds) if i in named]  # first
    for n, (i, p) in enumerate(ordered):
        first = n == 0
        later_named = [f"a{j}" for j, _ in ordered[n + 1:] if j in named]
        if p.kind == Kind.RELATION:
            lines.append(f"MATCH {_relation_clause(p, i, first)}")
            if p.get("rel") == Rel.FACT:
                params[f"k{i}"] = p.get("key")
            params[f"x{i}"] = p.get("title")
        else:
            _, head, later, where = _CLAUSES[p.kind]
            bucket = _bucket_prop(p)
            if bucket and first:
                where = None  # the bucket is in the pattern, found by its index
            cond = f" WHERE {where.replace('{p}', bucket).format(i=i)}" if where else ""
            if p.kind == Kind.TITLE_INITIAL and not first:
                lines.append(f"WITH {', '.join(['e', *later_named])}{cond}")
            else:
                pattern = (head if first else later).replace("{p}", bucket)
                lines.append(f"MATCH {pattern.format(i=i)}{cond}")
            for name, short in _PARAMS[p.kind].items():
                params[f"{short}{i}"] = p.get(name)
        lines.append(f"WITH DISTINCT {', '.join(['e', *later_named])}")
    if not lines:
        lines = [f"MATCH (e:{E})", "WITH DISTINCT e"]
    lines[-1] = f"WITH DISTINCT e WHERE e:{E} AND e.disambiguation = false"
    return "\n".join(heads + lines), params


# A first clause's parameters ($x0, $k0, $b0), read from the row instead (r.x, ...).
_ROW_PARAM = re.compile(r"\$([a-z])0\b")


def alone_queries(preds: list[Predicate]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Queries that count each of ``preds`` alone, several predicates per query (one
    query per kind, and per blur level for facts), with the ``rows`` parameter of each.
    Each is candidates_query's first clause for its kind (``_CLAUSES``) with the
    predicate's parameters read from a row of ``$rows``, and returns rows ``i`` (the
    predicate's place in ``preds``), ``n`` (how many distinct entities it matches,
    disambiguation pages left out, uncapped); a predicate without a row matches none.
    Kinds with no such form (a title's initial, a relation) are left out: count
    those with candidates_query."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for i, p in enumerate(preds):
        if p.kind not in _CLAUSES or p.kind == Kind.TITLE_INITIAL:
            continue
        node, head, _, _ = _CLAUSES[p.kind]
        bucket = _bucket_prop(p)
        clauses = [f"MATCH {c.replace('{p}', bucket).format(i=0)}" for c in (node, head) if c]
        pattern = _ROW_PARAM.sub(r"r.\1", "\n".join(clauses))
        row = {"i": i, **{short: p.get(name) for name, short in _PARAMS[p.kind].items()}}
        groups.setdefault(pattern, []).append(row)
    return [(f"UNWIND $rows AS r\n{pattern}\n"
             f"WITH DISTINCT r.i AS i, e WHERE e:{E} AND e.disambiguation = false\n"
             "RETURN i, count(e) AS n", rows) for pattern, rows in groups.items()]


def example_queries() -> dict[str, str]:
    """One query per predicate kind (for the Neo4j syntax check)."""
    samples = {
        Kind.FACT_YEAR: {"key": "k", "lo": 1800, "hi": 1810, "level": "decade",
                         "bucket": "k|1800"},
        Kind.FACT_NUMBER: {"key": "k", "lo": 1.0, "hi": 10.0, "level": "mag", "bucket": "k|1"},
        Kind.FACT_MONTHS: {"key": "k", "months": [3, 4, 5], "level": "season",
                           "bucket": "k|0"},
        Kind.TITLE_INITIAL: {"letter": "A"},
        Kind.CATEGORY: {"name": "c"},
        Kind.LINKS_TO_NAMED: {"title": "t"},
        Kind.LINKED_FROM_NAMED: {"title": "t"},
        Kind.FACT_NAMED: {"key": "k", "title": "t"},
    }
    preds = [Predicate.of(k, v) for k, v in samples.items()]
    preds += [Predicate.of(Kind.RELATION, {"rel": r, "direction": d, "key": "k", "title": "t"})
              for r in (Rel.FACT, Rel.LINKS_TO) for d in ("out", "in")]
    out = {}
    for i, p in enumerate(preds):
        out[f"candidates_{p.kind}_{i}"] = candidates_query([p])[0]
    out["candidates_all_count"] = candidates_query(preds)[0]
    out["candidates_all_titles"] = candidates_query(preds, count=False)[0]
    out["candidates_each"] = candidates_each([preds[:3], preds[3:], []])[0]
    out["members"] = members_query(preds[:8])[0]
    out["candidates_kept"] = candidates_query(preds[:3], keep=True)[0]
    for n, (q, _) in enumerate(alone_queries(preds)):
        out[f"alone_{n}"] = q
    return out
