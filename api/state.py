"""What one API process keeps between requests: generation (its gate, samplers and
counters), and the cache of stored trees' JSON. Made in the app's lifespan
(``api.main``), one of each per app, and reached through ``api.deps``."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator
from dataclasses import astuple
from typing import Any

import anyio
from fastapi.concurrency import run_in_threadpool

from api.errors import ApiError
from graph.backend import GraphBackend
from graph.summary import GraphSummary, read_summary
from hcsp.settings import Settings
from synth.model import Tree
from synth.pipeline import SynthReport, synthesize
from synth.sampler import Sampler, SynthConfig
from synth.store import save_trees


class GenerationStats:
    """Generation counters since the API started (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.attempts = 0
        self.accepted = 0
        self.rejected: Counter[str] = Counter()

    def add(self, report: SynthReport) -> None:
        with self._lock:
            self.attempts += report.attempts
            self.accepted += report.accepted
            self.rejected.update(report.rejected)

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            rate = self.accepted / self.attempts if self.attempts else None
            return {"attempts": self.attempts, "accepted": self.accepted,
                    "rejected": dict(self.rejected), "acceptance_rate": rate}


class GenerationGate:
    """At most ``limit`` requests generate at once in this process. Generation is CPU
    work: past a few at once they only slow each other down and starve every other
    request (reads, /readyz) of threads and of the interpreter. A request waits for its
    turn without holding a thread; one that gets none within ``wait`` seconds gets 503
    with Retry-After. Made inside the event loop (the app's lifespan)."""

    def __init__(self, limit: int, wait: float) -> None:
        self.limit, self.wait = max(1, limit), wait
        self._slots = anyio.Semaphore(self.limit)

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        got = False
        with anyio.move_on_after(self.wait):
            await self._slots.acquire()
            got = True
        if not got:
            raise ApiError(503, f"the API is busy generating ({self.limit} requests at once)",
                           hint="retry after Retry-After seconds, or ask for stored questions "
                           "(from_pool)", headers={"Retry-After": "2"})
        try:
            yield
        finally:
            self._slots.release()


class SamplerCache:
    """Samplers kept per configuration for ``ttl`` seconds (each keeps what it has read:
    profiles, neighbours, roots), and the graph's summary (graph.summary: counts and
    fingerprint) read once per open graph and ``ttl``, shared by all of them."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._items: dict[tuple[int, tuple[object, ...]], tuple[float, Sampler]] = {}
        self._summaries: dict[int, tuple[float, GraphBackend, GraphSummary]] = {}

    def get(self, backend: GraphBackend, config: SynthConfig) -> Sampler:
        key = (id(backend), astuple(config))
        now = time.monotonic()
        with self._lock:
            for k in [k for k, (t, _) in self._items.items() if now - t > self.ttl]:
                del self._items[k]  # configurations come from requests: keep only live ones
            hit = self._items.get(key)
            if hit is not None and hit[1].backend is backend:
                return hit[1]
            held = self._summaries.get(id(backend))
        if held is None or held[1] is not backend or now - held[0] > self.ttl:
            held = (now, backend, read_summary(backend))  # outside the lock: may scan
            with self._lock:
                self._summaries[id(backend)] = held
        sampler = Sampler(backend, config, held[2])
        with self._lock:
            self._items[key] = (now, sampler)
        return sampler


class Generation:
    """The one way the API generates: wait for a turn at the gate, synthesize on a
    thread with a kept sampler until the deadline, store what was accepted, and count
    the attempt for /v1/stats. On-demand questions and pool fills both go through it."""

    def __init__(self, settings: Settings) -> None:
        self.workers = settings.api_workers
        self.stats = GenerationStats()
        self.samplers = SamplerCache(settings.api_sampler_ttl_s)
        self.gate = GenerationGate(settings.api_max_generating, settings.api_generate_queue_s)

    async def run(self, backend: GraphBackend, config: SynthConfig, count: int, seed: int, *,
                  timeout_s: float, exclude_answers: set[str] | None = None
                  ) -> tuple[list[Tree], SynthReport]:
        """Up to ``count`` new trees, stored; the report says what was rejected and
        whether ``timeout_s`` (counted from the turn at the gate) ran out."""

        def generate() -> tuple[list[Tree], SynthReport]:
            trees, report = synthesize(
                backend, config, count, seed, workers=max(1, min(self.workers, count)),
                deadline=time.monotonic() + timeout_s, exclude_answers=exclude_answers,
                sampler=self.samplers.get(backend, config))
            if trees:
                save_trees(backend, trees)
            return trees, report

        async with self.gate.turn():  # waits without a thread; 503 if no turn comes
            trees, report = await run_in_threadpool(generate)
        self.stats.add(report)
        return trees, report


class TreeCache:
    """Stored trees are immutable (their id is their content's hash), so their JSON is
    cached per process; entries expire after ``ttl`` seconds so that a delete made
    through another worker shows within that time."""

    def __init__(self, size: int = 10_000, ttl: float = 60.0) -> None:
        self.size, self.ttl = size, ttl
        self._items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is None or time.monotonic() - hit[0] > self.ttl:
                return None
            self._items.move_to_end(key)
            return hit[1]

    def put(self, key: str, value: bytes) -> None:
        with self._lock:
            self._items[key] = (time.monotonic(), value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def drop(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)
