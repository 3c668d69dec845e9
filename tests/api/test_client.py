"""The Python client against a live server on loopback (uvicorn, real engine)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from api.client import ClientError, HcspClient
from graph.embedded import EmbeddedEngine
from tests.api.conftest import TOKEN, free_port


def test_request_list_stream_tree_stats(live_server: str) -> None:
    with HcspClient(live_server, token=TOKEN) as c:
        assert c.ready()
        items = c.request_questions(vertices=6, count=3, seed=5)
        assert len(items) == 3 and all(i["n_vertices"] == 6 for i in items)
        listed = list(c.list_questions(vertices=6, limit=1))  # one per page: cursors followed
        assert {i["id"] for i in items} <= {i["id"] for i in listed}
        streamed = list(c.stream_questions(vertices=6))
        assert {r["id"] for r in streamed} == {i["id"] for i in listed}
        assert c.tree(items[0]["id"])["answer"] == items[0]["answer"]
        assert c.stats()["pool"]["6"] >= 3


def test_errors_carry_the_api_message(live_server: str) -> None:
    with HcspClient(live_server) as c:
        with pytest.raises(ClientError, match="HTTP 404: no research tree") as info:
            c.tree("t000000000000000")
        assert info.value.status == 404 and info.value.hint


def test_unreachable_server_gives_up_with_a_clear_error() -> None:
    with HcspClient(f"http://127.0.0.1:{free_port()}", retries=2, backoff=0.01) as c:
        assert not c.ready()
        with pytest.raises(ClientError, match="gave up after 3 tries: cannot reach"):
            c.stats()


def test_retries_ride_out_a_graph_outage(live_server: str, api_graph: Path) -> None:
    engine = EmbeddedEngine(api_graph)
    os.kill(engine.status().pid or 0, signal.SIGKILL)
    time.sleep(0.1)
    # the graph comes back (`hcsp graph start`) while the client retries
    restarter = threading.Timer(0.6, lambda: engine.start(detached=True))
    restarter.start()
    try:
        with HcspClient(live_server, retries=6, backoff=0.2) as c:
            c_stats = c.stats()  # 503 first, then served once the graph is back
        assert c_stats["graph"]["entities"] > 0
    finally:
        restarter.join()


def test_agent_pulls_questions_from_the_api(live_server: str) -> None:
    """The agent's API source: the pool first, then the shortfall generated, with full
    records (evidence pages) in POST /v1/questions' own answer."""
    from agent.questions import load_questions

    got = load_questions(live_server, 3, vertices=5, token=TOKEN, seed=9)
    assert len(got) == 3 and all(q.n_vertices == 5 and q.evidence_pages for q in got)
    again = load_questions(live_server, 3, vertices=5, token=TOKEN, generate=False)
    assert {q.id for q in again} == {q.id for q in got}
