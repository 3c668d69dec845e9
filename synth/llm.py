"""LLMs behind one small protocol, used to rewrite template questions more naturally.

Adapters for the official ``anthropic`` and ``openai`` SDKs (any OpenAI-compatible
server via ``base_url``, e.g. a local vLLM) are imported only when used. A rewrite is
kept only if it names no hidden entity and keeps every constraint; otherwise, or if
the model fails, the template question stays and the tree says so.
"""

from __future__ import annotations

import os
from typing import Any, Protocol

from synth.checks import leaks
from synth.errors import SynthError
from synth.model import Tree
from synth.render import missing_markers

PROMPT = (
    "Rewrite this quiz question so it reads naturally. Keep every condition, number, "
    "year, letter and quoted name exactly; add no facts; do not reveal or guess the "
    "answer or any entity it describes. Reply with the question only.\n\nQuestion: {q}")


class LLM(Protocol):
    """A chat model: messages in, text out."""

    name: str

    def complete(self, messages: list[dict[str, str]], *, schema: dict[str, Any] | None = None
                 ) -> str: ...


class AnthropicLLM:
    """Claude through the official ``anthropic`` SDK (ANTHROPIC_API_KEY)."""

    def __init__(self, model: str | None = None, timeout: float = 60.0) -> None:
        try:
            import anthropic
        except ImportError as e:
            raise SynthError("the anthropic SDK is not installed",
                             hint="pip install -e '.[llm]'") from e
        self.model = model or os.environ.get("HCSP_ANTHROPIC_MODEL", "claude-sonnet-4-5")
        self.name = f"anthropic:{self.model}"
        self.client = anthropic.Anthropic(timeout=timeout, max_retries=2)

    def complete(self, messages: list[dict[str, str]], *, schema: dict[str, Any] | None = None
                 ) -> str:
        resp = self.client.messages.create(model=self.model, max_tokens=1024, messages=messages)
        return "".join(getattr(b, "text", "") for b in resp.content)


class OpenAILLM:
    """Any OpenAI-compatible chat endpoint through the official ``openai`` SDK."""

    def __init__(self, model: str | None = None, base_url: str | None = None,
                 timeout: float = 60.0) -> None:
        try:
            import openai
        except ImportError as e:
            raise SynthError("the openai SDK is not installed",
                             hint="pip install -e '.[llm]'") from e
        self.model = model or os.environ.get("HCSP_OPENAI_MODEL", "gpt-4o-mini")
        self.name = f"openai:{self.model}"
        self.client = openai.OpenAI(base_url=base_url or os.environ.get("HCSP_OPENAI_BASE_URL"),
                                    timeout=timeout, max_retries=2)

    def complete(self, messages: list[dict[str, str]], *, schema: dict[str, Any] | None = None
                 ) -> str:
        resp = self.client.chat.completions.create(model=self.model, messages=messages)
        return resp.choices[0].message.content or ""


def make_llm(kind: str, model: str | None = None, base_url: str | None = None) -> LLM | None:
    """``none`` -> None; ``anthropic`` / ``openai`` -> an adapter."""
    if kind == "none":
        return None
    if kind == "anthropic":
        return AnthropicLLM(model)
    if kind == "openai":
        return OpenAILLM(model, base_url)
    raise SynthError(f"unknown LLM {kind!r}", hint="use none, anthropic or openai")


def rewrite_question(tree: Tree, llm: LLM, names: dict[str, list[str]]) -> None:
    """Replace the template question by the model's rewrite if the rewrite is safe;
    record why not otherwise. Never raises for a model failure: the tree is kept."""
    try:
        text = llm.complete([{"role": "user", "content": PROMPT.format(q=tree.question)}]).strip()
    except Exception as e:  # any SDK or network failure: keep the template question
        tree.renderer = f"template (llm failed: {type(e).__name__})"
        return
    if not text:
        tree.renderer = "template (llm returned nothing)"
    elif leaks(text, names):
        tree.renderer = "template (llm rewrite named a hidden entity)"
    elif missing_markers(text, tree):
        tree.renderer = "template (llm rewrite dropped a constraint)"
    else:
        tree.scores["template_question"] = tree.question
        tree.question = text
        tree.renderer = llm.name
