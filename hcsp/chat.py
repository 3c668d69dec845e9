"""Chat models behind one small protocol: messages in, text out.

Used by synth/ (question rewriting, the judge) and agent/ (the policy and the refiner).
The ``anthropic`` and ``openai`` SDKs are imported only when an adapter is built; the
OpenAI adapter serves any OpenAI-compatible server through ``base_url`` (a local vLLM,
``hcsp agent serve-model``). Messages use the roles system / user / assistant / tool;
adapters for APIs without a plain tool role send tool turns as user turns.

Every failure of the model or its server surfaces as :class:`ModelError`, so a caller
can record it (an agent episode ends with reason ``model_error``) instead of dying.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any, Protocol

from hcsp.errors import HcspError

Message = dict[str, str]


class ModelError(HcspError):
    """The model or its server failed (down, timed out, refused the request)."""


class ChatModel(Protocol):
    """A chat model: messages in, the assistant's next reply out."""

    name: str

    def complete(self, messages: list[Message], *, max_tokens: int | None = None,
                 stop: Sequence[str] = (), temperature: float | None = None,
                 seed: int | None = None) -> str: ...


_usage = threading.local()


def record_usage(input_tokens: int | None, output_tokens: int | None) -> None:
    """Adapters call this after each completion with the tokens the server reported."""
    _usage.last = {"input_tokens": input_tokens, "output_tokens": output_tokens}


def take_usage() -> dict[str, int | None] | None:
    """The token counts of this thread's last completion (once), or None if the model
    reported none."""
    last = getattr(_usage, "last", None)
    _usage.last = None
    return last


def api_messages(messages: list[Message]) -> list[Message]:
    """Tool turns as user turns, consecutive same-role turns merged (what chat APIs
    without a free-form tool role accept).

    >>> api_messages([{"role": "user", "content": "q"}, {"role": "tool", "content": "r"}])
    [{'role': 'user', 'content': 'q\\n\\nr'}]
    """
    out: list[Message] = []
    for m in messages:
        role = "user" if m["role"] == "tool" else m["role"]
        if out and out[-1]["role"] == role:
            out[-1] = {"role": role, "content": f"{out[-1]['content']}\n\n{m['content']}"}
        else:
            out.append({"role": role, "content": m["content"]})
    return out


def _sdk(name: str) -> Any:
    """A vendor SDK module, or a ModelError saying how to install it."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise ModelError(f"the {name} SDK is not installed",
                         hint="pip install -e '.[llm]'") from e


class AnthropicChat:
    """Claude through the official ``anthropic`` SDK (ANTHROPIC_API_KEY)."""

    def __init__(self, model: str | None = None, timeout: float = 60.0,
                 max_retries: int = 2) -> None:
        anthropic = _sdk("anthropic")
        self.model = model or os.environ.get("HCSP_ANTHROPIC_MODEL", "claude-sonnet-4-5")
        self.name = f"anthropic:{self.model}"
        self.client = anthropic.Anthropic(timeout=timeout, max_retries=max_retries)

    def complete(self, messages: list[Message], *, max_tokens: int | None = None,
                 stop: Sequence[str] = (), temperature: float | None = None,
                 seed: int | None = None) -> str:
        msgs = api_messages(messages)
        system = "\n\n".join(m["content"] for m in msgs if m["role"] == "system")
        kw: dict[str, object] = {"model": self.model, "max_tokens": max_tokens or 1024,
                                 "messages": [m for m in msgs if m["role"] != "system"]}
        if system:
            kw["system"] = system
        if stop:
            kw["stop_sequences"] = list(stop)
        if temperature is not None:
            kw["temperature"] = temperature
        try:
            resp = self.client.messages.create(**kw)  # type: ignore[arg-type]
        except Exception as e:  # SDK errors of every kind: the server's failure, recorded
            raise ModelError(f"{self.name} failed: {type(e).__name__}: {e}") from e
        text = "".join(getattr(b, "text", "") for b in resp.content)
        u = getattr(resp, "usage", None)
        if u is not None:
            record_usage(getattr(u, "input_tokens", None), getattr(u, "output_tokens", None))
        if getattr(resp, "stop_reason", None) == "stop_sequence" and resp.stop_sequence:
            text += resp.stop_sequence
        return text


class OpenAIChat:
    """Any OpenAI-compatible chat endpoint through the official ``openai`` SDK."""

    def __init__(self, model: str | None = None, base_url: str | None = None,
                 timeout: float = 60.0, max_retries: int = 2) -> None:
        openai = _sdk("openai")
        self.model = model or os.environ.get("HCSP_OPENAI_MODEL", "gpt-4o-mini")
        self.name = f"openai:{self.model}"
        base_url = base_url or os.environ.get("HCSP_OPENAI_BASE_URL")
        # A local server (vLLM, hcsp agent serve-model) needs no key; the SDK wants one.
        key = os.environ.get("OPENAI_API_KEY") or ("local" if base_url else None)
        self.client = openai.OpenAI(base_url=base_url, api_key=key, timeout=timeout,
                                    max_retries=max_retries)

    def complete(self, messages: list[Message], *, max_tokens: int | None = None,
                 stop: Sequence[str] = (), temperature: float | None = None,
                 seed: int | None = None) -> str:
        kw: dict[str, object] = {"model": self.model, "messages": api_messages(messages)}
        if max_tokens:
            kw["max_tokens"] = max_tokens
        if stop:
            kw["stop"] = list(stop)[:4]
        if temperature is not None:
            kw["temperature"] = temperature
        if seed is not None:
            kw["seed"] = seed
        try:
            resp = self.client.chat.completions.create(**kw)  # type: ignore[call-overload]
        except Exception as e:  # connection refused, timeouts, 4xx/5xx: recorded by callers
            raise ModelError(f"{self.name} failed: {type(e).__name__}: {e}",
                             hint="check that the model server runs and base_url is right"
                             ) from e
        choice = resp.choices[0]
        text = choice.message.content or ""
        u = getattr(resp, "usage", None)
        if u is not None and getattr(u, "prompt_tokens", None) is not None:
            record_usage(u.prompt_tokens, getattr(u, "completion_tokens", None))
        # OpenAI-compatible servers drop the stop string; put the closing tag back.
        if choice.finish_reason == "stop" and stop:
            opened = [(text.rfind(s.replace("</", "<")), s) for s in stop if s not in text]
            at, tag = max(opened, default=(-1, ""))
            if at >= 0:
                text += tag
        return text


def make_chat(spec: str, base_url: str | None = None) -> ChatModel | None:
    """A model from a spec: ``none``; ``anthropic[:MODEL]``; ``openai[:MODEL]`` (with
    ``base_url`` for a compatible server); ``smollm2`` or ``transformers:PATH`` (a local
    model run by transformers: needs the ``agent`` extra)."""
    kind, _, model = spec.partition(":")
    if kind == "none":
        return None
    if kind == "anthropic":
        return AnthropicChat(model or None)
    if kind == "openai":
        return OpenAIChat(model or None, base_url)
    if kind in ("smollm2", "transformers"):
        from agent.local import TransformersChat

        return TransformersChat(model or "smollm2")
    raise ModelError(f"unknown model {spec!r}",
                     hint="use anthropic[:MODEL], openai[:MODEL] (--base-url for a local "
                     "server), smollm2 or transformers:PATH")
