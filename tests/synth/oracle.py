"""An oracle for the tests: the whole graph read into Python sets, and every predicate
evaluated here, without graph.constraints' Cypher. If the sampler's queries and this
agree, acceptance was really recomputed independently."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from graph import store
from graph.backend import GraphBackend


class Oracle:
    def __init__(self, backend: GraphBackend) -> None:
        ents = store.export(backend, "entities")
        self.universe = {e["title"] for e in ents if not e["disambiguation"]}
        self.links_out: dict[str, set[str]] = defaultdict(set)
        self.links_in: dict[str, set[str]] = defaultdict(set)
        for lk in store.export(backend, "links"):
            self.links_out[lk["src"]].add(lk["dst"])
            self.links_in[lk["dst"]].add(lk["src"])
        self.facts_out: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.facts_in: dict[tuple[str, str], set[str]] = defaultdict(set)
        for f in store.export(backend, "entity_facts"):
            self.facts_out[(f["src"], f["key"])].add(f["dst"])
            self.facts_in[(f["dst"], f["key"])].add(f["src"])
        self.literals: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for f in store.export(backend, "literal_facts"):
            self.literals[f["title"]].append(f)
        self.cats: dict[str, set[str]] = defaultdict(set)
        for c in store.export(backend, "categories"):
            self.cats[c["name"]].add(c["title"])

    def matches(self, kind: str, p: dict[str, Any]) -> set[str]:
        u = self.universe
        if kind == "fact_year":
            return {t for t in u for f in self.literals[t] if f["key"] == p["key"]
                    and f["year"] is not None and p["lo"] <= f["year"] < p["hi"]}
        if kind == "fact_number":
            return {t for t in u for f in self.literals[t] if f["key"] == p["key"]
                    and f["num"] is not None and p["lo"] <= f["num"] < p["hi"]}
        if kind == "fact_months":
            return {t for t in u for f in self.literals[t] if f["key"] == p["key"]
                    and f["month"] in p["months"]}
        if kind == "title_initial":
            return {t for t in u if t[:1].upper() == p["letter"]}
        if kind == "category":
            return self.cats[p["name"]] & u
        if kind == "links_to_named":
            return self.links_in[p["title"]] & u
        if kind == "linked_from_named":
            return self.links_out[p["title"]] & u
        if kind == "fact_named":
            return self.facts_in[(p["title"], p["key"])] & u
        raise AssertionError(kind)

    def related(self, rel: dict[str, Any], child: str) -> set[str]:
        """Entities ``e`` (parents) related to the resolved child as the relation says."""
        if rel["rel"] == "FACT":
            side = self.facts_in if rel["direction"] == "out" else self.facts_out
            return side[(child, rel["key"])] & self.universe
        side2 = self.links_in if rel["direction"] == "out" else self.links_out
        return side2[child] & self.universe

    def candidates(self, tree: dict[str, Any], vid: int, resolved: dict[int, str]) -> set[str]:
        cand = set(self.universe)
        for c in tree["vertices"]:
            if c["parent"] != vid:
                continue
            if c["kind"] == "constraint":
                cand &= self.matches(c["constraint"]["kind"], c["constraint"]["params"])
            else:
                cand &= self.related(c["relation"], resolved[c["id"]])
        return cand
