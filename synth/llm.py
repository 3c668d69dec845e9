"""Rewriting template questions more naturally with a chat model (hcsp.chat).

A rewrite is kept only if it names no hidden entity and keeps every constraint;
otherwise, or if the model fails, the template question stays and the tree says so.
"""

from __future__ import annotations

from hcsp.chat import AnthropicChat, ChatModel, OpenAIChat
from synth.checks import leaks
from synth.errors import SynthError
from synth.model import Tree
from synth.render import missing_markers

PROMPT = (
    "Rewrite this quiz question so it reads naturally. Keep every condition, number, "
    "year, letter and quoted name exactly; add no facts; do not reveal or guess the "
    "answer or any entity it describes. Reply with the question only.\n\nQuestion: {q}")


LLM = ChatModel


def make_llm(kind: str, model: str | None = None, base_url: str | None = None) -> LLM | None:
    """``none`` -> None; ``anthropic`` / ``openai`` -> an adapter (hcsp.chat)."""
    if kind == "none":
        return None
    if kind == "anthropic":
        return AnthropicChat(model)
    if kind == "openai":
        return OpenAIChat(model, base_url)
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
