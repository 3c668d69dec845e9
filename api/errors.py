"""One handler maps the project's errors to HTTP: the body says what went wrong and
what to do, never a traceback."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from graph.errors import GraphUnavailable, QueryError
from hcsp.errors import HcspError
from synth.errors import SynthError


class ApiError(HcspError):
    """An error raised by the API itself, with its HTTP status."""

    def __init__(self, status: int, message: str, *, hint: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.headers = headers or {}


def status_of(e: HcspError) -> int:
    if isinstance(e, ApiError):
        return e.status
    if isinstance(e, GraphUnavailable):
        return 503
    if isinstance(e, SynthError):
        return 422
    if isinstance(e, QueryError):
        return 500
    return 400


def install(app: FastAPI) -> None:
    """Register the handler on ``app``."""

    @app.exception_handler(HcspError)
    async def _handle(request: Request, e: HcspError) -> JSONResponse:
        status = status_of(e)
        headers = dict(getattr(e, "headers", {}) or {})
        if status == 503:
            headers.setdefault("Retry-After", "1")
        return JSONResponse({"error": e.message, "hint": e.hint}, status_code=status,
                            headers=headers)
