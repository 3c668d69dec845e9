"""The clues of a research tree: what each says, the graph predicate the proof
counts for it, and the evidence a reader can check it against.

A clue is a constraint vertex (about its parent entity) or a relation (between an
entity vertex and its parent). Its words may be narrower than its predicate (a claim
from a link's sentence says more than "links to"), never broader; the export stores
both, so anyone can see what was proven and what is said.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from graph.constraints import Kind
from synth.model import Tree, Vertex

# What kind of statement each clue kind is. "world": a fact about the world taken
# from an infobox value, a category's meaning or a sentence; "name": about the
# spelling of a name (a last resort).
CLUE_SORT = {k: "name" if k is Kind.TITLE_INITIAL else "world" for k in Kind}


@dataclass(slots=True)
class Clue:
    """One clue, as the writer and the export see it."""

    id: str
    vertex: int
    about: int
    """The entity vertex the clue describes (the parent of a constraint or relation)."""
    kind: str
    words: str
    predicate: dict[str, Any]
    evidence: dict[str, Any] = field(default_factory=dict)
    markers: list[str] = field(default_factory=list)
    sort: str = "world"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def relation_ends(tree: Tree, v: Vertex) -> tuple[str | None, str | None]:
    """(the page whose infobox or sentence holds the relation, the entity it names)."""
    assert v.relation is not None
    parent = next(p for p in tree.vertices if p.id == v.parent)
    return ((parent.entity, v.entity) if v.relation.direction == "out"
            else (v.entity, parent.entity))


def _relation_words(tree: Tree, v: Vertex) -> str:
    """The relation as words: about the parent ("was born in the city"), or a sentence
    with the child as subject ("the city hosted the grave of this explorer")."""
    rel = v.relation
    assert rel is not None
    phrase = rel.phrase or "is related to {}"
    parent = next(p for p in tree.vertices if p.id == v.parent)
    return (phrase.replace("{}", f"the {v.noun or 'entity'}")
            .replace("{c}", f"the {v.noun or 'entity'}")
            .replace("{p}", f"this {parent.noun or 'entity'}"))


def _constraint_words(tree: Tree, v: Vertex) -> str:
    """A constraint's words; one said as a sentence about its entity ("Kochi hosted the
    grave of {p}") names it "this <noun>"."""
    assert v.constraint is not None
    parent = next(p for p in tree.vertices if p.id == v.parent)
    return v.constraint.text.replace("{p}", f"this {parent.noun or 'entity'}")


def tree_clues(tree: Tree) -> list[Clue]:
    """Every clue of ``tree``, in vertex order."""
    from synth.render import constraint_markers_of

    out = []
    for v in sorted(tree.vertices, key=lambda v: v.id):
        if v.parent is None:
            continue
        if v.constraint is not None:
            c = v.constraint
            out.append(Clue(f"c{v.id}", v.id, v.parent, c.kind, _constraint_words(tree, v),
                            {"kind": c.kind, "params": c.params}, dict(c.provenance),
                            constraint_markers_of(c), CLUE_SORT.get(c.kind, "world")))
        elif v.relation is not None:
            rel = v.relation
            src, dst = relation_ends(tree, v)
            evidence: dict[str, Any] = {"page": src, "target": dst}
            if rel.rel == "FACT":
                evidence.update(key=rel.key, value=rel.text or dst)
            else:
                evidence.update(sentence=rel.sentence, claim=rel.claim)
                if rel.stated:
                    evidence["stated"] = rel.stated  # the writer says it from the sentence
            out.append(Clue(f"c{v.id}", v.id, v.parent, "relation", _relation_words(tree, v),
                            {"kind": "relation", "rel": rel.rel, "direction": rel.direction,
                             "key": rel.key}, evidence, [], "world"))
    return out


def world_share(tree: Tree) -> float:
    """Share of the tree's clues that are statements about the world."""
    clues = tree_clues(tree)
    return sum(c.sort == "world" for c in clues) / len(clues) if clues else 1.0
