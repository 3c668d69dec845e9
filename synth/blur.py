"""Blur (Action 2): what the graph knows about an entity, made vague on purpose.

Each fact yields a group of constraints from tightest to vaguest (a year: its decade,
the early/mid/late part of its century, the century); the sampler keeps the tightest
one that still matches at least K entities on its own. Every constraint is a
predicate that graph.constraints turns into a query, so the graph can count it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from graph import queries as Q
from graph.backend import GraphBackend
from graph.buckets import number_buckets, season_bucket, year_buckets
from synth.model import (
    CATEGORY,
    FACT_MONTHS,
    FACT_NAMED,
    FACT_NUMBER,
    FACT_YEAR,
    LINKED_FROM_NAMED,
    LINKS_TO_NAMED,
    TITLE_INITIAL,
    Constraint,
)

MONTH_NAMES = ("January February March April May June July August September October "
               "November December").split()
# Wikipedia housekeeping categories say nothing about the subject.
_SKIP_CATEGORY = re.compile(r"articles|pages|wikipedia|stubs?\b|cs1|webarchive|use \w+ dates"
                            r"|dmy|mdy|template|redirects|disambiguation|infobox|coordinates",
                            re.I)
MAX_NAMED_LINKS = 6
# Identifier-like infobox values (codes, catalogue numbers) are numbers, not quantities.
_ID_KEY = re.compile(r"(?:^|_)(?:id|ids|code|codes|isbn|issn|oclc|lccn|doi|icd\d*|mesh\w*|"
                     r"medlineplus|emedicine\w*|diseasesdb|omim|gnd|viaf|postal\w*|zip\w*|"
                     r"iata|icao|fips\w*|gnis\w*|iso\w*|nuts|calling|phone|website|url)(?:$|_)",
                     re.I)


def humanize_key(key: str) -> str:
    """``birth_date`` -> ``birth date``; ``term_start3`` -> ``term start``."""
    return re.sub(r"\d+$", "", key).replace("_", " ").strip() or key


def ordinal(n: int) -> str:
    """>>> ordinal(19), ordinal(21), ordinal(12)
    ('19th', '21st', '12th')"""
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"


def year_levels(key: str, year: int, prov: dict[str, Any]) -> list[Constraint]:
    """Decade, then a third of the century, then the century (tightest first)."""
    k = humanize_key(key)
    out = []
    for level, lo, hi, bucket in year_buckets(key, year):
        century = (lo - 1) // 100 + 1
        if level == "decade":
            what = f"the {lo}s"
        elif level == "part":
            part = ("early", "mid", "late")[min(2, ((lo - 1) % 100) // 33)]
            what = f"the {part} {ordinal(century)} century ({lo}–{hi - 1})"
        else:
            what = f"the {ordinal(century)} century"
        out.append(Constraint(FACT_YEAR, {"key": key, "lo": lo, "hi": hi, "level": level,
                                          "bucket": bucket}, f"has a {k} in {what}", dict(prov)))
    return out


def season_level(key: str, month: int, prov: dict[str, Any]) -> list[Constraint]:
    """The three months around a month ("in March, April or May")."""
    season = season_bucket(key, month)
    if season is None:
        return []
    months, bucket = season
    names = [MONTH_NAMES[m - 1] for m in months]
    return [Constraint(FACT_MONTHS, {"key": key, "months": months, "level": "season",
                                     "bucket": bucket},
                       f"has a {humanize_key(key)} in {names[0]}, {names[1]} or {names[2]}",
                       dict(prov))]


def fmt_number(x: float) -> str:
    """How blurred bounds are written: ``4,000``, ``0.5``."""
    return f"{x:,.0f}" if x >= 10 or x == int(x) else f"{x:g}"


def number_levels(key: str, num: float, unit: str | None, prov: dict[str, Any]
                  ) -> list[Constraint]:
    """The leading-digit range (4,000–5,000), then the order of magnitude."""
    k = humanize_key(key)
    u = f" {unit}" if unit and unit not in ("ordinal",) else ""
    return [Constraint(FACT_NUMBER, {"key": key, "lo": lo, "hi": hi, "level": level,
                                     "bucket": bucket},
                       f"has a {k} of at least {fmt_number(lo)} but under {fmt_number(hi)}{u}",
                       dict(prov))
            for level, lo, hi, bucket in number_buckets(key, num)]


@dataclass
class EntityProfile:
    """Everything the sampler may say about one entity, grouped for blurring."""

    title: str
    groups: list[list[Constraint]] = field(default_factory=list)
    fact_keys: list[str] = field(default_factory=list)


def profile(backend: GraphBackend, title: str) -> EntityProfile:
    """Read an entity's facts, categories and named links and blur each."""
    p = EntityProfile(title)
    page = {"page": title}
    for f in backend.read(Q.LITERAL_FACTS_OF, {"title": title}):
        prov = {**page, "key": f["key"], "raw": f["raw"], "value": f["text"]}
        p.fact_keys.append(f["key"])
        if f["kind"] in ("year", "date") and f["year"] is not None:
            p.groups.append(year_levels(f["key"], int(f["year"]), prov))
            if f["month"]:
                p.groups.append(season_level(f["key"], int(f["month"]), prov))
        elif f["kind"] == "number" and f["num"] is not None and not _ID_KEY.search(f["key"]):
            p.groups.append(number_levels(f["key"], float(f["num"]), f["unit"], prov))
    for f in backend.read(Q.ENTITY_FACTS_OF, {"title": title}):
        p.fact_keys.append(f["key"])
        p.groups.append([Constraint(
            FACT_NAMED, {"key": f["key"], "title": f["target"]},
            f"has {f['target']} as its {humanize_key(f['key'])}",
            {**page, "key": f["key"], "value": f["target"]})])
    for name in backend.read(Q.CATEGORIES_OF, {"title": title}):
        if not _SKIP_CATEGORY.search(name["name"]):
            p.groups.append([Constraint(CATEGORY, {"name": name["name"]},
                                        f"is in the Wikipedia category “{name['name']}”",
                                        {**page, "category": name["name"]})])
    links = backend.read(Q.NEIGHBOURS_LINK_OUT, {"title": title})
    for lk in links[:: max(1, len(links) // MAX_NAMED_LINKS)][:MAX_NAMED_LINKS]:
        p.groups.append([Constraint(LINKS_TO_NAMED, {"title": lk["title"]},
                                    f"has a Wikipedia article that links to “{lk['title']}”",
                                    {**page, "sentence": lk["sentence"],
                                     "links_to": lk["title"]})])
    inbound = backend.read(Q.NEIGHBOURS_LINK_IN, {"title": title})
    for lk in inbound[:: max(1, len(inbound) // MAX_NAMED_LINKS)][:MAX_NAMED_LINKS]:
        p.groups.append([Constraint(LINKED_FROM_NAMED, {"title": lk["title"]},
                                    f"is linked from the Wikipedia article “{lk['title']}”",
                                    {"page": lk["title"], "sentence": lk["sentence"]})])
    p.groups = [g for g in p.groups if g]
    if title[:1].isalpha():
        p.groups.append([Constraint(TITLE_INITIAL, {"letter": title[0].upper()},
                                    f"has a name that begins with the letter “{title[0].upper()}”",
                                    {**page, "title_initial": title[0].upper()})])
    return p


NOUNS = (
    ("person", ("birth", "death", "spouse", "children", "occupation", "nationality", "alma")),
    ("place", ("population", "area", "capital", "elevation", "coordinates", "pluots",
               "dzeivuotuoju", "iedzīvotāju", "density", "bīzeiba")),
    ("organization", ("founded", "founder", "headquarters", "industry", "key_people")),
    ("work", ("release", "director", "author", "genre", "published", "starring")),
)


def noun_for(fact_keys: list[str]) -> str:
    """A plain word for what kind of thing an entity is, from its infobox keys."""
    for noun, prefixes in NOUNS:
        if any(k.startswith(prefixes) for k in fact_keys):
            return noun
    return "subject"
