"""One step contract for ingest pipelines.

A step takes an iterator and yields one. The base class counts what went through,
times it, and keeps rejects with a reason; a subclass fills in one method:

    class DropRedirects(PageFilter):
        def keep(self, page):
            return (False, "redirect") if page.redirect_to else True

A pipeline is a list of steps, chained with :func:`chain`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any


class Step:
    """Base of every step: a name, counters and the time spent inside it."""

    name: str = "step"

    def __init__(self) -> None:
        self.stats: Counter[str] = Counter()
        self.seconds = 0.0

    def run(self, items: Iterable[Any]) -> Iterator[Any]:
        """Yield the step's output for ``items``."""
        raise NotImplementedError

    def reject(self, reason: str) -> None:
        """Count one item dropped for ``reason``."""
        self.stats[f"dropped:{reason}"] += 1


class PageFilter(Step):
    """Keeps items for which :meth:`keep` is true; counts the rest by reason."""

    def keep(self, item: Any) -> bool | tuple[bool, str]:
        raise NotImplementedError

    def run(self, items: Iterable[Any]) -> Iterator[Any]:
        for item in items:
            t = time.perf_counter()
            verdict = self.keep(item)
            self.seconds += time.perf_counter() - t
            ok, reason = verdict if isinstance(verdict, tuple) else (verdict, self.name)
            if ok:
                self.stats["kept"] += 1
                yield item
            else:
                self.reject(reason)


class MapStep(Step):
    """Turns each item into another with :meth:`apply`; an item whose apply raises
    :class:`Skip` is dropped with the Skip's reason."""

    def apply(self, item: Any) -> Any:
        raise NotImplementedError

    def run(self, items: Iterable[Any]) -> Iterator[Any]:
        for item in items:
            t = time.perf_counter()
            try:
                out = self.apply(item)
            except Skip as s:
                self.seconds += time.perf_counter() - t
                self.reject(s.reason)
                continue
            self.seconds += time.perf_counter() - t
            self.stats["done"] += 1
            yield out


class Skip(Exception):
    """Raised inside a step to drop the current item with a reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def chain(source: Iterable[Any], steps: list[Step]) -> Iterator[Any]:
    """Connect ``steps`` one after another onto ``source``."""
    it: Iterable[Any] = source
    for step in steps:
        it = step.run(it)
    return iter(it)


def merged_stats(steps: list[Step]) -> Counter[str]:
    """All steps' 'dropped:*' counters in one Counter."""
    total: Counter[str] = Counter()
    for s in steps:
        for k, v in s.stats.items():
            if k.startswith("dropped:"):
                total[k] += v
    return total
