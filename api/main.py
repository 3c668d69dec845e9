"""The API application: ``create_app()`` builds it; ``hcsp serve`` runs it.

    uvicorn --factory api.main:create_app
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI

from api import errors
from api.deps import GraphHandle
from api.routers import health, questions, trees
from api.state import Generation, TreeCache
from graph.errors import GraphUnavailable
from hcsp import __version__
from hcsp.settings import Settings, get_settings


def create_app(settings: Settings | None = None, graph_uri: str | None = None) -> FastAPI:
    """The FastAPI app over the graph at ``graph_uri`` (default: HCSP_GRAPH_URI)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        handle = GraphHandle(settings, graph_uri)
        app.state.graph = handle
        app.state.settings = settings
        app.state.generation = Generation(settings)  # made inside the event loop (its gate)
        app.state.trees = TreeCache()
        app.state.health_limiter = anyio.CapacityLimiter(4)  # /readyz's own threads
        try:
            handle.get()  # connect now; a graph that is down is retried per request
        except GraphUnavailable:
            pass
        yield
        handle.close()

    app = FastAPI(
        title="hcsp", version=__version__, lifespan=lifespan,
        description="Hard, verifiable deep-research questions from Wikipedia: every "
        "question's research tree is proven unique against the graph.")
    errors.install(app)
    app.include_router(health.router)
    app.include_router(questions.router, prefix="/v1")
    app.include_router(trees.router, prefix="/v1")
    return app
