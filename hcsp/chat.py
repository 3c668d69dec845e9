"""Chat models behind one small protocol: messages in, text out, and the one factory
that makes them from a spec.

Used by synth/ (question rewriting, the judge), agent/ (the policy and the refiner) and
train/ (the SFT teacher). A spec is ``KIND:MODEL``, spelled the same on every command:
``openai:MODEL`` (any OpenAI-compatible server through ``base_url``: a local vLLM,
``hcsp agent serve-model``), ``anthropic:MODEL``, ``transformers:PATH`` (a local model,
registered by agent/ when it is imported), or ``none``. A bare ``openai`` or
``anthropic`` means the model the settings name (``HCSP_OPENAI_MODEL``,
``HCSP_ANTHROPIC_MODEL``). The SDKs are imported only when an adapter is built.
Messages use the roles system / user / assistant / tool; adapters for APIs without a
plain tool role send tool turns as user turns.

Every failure of the model or its server surfaces as :class:`ModelError`, so a caller
can record it (an agent episode ends with reason ``model_error``) instead of dying.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from hcsp.errors import HcspError
from hcsp.settings import get_settings

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


def record_usage(input_tokens: int | None, output_tokens: int | None,
                 truncated: bool | None = None) -> None:
    """Adapters call this after each completion with the tokens the server reported and,
    where known, whether the reply was cut at ``max_tokens`` (``truncated``)."""
    _usage.last = {"input_tokens": input_tokens, "output_tokens": output_tokens}
    if truncated is not None:
        _usage.last["truncated"] = truncated


def count_request(_request: object = None) -> None:
    """Adapters over HTTP call this for every request sent, retries included (an httpx
    request hook: it runs on the thread that makes the call)."""
    _usage.requests = getattr(_usage, "requests", 0) + 1


def take_usage() -> dict[str, int | None] | None:
    """What this thread's model calls reported since the last take (once): the token
    counts of the last completion, and ``requests``, the HTTP requests sent (retries
    included; absent for a model that is not reached over HTTP). None if nothing was
    reported. A failed call reports its requests with no tokens."""
    last = getattr(_usage, "last", None)
    requests = getattr(_usage, "requests", 0)
    _usage.last, _usage.requests = None, 0
    if last is None and not requests:
        return None
    out = dict(last or {"input_tokens": None, "output_tokens": None})
    if requests:
        out["requests"] = requests
    return out


def _http_client(sdk: Any) -> Any:
    """The SDK's own httpx client (its defaults), counting every request it sends."""
    return sdk.DefaultHttpxClient(event_hooks={"request": [count_request]})


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
        self.model = model or get_settings().anthropic_model
        self.name = f"anthropic:{self.model}"
        self.client = anthropic.Anthropic(timeout=timeout, max_retries=max_retries,
                                          http_client=_http_client(anthropic))

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
        self.model = model or get_settings().openai_model
        self.name = f"openai:{self.model}"
        base_url = base_url or get_settings().openai_base_url
        # A local server (vLLM, hcsp agent serve-model) needs no key; the SDK wants one.
        key = os.environ.get("OPENAI_API_KEY") or ("local" if base_url else None)
        self.client = openai.OpenAI(base_url=base_url, api_key=key, timeout=timeout,
                                    max_retries=max_retries, http_client=_http_client(openai))

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
            record_usage(u.prompt_tokens, getattr(u, "completion_tokens", None),
                         truncated=choice.finish_reason == "length")
        # OpenAI-compatible servers drop the stop string; put the closing tag back (the
        # one a server names in "stop_reason", as vLLM does; None there: the model ended
        # its turn itself, nothing to put back)
        named = (choice.model_extra or {}).get("stop_reason", "?")
        if choice.finish_reason == "stop" and named in stop:
            text += named
        elif choice.finish_reason == "stop" and stop and named == "?":
            opened = [(text.rfind(s.replace("</", "<")), s) for s in stop if s not in text]
            at, tag = max(opened, default=(-1, ""))
            if at >= 0:
                text += tag
        return text


ChatFactory = Callable[[str | None, str | None], ChatModel]
"""Builds a model from the MODEL part of a spec (None when the spec has none) and a
base URL (None when none was given)."""


@dataclass(frozen=True, slots=True)
class ChatKind:
    """One ``KIND:MODEL`` spelling: how to build it and what MODEL is, for messages."""

    factory: ChatFactory
    usage: str


CHAT_KINDS: dict[str, ChatKind] = {}


def register_chat(kind: str, factory: ChatFactory, usage: str) -> None:
    """Make ``make_chat("KIND:MODEL")`` build ``factory(MODEL, base_url)``; ``usage`` is how
    the spec is written (``"transformers:PATH"``), shown when a spec is wrong. Registering a
    kind again replaces it."""
    CHAT_KINDS[kind] = ChatKind(factory, usage)


def make_chat(spec: str, base_url: str | None = None) -> ChatModel | None:
    """The model a spec names (``none``: None); ModelError naming the spellings when the
    kind is unknown.

    >>> make_chat("none") is None
    True
    >>> make_chat("gpt-4o")
    Traceback (most recent call last):
    ...
    hcsp.chat.ModelError: unknown model 'gpt-4o' (write KIND:MODEL: openai:MODEL ...)
    """
    if spec == "none":
        return None
    kind, _, model = spec.partition(":")
    if kind not in CHAT_KINDS:
        kinds = ", ".join(k.usage for k in CHAT_KINDS.values())
        raise ModelError(f"unknown model {spec!r}", hint=f"write KIND:MODEL: {kinds} or none")
    return CHAT_KINDS[kind].factory(model or None, base_url)


register_chat("openai", lambda model, base_url: OpenAIChat(model, base_url),
              "openai:MODEL (--base-url for a compatible server)")
register_chat("anthropic", lambda model, _base_url: AnthropicChat(model), "anthropic:MODEL")
