"""An independent solver: from a tree's constraints and relations alone (no entity
ids), resolve every entity vertex bottom-up against the graph. An accepted tree must
lead it to exactly the answer; the result is stored with the tree.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from graph.backend import GraphBackend
from graph.constraints import Predicate, candidates_each


def solve(backend: GraphBackend, public_tree: dict[str, Any],
          sizes: Callable[[Predicate], int | None] | None = None) -> dict[str, Any]:
    """Resolve ``public_tree`` (Tree.public()); return the answer and each step.
    ``sizes``: how many entities a predicate matches alone, where known (the graph's
    summary): only the order in which each query walks, never its answer."""
    verts = {v["id"]: v for v in public_tree["vertices"]}
    children: dict[int, list[dict[str, Any]]] = {i: [] for i in verts}
    depth: dict[int, int] = {}
    for v in public_tree["vertices"]:
        if v["parent"] is not None:
            children[v["parent"]].append(v)
        depth[v["id"]] = 0 if v["parent"] is None else depth[v["parent"]] + 1
    order = sorted((v for v in verts.values() if v["kind"] == "entity"),
                   key=lambda v: (-depth[v["id"]], v["id"]))
    resolved: dict[int, str] = {}
    steps = []
    # A level at a time, deepest first, in one query: a vertex needs only its children,
    # which are deeper.
    for _, level in itertools.groupby(order, key=lambda v: depth[v["id"]]):
        level = list(level)
        pred_sets = []
        for v in level:
            preds = []
            for c in children[v["id"]]:
                if c["kind"] == "constraint":
                    preds.append(Predicate.of(c["constraint"]["kind"],
                                              c["constraint"]["params"]))
                else:
                    rel = c["relation"]
                    preds.append(Predicate.of("relation", {
                        "rel": rel["rel"], "direction": rel["direction"],
                        "key": rel["key"] or "", "title": resolved[c["id"]]}))
            pred_sets.append(preds)
        q, params = candidates_each(pred_sets, sizes=sizes)
        row = backend.read(q, {**params, "cap": 3})[0]
        for j, v in enumerate(level):
            found = sorted(row[f"t{j}"])
            steps.append({"vertex": v["id"], "candidates": found})
            if len(found) != 1:
                return {"answer": None, "resolved": len(resolved), "steps": steps,
                        "reason": f"vertex {v['id']} has {len(found)} candidates"}
            resolved[v["id"]] = found[0]
    return {"answer": resolved.get(0), "resolved": len(resolved), "steps": steps}
