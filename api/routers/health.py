"""/healthz (the process answers), /readyz (the graph answers), /v1/stats."""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import BackendDep, GenerationDep, HandleDep, Reader
from api.schemas import Stats
from graph.errors import GraphUnavailable
from graph.store import graph_stats, pool_counts

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The API process is up (it says nothing about the graph)."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(handle: HandleDep, request: Request) -> JSONResponse:
    """Ready only when the graph answers (503 with Retry-After otherwise). ``engine``
    says what runs it: pid, uptime, whether this API owns and supervises it, restarts.

    It runs on its own few threads, so that it answers at once even while every
    request thread is busy generating."""
    limiter = request.app.state.health_limiter
    try:
        await anyio.to_thread.run_sync(handle.check, limiter=limiter)
    except GraphUnavailable as e:
        info = await anyio.to_thread.run_sync(handle.engine_info, limiter=limiter)
        return JSONResponse({"status": "unavailable", "error": e.message, "hint": e.hint,
                             "graph": handle.uri, "engine": info}, status_code=503,
                            headers={"Retry-After": "1"})
    info = await anyio.to_thread.run_sync(handle.engine_info, limiter=limiter)
    return JSONResponse({"status": "ready", "graph": handle.uri, "engine": info})


@router.get("/v1/stats", dependencies=[Reader])
def stats(backend: BackendDep, handle: HandleDep, generation: GenerationDep) -> Stats:
    """Graph counts, the question pool by number of vertices, generation rates, and the
    engine (as in /readyz)."""
    pool = {str(n): count for n, count in pool_counts(backend).items()}
    return Stats(graph=graph_stats(backend).as_dict(), pool=pool,
                 generation=generation.stats.as_dict(),
                 engine=handle.engine_info())
