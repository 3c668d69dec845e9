"""What a run's model calls cost: calls, HTTP requests (retries included), tokens and
dollars, by role.

Roles: ``writer`` (synth.llm writes a question), ``judge`` (it confirms the writer
stated each clue faithfully), ``scorer`` (synth.quality: the judge answers closed-book
and with evidence). One :class:`LLMUsage` is shared by a run's threads; every call goes
through :meth:`LLMUsage.complete`, which also fills the tree's own record.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

from hcsp.chat import ChatModel, take_usage

ROLES = ("writer", "judge", "scorer")
# List prices in USD per million tokens (input, output), for the cost of a question.
PRICES = {"gpt-4o-mini": (0.15, 0.60), "gpt-4o": (2.50, 10.00), "gpt-4.1-mini": (0.40, 1.60),
          "gpt-4.1": (2.00, 8.00), "claude-sonnet-4-5": (3.00, 15.00),
          "claude-haiku-4-5": (1.00, 5.00), "claude-opus-4-1": (15.00, 75.00)}


def cost_usd(model: str, used: dict[str, Any] | None) -> float | None:
    """The list price of one call, or None when the model's price or its usage is unknown.

    >>> cost_usd("openai:gpt-4o-mini", {"input_tokens": 1000, "output_tokens": 100})
    0.00021
    """
    if not used or used.get("input_tokens") is None:
        return None
    name = model.split(":", 1)[-1]
    price = next((p for k, p in PRICES.items() if name.startswith(k)), None)
    if price is None:
        return None
    return round((used["input_tokens"] * price[0]
                  + (used.get("output_tokens") or 0) * price[1]) / 1e6, 6)


@dataclass
class RoleUsage:
    """One role's calls. ``requests`` counts HTTP requests, retries included (None when
    the model is not reached over HTTP); a retry is not a new call."""

    calls: int = 0
    failed: int = 0
    requests: int | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None

    @property
    def retries(self) -> int | None:
        return None if self.requests is None else self.requests - self.calls


class LLMUsage:
    """Model calls of one run, by role (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.roles: dict[str, RoleUsage] = {}

    def complete(self, role: str, llm: ChatModel, prompt: str, record: dict[str, Any],
                 **kw: Any) -> str:
        """``llm``'s reply to ``prompt``, counted under ``role``; the call's tokens and
        cost also go into ``record`` (a tree's own record of it). Errors propagate,
        counted as failed calls."""
        take_usage()  # drop anything an earlier call on this thread left
        failed = True
        try:
            text = llm.complete([{"role": "user", "content": prompt}], **kw)
            failed = False
        finally:
            used = take_usage()
            cost = cost_usd(llm.name, used)
            self._add(role, used, cost, failed)
        if used and used.get("input_tokens") is not None:  # summed over a role's calls
            for what in ("input_tokens", "output_tokens"):
                key = f"{role}_{what}"
                record[key] = (record.get(key) or 0) + (used.get(what) or 0)
        if cost is not None:
            record["cost_usd"] = round(record.get("cost_usd", 0.0) + cost, 6)
        return text

    def _add(self, role: str, used: dict[str, Any] | None, cost: float | None,
             failed: bool) -> None:
        with self._lock:
            r = self.roles.setdefault(role, RoleUsage())
            r.calls += 1
            r.failed += failed
            if used:
                if used.get("requests") is not None:
                    r.requests = (r.requests or 0) + used["requests"]
                r.input_tokens += used.get("input_tokens") or 0
                r.output_tokens += used.get("output_tokens") or 0
            if cost is not None:
                r.cost_usd = round((r.cost_usd or 0.0) + cost, 6)

    def as_dict(self) -> dict[str, dict[str, Any]]:
        """Per role: calls, failed, requests, retries, tokens, cost."""
        with self._lock:
            return {role: {**asdict(r), "retries": r.retries}
                    for role, r in sorted(self.roles.items(), key=lambda x: ROLES.index(x[0])
                                          if x[0] in ROLES else len(ROLES))}


def per_kept(usage: dict[str, dict[str, Any]], kept: int) -> dict[str, float | None]:
    """Calls per kept question, by role (None with nothing kept).

    >>> per_kept({"writer": {"calls": 3}, "judge": {"calls": 2}}, 3)
    {'writer': 1.0, 'judge': 0.67}
    """
    return {role: round(u["calls"] / kept, 2) if kept else None for role, u in usage.items()}
