"""docker-compose.yml cannot run here (no Docker engine); check its structure instead."""

from __future__ import annotations

import yaml

from tests.conftest import ROOT


def test_neo4j_service_is_complete() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    neo = compose["services"]["neo4j"]
    assert neo["image"].startswith("neo4j:5.")
    assert {"7474:7474", "7687:7687"} <= set(neo["ports"])
    assert neo["environment"]["NEO4J_AUTH"].startswith("neo4j/${HCSP_NEO4J_PASSWORD")
    assert "cypher-shell" in " ".join(neo["healthcheck"]["test"])
    named = {v.split(":")[0] for v in neo["volumes"]}
    assert named <= set(compose["volumes"]) and "neo4j-data" in named
