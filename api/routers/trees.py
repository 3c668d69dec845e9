"""/v1/trees: one tree as JSON or as a page; admin: fill the pool, delete a tree."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from api.deps import Admin, BackendDep, GenerationDep, HandleDep, Reader, SettingsDep, TreesDep
from api.errors import ApiError
from api.schemas import PoolFill, PoolFillOut
from api.view import render_html
from synth.config import SynthConfig
from synth.errors import SynthError
from synth.model import Tree
from synth.store import delete_tree, export_record, load_tree

router = APIRouter(tags=["trees"])
TreeId = Annotated[str, Path(pattern=r"^t[0-9a-f]{15}$", description="A tree id, t + 15 hex.")]


def _load(backend: Any, tree_id: str) -> Tree:
    try:
        return load_tree(backend, tree_id)
    except SynthError as e:
        raise ApiError(404, f"no research tree {tree_id}",
                       hint="ids come from POST or GET /v1/questions") from e


@router.get("/trees/{tree_id}", dependencies=[Reader],
            responses={200: {"content": {"application/json": {}}, "description":
                             "The full record of one research tree."}})
async def get_tree(tree_id: TreeId, handle: HandleDep, cache: TreesDep) -> Response:
    """The full record: question, answer, aliases, vertices with their constraints and
    provenance, evidence, acceptance counts, solver result."""
    body = cache.get(tree_id)
    if body is None:
        tree = await run_in_threadpool(lambda: _load(handle.get(), tree_id))
        body = json.dumps(export_record(tree), ensure_ascii=False).encode()
        cache.put(tree_id, body)
    return Response(body, media_type="application/json")


@router.get("/trees/{tree_id}/view", response_class=HTMLResponse, dependencies=[Reader])
def view_tree(tree_id: TreeId, backend: BackendDep) -> HTMLResponse:
    """The tree drawn as an HTML page."""
    return HTMLResponse(render_html(_load(backend, tree_id)))


@router.delete("/trees/{tree_id}", dependencies=[Admin])
def remove_tree(tree_id: TreeId, backend: BackendDep, cache: TreesDep) -> dict[str, Any]:
    """Delete a stored tree (admin)."""
    cache.drop(tree_id)
    if not delete_tree(backend, tree_id):
        raise ApiError(404, f"no research tree {tree_id}")
    return {"deleted": tree_id}


@router.post("/pool", dependencies=[Admin])
async def fill_pool(req: PoolFill, backend: BackendDep, settings: SettingsDep,
                    generation: GenerationDep) -> PoolFillOut:
    """Generate and store questions in the pool (admin)."""
    t = time.perf_counter()
    config = SynthConfig(vertices=req.vertices, k=req.k, shape=req.shape)
    trees, report = await generation.run(backend, config, req.count, req.seed,
                                         timeout_s=settings.api_pool_timeout_s)
    return PoolFillOut(stored=len(trees), timed_out=report.timed_out, attempts=report.attempts,
                       rejected=report.rejected,
                       seconds=round(time.perf_counter() - t, 3))
