"""Schema as re-runnable migrations: the indexes the writers and the sampler need.

Applied by ingest (and, later, at API start). Running them twice is a no-op on both
engines: Neo4j through ``IF NOT EXISTS``; FalkorDB, which has no such clause, by
listing its indexes first.
"""

from __future__ import annotations

import time

from graph import queries as Q
from graph.backend import FalkorBackend, GraphBackend
from graph.buckets import BUCKET_PROPS
from graph.dialect import FALKOR_LIST_INDEXES, Dialect, IndexSpec, index_statements
from graph.errors import QueryError
from graph.model import Label

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
    return created


def _falkor_unique(backend: GraphBackend, spec: IndexSpec) -> None:
    assert isinstance(backend, FalkorBackend)
    try:
        backend.execute_command("GRAPH.CONSTRAINT", "CREATE", backend.graph.name, "UNIQUE",
                                "NODE", spec.label.value, "PROPERTIES", "1", spec.prop)
    except QueryError as e:
        if "already exists" not in str(e).lower():
            raise
