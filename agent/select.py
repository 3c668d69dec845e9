"""Rejection sampling: the correct trajectories, filtered, as an SFT dataset.

Each kept episode becomes ``{"messages": [...], ...}`` (system, example, question,
the model's turns, the tool turns), the conversational format TRL's SFTTrainer reads.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.errors import AgentError
from hcsp.answers import leaks_answer


@dataclass
class SelectConfig:
    min_searches: int = 1          # episodes that never searched teach nothing about search
    max_turns: int | None = None   # drop long episodes
    max_chars: int | None = None   # drop episodes whose messages exceed this many characters
    per_question: int | None = None  # keep at most this many (the shortest) per question
    allow_leaks: bool = False      # keep questions that name their own answer


def drop_reason(rec: dict[str, Any], c: SelectConfig) -> str | None:
    """Why an episode is not SFT data, or None to keep it.

    >>> base = {"correct": True, "stop_reason": "answered", "n_searches": 2, "n_turns": 3,
    ...         "question": "Which river?", "answer": "Daugava", "aliases": [], "messages": []}
    >>> drop_reason(base, SelectConfig()) is None
    True
    >>> drop_reason({**base, "question": "Is the Daugava a river?"}, SelectConfig())
    'answer_in_question'
    >>> drop_reason({**base, "n_searches": 0}, SelectConfig())
    'too_few_searches'
    """
    if rec.get("stop_reason") != "answered":
        return f"stopped:{rec.get('stop_reason')}"
    if not rec.get("correct"):
        return "wrong_answer"
    if rec.get("n_searches", 0) < c.min_searches:
        return "too_few_searches"
    if c.max_turns is not None and rec.get("n_turns", 0) > c.max_turns:
        return "too_many_turns"
    if c.max_chars is not None and chars(rec) > c.max_chars:
        return "too_long"
    if not c.allow_leaks and leaks_answer(rec["question"], rec["answer"], rec.get("aliases", ())):
        return "answer_in_question"
    return None


def chars(rec: dict[str, Any]) -> int:
    return sum(len(m["content"]) for m in rec.get("messages", []))


def select(records: list[dict[str, Any]], c: SelectConfig
           ) -> tuple[list[dict[str, Any]], Counter[str]]:
    """(SFT records, drop counts by reason)."""
    dropped: Counter[str] = Counter()
    kept: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        reason = drop_reason(rec, c)
        if reason:
            dropped[reason] += 1
        else:
            kept.setdefault(rec["question_id"], []).append(rec)
    out = []
    for recs in kept.values():
        recs.sort(key=lambda r: (r["n_turns"], chars(r), r["id"]))
        if c.per_question is not None:
            dropped["over_per_question"] += max(0, len(recs) - c.per_question)
            recs = recs[:c.per_question]
        for r in recs:
            out.append({"id": r["id"], "question_id": r["question_id"], "messages": r["messages"],
                        "question": r["question"], "answer": r["answer"],
                        "aliases": r.get("aliases", []), "n_searches": r["n_searches"],
                        "n_turns": r["n_turns"], "policy": r.get("policy")})
    return out, dropped


def write_sft(records: list[dict[str, Any]], path: Path) -> None:
    if not records:
        raise AgentError("no trajectory passed the filters: nothing to write",
                         hint="run more samples (hcsp agent rollout --samples N) or relax "
                         "--min-searches / --max-turns")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(path)
