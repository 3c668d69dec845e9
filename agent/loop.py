"""The deep-research agent loop (InfoSeeker-style): think, search with several queries
at once, read refined evidence notes, answer.

An episode ends with one recorded ``stop_reason``:

- ``answered``: the model gave an ``<answer>``;
- ``max_turns``: it never answered within the turn limit;
- ``no_results``: it never answered, and no search it made found anything;
- ``malformed``: ``max_malformed`` replies in a row had no well-formed action
  (each one is answered with a format reminder first);
- ``model_error`` / ``search_error``: the model server or the search tool failed;
- ``error``: anything else (the batch goes on; the traceback's last line is kept).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from agent.errors import AgentError
from agent.format import STOPS, initial_messages, parse_turn, render_observation
from agent.questions import Question
from agent.refine import Refiner
from agent.tools import SearchTool
from hcsp.answers import answer_matches, exact_match
from hcsp.chat import ChatModel, ModelError

RETRYABLE = ("model_error", "search_error", "error")


@dataclass
class AgentConfig:
    """Turn format and limits."""

    max_turns: int = 6            # assistant replies per episode
    max_tokens: int = 256         # new tokens per reply
    k: int = 3                    # passages per query
    max_queries: int = 3          # queries per search step
    observation_chars: int = 1500  # size of one tool turn
    temperature: float = 0.0      # 0: greedy; sampling is seeded per episode and turn
    max_malformed: int = 2        # malformed replies in a row that end an episode
    example: bool = True          # show the worked example before the question

    def __post_init__(self) -> None:
        for name in ("max_turns", "max_tokens", "k", "max_queries", "observation_chars",
                     "max_malformed"):
            if getattr(self, name) < 1:
                raise AgentError(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.temperature < 0:
            raise AgentError(f"temperature must be >= 0, not {self.temperature}")


def is_correct(prediction: str | None, q: Question) -> bool:
    """Alias-aware match, refusing hedges: a reply may name the answer inside a few
    more words ("Daugava river") but not inside a list of guesses."""
    if not prediction:
        return False
    if not answer_matches(prediction, q.answer, q.aliases):
        return False
    longest = max(len(n.split()) for n in (q.answer, *q.aliases))
    return len(prediction.split()) <= 2 * longest + 3


class Agent:
    """A policy, a search tool and a refiner under one configuration."""

    def __init__(self, policy: ChatModel, search: SearchTool, refiner: Refiner,
                 config: AgentConfig | None = None) -> None:
        self.policy = policy
        self.search = search
        self.refiner = refiner
        self.config = config or AgentConfig()

    def run(self, q: Question, *, sample: int = 0, seed: int = 0) -> dict[str, Any]:
        """One episode; never raises for a failure of the model, the tool or the reply."""
        t0 = time.perf_counter()
        ep = Episode(self, q, sample, seed)
        try:
            ep.play()
        except ModelError as e:
            ep.stop("model_error", e.message)
        except AgentError as e:
            ep.stop("search_error", e.message)
        except Exception as e:  # a bug or a surprise must not end a batch run
            ep.stop("error", f"{type(e).__name__}: {e}")
        return ep.record(time.perf_counter() - t0)


class Episode:
    def __init__(self, agent: Agent, q: Question, sample: int, seed: int) -> None:
        self.agent, self.q, self.sample, self.seed = agent, q, sample, seed
        c = agent.config
        self.messages = initial_messages(q.question, max_queries=c.max_queries,
                                         example=c.example)
        self.turns: list[dict[str, Any]] = []
        self.retrieved: list[str] = []
        self.prediction: str | None = None
        self.stop_reason: str | None = None
        self.error: str | None = None
        self.n_searches = self.n_queries = self.empty_searches = 0

    def stop(self, reason: str, error: str | None = None) -> None:
        self.stop_reason = reason
        self.error = error

    def play(self) -> None:
        c = self.agent.config
        malformed = 0
        for i in range(c.max_turns):
            t_turn = time.perf_counter()
            reply = self.agent.policy.complete(
                self.messages, max_tokens=c.max_tokens, stop=STOPS,
                temperature=c.temperature, seed=self.seed * 1000 + i)
            turn = parse_turn(reply, c.max_queries)
            self.messages.append({"role": "assistant", "content": turn.text})
            rec: dict[str, Any] = {"turn": i, "reply": reply, "action": turn.action,
                                   "think": turn.think, "error": turn.error}
            self.turns.append(rec)
            last = i == c.max_turns - 2
            footer = "This is your last turn: reply with <answer>." if last else ""
            if turn.action == "answer":
                rec["answer"] = self.prediction = turn.answer
                rec["seconds"] = round(time.perf_counter() - t_turn, 3)
                self.stop("answered")
                return
            if turn.action == "malformed":
                malformed += 1
                if malformed >= c.max_malformed:
                    rec["seconds"] = round(time.perf_counter() - t_turn, 3)
                    self.stop("malformed", turn.error)
                    return
                obs = (f"<information>\nFormat error: {turn.error}. Reply with "
                       "<think>...</think> and then <search>queries</search> or "
                       f"<answer>name</answer>.{(' ' + footer) if footer else ''}\n"
                       "</information>")
            else:
                malformed = 0
                obs = self.search_step(turn.queries, rec, footer)
            rec["observation"] = obs
            rec["seconds"] = round(time.perf_counter() - t_turn, 3)
            self.messages.append({"role": "tool", "content": obs})
        if self.n_searches and self.empty_searches == self.n_searches:
            self.stop("no_results", "no search found anything")
        else:
            self.stop("max_turns")

    def search_step(self, queries: list[str], rec: dict[str, Any], footer: str) -> str:
        c = self.agent.config
        hits = self.agent.search.search(queries, c.k)
        self.n_searches += 1
        self.n_queries += len(queries)
        if not any(hits):
            self.empty_searches += 1
        for row in hits:
            for h in row:
                if h.title not in self.retrieved:
                    self.retrieved.append(h.title)
        notes = self.agent.refiner.refine(self.q.question, queries, hits)
        rec["queries"] = queries
        rec["hits"] = [[{"title": h.title, "passage": h.passage, "score": h.score} for h in row]
                       for row in hits]
        rec["notes"] = notes
        return render_observation(queries, notes, c.observation_chars, footer)

    def record(self, seconds: float) -> dict[str, Any]:
        q, a = self.q, self.agent
        ev = set(q.evidence_pages)
        return {
            "id": f"{q.id}:{self.sample}", "question_id": q.id, "sample": self.sample,
            "seed": self.seed, "question": q.question, "answer": q.answer,
            "aliases": q.aliases, "evidence_pages": q.evidence_pages,
            "policy": a.policy.name, "search": a.search.name, "refiner": a.refiner.name,
            "config": asdict(a.config), "messages": self.messages, "turns": self.turns,
            "prediction": self.prediction,
            "exact_match": bool(self.prediction) and exact_match(self.prediction or "", q.answer),
            "correct": is_correct(self.prediction, q),
            "n_turns": len(self.turns), "n_searches": self.n_searches,
            "n_queries": self.n_queries, "retrieved_titles": self.retrieved,
            "evidence_recall": (round(len(ev & set(self.retrieved)) / len(ev), 4)
                                if ev else None),
            "stop_reason": self.stop_reason, "error": self.error,
            "seconds": round(seconds, 3),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
