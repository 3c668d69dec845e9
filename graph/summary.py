"""What the graph holds, kept by ingest so that readers need not scan for it.

    (:Summary {id: "graph", version, stats, fingerprint, bucket_max, threshold, roots})
    (:Selectivity {key, n})   one per single-predicate count of at least ``threshold``

``stats`` are graph.store.GraphStats (as JSON); ``fingerprint`` their hash (it names
the graph a tree was proven on); ``bucket_max`` the most entities in one ``bucket``
(where roots are drawn by rejection: synth.sampler.Sampler.pick_root); ``roots`` how
many entities of each bucket a tree may start from with the default eligibility
(``ROOT_MIN_DEGREE``, any popularity; JSON, absent in summaries written before it), so
the sampler draws a bucket by weight instead of by rejection; ``keys`` how each
infobox key spreads (KeyShape: which keys are functional, one way or the other; JSON,
computed live where a summary written before it lacks them). A Selectivity row is
the exact answer of graph.constraints.candidates_query for one predicate (distinct
non-disambiguation entities), kept only where it is large: a predicate whose key has
no row matches fewer than ``threshold`` entities, and counting those is cheap.

On a 1M-entity graph the sampler spent two thirds of its time counting vague
constraints alone ("born in the 1860s": up to 10,000 matches read per count) and
setting up re-read every node and edge for the fingerprint; both are now lookups.

Ingest calls :func:`refresh` after it writes (and :func:`invalidate` before), so a
run killed half-way leaves no summary rather than a wrong one. A reader that finds
none computes the same numbers live (slow, never wrong): :func:`read_summary`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from graph import queries as Q
from graph.backend import GraphBackend
from graph.buckets import BUCKET_PROPS
from graph.constraints import Kind, Predicate
from graph.model import Rel
from graph.store import GraphStats, graph_stats, write_rows

SUMMARY_VERSION = 1
THRESHOLD = 64
"""Selectivity rows are kept for counts of at least this many entities."""
ROOT_MIN_DEGREE = 3
"""The default eligibility of a root (facts plus links; synth.config.SynthConfig's
default ``min_degree``), by which the summary counts each bucket's roots."""


def fingerprint_of(stats: GraphStats) -> str:
    """A short hash of what the graph holds (its counts and dumps)."""
    blob = json.dumps(stats.as_dict(), sort_keys=True, default=str).encode()
    return hashlib.sha1(blob).hexdigest()[:16]


def selectivity_key(p: Predicate) -> str | None:
    """The Selectivity key of a single predicate, or None for kinds not kept."""
    kind = p.kind
    if kind in (Kind.FACT_YEAR, Kind.FACT_NUMBER, Kind.FACT_MONTHS):
        return f"bk_{p.get('level')}={p.get('bucket')}"
    if kind == Kind.TITLE_INITIAL:
        return f"initial={p.get('letter')}"
    if kind == Kind.CATEGORY:
        return f"category={p.get('name')}"
    if kind == Kind.LINKS_TO_NAMED:
        return f"linkers={p.get('title')}"
    if kind == Kind.LINKED_FROM_NAMED:
        return f"linked={p.get('title')}"
    if kind == Kind.FACT_NAMED:
        return f"fact_in={p.get('key')}|{p.get('title')}"
    if kind == Kind.RELATION:
        rel, direction, title = p.get("rel"), p.get("direction"), p.get("title")
        if rel == Rel.LINKS_TO:
            return f"linkers={title}" if direction == "out" else f"linked={title}"
        if rel == Rel.FACT:
            side = "fact_in" if direction == "out" else "fact_out"
            return f"{side}={p.get('key')}|{title}"
    return None


FUNCTIONAL_SHARE = 0.9
"""A key is functional one way where at least this share of its holders name one value
(or of its values are named by one holder)..."""
FUNCTIONAL_MIN = 5
"""... measured over at least this many of them (fewer say nothing)."""


@dataclass(frozen=True)
class KeyShape:
    """How an infobox key spreads over the graph's entity-valued facts: ``holders``
    entities name a value under it, ``one_value`` of them exactly one; ``values``
    entities are named by it, ``one_holder`` of them by exactly one holder."""

    holders: int = 0
    one_value: int = 0
    values: int = 0
    one_holder: int = 0

    def functional(self, toward: str) -> bool:
        """Whether one end pins the other by this key alone, in the graph and, measured
        over enough of them, in the world. ``toward="value"``: a holder names one value
        (a person's one birthplace: "the city where X was born" is one city);
        ``toward="holder"``: a value is named by one holder (a country's capital: "the
        country whose capital is Paris" is one country).

        >>> KeyShape(holders=40, one_value=39).functional("value")
        True
        >>> KeyShape(holders=40, one_value=39, values=9, one_holder=2).functional("holder")
        False
        >>> KeyShape(holders=3, one_value=3).functional("value")  # too few to say
        False
        """
        n, one = ((self.holders, self.one_value) if toward == "value"
                  else (self.values, self.one_holder))
        return n >= FUNCTIONAL_MIN and one >= FUNCTIONAL_SHARE * n

    def as_list(self) -> list[int]:
        return [self.holders, self.one_value, self.values, self.one_holder]


def key_shapes(backend: GraphBackend, entities: int, top: int,
               batch: int = 20_000) -> dict[str, KeyShape]:
    """Every infobox key's KeyShape, read a range of buckets at a time."""
    parts: dict[str, list[int]] = {}
    buckets = top + 1
    step = max(1, min(buckets, buckets * batch // max(1, entities)))
    for query, at in ((Q.KEY_SHAPE_HOLDERS, 0), (Q.KEY_SHAPE_VALUES, 2)):
        for lo in range(0, buckets, step):
            for r in backend.read(query, {"lo": lo, "hi": min(buckets, lo + step)}):
                row = parts.setdefault(r["k"], [0, 0, 0, 0])
                row[at] += int(r["n"])
                row[at + 1] += int(r["one"])
    return {k: KeyShape(*v) for k, v in sorted(parts.items())}


@dataclass
class GraphSummary:
    """The graph's counts, fingerprint and large single-predicate counts."""

    stats: GraphStats
    fingerprint: str
    bucket_max: int
    bucket_top: int
    """The highest ``bucket`` any entity has (buckets run 0..bucket_top)."""
    threshold: int = THRESHOLD
    selectivity: dict[str, int] = field(default_factory=dict)
    roots: dict[int, int] | None = None
    """Per bucket, its entities a tree may start from with the default eligibility
    (ROOT_MIN_DEGREE, any popularity); None in a summary written before it."""
    keys: dict[str, KeyShape] = field(default_factory=dict)
    """Per infobox key, how it spreads (KeyShape)."""
    stored: bool = True
    """False when computed live (no summary in the graph, or an old one)."""
    seconds: float = 0.0

    def count(self, p: Predicate, cap: int) -> int | None:
        """The exact count of one predicate (at most ``cap``) where the summary knows
        it, else None (then it matches fewer than ``threshold``: ask the graph)."""
        key = selectivity_key(p)
        if key is None:
            return None
        n = self.selectivity.get(key)
        return None if n is None else min(n, cap)


def _selectivity_rows(backend: GraphBackend, threshold: int, entities: int, top: int,
                      batch: int = 20_000) -> Iterable[tuple[str, int]]:
    t = {"t": threshold}
    for prop in BUCKET_PROPS:
        for r in backend.read(Q.selectivity_of_buckets(prop), t):
            yield f"{prop}={r['v']}", int(r["n"])
    for prefix, query in (("initial", Q.SELECTIVITY_INITIALS),
                          ("category", Q.SELECTIVITY_CATEGORIES)):
        for r in backend.read(query, t):
            yield f"{prefix}={r['v']}", int(r["n"])
    # Anchored at an entity: a range of buckets (about ``batch`` entities) per query.
    buckets = top + 1
    step = max(1, min(buckets, buckets * batch // max(1, entities)))
    for prefix, query in (("linkers", Q.SELECTIVITY_LINKERS), ("linked", Q.SELECTIVITY_LINKED),
                          ("fact_in", Q.SELECTIVITY_FACT_IN),
                          ("fact_out", Q.SELECTIVITY_FACT_OUT)):
        for lo in range(0, buckets, step):
            for r in backend.read(query, {**t, "lo": lo, "hi": min(buckets, lo + step)}):
                yield (f"{prefix}={r['k']}|{r['v']}" if "k" in r else f"{prefix}={r['v']}",
                       int(r["n"]))


def compute(backend: GraphBackend, threshold: int = THRESHOLD) -> GraphSummary:
    """Everything a summary holds, read from the graph by scans (no writes)."""
    t0 = time.perf_counter()
    stats = graph_stats(backend)
    row = (backend.read(Q.COUNT_BUCKET_MAX) or [{}])[0]
    most, top = int(row.get("n") or 0), int(row.get("top") or 0)
    sel = dict(_selectivity_rows(backend, threshold, stats.entities, top))
    roots = {int(r["bucket"]): int(r["n"]) for r in backend.read(
        Q.ELIGIBLE_BUCKETS_ANY_POPULARITY, {"min_degree": ROOT_MIN_DEGREE})}
    keys = key_shapes(backend, stats.entities, top)
    return GraphSummary(stats, fingerprint_of(stats), most, top, threshold, sel, roots,
                        keys, stored=False, seconds=time.perf_counter() - t0)


def invalidate(backend: GraphBackend) -> None:
    """Drop the summary (a writer is about to change the graph)."""
    backend.write(Q.CLEAR_SUMMARY)


def refresh(backend: GraphBackend, threshold: int = THRESHOLD, batch_size: int = 5000,
            progress: Callable[[str], None] | None = None) -> GraphSummary:
    """Recompute the summary and store it (selectivity rows first, the summary node
    last: a reader sees the new summary whole or none)."""
    invalidate(backend)
    if progress:
        progress("counting")
    s = compute(backend, threshold)
    backend.write(Q.CLEAR_SELECTIVITY)
    write_rows(backend, Q.WRITE_SELECTIVITY,
               [{"key": k, "n": n} for k, n in sorted(s.selectivity.items())], batch_size)
    backend.write(Q.WRITE_SUMMARY, {
        "version": SUMMARY_VERSION, "stats": json.dumps(s.stats.as_dict(), default=str),
        "fingerprint": s.fingerprint, "bucket_max": s.bucket_max, "bucket_top": s.bucket_top,
        "threshold": threshold,
        "rows": len(s.selectivity),
        "roots": json.dumps(sorted((s.roots or {}).items())),
        "keys": json.dumps({k: v.as_list() for k, v in s.keys.items()}),
        "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    s.stored = True
    return s


def _current(rows: list[dict[str, Any]]) -> bool:
    return bool(rows) and rows[0]["version"] == SUMMARY_VERSION


def read_summary_stored(backend: GraphBackend) -> bool:
    """Whether the graph holds a summary of this version."""
    return _current(backend.read(Q.LIST_SUMMARY))


def read_summary(backend: GraphBackend) -> GraphSummary:
    """The stored summary (a few small reads), or one computed live when the graph has
    none of this version (older graphs; hand-written ones)."""
    t0 = time.perf_counter()
    rows = backend.read(Q.LIST_SUMMARY)
    if not _current(rows):
        return compute(backend)
    r = rows[0]
    raw: dict[str, Any] = json.loads(r["stats"])
    raw.pop("facts", None)  # derived
    stats = GraphStats(**raw)
    sel = {x["key"]: int(x["n"]) for x in backend.read(Q.LIST_SELECTIVITY)}
    roots = ({int(b): int(n) for b, n in json.loads(r["roots"])} if r.get("roots") else None)
    if r.get("keys") is not None:
        keys = {k: KeyShape(*v) for k, v in json.loads(r["keys"]).items()}
    else:  # a summary written before keys were kept: read them (one pass over facts)
        keys = key_shapes(backend, stats.entities, int(r["bucket_top"]))
    return GraphSummary(stats, r["fingerprint"], int(r["bucket_max"]), int(r["bucket_top"]),
                        int(r["threshold"]), sel, roots, keys, stored=True,
                        seconds=time.perf_counter() - t0)
