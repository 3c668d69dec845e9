"""Schema as re-runnable migrations: the indexes the writers and the sampler need,
the data steps an older graph lacks, and the summary readers use (:func:`migrate`).

Applied by ingest, ``hcsp graph migrate``, ``hcsp synth`` and at API start. Running
them twice is a no-op on both engines: Neo4j through ``IF NOT EXISTS``; FalkorDB,
which has no such clause, by listing its indexes first; data steps are recorded.
"""

from __future__ import annotations

import logging
import time

from graph import queries as Q
from graph.backend import FalkorBackend, GraphBackend
from graph.buckets import BUCKET_PROPS, BUCKETS_VERSION
from graph.dialect import FALKOR_LIST_INDEXES, Dialect, IndexSpec, index_statements
from graph.errors import QueryError
from graph.model import Label

log = logging.getLogger(__name__)

# Ordered; append new specs, never reorder.
INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec(Label.ENTITY, "title", unique=True),
    IndexSpec(Label.FACT, "id", unique=True),
    IndexSpec(Label.CATEGORY, "name", unique=True),
    IndexSpec(Label.DUMP, "source", unique=True),
    IndexSpec(Label.MIGRATION, "id", unique=True),
    IndexSpec(Label.ENTITY, "bucket"),
    IndexSpec(Label.ENTITY, "popularity"),
    IndexSpec(Label.FACT, "key"),
    IndexSpec(Label.FACT, "year"),
    IndexSpec(Label.RESEARCH_TREE, "id", unique=True),
    IndexSpec(Label.TREE_VERTEX, "id", unique=True),
    IndexSpec(Label.RESEARCH_TREE, "n_vertices"),
    *(IndexSpec(Label.FACT, prop) for prop in BUCKET_PROPS),
    IndexSpec(Label.SELECTIVITY, "key", unique=True),
)


def _falkor_existing(backend: GraphBackend) -> set[tuple[str, str]]:
    rows = backend.read(FALKOR_LIST_INDEXES)
    return {(r["label"], p) for r in rows for p in (r["properties"] or [])}


def apply_schema(backend: GraphBackend) -> list[str]:
    """Apply the migrations not yet recorded in the graph. Returns their names."""
    applied = {r["id"] for r in backend.read(Q.APPLIED_MIGRATIONS)}
    pending = [spec for spec in INDEXES if spec.name not in applied]
    if not pending:
        return []
    falkor = backend.dialect is Dialect.FALKORDB
    existing = _falkor_existing(backend) if falkor else set()
    created: list[str] = []
    for spec in pending:
        if not (falkor and (spec.label.value, spec.prop) in existing):
            for stmt in index_statements(spec, backend.dialect):
                backend.write(stmt)
            if falkor and spec.unique:
                _falkor_unique(backend, spec)
        created.append(spec.name)
    if created:
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        for name in created:
            backend.write(Q.RECORD_MIGRATION, {"id": name, "applied_at": now})
        if isinstance(backend, FalkorBackend):
            backend.wait_for_indexes()  # FalkorDB builds them in the background
    return created


def _falkor_unique(backend: GraphBackend, spec: IndexSpec) -> None:
    assert isinstance(backend, FalkorBackend)
    try:
        backend.execute_command("GRAPH.CONSTRAINT", "CREATE", backend.graph.name, "UNIQUE",
                                "NODE", spec.label.value, "PROPERTIES", "1", spec.prop)
    except QueryError as e:
        if "already exists" not in str(e).lower():
            raise


def _fact_buckets(backend: GraphBackend) -> None:
    from graph.store import backfill_fact_buckets

    backfill_fact_buckets(backend)


def _tree_k(backend: GraphBackend) -> None:
    """Stored trees carry the K they were proven with (the pool filters on it)."""
    import json

    from graph.store import write_rows

    rows = [{"id": r["id"], "k": (json.loads(r["json"] or "{}").get("config") or {}).get("k")}
            for r in backend.read(Q.LIST_TREES_WITHOUT_K)]
    write_rows(backend, Q.SET_TREE_K, [r for r in rows if r["k"] is not None])


# Data steps, recorded as (:Migration) like the indexes. Ordered; append, never reorder.
DATA_MIGRATIONS = (
    (f"data_fact_buckets_v{BUCKETS_VERSION}", _fact_buckets),
    ("data_tree_k_v1", _tree_k),
)


def migrate(backend: GraphBackend, *, summary: bool = True,
            writer_held: bool = False) -> list[str]:
    """Every step a graph of an older version lacks: the indexes, the data steps not
    yet recorded, and (with ``summary``) the summary readers use (graph.summary) if the
    graph has none. Returns what was done. Run by ingest, ``hcsp graph migrate``,
    ``hcsp synth`` and the API at start; never by a reader such as the sampler.

    Data steps and the summary wait for no ingest: while one holds the writer lock
    (graph.store.exclusive_writer) they are skipped, since a summary of a graph half
    loaded would outlive an ingest killed before it refreshed its own. ``writer_held``:
    the caller is that ingest."""
    from graph.errors import GraphUnavailable
    from graph.store import exclusive_writer

    done = apply_schema(backend)
    if writer_held:
        return done + _data_and_summary(backend, summary)
    try:
        with exclusive_writer(backend):  # not while an ingest writes (it refreshes last)
            done += _data_and_summary(backend, summary)
    except GraphUnavailable as e:
        log.warning("not migrating data or the summary now: %s", e.message)
    return done


def _data_and_summary(backend: GraphBackend, summary: bool) -> list[str]:
    from graph.summary import SUMMARY_VERSION, read_summary_stored, refresh

    done: list[str] = []
    applied = {r["id"] for r in backend.read(Q.APPLIED_MIGRATIONS)}
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    changed = False
    for name, step in DATA_MIGRATIONS:
        if name not in applied:
            step(backend)
            backend.write(Q.RECORD_MIGRATION, {"id": name, "applied_at": now})
            done.append(name)
            changed = True
    if summary and (changed or not read_summary_stored(backend)):
        refresh(backend)  # a data step may change what the summary counted
        done.append(f"summary_v{SUMMARY_VERSION}")
    return done


def needs_fact_buckets(backend: GraphBackend) -> bool:
    """Whether some literal fact lacks its blur buckets (a graph not yet migrated)."""
    applied = {r["id"] for r in backend.read(Q.APPLIED_MIGRATIONS)}
    if DATA_MIGRATIONS[0][0] in applied:
        return False
    return bool(backend.read(Q.FACT_WITHOUT_BUCKETS_ANY, {"version": BUCKETS_VERSION}))
