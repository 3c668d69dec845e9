"""Acceptance, recomputed from scratch by queries (DESIGN.md, "HCSP semantics"):

1. every entity vertex, given its children, matches exactly one entity: the intended one;
2. no single constraint alone matches fewer than K entities;
3. the root with only its literal constraints (entity children unresolved) matches
   more than one entity, so the hierarchy is needed;
4. the question names no hidden entity (no title or alias of an entity vertex).
"""

from __future__ import annotations

import re
from typing import Any

from graph import store
from graph.backend import GraphBackend
from synth.counting import Counts, constraint_pred, relation_pred
from synth.model import Tree
from synth.names import _QUOTED, shares_a_stem, too_close, without_qualifier


def hidden_names(backend: GraphBackend, tree: Tree) -> dict[str, list[str]]:
    """Each hidden entity's title and aliases (and the title without a
    parenthesized qualifier: "Paris" for "Paris (Texas)")."""
    titles = [v.entity for v in tree.entity_vertices() if v.entity]
    names: dict[str, list[str]] = {t: [t] for t in titles}
    for title, aliases in store.aliases_of(backend, titles).items():
        names[title].extend(aliases)
    for t, ns in names.items():
        bare = without_qualifier(t)
        if bare != t:
            ns.append(bare)
    return names


def leaks(text: str, names: dict[str, list[str]]) -> list[str]:
    """Names of hidden entities that appear in ``text`` (as whole words, any case), or
    that a quoted name in it comes too close to."""
    found = []
    low = text.lower()
    quoted = _QUOTED.findall(text)
    for ns in names.values():
        for n in ns:
            n_low = n.lower().strip()
            if len(n_low) < 3:
                continue
            named = re.search(r"(?<!\w)" + re.escape(n_low) + r"(?!\w)", low)
            if named or any(too_close(q, n) for q in quoted) or shares_a_stem(text, n):
                found.append(n)
    return sorted(set(found))


def check_tree(backend: GraphBackend, tree: Tree, k: int, cap: int = 10_000,
               counts: Counts | None = None, names: dict[str, list[str]] | None = None
               ) -> dict[str, Any]:
    """Recompute every acceptance check by queries; record the counts.

    ``counts`` may be shared by the checks of one run (never with the sampler): the same
    predicates give the same counts on an unchanging graph, so a constraint's count is
    queried once per run rather than once per tree (the "at least K" reads of checks 2
    and 3 are not kept: they read K rows). Each proof is a query; a graph
    summary in ``counts`` only orders its patterns and fills in recorded counts.

    Check 1 reads at most 2 matches of each vertex (exactly one, the intended entity, or
    not), every vertex in one query, and counts them only where it fails, for the
    record; check 2 counts the constraints that match few (fewer than the summary's
    threshold) exactly, several in one query, and reads at most K matches of each
    other one; check 3 reads at most 2.
    ``names``: the hidden entities' names (hidden_names) where the caller has read
    them for this tree already."""
    counts = counts or Counts(backend, cap)
    failed: list[str] = []
    matches: dict[int, int] = {}
    alone: dict[int, int] = {}
    vertices, pred_sets = tree.bottom_up(), []
    for v in vertices:
        kids = tree.children(v.id)
        preds = [constraint_pred(c.constraint) for c in kids if c.constraint is not None]
        preds += [relation_pred(c.relation, c.entity or "") for c in kids  # type: ignore[arg-type]
                  if c.kind == "entity"]
        pred_sets.append(preds)
    # Every vertex at once (one query): up to 2 matches each, one and only it.
    for v, preds, found in zip(vertices, pred_sets, counts.titles_each(pred_sets),
                               strict=True):
        the_one = found == [v.entity]
        matches[v.id] = 1 if the_one else counts.count(preds)
        if not the_one:
            failed.append(f"1:vertex {v.id} matches {matches[v.id]}")
    # Constraints the summary says are small are counted exactly, a query per kind for
    # all of them; the others' proof reads at most K matches each.
    counts.count_alone([constraint_pred(v.constraint) for v in tree.vertices
                        if v.constraint is not None])
    for v in tree.vertices:
        if v.constraint is not None:
            # The number recorded beside the proof is the sampler's count where it has
            # one (exact, up to the cap; often a stored count that reading would take
            # 10,000 rows to confirm).
            pred = constraint_pred(v.constraint)
            exact = counts.kept([pred])
            if not (exact >= k if exact is not None else counts.at_least([pred], k)):
                n = counts.count([pred])
                failed.append(f"2:constraint {v.id} alone matches {n} < {k}")
            alone[v.id] = (v.constraint.alone if v.constraint.alone is not None
                           else counts.known([pred]))
    root_literals = [constraint_pred(c.constraint) for c in tree.children(0)
                     if c.constraint is not None]
    if counts.at_least(root_literals, 2):
        root_only = counts.known(root_literals)
    else:
        root_only = counts.count(root_literals)
        failed.append(f"3:root literals alone match {root_only}")
    if tree.question:
        leaked = leaks(tree.question, names if names is not None else hidden_names(backend, tree))
    else:
        leaked = []
    if leaked:
        failed.append(f"4:question names {', '.join(leaked)}")
    return {"ok": not failed, "failed": failed, "k": k,
            "vertex_matches": {str(i): n for i, n in matches.items()},
            "constraint_alone": {str(i): n for i, n in alone.items()},
            "root_literals_only": root_only, "leaks": leaked}
