"""The few places where FalkorDB's and Neo4j's Cypher differ, in one module.

Everything else in graph/queries.py is written in the subset both engines run:
no ``EXISTS {}``/``COUNT {}``/``CALL {}`` subqueries, no ``=~``, no temporal types.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from graph.model import Label


class Dialect(StrEnum):
    """Which engine a query is rendered for."""

    FALKORDB = "falkordb"
    NEO4J = "neo4j"


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """A single-property index on a node label, optionally unique."""

    label: Label
    prop: str
    unique: bool = False

    @property
    def name(self) -> str:
        kind = "uniq" if self.unique else "idx"
        return f"{kind}_{self.label.value.lower()}_{self.prop}"


def index_statements(spec: IndexSpec, dialect: Dialect) -> list[str]:
    """DDL that creates one index (re-runnable on Neo4j; FalkorDB's is checked first
    by graph.schema because it has no IF NOT EXISTS)."""
    label, prop = spec.label.value, spec.prop
    if dialect is Dialect.NEO4J:
        if spec.unique:
            return [f"CREATE CONSTRAINT {spec.name} IF NOT EXISTS "
                    f"FOR (n:{label}) REQUIRE n.{prop} IS UNIQUE"]
        return [f"CREATE INDEX {spec.name} IF NOT EXISTS FOR (n:{label}) ON (n.{prop})"]
    # FalkorDB: a unique constraint needs an exact-match index on the same property;
    # the constraint itself is a separate command (see graph.schema).
    return [f"CREATE INDEX FOR (n:{label}) ON (n.{prop})"]


# How FalkorDB lists its indexes; Neo4j needs no listing (IF NOT EXISTS).
FALKOR_LIST_INDEXES = "CALL db.indexes() YIELD label, properties RETURN label, properties"


def in_degree_expr(var: str, rel: str, dialect: Dialect) -> str:
    """An expression counting ``var``'s incoming ``rel`` edges."""
    if dialect is Dialect.FALKORDB:
        return f"indegree({var}, '{rel}')"
    return f"COUNT {{ ({var})<-[:{rel}]-() }}"


def out_degree_expr(var: str, rel: str, dialect: Dialect) -> str:
    """An expression counting ``var``'s outgoing ``rel`` edges."""
    if dialect is Dialect.FALKORDB:
        return f"outdegree({var}, '{rel}')"
    return f"COUNT {{ ({var})-[:{rel}]->() }}"
