"""A local model behind an OpenAI-compatible chat endpoint: ``hcsp agent serve-model``.

    POST /v1/chat/completions {"model", "messages", "max_tokens", "stop", "temperature", "seed"}
    GET  /v1/models

Lets rollouts on other processes or machines share one loaded model through
``--policy openai:NAME --base-url http://host:port/v1``, exactly as they would use vLLM.
As in the OpenAI API, a matched stop string is not part of the returned text.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from hcsp.chat import ModelError, take_usage


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: str = Field(pattern="^(system|user|assistant|tool)$")
    content: str


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1, le=8192)
    stop: list[str] | str | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    seed: int | None = None


def _usage(used: dict[str, Any] | None) -> dict[str, int]:
    if not used or used.get("input_tokens") is None:
        return {}
    i, o = int(used["input_tokens"]), int(used.get("output_tokens") or 0)
    return {"prompt_tokens": i, "completion_tokens": o, "total_tokens": i + o}


def create_model_app(chat: Any) -> FastAPI:
    """Serve ``chat`` (a loaded :class:`agent.local.TransformersChat`)."""
    app = FastAPI(title="hcsp model server", description="OpenAI-compatible chat completions.")
    name = chat.spec

    @app.exception_handler(ModelError)
    async def _error(_: object, e: ModelError) -> JSONResponse:
        return JSONResponse({"error": {"message": e.message, "type": "model_error"}},
                            status_code=500)

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": name, "object": "model", "owned_by": "hcsp"}]}

    @app.post("/v1/chat/completions")
    async def complete(req: ChatRequest) -> dict[str, Any]:
        stop = [req.stop] if isinstance(req.stop, str) else list(req.stop or [])
        def run() -> tuple[str, dict[str, Any] | None]:
            out = chat.complete([m.model_dump() for m in req.messages],
                                max_tokens=req.max_tokens, stop=stop,
                                temperature=req.temperature, seed=req.seed)
            return out, take_usage()

        text, used = await run_in_threadpool(run)
        # A matched stop string is cut, as OpenAI does, and named in "stop_reason", as vLLM
        # does (None: the model ended its turn); "length" when it hit max_tokens
        finish = "length" if (used or {}).get("truncated", bool(stop)) else "stop"
        matched = None
        for s in stop:
            if text.endswith(s):
                text, finish, matched = text[: -len(s)], "stop", s
                break
        return {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion",
                "created": int(time.time()), "model": req.model,
                "choices": [{"index": 0, "finish_reason": finish, "stop_reason": matched,
                             "message": {"role": "assistant", "content": text}}],
                "usage": _usage(used)}

    return app
