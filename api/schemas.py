"""Request and response schemas (pydantic at the edges)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MIN_VERTICES, MAX_VERTICES = 4, 12


class QuestionRequest(BaseModel):
    """Ask for ``count`` questions whose research trees have ``vertices`` vertices."""

    model_config = ConfigDict(extra="forbid")

    vertices: int = Field(6, ge=MIN_VERTICES, le=MAX_VERTICES,
                          description=f"N, from {MIN_VERTICES} to {MAX_VERTICES}: vertices of "
                          "each research tree, root and constraints included.")
    count: int = Field(10, ge=1, le=100, description="How many questions (1 to 100).")
    seed: int = Field(0, ge=0, le=2**62, description="Same graph + seed = same questions.")
    shape: Literal["deep", "wide"] = Field("deep", description="Chains, or all under the root.")
    k: int = Field(2, ge=1, le=1000, description="Each constraint alone matches >= k entities.")
    from_pool: bool = Field(True, description="Serve stored questions first when enough "
                            "exist; generate the rest on demand.")
    full: bool = Field(False, description="Also return each question's full record (tree, "
                       "evidence, clues, solver), as GET /v1/trees/{id} gives it.")


class ErrorOut(BaseModel):
    """What went wrong, and what to do about it."""

    error: str
    hint: str | None = None


class Checks(BaseModel):
    ok: bool
    k: int
    vertex_matches: dict[str, int]
    constraint_alone: dict[str, int]
    root_literals_only: int


class QuestionOut(BaseModel):
    id: str
    question: str
    answer: str
    aliases: list[str]
    n_vertices: int
    shape: str
    seed: int
    checks: Checks
    solver_agreed: bool
    renderer: str
    graph_fingerprint: str
    tree_url: str
    view_url: str
    record: dict[str, Any] | None = Field(None, description="The full record, as GET "
                                          "/v1/trees/{id} gives it; only when asked (full).")


class QuestionsResponse(BaseModel):
    items: list[QuestionOut]
    from_pool: int = Field(description="How many came from the stored pool.")
    generated: int = Field(description="How many were generated for this request.")
    rejected: dict[str, int] = Field(default_factory=dict,
                                     description="Candidates rejected while generating.")


class QuestionsPage(BaseModel):
    items: list[QuestionOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page.")


class PoolFill(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vertices: int = Field(6, ge=MIN_VERTICES, le=MAX_VERTICES)
    count: int = Field(10, ge=1, le=1000)
    seed: int = Field(0, ge=0, le=2**62)
    shape: Literal["deep", "wide"] = "deep"
    k: int = Field(2, ge=1, le=1000)


class PoolFillOut(BaseModel):
    stored: int
    timed_out: bool = Field(description="The fill stopped at HCSP_API_POOL_TIMEOUT_S.")
    attempts: int
    rejected: dict[str, int]
    seconds: float


class Stats(BaseModel):
    graph: dict[str, Any]
    pool: dict[str, int] = Field(description="Stored questions by number of vertices.")
    generation: dict[str, Any] = Field(description="Since the API started: attempts, "
                                       "accepted, rejected by reason, acceptance rate.")
    engine: dict[str, Any] = Field(description="The engine behind the graph: kind, pid, "
                                   "uptime_s, owned (started by this API), supervised, "
                                   "restarts (as in /readyz).")
