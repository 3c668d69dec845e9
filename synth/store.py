"""Accepted trees in the graph (so Neo4j Browser shows them over the knowledge graph)
and as JSONL that ``datasets.load_dataset("json", data_files=...)`` reads."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from graph import queries as Q
from graph.backend import GraphBackend
from synth.clues import relation_ends, tree_clues
from synth.errors import SynthError
from synth.model import Tree


def save_tree(backend: GraphBackend, tree: Tree) -> None:
    """Store (or re-store: MERGE, idempotent) a tree and its vertices."""
    closed = tree.scores.get("closed_book_correct")
    props = {
        "difficulty": None if closed is None else (0.0 if closed else 1.0),
        "seed": tree.seed, "n_vertices": tree.n_vertices, "shape": tree.shape,
        "k": tree.config.get("k"), "question": tree.question, "answer": tree.answer,
        "renderer": tree.renderer,
        "graph_fingerprint": tree.graph_fingerprint, "solver_agreed": bool(
            tree.solver.get("agreed")), "json": tree.to_json()}
    backend.write(Q.UPSERT_TREE, {"id": tree.id, "props": props, "created_at": time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    rows = []
    for v in tree.vertices:
        text = (v.constraint.text if v.constraint is not None
                else f"{v.noun or 'entity'} (hidden)" if v.parent is not None
                else f"answer ({v.noun})")
        rows.append({"id": f"{tree.id}:{v.id}", "idx": v.id, "kind": v.kind, "text": text})
    backend.write(Q.UPSERT_TREE_VERTICES, {"tree": tree.id, "rows": rows})
    backend.write(Q.LINK_TREE_PARENTS, {"rows": [
        {"id": f"{tree.id}:{v.id}", "parent": f"{tree.id}:{v.parent}"}
        for v in tree.vertices if v.parent is not None]})
    backend.write(Q.LINK_TREE_ENTITIES, {"rows": [
        {"id": f"{tree.id}:{v.id}", "title": v.entity}
        for v in tree.vertices if v.kind == "entity"]})


def save_trees(backend: GraphBackend, trees: Iterable[Tree]) -> int:
    """Store several trees (the graph's indexes come from its migrations, applied by
    ingest, the synth CLI and the API). Returns how many."""
    n = 0
    for t in trees:
        save_tree(backend, t)
        n += 1
    return n


def load_tree(backend: GraphBackend, tree_id: str) -> Tree:
    """A stored tree by id; SynthError if there is none."""
    rows = backend.read(Q.TREE_BY_ID, {"id": tree_id})
    if not rows:
        raise SynthError(f"no research tree with id {tree_id!r} in this graph",
                         hint="list stored trees with `hcsp synth ... --store` output, or "
                         "check HCSP_GRAPH_URI")
    return Tree.from_dict(json.loads(rows[0]["json"]))


def iter_trees(backend: GraphBackend, page: int = 500) -> Iterator[Tree]:
    """Every stored tree, in id order."""
    after = ""
    while True:
        rows = backend.read(Q.TREES_PAGE, {"after": after, "limit": page})
        for r in rows:
            yield Tree.from_dict(json.loads(r["json"]))
        if len(rows) < page:
            return
        after = rows[-1]["id"]


def pool_page(backend: GraphBackend, *, after: str = "", limit: int = 50,
              n_vertices: int | None = None, shape: str | None = None,
              created_after: str | None = None, min_difficulty: float | None = None,
              max_difficulty: float | None = None, k: int | None = None) -> list[Tree]:
    """One page of stored trees, in id order, after the cursor ``after``; ``k``: only
    trees proven with that K."""
    rows = backend.read(Q.QUESTIONS_PAGE, {
        "after": after, "limit": limit, "n_vertices": n_vertices, "shape": shape, "k": k,
        "created_after": created_after, "min_difficulty": min_difficulty,
        "max_difficulty": max_difficulty})
    return [Tree.from_dict(json.loads(r["json"])) for r in rows]


def delete_tree(backend: GraphBackend, tree_id: str) -> bool:
    """Remove a stored tree and its vertices. True if there was one."""
    rows = backend.write(Q.DELETE_TREE, {"id": tree_id})
    return bool(rows and rows[0]["n"])


def export_record(tree: Tree) -> dict[str, Any]:
    """One JSONL record: question, answer, aliases, the tree with provenance, counts."""
    d = tree.to_dict()
    return {
        "id": tree.id, "question": tree.question, "answer": tree.answer,
        "aliases": tree.aliases, "n_vertices": tree.n_vertices, "shape": tree.shape,
        "seed": tree.seed, "graph_fingerprint": tree.graph_fingerprint,
        "renderer": tree.renderer, "checks": tree.checks, "solver": tree.solver,
        "scores": tree.scores, "config": tree.config, "tree": {"vertices": d["vertices"]},
        "evidence": evidence(tree), "scope": tree.scope,
        "clues": [c.to_dict() for c in tree_clues(tree)],
    }


def evidence(tree: Tree) -> list[dict[str, Any]]:
    """Where each claim comes from: a page and a sentence, or an infobox key and value."""
    out = []
    for v in tree.vertices:
        if v.relation is not None:
            src, dst = relation_ends(tree, v)
            out.append({"vertex": v.id, "page": src, "target": dst, "rel": v.relation.rel,
                        "key": v.relation.key, "sentence": v.relation.sentence,
                        "claim": v.relation.claim})
        elif v.constraint is not None:
            out.append({"vertex": v.id, **v.constraint.provenance})
    return out


def write_jsonl(trees: Iterable[Tree], path: Path) -> int:
    """Write trees as JSONL (one record a line, sorted keys). Returns how many."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for t in trees:
            fh.write(json.dumps(export_record(t), ensure_ascii=False, sort_keys=True) + "\n")
            n += 1
    return n
