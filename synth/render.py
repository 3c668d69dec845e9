"""Render a research tree as a question: deterministic templates offline, an optional
LLM rewrite online (synth.llm), checked again for leaks and lost constraints.

Every hidden entity is described, never named: "Which place is the birth place of a
person (who has a birth date in the 1860s and whose name ...)?"
"""

from __future__ import annotations

from synth.blur import fmt_number, humanize_key
from synth.model import Tree, Vertex


def _join(parts: list[str]) -> str:
    if not parts:
        return ""
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _relation_clause(child: Vertex, described: str) -> str:
    rel = child.relation
    assert rel is not None
    key = humanize_key(rel.key or "")
    if rel.rel == "FACT" and rel.direction == "out":
        return f"has as its {key} {described}"
    if rel.rel == "FACT":
        return f"is the {key} of {described}"
    if rel.direction == "out":
        return f"has a Wikipedia article that links to {described}"
    return f"is linked from the Wikipedia article about {described}"


def describe(tree: Tree, v: Vertex) -> str:
    """The clauses that pin down vertex ``v``, children first described recursively."""
    clauses = []
    for c in tree.children(v.id):
        if c.constraint is not None:
            clauses.append(c.constraint.text)
    for c in tree.children(v.id):
        if c.kind == "entity":
            inner = describe(tree, c)
            clauses.append(_relation_clause(c, f"a {c.noun or 'subject'} (that {inner})"))
    return _join(clauses)


def template_question(tree: Tree) -> str:
    """The question for ``tree`` from fixed templates (no model, no randomness)."""
    root = tree.root
    return f"Which {root.noun or 'subject'} {describe(tree, root)}?"


def constraint_markers(tree: Tree) -> list[str]:
    """Strings every faithful rendering must keep (years, bounds, letters, names)."""
    out = []
    for v in tree.vertices:
        c = v.constraint
        if c is None:
            continue
        p = c.params
        if c.kind == "fact_year":
            out.append(str(p["lo"]))
        elif c.kind == "fact_number":
            out.append(fmt_number(p["lo"]))
        elif c.kind == "title_initial":
            out.append(p["letter"])
        elif c.kind == "category":
            out.append(p["name"])
        elif c.kind in ("links_to_named", "linked_from_named", "fact_named"):
            out.append(p["title"])
    return out


def missing_markers(text: str, tree: Tree) -> list[str]:
    """Constraint markers a rewritten question lost."""
    return [m for m in constraint_markers(tree) if m not in text]
