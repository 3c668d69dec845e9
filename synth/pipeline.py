"""Synthesize accepted research trees: sample, check, solve, render, store.

    trees, report = synthesize(backend, SynthConfig(vertices=6), count=10, seed=7)

Attempt i of a run uses the seed derived from (seed, i), so the same graph, config and
seed give the same trees, byte for byte. Rejected candidates are counted by reason.

Models are called only for what is kept: a candidate is sampled, rendered from
templates, checked and solved with no model; duplicates are dropped; with
``drop_by_judge``, the judge scores the survivors one by one; and once the run has its
trees, the writer (and the judge, checking its clues) is called once per tree, in
parallel threads. Which trees a seed gives does not depend on the writer, except with
``SynthConfig.writer_claims``: a tree with a relation only the writer can state (from
its sentence) is dropped when the writer does not state it, and sampling goes on for
its place.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from graph.backend import GraphBackend
from synth.checks import check_tree, hidden_names, leaks
from synth.config import SKIPPED, Rejected, SynthConfig
from synth.counting import Counts
from synth.errors import SynthError
from synth.llm import LLM, write_question
from synth.model import Tree
from synth.policy import Sketch, Variety
from synth.quality import score, verdict
from synth.render import template_question
from synth.sampler import Sampler
from synth.solver import solve
from synth.usage import LLMUsage, per_kept


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
    """Totals over every model call of the run (all roles of ``llm``)."""
    llm: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Model calls by role (writer, judge, scorer: synth.usage): calls, failed, HTTP
    requests and retries, tokens, cost."""
    write_seconds: float = 0.0
    """Of ``seconds``, the time spent writing (and scoring) the kept trees."""
    timed_out: bool = False
    scope: dict = field(default_factory=dict)
    """The graph's completeness: uniqueness holds within this graph (see Sampler)."""

    def llm_per_kept(self) -> dict[str, float | None]:
        """Model calls per accepted tree, by role."""
        return per_kept(self.llm, self.accepted)


_AHEAD = 4
"""Attempts in flight per worker thread (synthesize)."""

_Result = tuple[Tree | None, str | None, float, dict[str, list[str]], Sketch | None, int]
"""An attempt's tree (None if rejected), why not, its seconds, its hidden names, its
walk's Sketch (where the walk was done), and its number."""


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
               progress: Callable[[int, int], None] | None = None,
               write_progress: Callable[[int, int], None] | None = None
               ) -> tuple[list[Tree], SynthReport]:
    """Up to ``count`` accepted trees; stops after ``max_attempts`` candidates or once
    ``time.monotonic()`` passes ``deadline``. Answers in ``exclude_answers`` count as
    duplicates (for a caller that already holds those questions). A long-lived caller
    (the API) passes a ``sampler`` it keeps, so that what a Sampler reads once (the
    graph's summary, its caches) is not read again for every request.

    With ``workers`` > 1, candidates are built in parallel threads (the engine answers
    queries concurrently); results are taken in attempt order, so the output is the
    same as with one worker.

    ``llm`` (the writer) and ``judge`` are called for kept trees only (see the module's
    docstring); ``progress(accepted, attempts)`` follows the sampling and
    ``write_progress(done, total)`` the writing. A tree still unwritten at ``deadline``
    keeps its template question.
    """
    if count < 1:
        raise SynthError(f"count must be at least 1, not {count}")
    if config.writer_claims and llm is None:
        raise SynthError("writer_claims asks the writer to state relations from their "
                         "sentences, but no writer is configured",
                         hint="pass --llm MODEL, or leave writer claims off")
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
    names_of: list[dict[str, list[str]]] = []  # each kept tree's hidden names, for the writer
    seen: set[str] = set(exclude_answers or ())
    variety = Variety(count)
    usage = LLMUsage()

    # The checks' own counts, apart from the sampler's: they query, never look up.
    checker = Counts(backend, config.cap, sampler.summary, lookup=False)

    def attempt(i: int, guess: bool = True) -> _Result:
        """Attempt ``i``; with ``guess``, a walk that variety looks set to turn away (or
        whose answer is taken) is not built on: the run decides in attempt order
        (take), and builds it then if it was wrong. Variety turned away a fifth of the
        trees built on the 1M synthetic graph before this."""
        t = time.perf_counter()
        sketch = None
        try:
            tree = sampler.sample(attempt_seed(seed, i), skip=skip if guess else None)
            sketch = Sketch.of_tree(tree)
            names = finish(backend, tree, config, checker)
        except Rejected as r:
            return None, r.reason, time.perf_counter() - t, {}, r.sketch or sketch, i
        return tree, None, time.perf_counter() - t, names, sketch, i

    def skip(sketch: Sketch) -> bool:
        return sketch.answer in seen or variety.would_turn_away(sketch) is not None

    # Attempts run ahead of the one taken next, a few per worker, so that a slow one
    # holds up only its own place. A fixed window of 2 per worker waited for its
    # slowest attempt before starting the next (at 1M, attempts take 5 ms to 0.1 s),
    # leaving a core idle meanwhile: 38-41 trees/s against 44-49 now.
    # One worker runs each attempt in the calling thread, when it is submitted.
    ahead = workers * _AHEAD if workers > 1 else 1
    pool: ThreadPoolExecutor | _InPlace = (ThreadPoolExecutor(max_workers=workers)
                                           if workers > 1 else _InPlace())
    running: deque[Future] = deque()

    def take(result: _Result) -> None:
        tree, reason, sec, names, sketch, i = result
        report.attempts += 1
        if sketch is not None:  # the walk was done: its answer and variety first
            variety.seen(sketch)
            if sketch.answer in seen:
                tree, reason = None, "duplicate_answer"
            elif why := variety.why_not(sketch):
                tree, reason = None, why  # a run's root nouns and relations stay varied
            elif reason == SKIPPED:  # the thread's guess was wrong: build it now
                tree, reason, more, names, _, _ = attempt(i, guess=False)
                sec += more
        if tree is not None and variety.initials_full(tree):
            tree, reason = None, "initials_quota"
        if tree is not None and judge is not None and drop_by_judge:
            # Here, on the template question, so that which trees a seed gives does not
            # depend on the writer; one by one, since each decides what is kept.
            t = time.perf_counter()
            why = verdict(score(tree, judge, usage))
            sec += time.perf_counter() - t
            if why:
                tree, reason = None, why
        if tree is not None:
            variety.take(tree)
        if tree is None:
            rejected[reason or "unknown"] += 1
        else:
            seen.add(tree.answer)
            trees.append(tree)
            names_of.append(names)
            report.tree_seconds.append(sec)
        if progress is not None:
            progress(len(trees), report.attempts)

    polishing = llm is not None or (judge is not None and not drop_by_judge)
    polished = 0  # trees[:polished] have been through polish

    def polish_new() -> None:
        """Models for the trees kept since the last call; a tree whose writer did not
        state a relation only it could state (Relation.stated) is dropped."""
        nonlocal polished
        t = time.perf_counter()
        polish(trees[polished:], names_of[polished:], llm, judge,
               None if drop_by_judge else judge, usage, workers=workers, deadline=deadline,
               progress=write_progress)
        report.write_seconds += time.perf_counter() - t
        for k in range(len(trees) - 1, polished - 1, -1):
            if needs_writer(trees[k]) and not (trees[k].scores.get("writer") or {}).get("kept"):
                rejected["writer_did_not_state"] += 1
                del trees[k], names_of[k], report.tree_seconds[k]
        polished = len(trees)

    i = 0
    try:
        while True:
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
            if not polishing or polished == len(trees):
                break
            polish_new()  # may drop trees: then sample on for their places
            if len(trees) >= count or report.timed_out or (not running and i >= max_attempts):
                break
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # those not started are dropped
    _count_llm(report, trees, usage)
    report.accepted = len(trees)
    report.scope = dict(sampler.scope)
    report.rejected = dict(sorted(rejected.items()))
    report.queries = sampler.counts.queries + checker.queries
    report.looked_up = sampler.counts.looked_up
    report.summary_stored = sampler.summary.stored
    report.seconds = time.perf_counter() - t0
    return trees, report


def polish(trees: list[Tree], names_of: list[dict[str, list[str]]], llm: LLM | None,
           judge: LLM | None, scorer: LLM | None, usage: LLMUsage, *, workers: int = 1,
           deadline: float | None = None,
           progress: Callable[[int, int], None] | None = None) -> None:
    """What kept trees get from models, in place, ``workers`` trees at a time: the
    ``scorer``'s difficulty scores (on the template question), then the writer's
    question (``llm``; ``judge`` confirms its clues). Past ``deadline``, a tree not
    started keeps its template question. The trees keep their order."""
    done = 0
    lock = threading.Lock()

    def one(item: tuple[Tree, dict[str, list[str]]]) -> None:
        nonlocal done
        tree, names = item
        if deadline is not None and time.monotonic() > deadline:
            if llm is not None:
                tree.scores["writer"] = {"model": llm.name, "kept": False,
                                         "reason": "not written: the deadline passed"}
                tree.renderer = "template (llm not written: the deadline passed)"
        else:
            if scorer is not None:
                score(tree, scorer, usage)
            if llm is not None:
                write_question(tree, llm, names, judge, usage=usage)
        if progress is not None:
            with lock:
                done += 1
                progress(done, len(trees))

    items = list(zip(trees, names_of, strict=True))
    if workers > 1 and len(items) > 1:
        with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
            list(pool.map(one, items))
    else:
        for item in items:
            one(item)


def needs_writer(tree: Tree) -> bool:
    """Whether ``tree`` has a relation only the writer can state (Relation.stated)."""
    return any(v.relation is not None and v.relation.stated == "writer"
               for v in tree.vertices)


def _count_llm(report: SynthReport, trees: list[Tree], usage: LLMUsage) -> None:
    for tree in trees:
        rec = tree.scores.get("writer") or {}
        if rec.get("kept"):
            report.llm_kept += 1
        elif rec:
            report.llm_fallbacks += 1
    report.llm = usage.as_dict()
    for u in report.llm.values():
        report.llm_input_tokens += u["input_tokens"]
        report.llm_output_tokens += u["output_tokens"]
        if u["cost_usd"] is not None:
            report.llm_cost_usd = round((report.llm_cost_usd or 0.0) + u["cost_usd"], 6)


def finish(backend: GraphBackend, tree: Tree, config: SynthConfig,
           checker: Counts | None = None) -> dict[str, list[str]]:
    """Render from templates, recheck all four rules (the leak check on the template
    question), and run the independent solver; Rejected if any fails. Returns the
    hidden entities' names (what a writer must not write)."""
    names = hidden_names(backend, tree)
    tree.aliases = sorted({a for a in names.get(tree.answer, []) if a != tree.answer})
    tree.question = template_question(tree)
    if leaks(tree.question, names):
        raise Rejected("leak")
    tree.checks = check_tree(backend, tree, config.k, config.cap, checker, names)
    if not tree.checks["ok"]:
        raise Rejected("check_failed:" + tree.checks["failed"][0].split(":")[0])
    tree.solver = solve(backend, tree.public(),
                        None if checker is None else checker.size)
    tree.solver["agreed"] = tree.solver.get("answer") == tree.answer
    if not tree.solver["agreed"]:
        raise Rejected("solver_disagrees")
    return names
