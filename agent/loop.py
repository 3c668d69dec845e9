"""The deep-research agent loop (InfoSeeker-style): think, search with several queries
at once, read refined evidence notes, answer.

:class:`Agent` plays the episode state machine (agent.episode, shared with the GRPO
rollouts) with messages: the policy's ``complete`` on the episode's messages, the search
tool, the refiner, and a record of every turn. Besides the machine's stop reasons
(``answered``, ``max_turns``, ``no_results``, ``malformed``), an episode ends with

- ``model_error``: the model or its server failed;
- ``search_error``: the search tool failed (agent.tools.SearchError);
- ``error``: anything else (the batch goes on; the error's message is kept).
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from agent.episode import AgentConfig, EpisodeState
from agent.format import STOPS
from agent.questions import Question
from agent.refine import Refiner
from agent.tools import SearchError, SearchTool
from hcsp.answers import accepts, exact_match
from hcsp.chat import ChatModel, ModelError, take_usage

__all__ = ["RETRYABLE", "Agent", "AgentConfig", "Episode"]

RETRYABLE = ("model_error", "search_error", "error")


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
            ep.state.stop("model_error", e.message)
        except SearchError as e:
            ep.state.stop("search_error", e.message)
        except Exception as e:  # a bug or a surprise must not end a batch run
            ep.state.stop("error", f"{type(e).__name__}: {e}")
        return ep.record(time.perf_counter() - t0)


class Episode:
    """One episode played with messages, every turn recorded."""

    def __init__(self, agent: Agent, q: Question, sample: int, seed: int) -> None:
        self.agent, self.q, self.sample, self.seed = agent, q, sample, seed
        self.state = EpisodeState(q.question, agent.config)
        self.turns: list[dict[str, Any]] = []
        self.retrieved: list[str] = []

    def play(self) -> None:
        a, c, st = self.agent, self.agent.config, self.state
        while not st.done:
            t_turn = time.perf_counter()
            i = len(st.turns)
            take_usage()  # drop anything an earlier call on this thread left
            reply = a.policy.complete(st.messages, max_tokens=c.max_tokens, stop=STOPS,
                                      temperature=c.temperature, seed=self.seed * 1000 + i)
            truncated = bool((take_usage() or {}).get("truncated"))
            turn = st.reply(reply, truncated=truncated)
            rec: dict[str, Any] = {"turn": i, "reply": reply, "action": turn.action,
                                   "think": turn.think, "error": turn.error,
                                   "truncated": turn.truncated}
            self.turns.append(rec)
            if turn.action == "answer":
                rec["answer"] = turn.answer
            elif turn.action == "search":
                rec["queries"] = turn.queries
            if st.queries:
                self.search_step(rec)
            if st.observations[-1] is not None:
                rec["observation"] = st.observations[-1]
            rec["seconds"] = round(time.perf_counter() - t_turn, 3)

    def search_step(self, rec: dict[str, Any]) -> None:
        a, st = self.agent, self.state
        queries = st.queries
        hits = a.search.search(queries, a.config.k)
        for row in hits:
            for h in row:
                if h.title not in self.retrieved:
                    self.retrieved.append(h.title)
        notes = a.refiner.refine(self.q.question, queries, hits)
        rec["hits"] = [[{"title": h.title, "passage": h.passage, "score": h.score} for h in row]
                       for row in hits]
        rec["notes"] = notes
        st.observe(notes, found=any(hits))

    def record(self, seconds: float) -> dict[str, Any]:
        q, a, st = self.q, self.agent, self.state
        ev = set(q.evidence_pages)
        prediction = st.answer
        return {
            "id": f"{q.id}:{self.sample}", "question_id": q.id, "sample": self.sample,
            "seed": self.seed, "question": q.question, "answer": q.answer,
            "aliases": q.aliases, "evidence_pages": q.evidence_pages,
            "policy": a.policy.name, "search": a.search.name, "refiner": a.refiner.name,
            "config": asdict(a.config), "messages": st.messages, "turns": self.turns,
            "prediction": prediction,
            "exact_match": bool(prediction) and exact_match(prediction or "", q.answer),
            "correct": accepts(prediction, q.answer, q.aliases),
            "n_turns": len(self.turns), "n_searches": st.n_searches,
            "n_queries": st.n_queries, "retrieved_titles": self.retrieved,
            "evidence_recall": (round(len(ev & set(self.retrieved)) / len(ev), 4)
                                if ev else None),
            "stop_reason": st.stop_reason, "error": st.error,
            "seconds": round(seconds, 3),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
