"""Every Neo4j-bound query parses as Neo4j 5 Cypher, checked with Neo4j's own parser.

Neo4j itself cannot run on machines without Docker, so this is how CI checks the
Neo4j path: the npm package @neo4j-cypher/language-support (pinned in
tools/cypher-lint) parses and analyses each query as Cypher 5, and flags any function
Neo4j does not have. `.ci/run` installs it; elsewhere the test is skipped unless
HCSP_REQUIRE_CYPHER_LINT=1 (then a missing linter is a failure).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from graph import queries as Q
from graph.dialect import Dialect, index_statements
from graph.schema import INDEXES
from tests.conftest import ROOT

LINT = ROOT / "tools" / "cypher-lint"


def lint(queries: dict[str, str]) -> dict[str, list[str]]:
    node = shutil.which("node")
    if node is None or not (LINT / "node_modules").exists():
        if os.environ.get("HCSP_REQUIRE_CYPHER_LINT") == "1":
            pytest.fail("the Cypher linter is not installed: cd tools/cypher-lint && npm ci")
        pytest.skip("Neo4j's Cypher parser is not installed (cd tools/cypher-lint && npm ci)")
    proc = subprocess.run([node, str(LINT / "lint.mjs")], input=json.dumps(queries),
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(proc.stdout)


def neo4j_queries() -> dict[str, str]:
    qs = dict(Q.all_queries(Dialect.NEO4J))
    for spec in INDEXES:
        for i, stmt in enumerate(index_statements(spec, Dialect.NEO4J)):
            qs[f"ddl:{spec.name}:{i}"] = stmt
    return qs


def test_every_neo4j_query_parses() -> None:
    qs = neo4j_queries()
    assert len(qs) > 25
    errors = {name: errs for name, errs in lint(qs).items() if errs}
    assert errors == {}


def test_the_linter_catches_what_neo4j_would_reject() -> None:
    """A control: without it, a linter that accepts everything would pass the test above."""
    errors = lint({
        "syntax": "MATCH (n:Entity RETURN n",
        "falkordb_only_function": Q.degree_update(Dialect.FALKORDB),
        "falkordb_ddl": index_statements(INDEXES[0], Dialect.FALKORDB)[0] + " OPTIONS",
        "fine": "MATCH (e:Entity {title: $title}) RETURN e.title AS title",
    })
    assert errors["syntax"] and errors["falkordb_only_function"] and errors["falkordb_ddl"]
    assert errors["fine"] == []
