"""/v1/questions: ask for N-vertex questions, page through the pool, stream it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from api.deps import BackendDep, GenerationDep, Reader, SettingsDep
from api.errors import ApiError
from api.schemas import (
    MAX_VERTICES,
    MIN_VERTICES,
    ErrorOut,
    QuestionOut,
    QuestionRequest,
    QuestionsPage,
    QuestionsResponse,
)
from synth.config import SynthConfig
from synth.model import Tree
from synth.store import export_record, pool_page

router = APIRouter(tags=["questions"], dependencies=[Reader])

Vertices = Annotated[int | None, Query(ge=MIN_VERTICES, le=MAX_VERTICES,
                                       description="Only trees with this many vertices.")]
Shape = Annotated[Literal["deep", "wide"] | None, Query(description="Only this shape.")]
CreatedAfter = Annotated[str | None, Query(
    pattern=r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z?)?$",
    description="ISO date or time (UTC); only questions stored after it.")]
Difficulty = Annotated[float | None, Query(ge=0, le=1, description="Judge-scored difficulty "
                                           "(0: the judge answered closed-book, 1: it did not).")]
Cursor = Annotated[str | None, Query(pattern=r"^t[0-9a-f]{15}$",
                                     description="next_cursor of the previous page.")]


def question_out(tree: Tree, *, full: bool = False) -> QuestionOut:
    """The summary of a stored tree; with ``full``, also its full record (as
    GET /v1/trees/{id} gives it)."""
    c = tree.checks
    out = QuestionOut(
        id=tree.id, question=tree.question, answer=tree.answer, aliases=tree.aliases,
        n_vertices=tree.n_vertices, shape=tree.shape, seed=tree.seed,
        checks={"ok": c.get("ok", False), "k": c.get("k", 0),
                "vertex_matches": c.get("vertex_matches", {}),
                "constraint_alone": c.get("constraint_alone", {}),
                "root_literals_only": c.get("root_literals_only", 0)},
        solver_agreed=bool(tree.solver.get("agreed")), renderer=tree.renderer,
        graph_fingerprint=tree.graph_fingerprint, tree_url=f"/v1/trees/{tree.id}",
        view_url=f"/v1/trees/{tree.id}/view")
    if full:
        out.record = export_record(tree)  # set only here: the field is left out otherwise
    return out


ERRORS = {
    422: {"model": ErrorOut, "description": "Invalid, or impossible for this graph."},
    503: {"model": ErrorOut, "description": "The graph is down, the API is busy generating, "
          "or no question could be generated within the time budget; retry after "
          "Retry-After seconds."},
}


@router.post("/questions", responses=ERRORS, response_model_exclude_unset=True)
async def request_questions(req: QuestionRequest, backend: BackendDep, settings: SettingsDep,
                            generation: GenerationDep) -> QuestionsResponse:
    """Questions whose trees have ``vertices`` vertices: from the stored pool when it
    holds enough (and ``from_pool``), the rest generated now, proven, and stored. With
    ``full``, each item carries its full record (tree, evidence), so a client needs no
    GET /v1/trees/{id} per question."""
    if req.count > settings.api_max_count:
        raise ApiError(422, f"count must be at most {settings.api_max_count}",
                       hint="page through GET /v1/questions for more")
    pooled: list[Tree] = []
    if req.from_pool:
        pooled = await run_in_threadpool(pool_page, backend, limit=req.count,
                                         n_vertices=req.vertices, shape=req.shape, k=req.k)
    need = req.count - len(pooled)
    generated: list[Tree] = []
    rejected: dict[str, int] = {}
    if need > 0:
        config = SynthConfig(vertices=req.vertices, k=req.k, shape=req.shape)
        generated, report = await generation.run(
            backend, config, need, req.seed, timeout_s=settings.api_generate_timeout_s,
            exclude_answers={t.answer for t in pooled})
        rejected = report.rejected
        if not generated and not pooled:
            if report.timed_out:
                raise ApiError(503, f"no {req.vertices}-vertex question could be generated "
                               f"within {settings.api_generate_timeout_s:.0f} s "
                               f"({report.attempts} candidates, rejected: {rejected})",
                               hint="retry (the pool grows with each request), ask for fewer "
                               "vertices, or fill the pool with POST /v1/pool")
            raise ApiError(422, f"no {req.vertices}-vertex tree could be proven unique in "
                           f"this graph ({report.attempts} candidates, rejected: {rejected})",
                           hint="ask for fewer vertices or a smaller k, or ingest a larger "
                           "graph")
    trees = [*pooled, *generated]
    if req.full:  # records carry evidence and clues: built off the event loop
        items = await run_in_threadpool(lambda: [question_out(t, full=True) for t in trees])
    else:
        items = [question_out(t) for t in trees]
    return QuestionsResponse(items=items, from_pool=len(pooled), generated=len(generated),
                             rejected=rejected)


@router.get("/questions", response_model_exclude_unset=True)
def list_questions(backend: BackendDep, vertices: Vertices = None, shape: Shape = None,
                   created_after: CreatedAfter = None, min_difficulty: Difficulty = None,
                   max_difficulty: Difficulty = None, cursor: Cursor = None,
                   limit: Annotated[int, Query(ge=1, le=500)] = 50) -> QuestionsPage:
    """The stored pool, a page at a time (pass ``next_cursor`` back as ``cursor``)."""
    trees = pool_page(backend, after=cursor or "", limit=limit, n_vertices=vertices,
                      shape=shape, created_after=created_after, min_difficulty=min_difficulty,
                      max_difficulty=max_difficulty)
    return QuestionsPage(items=[question_out(t) for t in trees],
                         next_cursor=trees[-1].id if len(trees) == limit else None)


@router.get("/questions/stream", response_class=StreamingResponse,
            responses={200: {"content": {"application/x-ndjson": {}},
                             "description": "One full question record (with its tree) a line."}})
def stream_questions(backend: BackendDep, vertices: Vertices = None, shape: Shape = None,
                     created_after: CreatedAfter = None, min_difficulty: Difficulty = None,
                     max_difficulty: Difficulty = None) -> StreamingResponse:
    """Every stored question matching the filters as NDJSON, for bulk pulls."""
    def page(after: str) -> list[Tree]:
        return pool_page(backend, after=after, limit=200, n_vertices=vertices, shape=shape,
                         created_after=created_after, min_difficulty=min_difficulty,
                         max_difficulty=max_difficulty)

    # The first page is read here, so an unavailable graph is a 503, not a cut stream.
    first = page("")

    def lines() -> Iterator[bytes]:
        current = first
        while current:
            for t in current:
                yield (json.dumps(export_record(t), ensure_ascii=False) + "\n").encode()
            if len(current) < 200:
                return
            current = page(current[-1].id)

    return StreamingResponse(lines(), media_type="application/x-ndjson")
