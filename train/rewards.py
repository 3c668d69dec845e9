"""GRPO reward functions: pure, documented, scored on the agent's own turns.

TRL calls each with the batch's ``completions`` and the dataset's columns as keyword
arguments (``answer``, ``aliases``, ``evidence_pages``) plus the rollout's extra
fields (``agent_turns``: the assistant replies of each episode, ``retrieved_titles``).
Without ``agent_turns`` the turns are recovered from the completion text by cutting
out the ``<information>`` blocks.

The paper's reward is binary: 1 only when the format is right and the answer matches
(:func:`hcsp_reward` = :func:`format_reward` x :func:`answer_reward`). The shaped
variants (:func:`format_fraction_reward`, :func:`evidence_reward`) are logged beside it
with weight 0 unless a run gives them one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from agent.format import format_ok, parse_turn
from hcsp.answers import accepts

_INFO = re.compile(r"<information>.*?</information>", re.S)


def completion_text(completion: Any) -> str:
    """Text of a completion, plain or conversational (a list of messages)."""
    if isinstance(completion, str):
        return completion
    return "".join(m.get("content", "") for m in completion if m.get("role") == "assistant")


def split_turns(text: str) -> list[str]:
    """The assistant replies inside one multi-turn completion.

    >>> split_turns("<think>a</think><search>q</search>\\nuser\\n<information>r</information>"
    ...             "\\nassistant\\n<think>b</think><answer>X</answer>")
    ['<think>a</think><search>q</search>', '<think>b</think><answer>X</answer>']
    """
    turns = []
    for part in _INFO.split(text):
        part = part.strip()
        for marker in ("user", "assistant"):  # role names left by the chat template
            part = part.removesuffix(marker).removeprefix(marker).strip()
        if part:
            turns.append(part)
    return turns


def _turns(completions: Sequence[Any], agent_turns: Sequence[Sequence[str]] | None
           ) -> list[list[str]]:
    if agent_turns is not None:
        return [list(t) for t in agent_turns]
    return [split_turns(completion_text(c)) for c in completions]


def final_answer(turns: Sequence[str]) -> str | None:
    """The answer of the last reply, if it answers.

    >>> final_answer(["<think>a</think><answer> Riga </answer>"])
    'Riga'
    >>> final_answer(["<think>a</think><search>q</search>"]) is None
    True
    """
    if not turns:
        return None
    t = parse_turn(turns[-1])
    return t.answer if t.action == "answer" else None


def format_reward(completions: Sequence[Any], agent_turns: Sequence[Sequence[str]] | None = None,
                  **_: Any) -> list[float]:
    """1.0 when every reply has a thought and one well-formed action and only the last
    one answers, else 0.0.

    >>> good = "<think>a</think><search>q</search><information>r</information>" \\
    ...        "<think>b</think><answer>X</answer>"
    >>> format_reward([good, "<answer>X</answer>", "<think>a</think>"])
    [1.0, 0.0, 0.0]
    """
    return [1.0 if format_ok(t) else 0.0 for t in _turns(completions, agent_turns)]


def answer_reward(completions: Sequence[Any], answer: Sequence[str],
                  aliases: Sequence[Sequence[str]] | None = None,
                  agent_turns: Sequence[Sequence[str]] | None = None, **_: Any) -> list[float]:
    """1.0 when the final answer is accepted as the gold answer or an alias
    (hcsp.answers.accepts, as the agent's evaluation: normalized, the name plus a few
    words at most, no list of guesses), else 0.0.

    >>> answer_reward(["<think>x</think><answer>the Rīga</answer>",
    ...                "<think>x</think><answer>Tallinn</answer>",
    ...                "<think>x</think><answer>Riga, Tallinn, Vilnius or Kaunas maybe</answer>",
    ...                "<think>x</think><search>Riga</search>"],
    ...               answer=["Riga"] * 4, aliases=[["Rīga"]] * 4)
    [1.0, 0.0, 0.0, 0.0]
    """
    aliases = aliases or [[] for _ in completions]
    out = []
    for turns, gold, al in zip(_turns(completions, agent_turns), answer, aliases, strict=True):
        out.append(1.0 if accepts(final_answer(turns), gold, al) else 0.0)
    return out


def hcsp_reward(completions: Sequence[Any], answer: Sequence[str],
                aliases: Sequence[Sequence[str]] | None = None,
                agent_turns: Sequence[Sequence[str]] | None = None, **_: Any) -> list[float]:
    """The paper's binary reward: format x answer.

    >>> hcsp_reward(["<think>x</think><answer>Riga</answer>", "<answer>Riga</answer>"],
    ...             answer=["Riga", "Riga"])
    [1.0, 0.0]
    """
    f = format_reward(completions, agent_turns)
    a = answer_reward(completions, answer, aliases, agent_turns)
    return [x * y for x, y in zip(f, a, strict=True)]


def format_fraction_reward(completions: Sequence[Any],
                           agent_turns: Sequence[Sequence[str]] | None = None,
                           **_: Any) -> list[float]:
    """Shaped: the share of replies with a thought and a well-formed action.

    >>> format_fraction_reward(["<think>a</think><search>q</search><information>r"
    ...                         "</information>oops"])
    [0.5]
    """
    out = []
    for turns in _turns(completions, agent_turns):
        ok = [parse_turn(t) for t in turns]
        good = sum(1 for t in ok if t.think is not None and t.action != "malformed")
        out.append(good / len(ok) if ok else 0.0)
    return out


def evidence_reward(completions: Sequence[Any],
                    evidence_pages: Sequence[Sequence[str]] | None = None,
                    retrieved_titles: Sequence[Sequence[str]] | None = None,
                    **_: Any) -> list[float | None]:
    """Shaped: the share of the question's evidence pages the searches retrieved
    (None, i.e. not applicable, for questions without evidence pages).

    >>> evidence_reward(["", ""], evidence_pages=[["A", "B"], []],
    ...                 retrieved_titles=[["B", "C"], ["A"]])
    [0.5, None]
    """
    if evidence_pages is None or retrieved_titles is None:
        return [None for _ in completions]
    out: list[float | None] = []
    for ev, got in zip(evidence_pages, retrieved_titles, strict=True):
        out.append(len(set(ev) & set(got)) / len(set(ev)) if ev else None)
    return out


REWARDS = {f.__name__: f for f in (hcsp_reward, format_reward, answer_reward,
                                   format_fraction_reward, evidence_reward)}


def resolve_reward(name: str) -> Any:
    """A reward function by name: one of :data:`REWARDS`, or ``package.module:function``
    for your own (same calling convention).

    >>> resolve_reward("hcsp_reward").__name__
    'hcsp_reward'
    """
    if name in REWARDS:
        return REWARDS[name]
    module, _, attr = name.partition(":")
    if module and attr:
        import importlib

        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:
            from train.errors import TrainError

            raise TrainError(f"cannot import reward {name!r}: {e}") from e
    from train.errors import TrainError

    raise TrainError(f"unknown reward function {name!r}",
                     hint=f"choose from {', '.join(REWARDS)} or give package.module:function")
