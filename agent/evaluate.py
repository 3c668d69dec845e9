"""Scoring a set of episodes: accuracy (normalized exact match, alias-aware match),
searches per episode, evidence recall, how episodes ended."""

from __future__ import annotations

from collections import Counter
from statistics import mean
from typing import Any


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The evaluation report of a list of episode records.

    >>> r = summarize([
    ...     {"exact_match": True, "correct": True, "n_searches": 2, "evidence_recall": 0.5,
    ...      "stop_reason": "answered", "seconds": 1.0},
    ...     {"exact_match": False, "correct": False, "n_searches": 0, "evidence_recall": None,
    ...      "stop_reason": "max_turns", "seconds": 3.0}])
    >>> r["exact_match"], r["alias_match"], r["avg_searches"], r["evidence_recall"]
    (0.5, 0.5, 1.0, 0.5)
    """
    n = len(records)
    recalls = [r["evidence_recall"] for r in records if r.get("evidence_recall") is not None]
    return {
        "episodes": n,
        "exact_match": round(mean(bool(r["exact_match"]) for r in records), 4) if n else 0.0,
        "alias_match": round(mean(bool(r["correct"]) for r in records), 4) if n else 0.0,
        "answered": round(mean(r["stop_reason"] == "answered" for r in records), 4) if n else 0.0,
        "avg_searches": round(mean(float(r["n_searches"]) for r in records), 3) if n else 0.0,
        "evidence_recall": round(mean(recalls), 4) if recalls else None,
        "with_evidence": len(recalls),
        "stop_reasons": dict(Counter(r["stop_reason"] for r in records).most_common()),
        "avg_seconds": round(mean(r["seconds"] for r in records), 3) if n else 0.0,
    }
