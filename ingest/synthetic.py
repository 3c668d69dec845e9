"""A Wikipedia-shaped synthetic dump, staged as ingest would stage a real one.

For benchmarks at sizes the real sample dumps do not reach (100k, 1M entities): out-
degrees follow a power law (networkx's sequence generator), link targets are drawn
with a heavy popularity skew, a share of links point at pages "missing from the dump"
(stubs), a share of entities have redirects (aliases), and entities carry typed
literal facts, linked facts and categories in proportions like the enwiki sample's.
The result is a staging folder that the real loaders (ingest.load) write to a graph.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from networkx.utils import powerlaw_sequence

from ingest.load import rand_of
from ingest.staging import Checkpoint, Staging

_SYLLABLES = ("Ab", "Be", "Ca", "Do", "El", "Fa", "Gu", "Ha", "Il", "Jo", "Ka", "Lu", "Ma",
              "No", "Os", "Pa", "Qu", "Ri", "Sa", "To", "Ul", "Va", "Wi", "Xe", "Yo", "Za")
FACT_KEYS = (("founded", "year"), ("population", "number"), ("area_km2", "number"),
             ("birth_date", "date"), ("code", "text"))


@dataclass
class SyntheticShape:
    """Proportions of the synthetic graph."""

    mean_out_links: float = 5.0
    missing_link_share: float = 0.1
    alias_share: float = 0.3
    facts_per_entity: float = 1.5
    entity_facts_per_entity: float = 0.5
    categories_per_entity: float = 1.5
    hubs: int = 200


def stage_synthetic(root: Path, n: int, seed: int = 0,
                    shape: SyntheticShape | None = None) -> Staging:
    """Stage a synthetic dump of ``n`` articles under ``root``; returns its staging."""
    shape = shape or SyntheticShape()
    rng = random.Random(seed)
    st = Staging(root, f"synthetic:{n}:{seed}", "bench")
    st.reset()
    # Titles start with a spread of letters, as real ones do (title initials are clues).
    titles = [f"{_SYLLABLES[i % 26]}{_SYLLABLES[(i // 26) % 26].lower()} entity {i:07d}"
              for i in range(n)]
    degrees = powerlaw_sequence(n, exponent=2.2, seed=seed)
    scale = shape.mean_out_links / (sum(degrees) / n)
    n_cats = max(10, n // 20)
    for i, title in enumerate(titles):
        r, bucket = rand_of(title)
        st.add_title(title)
        st.add_entity({"title": title, "page_id": i + 1, "description": f"Thing number {i}.",
                       "infobox": "Infobox thing" if i % 3 else None,
                       "short_description": f"Thing number {i}" if i % 2 else None,
                       "disambiguation": False, "rand": r, "bucket": bucket,
                       "text_bytes": 1000 + i % 5000})
        if rng.random() < shape.alias_share:
            st.add_redirect(f"Alias of {title}", title)
        k = min(n - 1, int(degrees[i] * scale))
        for _ in range(k):
            if rng.random() < shape.missing_link_share:
                dst = f"Missing page {int(n * rng.random() ** 3)}"
            else:
                dst = titles[int(n * rng.random() ** 3)]  # a few targets get most links
            st.add_link(title, dst, f"{title} is connected with {dst}.", dst)
        for j in range(_count(rng, shape.facts_per_entity)):
            key, kind = FACT_KEYS[rng.randrange(len(FACT_KEYS))]
            year = rng.randrange(1000, 2025)
            fact = {"title": title, "id": f"{title}\x1f{key}\x1f{j}", "key": key, "kind": kind,
                    "text": "", "raw": "", "num": None, "num_hi": None, "unit": None,
                    "year": None, "month": None, "day": None, "date": None}
            if kind == "year":
                fact.update(year=year, text=str(year))
            elif kind == "date":
                month, day = rng.randrange(1, 13), rng.randrange(1, 29)
                fact.update(year=year, month=month, day=day,
                            date=f"{year:04d}-{month:02d}-{day:02d}")
                fact["text"] = fact["date"]
            elif kind == "number":
                num = float(int(10 ** rng.uniform(1, 7)))
                fact.update(num=num, text=f"{num:,.0f}", unit="km2" if key == "area_km2" else None)
            else:
                fact["text"] = f"C{rng.randrange(10**5)}"
            fact["raw"] = fact["text"]
            st.add_fact(fact)
        for _ in range(_count(rng, shape.entity_facts_per_entity)):
            hub = titles[rng.randrange(min(shape.hubs, n))]
            st.add_entity_fact(title, "country", hub, hub, f"[[{hub}]]")
        for c in {rng.randrange(n_cats) for _ in range(_count(rng, shape.categories_per_entity))}:
            st.add_category(title, f"Category {c}")
    cp = Checkpoint(source=f"synthetic:{n}:{seed}", pages_done=n, phase="loading",
                    info={"dbname": "synthetic"})
    st.checkpoint(cp)
    return st


def _count(rng: random.Random, mean: float) -> int:
    base = int(mean)
    return base + (1 if rng.random() < mean - base else 0)
