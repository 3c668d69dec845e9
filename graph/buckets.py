"""Blur buckets: every literal fact's blurred values, precomputed and indexed.

A blurred constraint ("a birth date in the 1860s") is a range over one fact key. As a
range it makes the engine read every fact with that key (300k facts of one key on a
1M-entity graph); as an equality on a precomputed bucket ("birth_date|1860") it is one
index lookup. The loaders store these properties on every Fact; graph.constraints
queries them; the ranges stay in each constraint's parameters, so what a constraint
means does not depend on the buckets (the tests check one against the other).

Levels: years by decade, by early/mid/late part of the century, by century; months by
season (three months); positive numbers by leading-digit range and by magnitude.
"""

from __future__ import annotations

import math
from typing import Any

BUCKETS_VERSION = 1
LEVELS = ("decade", "part", "century", "season", "lead", "mag")
BUCKET_PROPS = tuple(f"bk_{level}" for level in LEVELS)
SEASONS = ((3, 4, 5), (6, 7, 8), (9, 10, 11), (12, 1, 2))


def _num(x: float) -> str:
    return f"{x:.6g}"


def year_buckets(key: str, year: int) -> list[tuple[str, int, int, str]]:
    """(level, lo, hi, bucket) for a year, tightest first: lo <= year < hi.

    >>> [b[:3] for b in year_buckets("born", 1865)]
    [('decade', 1860, 1870), ('part', 1835, 1868), ('century', 1801, 1901)]
    """
    if year < 1:
        return []
    decade = year - year % 10
    c0 = (year - 1) // 100 * 100 + 1  # the 19th century is 1801-1900
    part = min(2, (year - c0) // 34)
    lo, hi = c0 + (0, 34, 67)[part], c0 + (34, 67, 100)[part]
    return [("decade", decade, decade + 10, f"{key}|{decade}"),
            ("part", lo, hi, f"{key}|{lo}"),
            ("century", c0, c0 + 100, f"{key}|{c0}")]


def season_bucket(key: str, month: int) -> tuple[list[int], str] | None:
    """The three months around ``month`` and their bucket."""
    for i, months in enumerate(SEASONS):
        if month in months:
            return list(months), f"{key}|{i}"
    return None


def number_buckets(key: str, num: float) -> list[tuple[str, float, float, str]]:
    """(level, lo, hi, bucket) for a positive number, tightest first.

    >>> [b[:3] for b in number_buckets("population", 4561.0)]
    [('lead', 4000.0, 5000.0), ('mag', 1000.0, 10000.0)]
    """
    if num is None or not math.isfinite(num) or num <= 0:
        return []
    mag = 10.0 ** math.floor(math.log10(num))
    lead = math.floor(num / mag) * mag
    out = []
    if mag >= 1:
        out.append(("lead", float(lead), float(lead + mag), f"{key}|{_num(lead)}"))
    out.append(("mag", float(mag), float(mag * 10), f"{key}|{_num(mag)}"))
    return out


def fact_bucket_props(fact: dict[str, Any]) -> dict[str, Any]:
    """The bucket properties of one literal fact row (key, kind, year, month, num)."""
    props: dict[str, Any] = dict.fromkeys(BUCKET_PROPS)
    props["bk_v"] = BUCKETS_VERSION
    key = fact["key"]
    if fact.get("kind") in ("year", "date") and fact.get("year") is not None:
        for level, _, _, bucket in year_buckets(key, int(fact["year"])):
            props[f"bk_{level}"] = bucket
        if fact.get("month"):
            season = season_bucket(key, int(fact["month"]))
            if season:
                props["bk_season"] = season[1]
    elif fact.get("kind") == "number" and fact.get("num") is not None:
        for level, _, _, bucket in number_buckets(key, float(fact["num"])):
            props[f"bk_{level}"] = bucket
    return props
