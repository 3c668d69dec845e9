"""Synthesize accepted research trees: sample, check, solve, render, store.

    trees, report = synthesize(backend, SynthConfig(vertices=6), count=10, seed=7)

Attempt i of a run uses the seed derived from (seed, i), so the same graph, config and
seed give the same trees, byte for byte. Rejected candidates are counted by reason.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from graph.backend import GraphBackend
from synth.checks import check_tree, hidden_names, leaks
from synth.config import Rejected, SynthConfig
from synth.counting import Counts
from synth.errors import SynthError
from synth.llm import LLM, write_question
from synth.model import Tree
from synth.policy import Variety
from synth.quality import score, verdict
from synth.render import template_question
from synth.sampler import Sampler
from synth.solver import solve


@dataclass
class SynthReport:
    """What one run did."""

    accepted: int = 0
    attempts: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    setup_seconds: float = 0.0
    """Of ``seconds``, the one-off work before sampling (the graph's summary)."""
    queries: int = 0
    looked_up: int = 0
    """Counts of single constraints the sampler took from the graph's summary."""
    summary_stored: bool = True
    """False when the graph had no summary and the sampler computed it (slow: run
    `hcsp graph migrate`)."""
    tree_seconds: list[float] = field(default_factory=list)
    llm_fallbacks: int = 0
    llm_kept: int = 0
    llm_input_tokens: int = 0
    llm_output_tokens: int = 0
    llm_cost_usd: float | None = None
    timed_out: bool = False
    scope: dict = field(default_factory=dict)
    """The graph's completeness: uniqueness holds within this graph (see Sampler)."""


_AHEAD = 4
"""Attempts in flight per worker thread (synthesize)."""


class _InPlace:
    """An executor that runs what it is given at once, in the caller's thread."""

    def submit(self, fn: Callable[[int], Any], i: int) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(i))
        except Exception as e:
            fut.set_exception(e)
        return fut

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


def attempt_seed(seed: int, i: int) -> int:
    """The seed of attempt ``i`` of a run started with ``seed``."""
    return int.from_bytes(hashlib.blake2b(f"{seed}:{i}".encode(), digest_size=6).digest(), "big")


def synthesize(backend: GraphBackend, config: SynthConfig, count: int, seed: int = 0, *,
               llm: LLM | None = None, max_attempts: int | None = None, workers: int = 1,
               judge: LLM | None = None, drop_by_judge: bool = False,
               deadline: float | None = None, exclude_answers: set[str] | None = None,
               sampler: Sampler | None = None,
               progress: Callable[[int, int], None] | None = None
               ) -> tuple[list[Tree], SynthReport]:
    """Up to ``count`` accepted trees; stops after ``max_attempts`` candidates or once
    ``time.monotonic()`` passes ``deadline``. Answers in ``exclude_answers`` count as
    duplicates (for a caller that already holds those questions). A long-lived caller
    (the API) passes a ``sampler`` it keeps, so that what a Sampler reads once (the
    graph's summary, its caches) is not read again for every request.

    With ``workers`` > 1, candidates are built in parallel threads (the engine answers
    queries concurrently); results are taken in attempt order, so the output is the
    same as with one worker.
    """
    if count < 1:
        raise SynthError(f"count must be at least 1, not {count}")
    if workers < 1:
        raise SynthError(f"workers must be at least 1, not {workers}")
    max_attempts = max_attempts or max(200, count * 100)
    t0 = time.perf_counter()
    if sampler is not None and sampler.config != config:
        raise SynthError("the sampler passed in was made for another configuration")
    sampler = sampler or Sampler(backend, config)
    sampler.check_request()  # fail fast on an empty graph, before any thread starts
    report = SynthReport(setup_seconds=time.perf_counter() - t0)
    rejected: Counter[str] = Counter()
    trees: list[Tree] = []
    seen: set[str] = set(exclude_answers or ())
    variety = Variety(count)

    # The checks' own counts, apart from the sampler's: they query, never look up.
    checker = Counts(backend, config.cap, sampler.summary, lookup=False)

    def attempt(i: int) -> tuple[Tree | None, str | None, float]:
        t = time.perf_counter()
        try:
            tree = sampler.sample(attempt_seed(seed, i))
            finish(backend, tree, config, llm, checker, judge)
            if judge is not None:
                why = verdict(score(tree, judge))
                if why and drop_by_judge:
                    raise Rejected(why)
        except Rejected as r:
            return None, r.reason, time.perf_counter() - t
        return tree, None, time.perf_counter() - t

    # Attempts run ahead of the one taken next, a few per worker, so that a slow one
    # holds up only its own place. A fixed window of 2 per worker waited for its
    # slowest attempt before starting the next (at 1M, attempts take 5 ms to 0.1 s),
    # leaving a core idle meanwhile: 38-41 trees/s against 44-49 now.
    # One worker runs each attempt in the calling thread, when it is submitted.
    ahead = workers * _AHEAD if workers > 1 else 1
    pool: ThreadPoolExecutor | _InPlace = (ThreadPoolExecutor(max_workers=workers)
                                           if workers > 1 else _InPlace())
    running: deque[Future] = deque()

    def take(result: tuple[Tree | None, str | None, float]) -> None:
        tree, reason, sec = result
        report.attempts += 1
        if tree is not None and tree.answer in seen:
            tree, reason = None, "duplicate_answer"
        if tree is not None and (why := variety.why_not(tree)):
            tree, reason = None, why  # a run's root nouns and relations stay varied
        if tree is not None:
            variety.take(tree)
        if tree is None:
            rejected[reason or "unknown"] += 1
        else:
            if tree.renderer.startswith("template (llm"):
                report.llm_fallbacks += 1
            _count_llm(report, tree)
            seen.add(tree.answer)
            trees.append(tree)
            report.tree_seconds.append(sec)
        if progress is not None:
            progress(len(trees), report.attempts)

    i = 0
    try:
        while len(trees) < count:
            if deadline is not None and time.monotonic() > deadline:
                report.timed_out = True
                # Those not started are dropped; those started are waited for by the
                # shutdown anyway, so what they give is taken, in attempt order.
                for fut in running:
                    fut.cancel()
                while running and not running[0].cancelled() and len(trees) < count:
                    take(running.popleft().result())
                break
            while len(running) < ahead and i < max_attempts:
                running.append(pool.submit(attempt, i))
                i += 1
            if not running:
                break
            take(running.popleft().result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # those not started are dropped
    report.accepted = len(trees)
    report.scope = dict(sampler.scope)
    report.rejected = dict(sorted(rejected.items()))
    report.queries = sampler.counts.queries + checker.queries
    report.looked_up = sampler.counts.looked_up
    report.summary_stored = sampler.summary.stored
    report.seconds = time.perf_counter() - t0
    return trees, report


def _count_llm(report: SynthReport, tree: Tree) -> None:
    rec = tree.scores.get("writer") or {}
    if rec.get("kept"):
        report.llm_kept += 1
    for what in ("writer", "judge"):
        report.llm_input_tokens += rec.get(f"{what}_input_tokens") or 0
        report.llm_output_tokens += rec.get(f"{what}_output_tokens") or 0
    if rec.get("cost_usd") is not None:
        report.llm_cost_usd = round((report.llm_cost_usd or 0.0) + rec["cost_usd"], 6)


def finish(backend: GraphBackend, tree: Tree, config: SynthConfig, llm: LLM | None,
           checker: Counts | None = None, judge: LLM | None = None) -> None:
    """Render, recheck all four rules, and run the independent solver. With ``llm``,
    the writer may replace the template question (checked again; ``judge``, where
    given, confirms each clue is stated faithfully)."""
    names = hidden_names(backend, tree)
    tree.aliases = sorted({a for a in names.get(tree.answer, []) if a != tree.answer})
    tree.question = template_question(tree)
    if leaks(tree.question, names):
        raise Rejected("leak")
    if llm is not None:
        write_question(tree, llm, names, judge)
    tree.checks = check_tree(backend, tree, config.k, config.cap, checker, names)
    if not tree.checks["ok"]:
        raise Rejected("check_failed:" + tree.checks["failed"][0].split(":")[0])
    tree.solver = solve(backend, tree.public(),
                        None if checker is None else checker.size)
    tree.solver["agreed"] = tree.solver.get("answer") == tree.answer
    if not tree.solver["agreed"]:
        raise Rejected("solver_disagrees")
