"""The agent's turn format, shared by the agent loop, the SFT data and GRPO rollouts.

Every assistant turn is a thought, then one action::

    <think>what is known, what is missing</think>
    <search>first query
    second query</search>            (one query a line, searched in parallel)

or ``<answer>NAME</answer>``. The search results come back as a ``tool`` turn wrapped
in ``<information>...</information>``: for each query, short evidence notes that keep
their page titles (``[Title] note``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from hcsp.chat import Message

STOPS = ("</search>", "</answer>")
LAST_TURN = "This is your last turn: reply with <answer>."

SYSTEM = (
    "You answer questions by searching Wikipedia. Every reply is a thought, then either "
    "a search or an answer:\n"
    "<think>...</think>\n<search>query one\nquery two</search>\n"
    "or\n"
    "<think>...</think>\n<answer>name</answer>\n"
    "Put one to {max_queries} search queries in a search, one a line. Search results come "
    "back inside <information>...</information>. Answer with the name of one Wikipedia "
    "article only.")

# One worked exchange shown before the question: small models copy the format from it.
# Its turns are marked ``example`` so that training puts no loss on them.
EXAMPLE: list[dict[str, Any]] = [
    {"role": "user", "content": "Question: Which river flows through the capital of Latvia?"},
    {"role": "assistant", "content": "<think>The capital of Latvia is Riga. I should check "
     "which river it lies on.</think>\n<search>Riga river\ncapital of Latvia</search>"},
    {"role": "tool", "content": "<information>\nQuery: Riga river\n- [Riga] Riga is the "
     "capital of Latvia, at the mouth of the Daugava.\nQuery: capital of Latvia\n- [Latvia] "
     "Its capital is Riga.\n</information>"},
    {"role": "assistant", "content": "<think>Riga lies on the Daugava.</think>\n"
     "<answer>Daugava</answer>"},
]
for _m in EXAMPLE:
    _m["example"] = True

# The chat template the agent's local models and the training data use: ChatML (the
# format of SmolLM2, Qwen and others), tool turns sent as user turns (the results are
# not the model's words), and {% generation %} around assistant text so training can
# put the loss on the model's own tokens only (not on the worked example's).
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'assistant' and not message.get('example') -%}"
    "{{ '<|im_start|>assistant\n' }}{% generation %}{{ message['content'] + '<|im_end|>' }}"
    "{% endgeneration %}{{ '\n' }}"
    "{%- else -%}"
    "{{ '<|im_start|>' + ('user' if message['role'] == 'tool' else message['role']) + '\n' "
    "+ message['content'] + '<|im_end|>\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\n' }}{%- endif -%}")

_THINK = re.compile(r"<think>(.*?)</think>", re.S)
_SEARCH = re.compile(r"<search>(.*?)</search>", re.S)
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.S)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s*")


def initial_messages(question: str, *, max_queries: int = 3, example: bool = True
                     ) -> list[Message]:
    """The system prompt, the worked example, the question."""
    msgs: list[Message] = [{"role": "system", "content": SYSTEM.format(max_queries=max_queries)}]
    if example:
        msgs.extend(dict(m) for m in EXAMPLE)
    msgs.append({"role": "user", "content": f"Question: {question}"})
    return msgs


@dataclass
class Turn:
    """One parsed assistant reply."""

    text: str                 # the reply, cut after its action
    action: str               # "search", "answer" or "malformed"
    think: str | None = None
    queries: list[str] = field(default_factory=list)
    answer: str | None = None
    error: str | None = None  # why a reply is malformed, or what was dropped
    truncated: bool = False   # the reply hit the token limit before it ended


def cut_reply(text: str) -> str:
    """The reply up to the end of its first action; anything the model wrote after it
    (invented results, a second action) is dropped.

    >>> cut_reply("<think>x</think><search>a</search><information>made up")
    '<think>x</think><search>a</search>'
    """
    at = cut_point(text)
    return (text if at is None else text[:at]).strip()


def cut_point(text: str) -> int | None:
    """Where :func:`cut_reply` cuts a reply: after its first action, or before results it
    made up; None when it has neither (no action: malformed, or cut at the token limit).

    >>> cut_point("<think>x</think><answer>A</answer> and more"), cut_point("<think>x")
    (34, None)
    """
    ends = [i + len(s) for s in STOPS if (i := text.find(s)) >= 0]
    fake = text.find("<information>")
    if fake >= 0:
        ends.append(fake)
    return min(ends) if ends else None


def parse_turn(text: str, max_queries: int = 3) -> Turn:
    """Parse a reply into its action.

    >>> t = parse_turn("<think>hm</think><search>Riga river\\n- Daugava\\nRiga river</search>")
    >>> t.action, t.queries, t.think
    ('search', ['Riga river', 'Daugava'], 'hm')
    >>> parse_turn("<think>so</think><answer> Daugava </answer>").answer
    'Daugava'
    >>> parse_turn("It is Daugava.").error
    'no <search>...</search> or <answer>...</answer> in the reply'
    """
    text = cut_reply(text)
    think_m = _THINK.search(text)
    think = think_m.group(1).strip() if think_m else None
    search_m, answer_m = _SEARCH.search(text), _ANSWER.search(text)
    if answer_m and (not search_m or answer_m.start() < search_m.start()):
        answer = " ".join(answer_m.group(1).split())
        if not answer:
            return Turn(text, "malformed", think, error="empty <answer></answer>")
        return Turn(text, "answer", think, answer=answer)
    if search_m:
        queries: list[str] = []
        for line in re.split(r"[\n;]", search_m.group(1)):
            q = _BULLET.sub("", line).strip().strip("\"'").strip()
            if q and q not in queries:
                queries.append(q)
        if not queries:
            return Turn(text, "malformed", think, error="empty <search></search>")
        dropped = queries[max_queries:]
        return Turn(text, "search", think, queries=queries[:max_queries],
                    error=f"{len(dropped)} queries over the limit of {max_queries} dropped"
                    if dropped else None)
    return Turn(text, "malformed", think,
                error="no <search>...</search> or <answer>...</answer> in the reply")


def format_ok(turns_text: list[str]) -> bool:
    """True when every reply has a thought and exactly one well-formed action, and only
    the last one answers (the paper's format condition for a reward).

    >>> format_ok(["<think>a</think><search>q</search>", "<think>b</think><answer>X</answer>"])
    True
    >>> format_ok(["<think>a</think><answer>X</answer>", "<think>b</think><answer>Y</answer>"])
    False
    >>> format_ok(["<search>q</search>"])
    False
    """
    if not turns_text:
        return False
    for i, text in enumerate(turns_text):
        t = parse_turn(text)
        last = i == len(turns_text) - 1
        if t.think is None or t.action == "malformed" or (t.action == "answer") != last:
            return False
    return True


def render_observation(queries: list[str], notes: list[list[str]], max_chars: int,
                       footer: str = "") -> str:
    """The tool turn: each query's notes, cut to ``max_chars`` in all.

    >>> print(render_observation(["a", "b"], [["[A] x"], []], 200))
    <information>
    Query: a
    - [A] x
    Query: b
    (no results)
    </information>
    """
    lines: list[str] = []
    budget = max_chars
    for q, ns in zip(queries, notes, strict=True):
        lines.append(f"Query: {q}")
        if not ns:
            lines.append("(no results)")
        share = max(80, budget // max(1, len(queries)))
        for n in ns:
            note = n if len(n) <= share else n[:share].rsplit(" ", 1)[0] + " ..."
            lines.append(f"- {note}")
    body = "\n".join(lines)
    if len(body) > max_chars:
        body = body[:max_chars].rsplit("\n", 1)[0] + "\n..."
    if footer:
        body += f"\n{footer}"
    return f"<information>\n{body}\n</information>"


def render_reminder(error: str, footer: str = "") -> str:
    """The tool turn that answers a malformed reply: what was wrong, and the format.

    >>> print(render_reminder("empty <answer></answer>", LAST_TURN))
    <information>
    Format error: empty <answer></answer>. Reply with <think>...</think> and then
    <search>queries</search> or <answer>name</answer>. This is your last turn: reply with
    <answer>.
    </information>
    """
    return (f"<information>\nFormat error: {error}. Reply with <think>...</think> and then "
            "<search>queries</search> or <answer>name</answer>."
            f"{(' ' + footer) if footer else ''}\n</information>")
