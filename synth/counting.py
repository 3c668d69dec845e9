"""How many entities a set of predicates matches: queried, cached per run, and (for
single predicates) looked up in the graph's summary.

It is what the sampler asks of the graph, and what the checks (synth.checks) ask again
without the summary's help.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from graph.backend import GraphBackend
from graph.constraints import (
    Predicate,
    alone_queries,
    candidates_each,
    candidates_query,
    members_query,
)
from graph.summary import GraphSummary
from synth.model import Constraint, Relation

MEMBERS_KEPT = 8192
"""Counts.members answers kept per run (each at most ~64 candidates)."""


class Counts:
    """Candidate counting with a per-run cache: the same predicate set, the same count,
    unless it was counted only up to a smaller cap than is asked now.

    With a ``summary`` (graph.summary), a single predicate that matches many entities
    is looked up instead of counted (the summary holds its exact count, kept by
    ingest), and every query starts from its smallest known set. The checks
    (synth.checks) only get the ordering: every proof is a query.

    (Counting intersections in memory, from each predicate's set of matches read once
    per run, was measured on the 1M synthetic graph and gained nothing: reading the
    sets cost what the counts saved. What does pay is reading a vertex's few
    remaining candidates once with every option's test: :meth:`members`, for
    synth.sampler.Narrowing.)
    """

    def __init__(self, backend: GraphBackend, cap: int,
                 summary: GraphSummary | None = None, *, lookup: bool = True) -> None:
        """``lookup``: look single counts up (the sampler); without, the summary only
        orders the patterns of each query (the checks)."""
        self.backend = backend
        self.cap = cap
        self.summary = summary
        self.lookup = lookup
        # A set's count, and the cap it was counted under: exact when below that cap,
        # else only "at least the cap".
        self.cache: dict[frozenset[Predicate], tuple[int, int]] = {}
        # members() answers, the most recently used kept: a vertex blurred again (a
        # small graph's sampler draws the same entities often) reads nothing again.
        self._members: OrderedDict[tuple[object, ...], dict[str, set[Predicate]]] = (
            OrderedDict())
        self._members_lock = threading.Lock()
        self.queries = 0
        self.looked_up = 0

    def count(self, preds: list[Predicate], cap: int | None = None) -> int:
        """How many entities match every predicate, counting at most ``cap`` (the run's
        cap by default, never more): a result equal to ``cap`` means "at least that".

        A caller that only needs to know whether a count is below some bound (the
        sampler, comparing a constraint with the best one so far) passes the bound: the
        engine stops at it instead of reading every match of a large set."""
        return self.count_keeping(preds, cap)[0]

    def count_keeping(self, preds: list[Predicate], cap: int | None = None, keep: int = 0
                      ) -> tuple[int, list[str] | None]:
        """count(), and the titles of the matches where a query counted them and they
        are fewer than ``cap`` and at most ``keep`` (else None): what a narrowing
        (synth.sampler.Narrowing) reads on from, not walking to them again."""
        cap = self.cap if cap is None else max(0, min(cap, self.cap))
        key = frozenset(preds)
        hit = self.cache.get(key)
        if hit is not None and (hit[0] < hit[1] or hit[1] >= cap):
            return min(hit[0], cap), None
        n = None
        if self.summary is not None and self.lookup and len(key) == 1:
            n = self.summary.count(preds[0], self.cap)
            self.looked_up += n is not None
            if n is not None:
                self.cache[key] = (n, self.cap)
                return min(n, cap), None
        q, params = candidates_query(preds, sizes=self.size, keep=keep > 0)
        self.queries += 1
        row = self.backend.read(q, {**params, "cap": cap, "keep": keep})[0]
        n = int(row["n"])
        # Another thread may have counted it meanwhile: keep whichever says more.
        old = self.cache.get(key)
        if old is None or (old[0] >= old[1] and cap > old[1]):
            self.cache[key] = (n, cap)
        return n, (list(row["titles"]) if keep and n < cap and n <= keep else None)

    def count_alone(self, preds: list[Predicate]) -> None:
        """Count each of ``preds`` alone that the summary says is small (it holds no
        count for it: fewer than its threshold match) and that is not counted yet: a
        query per kind for all of them (graph.constraints.alone_queries), not one
        each. The counts are kept, for count() to return the numbers it would have
        queried one by one. Without a summary nothing is known to be small (an
        uncapped count of a large set reads all of it): count() counts those."""
        if self.summary is None:
            return
        todo = [p for p in dict.fromkeys(preds)
                if frozenset((p,)) not in self.cache and self.size(p) is None]
        for q, rows in alone_queries(todo):
            self.queries += 1
            got = {int(r["i"]): int(r["n"]) for r in self.backend.read(q, {"rows": rows})}
            for row in rows:
                n = got.get(row["i"], 0)
                self.cache.setdefault(frozenset((todo[row["i"]],)), (min(n, self.cap), self.cap))

    def kept(self, preds: list[Predicate]) -> int | None:
        """The exact count of ``preds`` where one is kept (counted under a larger cap),
        else None: no query."""
        hit = self.cache.get(frozenset(preds))
        return hit[0] if hit is not None and hit[0] < hit[1] else None

    def size(self, p: Predicate) -> int | None:
        """How many entities ``p`` matches alone (at most the cap), where the summary
        knows it; None means small (or no summary)."""
        return None if self.summary is None else self.summary.count(p, self.cap)

    def known(self, preds: list[Predicate]) -> int:
        """The count of ``preds`` for the record: the summary's where it holds one
        (one predicate), else counted."""
        n = self.size(preds[0]) if len(set(preds)) == 1 else None
        return self.count(preds) if n is None else n

    def at_least(self, preds: list[Predicate], k: int) -> bool:
        """Whether ``preds`` match at least ``k`` entities (reads at most ``k``)."""
        q, params = candidates_query(preds, sizes=self.size)
        self.queries += 1
        return int(self.backend.read(q, {**params, "cap": k})[0]["n"]) >= k

    def titles_each(self, pred_sets: list[list[Predicate]], cap: int = 2) -> list[list[str]]:
        """Up to ``cap`` titles (sorted) matching each set of predicates, in one query
        (graph.constraints.candidates_each)."""
        if not pred_sets:
            return []
        q, params = candidates_each(pred_sets, sizes=self.size)
        self.queries += 1
        row = self.backend.read(q, {**params, "cap": cap})[0]
        return [sorted(row[f"t{j}"]) for j in range(len(pred_sets))]

    def members(self, preds: list[Predicate], tests: list[Predicate], cap: int,
                titles: list[str] | None = None) -> list[tuple[str, list[bool]]]:
        """Up to ``cap`` entities matching ``preds``, each with whether it meets each
        of ``tests`` (constraints): their titles read first, unless given, then one
        query for all tests (graph.constraints.members_query). The last
        ``MEMBERS_KEPT`` answers are kept, whatever the order of the tests (by the
        titles where given, else by the predicates)."""
        key = (frozenset(preds) if titles is None else frozenset(titles[:cap]),
               titles is None, frozenset(tests), cap)
        with self._members_lock:
            hit = self._members.get(key)
            if hit is not None:
                self._members.move_to_end(key)
                return [(t, [p in met for p in tests]) for t, met in hit.items()]
        if titles is None:
            q, params = candidates_query(preds, count=False, sizes=self.size)
            self.queries += 1
            titles = [r["title"] for r in self.backend.read(q, {**params, "cap": cap})]
        titles = titles[:cap]
        met: dict[str, list[bool]] = {t: [False] * len(tests) for t in titles}
        if titles and tests:
            q, params = members_query(tests)
            self.queries += 1
            for r in self.backend.read(q, {**params, "titles": titles}):
                met[r["title"]][int(r["i"])] = True
        with self._members_lock:
            self._members[key] = {t: {p for p, ok in zip(tests, m, strict=True) if ok}
                                  for t, m in met.items()}
            while len(self._members) > MEMBERS_KEPT:
                self._members.popitem(last=False)
        return list(met.items())


def constraint_pred(c: Constraint) -> Predicate:
    return Predicate.of(c.kind, c.params)


def relation_pred(rel: Relation, child_title: str) -> Predicate:
    return Predicate.of("relation", {"rel": rel.rel, "direction": rel.direction,
                                     "key": rel.key or "", "title": child_title})
