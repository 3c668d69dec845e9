"""The search tool over HTTP, for training rollouts: ``hcsp agent serve-search``.

    POST /search {"queries": ["..."], "k": 5} -> {"results": [[{title, text, score}, ...]]}
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from agent.errors import AgentError
from agent.search import NUMBA_FROM, SearchIndex, backend_for
from agent.tools import REQUEST_QUERIES


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    queries: list[str] = Field(min_length=1, max_length=REQUEST_QUERIES,
                               description=f"1 to {REQUEST_QUERIES} queries, searched "
                               "together.")
    k: int = Field(5, ge=1, le=50, description="Results per query (1 to 50).")


class HitOut(BaseModel):
    title: str
    text: str
    score: float
    passage: int


class SearchResponse(BaseModel):
    results: list[list[HitOut]]


def create_search_app(index_dir: Path) -> FastAPI:
    """The service over the index saved in ``index_dir``, loaded once, at start. A service
    lives long, so it scores with numba whatever the index's size (compiled here, by a
    first query, not at the first request)."""
    index = SearchIndex.load(index_dir, backend=backend_for(NUMBA_FROM))
    index.search(["warm up"], 1)
    app = FastAPI(title="hcsp search", description="BM25 over the ingested Wikipedia pages.")

    @app.exception_handler(AgentError)
    async def _error(_: object, e: AgentError) -> JSONResponse:
        return JSONResponse({"error": e.message, "hint": e.hint}, status_code=400)

    @app.get("/healthz")
    def healthz() -> dict[str, object]:
        return {"status": "ok", "passages": len(index.passages)}

    @app.post("/search")
    def search(req: SearchRequest) -> SearchResponse:
        hits = index.search(req.queries, req.k)
        return SearchResponse(results=[[HitOut(title=h.title, text=h.text, score=h.score,
                                               passage=h.passage) for h in row] for row in hits])

    return app
