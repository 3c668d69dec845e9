"""/v1/trees: one tree as JSON or as a page; admin: fill the pool, delete a tree."""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from api.deps import Admin, BackendDep, GateDep, HandleDep, Reader, SamplersDep, SettingsDep
from api.errors import ApiError
from api.schemas import PoolFill, PoolFillOut
from api.view import render_html
from synth.errors import SynthError
from synth.model import Tree
from synth.pipeline import SynthReport, synthesize
from synth.sampler import SynthConfig
from synth.store import delete_tree, export_record, load_tree, save_trees

router = APIRouter(tags=["trees"])
TreeId = Annotated[str, Path(pattern=r"^t[0-9a-f]{15}$", description="A tree id, t + 15 hex.")]


def _load(backend: Any, tree_id: str) -> Tree:
    try:
        return load_tree(backend, tree_id)
    except SynthError as e:
        raise ApiError(404, f"no research tree {tree_id}",
                       hint="ids come from POST or GET /v1/questions") from e


class TreeCache:
    """Stored trees are immutable (their id is their content's hash), so their JSON is
    cached per process; entries expire after ``ttl`` seconds so that a delete made
    through another worker shows within that time."""

    def __init__(self, size: int = 10_000, ttl: float = 60.0) -> None:
        self.size, self.ttl = size, ttl
        self._items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is None or time.monotonic() - hit[0] > self.ttl:
                return None
            self._items.move_to_end(key)
            return hit[1]

    def put(self, key: str, value: bytes) -> None:
        with self._lock:
            self._items[key] = (time.monotonic(), value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def drop(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)


CACHE = TreeCache()


@router.get("/trees/{tree_id}", dependencies=[Reader],
            responses={200: {"content": {"application/json": {}}, "description":
                             "The full record of one research tree."}})
async def get_tree(tree_id: TreeId, handle: HandleDep) -> Response:
    """The full record: question, answer, aliases, vertices with their constraints and
    provenance, evidence, acceptance counts, solver result."""
    body = CACHE.get(tree_id)
    if body is None:
        tree = await run_in_threadpool(lambda: _load(handle.get(), tree_id))
        body = json.dumps(export_record(tree), ensure_ascii=False).encode()
        CACHE.put(tree_id, body)
    return Response(body, media_type="application/json")


@router.get("/trees/{tree_id}/view", response_class=HTMLResponse, dependencies=[Reader])
def view_tree(tree_id: TreeId, backend: BackendDep) -> HTMLResponse:
    """The tree drawn as an HTML page."""
    return HTMLResponse(render_html(_load(backend, tree_id)))


@router.delete("/trees/{tree_id}", dependencies=[Admin])
def remove_tree(tree_id: TreeId, backend: BackendDep) -> dict[str, Any]:
    """Delete a stored tree (admin)."""
    CACHE.drop(tree_id)
    if not delete_tree(backend, tree_id):
        raise ApiError(404, f"no research tree {tree_id}")
    return {"deleted": tree_id}


@router.post("/pool", dependencies=[Admin])
async def fill_pool(req: PoolFill, backend: BackendDep, settings: SettingsDep,
                    samplers: SamplersDep, gate: GateDep, request: Request) -> PoolFillOut:
    """Generate and store questions in the pool (admin)."""
    t = time.perf_counter()
    config = SynthConfig(vertices=req.vertices, k=req.k, shape=req.shape)

    def generate() -> tuple[list[Tree], SynthReport]:
        trees, report = synthesize(backend, config, req.count, req.seed,
                                   workers=settings.api_workers,
                                   sampler=samplers.get(backend, config),
                                   deadline=time.monotonic() + settings.api_pool_timeout_s)
        save_trees(backend, trees)
        return trees, report

    async with gate.turn():
        trees, report = await run_in_threadpool(generate)
    request.app.state.generation.add(report)
    return PoolFillOut(stored=len(trees), timed_out=report.timed_out, attempts=report.attempts,
                       rejected=report.rejected,
                       seconds=round(time.perf_counter() - t, 3))
