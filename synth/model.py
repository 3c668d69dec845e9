"""Research trees: vertices, blurred constraints, relations, and their JSON form.

A tree has a root (the answer) and vertices. An entity vertex stands for an entity and
is tied to its parent by a relation found in the graph; a constraint vertex is a
blurred literal about its parent (a year turned into a decade, a number into a range,
a name into its initial, a category). ``n_vertices`` counts both kinds, root included.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from graph.constraints import Kind

# Constraint kinds (graph.constraints.Kind; each turns back into a query predicate).
FACT_YEAR = Kind.FACT_YEAR
FACT_NUMBER = Kind.FACT_NUMBER
FACT_MONTHS = Kind.FACT_MONTHS
TITLE_INITIAL = Kind.TITLE_INITIAL
CATEGORY = Kind.CATEGORY
LINKS_TO_NAMED = Kind.LINKS_TO_NAMED
LINKED_FROM_NAMED = Kind.LINKED_FROM_NAMED
FACT_NAMED = Kind.FACT_NAMED
CONSTRAINT_KINDS = tuple(k for k in Kind if k is not Kind.RELATION)


@dataclass(slots=True)
class Constraint:
    """A blurred literal: what it says, the predicate it stands for, where it came from."""

    kind: str
    params: dict[str, Any]
    text: str
    provenance: dict[str, Any] = field(default_factory=dict)
    alone: int | None = None  # how many entities this constraint matches on its own

    def key(self) -> str:
        """Identity of the predicate (two constraints with one key are the same)."""
        return f"{self.kind}:{json.dumps(self.params, sort_keys=True, ensure_ascii=False)}"


@dataclass(slots=True)
class Relation:
    """How an entity vertex is tied to its parent.

    ``rel`` is FACT (with ``key``) or LINKS_TO; ``direction`` is "out" when the edge goes
    from the parent to the child, "in" when it goes from the child to the parent.
    ``sentence`` is the evidence for a link.
    """

    rel: str
    direction: str
    key: str | None = None
    sentence: str | None = None
    text: str | None = None
    phrase: str | None = None
    """What the parent does or is, with ``{}`` for the child: "was born in {}"."""
    claim: str | None = None
    """For a link: the verb phrase its sentence states ("was born in")."""
    stated: str | None = None
    """"writer": a link whose sentence the patterns cannot read (synth.claims); the writer
    states the relation from its sentence, and a tree it cannot state it for is dropped
    (SynthConfig.writer_claims)."""


@dataclass(slots=True)
class Vertex:
    """One vertex of a research tree."""

    id: int
    parent: int | None
    kind: str  # "entity" | "constraint"
    entity: str | None = None  # the hidden entity's title (entity vertices)
    relation: Relation | None = None
    constraint: Constraint | None = None
    candidates: int | None = None  # entity vertices: matches given the children
    noun: str | None = None  # entity vertices: "person", "city", ... for rendering
    person: bool = False  # entity vertices: a person ("who"), else a thing ("that")


@dataclass(slots=True)
class Tree:
    """A research tree and what the checks found."""

    seed: int
    vertices: list[Vertex]
    shape: str = "deep"
    question: str = ""
    renderer: str = "template"
    checks: dict[str, Any] = field(default_factory=dict)
    solver: dict[str, Any] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    graph_fingerprint: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    id: str = ""
    scores: dict[str, Any] = field(default_factory=dict)
    scope: dict[str, Any] = field(default_factory=dict)
    """How wide uniqueness holds: the graph's completeness (articles / entities)."""

    @property
    def root(self) -> Vertex:
        return self.vertices[0]

    @property
    def answer(self) -> str:
        return self.root.entity or ""

    @property
    def n_vertices(self) -> int:
        return len(self.vertices)

    def children(self, vid: int) -> list[Vertex]:
        return [v for v in self.vertices if v.parent == vid]

    def entity_vertices(self) -> list[Vertex]:
        return [v for v in self.vertices if v.kind == "entity"]

    def bottom_up(self) -> list[Vertex]:
        """Entity vertices, every child before its parent."""
        depth: dict[int, int] = {}
        for v in self.vertices:
            depth[v.id] = 0 if v.parent is None else depth[v.parent] + 1
        return sorted(self.entity_vertices(), key=lambda v: (-depth[v.id], v.id))

    def make_id(self) -> str:
        """Content-addressed id: the same graph, config and seed give the same id."""
        blob = json.dumps([self.graph_fingerprint, self.config, self.seed], sort_keys=True)
        return "t" + hashlib.sha1(blob.encode()).hexdigest()[:15]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Tree:
        verts = []
        for v in d["vertices"]:
            rel = Relation(**v["relation"]) if v.get("relation") else None
            con = Constraint(**v["constraint"]) if v.get("constraint") else None
            verts.append(Vertex(**{**v, "relation": rel, "constraint": con}))
        return cls(**{**d, "vertices": verts})

    def public(self) -> dict[str, Any]:
        """The tree as a solver may see it: constraints and relations, no entity ids."""
        out = []
        for v in self.vertices:
            item: dict[str, Any] = {"id": v.id, "parent": v.parent, "kind": v.kind}
            if v.relation is not None:
                item["relation"] = {"rel": v.relation.rel, "direction": v.relation.direction,
                                    "key": v.relation.key}
            if v.constraint is not None:
                item["constraint"] = {"kind": v.constraint.kind, "params": v.constraint.params}
            out.append(item)
        return {"vertices": out}
