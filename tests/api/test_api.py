"""The REST API through FastAPI's TestClient, on the real embedded engine."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from graph.backend import FalkorBackend
from graph.embedded import EmbeddedEngine, engine_processes
from hcsp.settings import Settings
from tests.api.conftest import TOKEN, settings_for

ADMIN = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def client(api_graph: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(api_graph))) as c:
        yield c


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    assert client.get("/openapi.json").json()["info"]["title"] == "hcsp"


def test_request_generates_proves_stores_then_serves_from_pool(client: TestClient) -> None:
    body = {"vertices": 6, "count": 4, "seed": 3}
    first = client.post("/v1/questions", json=body)
    assert first.status_code == 200, first.text
    data = first.json()
    assert data["generated"] == 4 and data["from_pool"] == 0
    for item in data["items"]:
        assert item["n_vertices"] == 6 and item["checks"]["ok"] and item["solver_agreed"]
        assert item["answer"].lower() not in item["question"].lower()
        assert item["tree_url"] == f"/v1/trees/{item['id']}"
    again = client.post("/v1/questions", json=body).json()
    assert again["from_pool"] == 4 and again["generated"] == 0
    fresh = client.post("/v1/questions", json={**body, "from_pool": False}).json()
    assert [i["id"] for i in fresh["items"]] == [i["id"] for i in data["items"]]  # same seed


@pytest.mark.parametrize(("body", "fragment"), [
    ({"vertices": 3}, "greater than or equal to 4"),
    ({"vertices": 13}, "less than or equal to 12"),
    ({"count": 0}, "greater than or equal to 1"),
    ({"count": 101}, "less than or equal to 100"),
    ({"shape": "round"}, "'deep' or 'wide'"),
    ({"vertices": 6, "colour": "red"}, "Extra inputs are not permitted"),
    ({"vertices": "six"}, "valid integer"),
])
def test_bad_requests_say_what_is_allowed(client: TestClient, body: dict[str, object],
                                          fragment: str) -> None:
    r = client.post("/v1/questions", json=body)
    assert r.status_code == 422
    assert fragment in r.text


def test_paging_filters_and_stream(client: TestClient) -> None:
    client.post("/v1/pool", json={"vertices": 5, "count": 3, "seed": 9}, headers=ADMIN)
    client.post("/v1/questions", json={"vertices": 6, "count": 4, "seed": 3})
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/questions", params=params).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) >= 7 and seen == sorted(seen)
    six = client.get("/v1/questions", params={"vertices": 6, "limit": 500}).json()["items"]
    assert six and all(i["n_vertices"] == 6 for i in six)
    assert client.get("/v1/questions", params={"created_after": "2999-01-01"}).json()[
        "items"] == []
    lines = client.get("/v1/questions/stream", params={"vertices": 5}).text.splitlines()
    records = [json.loads(line) for line in lines]
    assert records and all(r["n_vertices"] == 5 and r["tree"]["vertices"] for r in records)


def test_tree_json_and_view(client: TestClient) -> None:
    item = client.post("/v1/questions", json={"vertices": 6, "count": 1, "seed": 3}).json()[
        "items"][0]
    tree = client.get(item["tree_url"]).json()
    assert tree["answer"] == item["answer"] and len(tree["tree"]["vertices"]) == 6
    assert tree["evidence"] and tree["solver"]["agreed"]
    page = client.get(item["view_url"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="question"' in page.text and 'id="v5"' in page.text
    assert client.get("/v1/trees/t000000000000000").status_code == 404


def test_full_records_come_with_the_questions(client: TestClient) -> None:
    """``full``: each item carries the record GET /v1/trees/{id} serves, generated or
    from the pool; without it the summaries stay as they were."""
    body = {"vertices": 5, "count": 2, "seed": 41, "from_pool": False, "full": True}
    data = client.post("/v1/questions", json=body).json()
    assert data["generated"] == 2 and len(data["items"]) == 2
    for item in data["items"]:
        record = item["record"]
        assert record == client.get(item["tree_url"]).json()
        assert record["id"] == item["id"] and record["answer"] == item["answer"]
        assert len(record["tree"]["vertices"]) == 5 and record["evidence"]
    pooled = client.post("/v1/questions", json={**body, "from_pool": True}).json()
    assert pooled["from_pool"] == 2 and all(i["record"]["evidence"] for i in pooled["items"])
    summary = client.post("/v1/questions", json={**body, "full": False}).json()
    assert [i["id"] for i in summary["items"]] == [i["id"] for i in data["items"]]
    assert all("record" not in i for i in summary["items"])
    listed = client.get("/v1/questions", params={"vertices": 5}).json()["items"]
    assert listed and all("record" not in i for i in listed)


def test_pool_fills_and_requests_are_counted_once(client: TestClient) -> None:
    """Both ways of generating store what they report and add it to /v1/stats once."""
    def generation() -> tuple[int, int, int]:
        g = client.get("/v1/stats").json()["generation"]
        return g["attempts"], g["accepted"], sum(g["rejected"].values())

    before = generation()
    fill = client.post("/v1/pool", json={"vertices": 5, "count": 2, "seed": 51},
                       headers=ADMIN).json()
    assert fill["stored"] == 2 and not fill["timed_out"]
    assert fill["attempts"] == 2 + sum(fill["rejected"].values())
    mid = generation()
    assert mid == (before[0] + fill["attempts"], before[1] + 2,
                   before[2] + sum(fill["rejected"].values()))
    body = {"vertices": 5, "count": 3, "seed": 52, "from_pool": False}
    asked = client.post("/v1/questions", json=body).json()
    assert asked["generated"] == 3 and asked["from_pool"] == 0
    after = generation()
    assert after[1] == mid[1] + 3 and after[2] == mid[2] + sum(asked["rejected"].values())
    assert after[0] == mid[0] + 3 + sum(asked["rejected"].values())
    stored = {i["id"] for i in client.get("/v1/questions",
                                          params={"vertices": 5, "limit": 500}).json()["items"]}
    assert {i["id"] for i in asked["items"]} <= stored


def test_admin_operations_need_the_token(client: TestClient, api_graph: Path) -> None:
    body = {"vertices": 5, "count": 1, "seed": 11}
    assert client.post("/v1/pool", json=body).status_code == 401
    assert client.post("/v1/pool", json=body, headers={"Authorization": "Bearer no"}
                       ).status_code == 401
    r = client.post("/v1/pool", json=body, headers=ADMIN)
    assert r.status_code == 200 and r.json()["stored"] == 1
    tid = client.get("/v1/questions", params={"vertices": 5, "limit": 500}).json()["items"][0][
        "id"]
    assert client.delete(f"/v1/trees/{tid}").status_code == 401
    assert client.delete(f"/v1/trees/{tid}", headers=ADMIN).json() == {"deleted": tid}
    assert client.get(f"/v1/trees/{tid}").status_code == 404
    with TestClient(create_app(Settings(graph_uri=str(api_graph)))) as no_token:
        r = no_token.post("/v1/pool", json=body)
        assert r.status_code == 403 and "HCSP_API_TOKEN" in r.json()["hint"]
    with TestClient(create_app(settings_for(api_graph, api_protect_reads=True))) as guarded:
        assert guarded.get("/v1/questions").status_code == 401
        assert guarded.get("/v1/questions", headers=ADMIN).status_code == 200


def test_stats(client: TestClient) -> None:
    s = client.get("/v1/stats").json()
    assert s["graph"]["entities"] > 3000 and s["pool"]
    assert s["generation"]["attempts"] >= s["generation"]["accepted"] > 0
    assert 0 < s["generation"]["acceptance_rate"] <= 1


INJECTIONS = ["' OR 1=1 //", "x}) MATCH (n) DETACH DELETE n //", "\") RETURN 1 //",
              "$cap", "t0000000000000}'"]


def test_every_string_field_is_a_parameter_never_cypher(client: TestClient,
                                                        api_graph: Path) -> None:
    before = client.get("/v1/stats").json()["graph"]
    for bad in INJECTIONS:
        assert client.get(f"/v1/trees/{bad}").status_code in (404, 422)
        assert client.get(f"/v1/trees/{bad}/view").status_code in (404, 422)
        for field in ("cursor", "created_after", "shape"):
            assert client.get("/v1/questions", params={field: bad}).status_code == 422
        for field in ("created_after", "shape"):
            assert client.get("/v1/questions/stream", params={field: bad}).status_code == 422
        assert client.post("/v1/questions", json={"shape": bad}).status_code == 422
    assert client.get("/v1/stats").json()["graph"] == before


def test_concurrent_generation_stores_each_tree_once(client: TestClient,
                                                     api_graph: Path) -> None:
    body = {"vertices": 7, "count": 3, "seed": 77, "from_pool": False}
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: client.post("/v1/questions", json=body), range(4)))
    assert all(r.status_code == 200 for r in results)
    ids = {i["id"] for r in results for i in r.json()["items"]}
    assert len(ids) == 3
    b = FalkorBackend(str(api_graph))
    try:
        rows = b.read("MATCH (t:ResearchTree) WHERE t.id IN $ids "
                      "OPTIONAL MATCH (t)-[:HAS_VERTEX]->(v) RETURN t.id AS id, count(v) AS n",
                      {"ids": sorted(ids)})
    finally:
        b.close()
    assert sorted(r["id"] for r in rows) == sorted(ids)
    assert all(r["n"] == 7 for r in rows)


def test_impossible_and_slow_requests(api_graph: Path) -> None:
    with TestClient(create_app(settings_for(api_graph, api_generate_timeout_s=0.0))) as c:
        r = c.post("/v1/questions", json={"vertices": 12, "count": 5, "seed": 12345,
                                          "from_pool": False})
        assert r.status_code == 503 and "within 0 s" in r.json()["error"]
        assert r.headers["Retry-After"]
    with TestClient(create_app(settings_for(api_graph, api_max_count=2))) as c:
        r = c.post("/v1/questions", json={"vertices": 6, "count": 3})
        assert r.status_code == 422 and "at most 2" in r.json()["error"]
        r = c.post("/v1/questions", json={"vertices": 6, "count": 1, "k": 1000,
                                          "from_pool": False})
        assert r.status_code == 422 and "could be proven unique" in r.json()["error"]
        assert "smaller k" in r.json()["hint"]


def test_graph_down_is_503_and_recovers_without_restart(client: TestClient,
                                                        api_graph: Path) -> None:
    engine = EmbeddedEngine(api_graph)
    pid = engine.status().pid
    assert pid
    info = client.get("/readyz").json()["engine"]
    # Started on its own (as by `hcsp graph start`): the API neither owns nor supervises it.
    assert info["pid"] == pid and not info["owned"] and not info["supervised"]
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)  # a supervisor would have restarted it by now; nobody does
    try:
        r = client.get("/readyz")
        assert r.status_code == 503 and "does not answer" in r.json()["error"]
        assert r.headers["Retry-After"] and not r.json()["engine"]["running"]
        assert "hcsp graph start" in r.json()["hint"]
        r = client.get("/v1/questions")
        assert r.status_code == 503 and r.json()["hint"]
        assert client.get("/healthz").status_code == 200
    finally:
        engine.start(detached=True)  # the operator brings it back (`hcsp graph start`)
    assert client.get("/readyz").status_code == 200
    assert client.get("/v1/questions").status_code == 200


def test_a_handle_tries_again_at_once_when_the_engine_came_back(api_graph: Path) -> None:
    """A worker of `hcsp serve` that first opens the graph while its parent restarts the
    engine fails; once the engine is back it opens it on the next request, not only
    after the once-a-second limit (which still holds while nothing has changed)."""
    from api.deps import GraphHandle
    from graph.embedded import _me
    from graph.errors import GraphUnavailable

    engine = EmbeddedEngine(api_graph)
    pid = engine.status().pid
    assert pid
    os.kill(pid, signal.SIGKILL)
    while engine.status().running:
        time.sleep(0.01)
    engine.update_state(supervisor=_me())  # as if a live parent were restarting it
    handle = GraphHandle(settings_for(api_graph), retry_every=60.0)
    try:
        with pytest.raises(GraphUnavailable, match="being restarted by its supervisor"):
            handle.get()
        with pytest.raises(GraphUnavailable, match=r"^the graph is unavailable: the "):
            handle.get()  # nothing changed: not tried again within the limit
        engine.start(detached=True)  # back, under another pid
        assert engine.status().pid != pid
        handle.check()
        assert handle.last_error is None
    finally:
        handle.close()
        engine.start(detached=True)  # (the module's other tests need it running)


def test_neo4j_down_at_start(tmp_path: Path) -> None:
    app = create_app(Settings(graph_uri="bolt://127.0.0.1:1", neo4j_password="x"))
    with TestClient(app) as c:
        assert c.get("/healthz").status_code == 200
        r = c.get("/readyz")
        assert r.status_code == 503 and "cannot reach Neo4j" in r.json()["error"]
        assert c.get("/v1/questions").status_code == 503


def test_samplers_are_kept_between_requests(client: TestClient) -> None:
    samplers = client.app.state.generation.samplers
    body = {"vertices": 5, "count": 1, "seed": 31, "from_pool": False}
    assert client.post("/v1/questions", json=body).status_code == 200
    handle = client.app.state.graph
    from synth.sampler import SynthConfig

    first = samplers.get(handle.get(), SynthConfig(vertices=5))
    assert client.post("/v1/questions", json={**body, "seed": 32}).status_code == 200
    assert samplers.get(handle.get(), SynthConfig(vertices=5)) is first
    assert samplers.get(handle.get(), SynthConfig(vertices=6)) is not first


def test_an_engine_the_api_started_is_restarted_when_it_dies(tmp_path: Path) -> None:
    path = tmp_path / "graph"
    with TestClient(create_app(settings_for(path))) as c:
        info = c.get("/readyz").json()["engine"]
        assert info["owned"] and info["supervised"] and info["restarts"] == 0
        assert info["owner_pid"] == os.getpid() and info["uptime_s"] >= 0
        engine = EmbeddedEngine(path)
        with engine._lock():  # holds the supervisor back, so the gap can be looked at
            os.kill(info["pid"], signal.SIGKILL)
            while engine.status().running:
                time.sleep(0.01)
            r = c.get("/v1/questions")
            assert r.status_code == 503 and r.headers["Retry-After"] == "1"
            assert "being restarted by its supervisor" in r.json()["hint"]
            r = c.get("/readyz")
            assert r.status_code == 503 and r.headers["Retry-After"] == "1"
            assert r.json()["engine"]["supervised"] and not r.json()["engine"]["running"]
        t = time.monotonic()
        while c.get("/readyz").status_code != 200:
            assert time.monotonic() - t < 5, "not restarted within 5 s"
            time.sleep(0.02)
        back = c.get("/readyz").json()["engine"]
        assert back["restarts"] == 1 and back["pid"] != info["pid"] and back["supervised"]
        assert c.get("/v1/questions").status_code == 200
        assert c.get("/v1/stats").json()["engine"]["restarts"] == 1
    assert engine_processes(path) == []  # the API stopped what it started


def test_generation_beyond_the_limit_gets_503_and_reads_still_answer(api_graph: Path) -> None:
    # The gate's one turn is taken by the test itself (in the app's event loop), so
    # whether a request waits does not depend on how fast a tree is sampled.
    s = settings_for(api_graph, api_max_generating=1, api_generate_queue_s=0.2)
    body = {"vertices": 6, "count": 1, "from_pool": False}
    with TestClient(create_app(s)) as c:
        slots = c.app.state.generation.gate._slots
        c.portal.call(slots.acquire)
        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(c.post, "/v1/questions", json={**body, "seed": 500 + i})
                       for i in range(2)]
            assert c.get("/v1/questions", params={"limit": 1}).status_code == 200
            busy = [f.result() for f in futures]
        assert [r.status_code for r in busy] == [503, 503]
        assert all("busy generating" in r.json()["error"] and r.headers["Retry-After"] == "2"
                   for r in busy)
        c.portal.call(slots.release)
        assert c.post("/v1/questions", json={**body, "seed": 502}).status_code == 200


def test_a_request_waiting_at_the_gate_gets_the_turn_when_it_comes(api_graph: Path) -> None:
    s = settings_for(api_graph, api_max_generating=1, api_generate_queue_s=30)
    body = {"vertices": 6, "count": 1, "from_pool": False, "seed": 510}
    with TestClient(create_app(s)) as c:
        slots = c.app.state.generation.gate._slots
        c.portal.call(slots.acquire)
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(c.post, "/v1/questions", json=body)
            t = time.monotonic()
            while c.portal.call(lambda: slots.statistics().tasks_waiting) != 1:
                assert time.monotonic() - t < 10, "the request never came to wait at the gate"
                time.sleep(0.01)
            time.sleep(0.3)
            assert not waiting.done()  # no turn yet: it waits (without a thread) for one
            assert c.get("/v1/questions", params={"limit": 1}).status_code == 200
            c.portal.call(slots.release)
            assert waiting.result(timeout=30).status_code == 200
