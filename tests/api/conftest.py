"""An ltgwiki graph for the API tests, and a live server on loopback."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from api.main import create_app
from graph.backend import FalkorBackend
from graph.embedded import EmbeddedEngine
from hcsp.settings import Settings
from ingest.pipeline import IngestConfig, ingest_dump
from tests.conftest import LTGWIKI

TOKEN = "test-admin-token"


@pytest.fixture(scope="module")
def api_graph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An ingested ltgwiki graph whose engine runs on its own (as after `hcsp graph
    start`), so a test can stop and restart it under a running API."""
    path = tmp_path_factory.mktemp("api") / "graph"
    engine = EmbeddedEngine(path)
    engine.start(detached=True)  # no owner: the API only reconnects to it
    b = FalkorBackend(str(path))
    ingest_dump(str(LTGWIKI), b, IngestConfig(staging_root=path.parent / "staging"))
    b.close()
    try:
        yield path
    finally:
        engine.stop()


def settings_for(path: Path, **kw: object) -> Settings:
    values: dict[str, object] = {"graph_uri": str(path), "api_token": TOKEN,
                                 "api_generate_timeout_s": 30, **kw}
    return Settings(**values)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live_server(api_graph: Path) -> Iterator[str]:
    """The real app under uvicorn on 127.0.0.1, for the client and the browser."""
    with serve(create_app(settings_for(api_graph))) as url:
        yield url


@contextlib.contextmanager
def serve(app: object) -> Iterator[str]:
    """Run ``app`` under uvicorn on a free loopback port until the block ends."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port,  # type: ignore[arg-type]
                            log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
