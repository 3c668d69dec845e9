"""docker-compose.yml cannot run here (no Docker engine); check its structure instead."""

from __future__ import annotations

import re

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


def test_api_service_waits_for_neo4j_and_is_built_here() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    api = compose["services"]["api"]
    assert api["build"] == "."
    assert api["depends_on"]["neo4j"]["condition"] == "service_healthy"
    assert "8000:8000" in api["ports"]
    assert api["environment"]["HCSP_GRAPH_URI"] == "bolt://neo4j:7687"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.12" in dockerfile
    assert 'CMD ["hcsp", "serve", "--host", "0.0.0.0"' in dockerfile
    for package in ("hcsp", "ingest", "graph", "synth", "api"):
        assert f"COPY {package} {package}" in dockerfile


def test_compose_runs_the_neo4j_that_scripts_neo4j_sh_runs() -> None:
    """Docker users and the Maven-built server (scripts/neo4j.sh, CI) get one Neo4j line
    (5.26 LTS) and one default password."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    image = compose["services"]["neo4j"]["image"]
    pom = (ROOT / "tools" / "neo4j" / "pom.xml").read_text()
    version = re.search(r"<neo4j.version>([\d.]+)</neo4j.version>", pom)
    assert version is not None
    major_minor = ".".join(version.group(1).split(".")[:2])
    assert image == f"neo4j:{major_minor}-community"
    script = (ROOT / "scripts" / "neo4j.sh").read_text()
    password = re.search(r"HCSP_NEO4J_PASSWORD:-([^}]+)\}", script)
    assert password is not None
    assert compose["services"]["neo4j"]["environment"]["NEO4J_AUTH"] == \
        f"neo4j/${{HCSP_NEO4J_PASSWORD:-{password.group(1)}}}"
