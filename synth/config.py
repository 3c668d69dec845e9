"""What a run of tree sampling is asked for (SynthConfig), and how a candidate fails."""

from __future__ import annotations

from dataclasses import dataclass

from graph.summary import ROOT_MIN_DEGREE
from synth.errors import SynthError

SHAPES = ("deep", "wide")
MAX_VERTICES = 64


@dataclass
class SynthConfig:
    """Run parameters of tree sampling."""

    vertices: int = 6
    """N: vertices in each tree, root and constraints included (>= 4)."""
    k: int = 2
    """No single constraint may match fewer than this many entities on its own."""
    shape: str = "deep"
    """'deep': each new entity hangs below the last; 'wide': all hang below the root."""
    min_degree: int = ROOT_MIN_DEGREE
    """A root needs at least this many facts plus links."""
    min_popularity: int = 0
    """A root needs at least this many in-links (a popularity band, with the next)."""
    max_popularity: int = 10**12
    """A root has at most this many in-links."""
    findable: int | None = None
    """Every entity a tree hides (its root too) has at least this many in-links, so a
    person can find it; 0 admits any. None: synth.policy.MIN_POPULARITY on a complete
    graph of 1,000 articles or more, else 0 (a slice's in-links say nothing of it)."""
    cap: int = 10_000
    """Counts stop here; a constraint matching this many entities alone is too vague."""
    extension_trials: int = 6
    """Extend (Action 3) looks at this many random relations and keeps the most telling."""
    initials: bool = True
    """Allow a name's initial as a clue (at most one a tree, only where nothing about
    the world narrows enough)."""
    blur_trials: int = 6
    """Blur compares up to this many constraints per step and keeps the most telling."""
    root_trials: int = 8
    """A seed draws up to this many roots until one has a relation a question can state."""
    writer_claims: bool = False
    """A link whose sentence relates its two ends in words the patterns cannot read
    (synth.claims) may be a relation too: the writer states it from the sentence (the
    judge, where configured, confirms it) and a tree whose writing fails is dropped.
    Needs a writer (``hcsp synth --llm``, where it is the default)."""
    fact_preference: float = 0.8
    """Extend takes an infobox relation over a sentence claim with this probability
    when both are there (infobox relations carry their meaning on their own)."""

    def __post_init__(self) -> None:
        if self.vertices > MAX_VERTICES:
            raise SynthError(f"vertices must be at most {MAX_VERTICES}, not {self.vertices}",
                             hint="research trees of 3-10 vertices are the usual range")
        if self.vertices < 4:
            raise SynthError(
                f"vertices must be at least 4, not {self.vertices}: the smallest tree that "
                "needs its hierarchy is a root, one hidden entity, and two constraints on "
                "it (one constraint alone that pins an entity would match fewer than "
                f"K={self.k})", hint="use --vertices 4 or more")
        if self.findable is not None and self.findable < 0:
            raise SynthError(f"findable must be at least 0, not {self.findable}")
        if self.k < 1:
            raise SynthError(f"k must be at least 1, not {self.k}")
        if self.min_popularity > self.max_popularity:
            raise SynthError(f"min_popularity {self.min_popularity} is above max_popularity "
                             f"{self.max_popularity}")
        if self.shape not in SHAPES:
            raise SynthError(f"shape must be one of {', '.join(SHAPES)}, not {self.shape!r}")

    @property
    def entity_vertices(self) -> int:
        """Entity vertices (root included) for N: each extra one costs about 3 vertices."""
        return 2 + (self.vertices - 4) // 3


class Rejected(Exception):
    """A candidate tree failed; ``reason`` is counted. ``sketch``: its walk's
    synth.policy.Sketch, where the walk was done before it failed (variety judges it
    first)."""

    def __init__(self, reason: str, detail: str = "", sketch: object | None = None) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.sketch = sketch


SKIPPED = "skipped"
"""A walk a sampling thread did not build on, guessing that variety turns it away; the
run decides in attempt order, and builds it then if it does not (synth.pipeline)."""
