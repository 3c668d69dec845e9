"""scripts/neo4j.sh as a user meets it without a server: what is missing is said clearly,
and only `export` lines reach stdout (so `eval "$(scripts/neo4j.sh start)"` is safe).
Starting, importing into and stopping a real server is exercised by .ci/run and
tests/graph/test_neo4j_server.py."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "neo4j.sh"


def run(*args: str, path: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["/bin/bash", str(SCRIPT), *args], capture_output=True, text=True,
                          env={"PATH": path, "HOME": os.environ.get("HOME", "/tmp"), **env},
                          timeout=60)


def test_without_java_it_says_what_to_install() -> None:
    r = run("start", path="/nonexistent")
    assert r.returncode == 1 and r.stdout == ""
    assert "java is not installed" in r.stderr and "what to do: install a JDK 17" in r.stderr


@pytest.mark.skipif(shutil.which("java") is None, reason="needs java (and no mvn) on PATH")
def test_without_maven_it_says_what_to_install(tmp_path: Path) -> None:
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for tool in ("java", "sed", "head", "sha256sum", "cut", "cat", "mkdir", "rm"):
        (bin_ / tool).symlink_to(shutil.which(tool) or tool)
    r = run("start", path=str(bin_), HCSP_NEO4J_LIB=str(tmp_path / "lib"),
            HCSP_NEO4J_HOME=str(tmp_path / "home"))
    assert r.returncode == 1 and r.stdout == ""
    assert "Maven (mvn) is not installed" in r.stderr and "apt-get install maven" in r.stderr


def test_status_env_and_usage(tmp_path: Path) -> None:
    home = {"HCSP_NEO4J_HOME": str(tmp_path / "home"), "HCSP_NEO4J_BOLT_PORT": "7699",
            "HCSP_NEO4J_PASSWORD": "it's secret"}
    r = run("status", path=os.environ["PATH"], **home)
    assert r.returncode == 3 and "not running" in r.stderr
    r = run("env", path=os.environ["PATH"], **home)
    lines = r.stdout.splitlines()
    assert lines[0] == "export HCSP_GRAPH_URI=bolt://127.0.0.1:7699"
    assert all(line.startswith("export HCSP_") for line in lines)
    shell = subprocess.run(["bash", "-c", f"{r.stdout}\necho \"$HCSP_NEO4J_PASSWORD\""],
                           capture_output=True, text=True)
    assert shell.stdout.strip() == "it's secret"  # quoted for eval
    r = run("import", str(tmp_path / "nowhere"), path=os.environ["PATH"], **home)
    assert r.returncode == 1 and "hcsp ingest DUMP --neo4j-csv DIR" in r.stderr
    assert run("frobnicate", path=os.environ["PATH"]).returncode == 2
