"""Blur (Action 2): what the graph knows about an entity, made vague on purpose, and
said as statements about the world.

Each fact yields a group of constraints from tightest to vaguest (a year: its decade,
the early/mid/late part of its century, the century); the sampler keeps the tightest
one that still matches at least K entities on its own. Every constraint is a
predicate that graph.constraints turns into a query, so the graph can count it; its
words (``Constraint.text``, a verb phrase: "was born in the 1860s") come from the
phrase book (synth/phrases.toml), the category's meaning (synth.describe) or the
sentence a link stands in (synth.claims), and say no more than the predicate, or
something narrower (a sentence claim is narrower than "links to").

Nothing is said about Wikipedia itself: a category that is not a description, a link
whose sentence states no claim, and layout or code keys give no constraint.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graph import store
from graph.backend import GraphBackend
from graph.buckets import number_buckets, season_bucket, year_buckets
from graph.model import Rel
from synth.claims import claim_vp, obj_form
from synth.describe import describe_category, description_noun, noun_for
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
from synth.names import without_qualifier
from synth.phrasebook import FactPhrase, PhraseBook
from synth.policy import (  # noqa: F401 (PERSON_NOUNS: re-export)
    NOT_A_THING,
    PERSON_NOUNS,
    PLACE_KEYS,
    claim_fits,
    holds,
    named,
    person_noun,
    place_rank,
    places_conflict,
)

MONTH_NAMES = ("January February March April May June July August September October "
               "November December").split()
MAX_NAMED_LINKS = 6
# An amount of money says its currency or scale; "gdp_ppp = 2006 estimate" is the year
# of an estimate whose amount the infobox gives elsewhere: no amount.
_MONEY_KEY = re.compile(r"(?:^|_)(?:gdp|revenue|income|budget|net_worth|profit|assets|"
                        r"equity|gross)(?:$|_)")
_MONEY = re.compile(r"[$€£¥]|\b(?:US|USD|EUR|GBP|dollars?|euros?|pounds?|yen|billion|million|"
                    r"trillion|bn)\b", re.I)
# Identifier-like infobox values (codes, catalogue numbers) are numbers, not quantities.
_ID_KEY = re.compile(r"(?:^|_)(?:id|ids|code|codes|isbn|issn|oclc|lccn|doi|icd\d*|mesh\w*|"
                     r"medlineplus|emedicine\w*|diseasesdb|omim|gnd|viaf|postal\w*|zip\w*|"
                     r"iata|icao|fips\w*|gnis\w*|iso\w*|nuts|calling|phone|website|url)(?:$|_)",
                     re.I)
_PERSON_KEYS = ("birth", "death", "spouse", "children", "occupation", "nationality",
                "alma_mater", "parents", "born", "died")


def ordinal(n: int) -> str:
    """>>> ordinal(19), ordinal(21), ordinal(12)
    ('19th', '21st', '12th')"""
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"


def fmt_number(x: float) -> str:
    """How blurred bounds are written: ``4,000``, ``0.5``."""
    return f"{x:,.0f}" if x >= 10 or x == int(x) else f"{x:g}"


def when_year(level: str, lo: int, hi: int) -> str:
    """>>> when_year("decade", 1860, 1870), when_year("part", 1801, 1835)
    ('in the 1860s', 'in the early 19th century (1801–1834)')"""
    century = (lo - 1) // 100 + 1
    if level == "decade":
        return f"in the {lo}s"
    if level == "part":
        part = ("early", "mid", "late")[min(2, ((lo - 1) % 100) // 33)]
        return f"in the {part} {ordinal(century)} century ({lo}–{hi - 1})"
    return f"in the {ordinal(century)} century"


def amount(lo: float, hi: float, unit: str | None, count: bool = False) -> str:
    """A blurred number, lo <= x < hi, as a person says a range.

    >>> amount(4000, 5000, None), amount(20, 30, "minutes"), amount(700, 800, None, True)
    ('between 4,000 and 5,000', 'between 20 and 30 minutes', 'between 700 and 799')
    """
    u = f" {unit}" if unit else ""
    if count and lo == int(lo) and hi == int(hi) and lo >= 1:
        return f"between {fmt_number(lo)} and {fmt_number(hi - 1)}{u}"
    return f"between {fmt_number(lo)} and {fmt_number(hi)}{u}"


def year_levels(key: str, year: int, prov: dict[str, Any], phrase: FactPhrase
                ) -> list[Constraint]:
    """Decade, then a third of the century, then the century (tightest first)."""
    tpl = phrase.year or "has a {when}"
    return [Constraint(FACT_YEAR, {"key": key, "lo": lo, "hi": hi, "level": level,
                                   "bucket": bucket},
                       tpl.format(when=when_year(level, lo, hi)), dict(prov))
            for level, lo, hi, bucket in year_buckets(key, year)]


def season_level(key: str, month: int, prov: dict[str, Any], phrase: FactPhrase
                 ) -> list[Constraint]:
    """The three months around a month ("in March, April or May")."""
    season = season_bucket(key, month)
    if season is None or not phrase.month:
        return []
    months, bucket = season
    names = [MONTH_NAMES[m - 1] for m in months]
    return [Constraint(FACT_MONTHS, {"key": key, "months": months, "level": "season",
                                     "bucket": bucket},
                       phrase.month.format(when=f"in {names[0]}, {names[1]} or {names[2]}"),
                       dict(prov))]


def number_levels(key: str, num: float, unit: str | None, prov: dict[str, Any],
                  phrase: FactPhrase) -> list[Constraint]:
    """The leading-digit range (4,000–5,000), then the order of magnitude."""
    if not phrase.number:
        return []
    u = unit if unit and unit not in ("ordinal",) else phrase.unit
    tpl = phrase.number.replace(" of {amount}", " {amount}")  # "a population between ..."
    return [Constraint(FACT_NUMBER, {"key": key, "lo": lo, "hi": hi, "level": level,
                                     "bucket": bucket},
                       tpl.format(amount=amount(lo, hi, u, phrase.count)), dict(prov))
            for level, lo, hi, bucket in number_buckets(key, num)]


@dataclass
class EntityProfile:
    """Everything the sampler may say about one entity, grouped for blurring."""

    title: str
    groups: list[list[Constraint]] = field(default_factory=list)
    fact_keys: list[str] = field(default_factory=list)
    noun: str | None = None
    person: bool = False
    infobox: str | None = None


LinkReader = Callable[[str, str], list[store.Neighbour]]
"""(title, direction) -> the entity's LINKS_TO neighbours (graph.store.neighbours)."""


def profile(backend: GraphBackend, title: str, lang: str = "en",
            book: PhraseBook | None = None, links: LinkReader | None = None,
            noun_of: Callable[[str], str | None] | None = None,
            nouns_of: Callable[[list[str]], None] | None = None) -> EntityProfile:
    """Read an entity's facts, categories and claimed links and blur each. ``links``
    reads its links where the caller keeps them already (the sampler reads the same
    rows to walk on); ``noun_of`` says what another page is called (the subject of a
    claim on that page must be something whose sentences speak of the world), and
    ``nouns_of`` reads many at once first."""
    book = book or PhraseBook.default()
    links = links or (lambda t, d: store.neighbours(backend, t, Rel.LINKS_TO, d))
    p = EntityProfile(title)
    page = {"page": title}
    ent = store.card(backend, title) or {"description": None, "infobox": None, "facts": [],
                                          "entity_facts": [], "categories": []}
    p.infobox = ent["infobox"]
    for f in ent["facts"]:
        p.fact_keys.append(f["key"])
        phrase = book.fact(f["key"])
        if phrase is None:
            continue
        prov = {**page, "key": f["key"], "raw": f["raw"], "value": f["text"]}
        if f["kind"] in ("year", "date") and f["year"] is not None and phrase.year:
            p.groups.append(year_levels(f["key"], int(f["year"]), prov, phrase))
            if f["month"]:
                p.groups.append(season_level(f["key"], int(f["month"]), prov, phrase))
        elif f["kind"] == "number" and f["num"] is not None and not _ID_KEY.search(f["key"]) \
                and not (_MONEY_KEY.search(f["key"]) and not _MONEY.search(f["raw"] or "")):
            p.groups.append(number_levels(f["key"], float(f["num"]), f["unit"], prov, phrase))
    raws = {f["key"]: f["raw"] or "" for f in ent["facts"]}
    genre = description_noun(ent["description"], title) if lang in ("en", "simple") else None
    for ef in ent["entity_facts"]:
        p.fact_keys.append(ef["key"])
        rel = book.relation(ef["key"])
        if rel is None:
            continue
        if ef["target"].lower() in (genre, (genre or "") + "s"):
            continue  # "a novel that belongs to the genre Novel"
        prov = {**page, "key": ef["key"], "value": ef["target"]}
        at = _address(raws.get(ef["key"], "")).get(ef["target"])
        if at is not None:  # where the field names it: "[[Dublin]], [[Ireland]]" is one place
            prov["run"], prov["at"] = at
        p.groups.append([Constraint(
            FACT_NAMED, {"key": ef["key"], "title": ef["target"]},
            rel.subj.format(o=named(ef["target"])), prov)])
    _order_places(p.groups, noun_of)
    categories = ent["categories"]
    for name in categories:
        d = describe_category(name, lang)
        if d is not None:
            p.groups.append([Constraint(CATEGORY, {"name": name}, d.vp,
                                        {**page, "category": name})])
    _named_links(links, title, p, page, noun_of)
    p.groups = [g for g in p.groups if g]
    if title[:1].isalpha() and len(title[0].upper()) == 1:  # not "ß" -> "SS"
        letter = title[0].upper()
        p.groups.append([Constraint(TITLE_INITIAL, {"letter": letter},
                                    f"has a name starting with {letter}",
                                    {**page, "title_initial": letter})])
    p.noun = noun_for(p.infobox, categories, title, p.fact_keys, lang,
                      ent["description"])
    # A person: called so, or with a person's facts where nothing else says what it is.
    p.person = person_noun(p.noun) or (p.noun is None and (
        any(k.startswith(_PERSON_KEYS) for k in p.fact_keys) or "Living people" in categories))
    if p.noun is None and p.person:
        p.noun = "person"
    if nouns_of is not None:  # the pages of claims about it, read at once (_claim_ok)
        nouns_of([g[0].params["title"] for g in p.groups
                  if g and g[0].kind == LINKED_FROM_NAMED])
    # A description that contradicts what the entity is ("is a cartoon" for a producer,
    # from a topic category the page is filed under) is no clue.
    p.groups = [g for g in p.groups if not _contradicts(g[0], p.person, lang, p.noun)
                and (g[0].kind != FACT_NAMED or holds(g[0].params["key"], p.person, p.noun))
                and not _repeats_noun(g[0], p.noun)
                and _claim_ok(g[0], p.noun, noun_of)]
    return p


def _claim_ok(c: Constraint, noun: str | None,
              noun_of: Callable[[str], str | None] | None) -> bool:
    """A claim from a work's page must be about the work, and "played" no person
    (synth.policy.claim_fits)."""
    if c.kind == LINKS_TO_NAMED:
        return claim_fits(c.provenance.get("claim"), noun, None if noun_of is None else (
            lambda: noun_of(c.params["title"])))
    if c.kind == LINKED_FROM_NAMED and noun_of is not None:
        return claim_fits(c.provenance.get("claim"), noun_of(c.params["title"]), lambda: noun)
    return True


_LINK = re.compile(r"\[\[([^\]|#]+)(?:\|[^\]]*)?\]\]")


def _address(raw: str) -> dict[str, tuple[int, int]]:
    """Each linked title of ``raw`` by (run, place in run): a run is links joined by
    commas alone, as an address is written ("[[Walworth]], [[London]], [[England]]");
    a flag's link before a place ("[[England]] Walworth, [[London]]") starts another.

    >>> _address("April 16, 1889; [[England]] Walworth, [[London]], [[England]]")
    {'England': (1, 1), 'London': (1, 0)}
    """
    out: dict[str, tuple[int, int]] = {}
    run, place, end = -1, 0, None
    for m in _LINK.finditer(raw):
        if end is not None and re.fullmatch(r"\s*,\s*", raw[end:m.start()]):
            place += 1
        else:
            run, place = run + 1, 0
        out[m.group(1).strip()] = (run, place)  # the last mention wins
        end = m.end()
    return out


def value_stem(c: Constraint) -> str | None:
    """What a named value's clue says of its entity, less the value ("was born in "), or
    None where its words do not end with the value."""
    name = named(c.params["title"])
    return c.text[:-len(name)] if c.text.endswith(name) else None


def _order_places(groups: list[list[Constraint]],
                  noun_of: Callable[[str], str | None] | None) -> None:
    """Places one field names twice ("born = [[Dublin]], [[Ireland]]") without its raw
    text or apart in it ("[[England]] Walworth, [[London]]", a flag first), or two fields
    that say one thing (birth_date and birth_place): ordered the way an address is
    said, the country last, where their nouns tell them apart (provenance "at";
    synth.render says them as "Dublin, Ireland")."""
    if noun_of is None:
        return
    by_key: dict[str, list[Constraint]] = {}
    by_stem: dict[str, list[Constraint]] = {}
    for c in (g[0] for g in groups if g):
        if c.kind == FACT_NAMED and c.params["key"] in PLACE_KEYS:
            by_key.setdefault(c.params["key"], []).append(c)
            by_stem.setdefault(value_stem(c) or c.text, []).append(c)
    # Two fields that say one thing ("birth_date = ..., [[England]]" and "birth_place =
    # [[London]]": "was born in London, England"): one address, where nouns order it.
    fields = [same for same in by_stem.values()
              if len({c.params["key"] for c in same}) > 1]
    for same in [*by_key.values(), *fields]:
        if len(same) < 2 or (len({c.provenance.get("run", -2) for c in same}) == 1 and all(
                "at" in c.provenance for c in same)):
            continue  # one place, or one address whose field gives the order
        ranks = [place_rank(noun_of(c.params["title"])) for c in same]
        if len(set(ranks)) == len(ranks) and min(ranks) >= 0:
            for c, r in zip(same, ranks, strict=True):
                c.provenance["run"], c.provenance["at"] = -1, r


def _repeats_noun(c: Constraint, noun: str | None) -> bool:
    """A named value that only repeats what the entity is called: a mathematician's
    field "Mathematics", a philosopher's interest "Philosophy".

    >>> _repeats_noun(Constraint(FACT_NAMED, {"key": "field", "title": "Mathematics"}, ""),
    ...               "mathematician")
    True
    """
    if c.kind != FACT_NAMED or not noun:
        return False
    value, head = c.params["title"].lower(), noun.split(" ")[-1]
    return value == head or (" " not in value and len(value) >= 5 and value[:5] == head[:5])


def _contradicts(c: Constraint, person: bool, lang: str, noun: str | None = None) -> bool:
    """A category that calls the entity another sort of thing: a person "is a cartoon",
    or a place called a region "is a country" (Tibet, filed under Countries)."""
    if c.kind != CATEGORY:
        return False
    d = describe_category(c.params["name"], lang)
    if not (d and d.noun):
        return False
    if person_noun(d.noun) != person:
        return True
    return places_conflict(noun, d.noun)


def _named_links(links: LinkReader, title: str, p: EntityProfile,
                 page: dict[str, Any], noun_of: Callable[[str], str | None] | None) -> None:
    """Links whose sentence states a claim, to or from a named page (``noun_of`` says
    what a page is called: "The city ..." speaks of a city)."""
    def noun(t: str, sentence: str | None) -> str | None:
        return noun_of(t) if noun_of and sentence and sentence.startswith("The ") else None

    out = []
    for lk in links(title, "out"):
        vp = claim_vp(lk["sentence"], lk["anchor"], title, noun(title, lk["sentence"]))
        if vp:
            out.append(Constraint(LINKS_TO_NAMED, {"title": lk["title"]},
                                  f"{vp} {lk['anchor']}",
                                  {**page, "sentence": lk["sentence"], "links_to": lk["title"],
                                   "anchor": lk["anchor"], "claim": vp}))
    inbound = []
    for lk in links(title, "in"):
        if NOT_A_THING.search(lk["title"]):
            continue  # "List of ... characters": its sentences are about others
        vp = claim_vp(lk["sentence"], lk["anchor"], lk["title"],
                      noun(lk["title"], lk["sentence"]))
        if vp:
            # "{p}": the entity described, the object of its own sentence
            # ("Kochi hosted the grave of {p}").
            inbound.append(Constraint(LINKED_FROM_NAMED, {"title": lk["title"]},
                                      obj_form(vp).replace(
                                          "{c}", named(without_qualifier(lk["title"]))),
                                      {"page": lk["title"], "sentence": lk["sentence"],
                                       "claim": vp}))
    for group in (out, inbound):
        step = max(1, len(group) // MAX_NAMED_LINKS)
        p.groups.extend([c] for c in group[::step][:MAX_NAMED_LINKS])
