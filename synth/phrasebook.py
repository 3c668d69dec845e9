"""The phrase book (synth/phrases.toml): how infobox keys read as statements about
the world, forward and inverse, kept as data.

    >>> book = PhraseBook.default()
    >>> book.relation("birth_place").subj
    'was born in {o}'
    >>> book.relation("combatant2").obj
    'fought in {s}'
    >>> book.relation("footnote_a") is None
    True
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PHRASES = Path(__file__).with_name("phrases.toml")
_DIGITS = re.compile(r"\d+$")


def base_key(key: str) -> str:
    """``combatant2`` -> ``combatant``; ``leader_name1`` -> ``leader_name``."""
    return _DIGITS.sub("", key).rstrip("_") or key


def humanize_key(key: str) -> str:
    """``birth_date`` -> ``birth date``; ``term_start3`` -> ``term start``."""
    return base_key(key).replace("_", " ").strip() or key


@dataclass(frozen=True, slots=True)
class RelationPhrase:
    """``subj``: what the holder of the infobox does, ``{o}`` its value; ``obj``: what
    the value is to the holder, ``{s}`` the holder. ``book``: False for the fallback."""

    subj: str
    obj: str
    book: bool = True
    hidden: str | None = None
    """``subj`` where the value is hidden ("works in {o}" where "is in the {o} industry"
    would wrap a description); None: ``subj``."""


@dataclass(frozen=True, slots=True)
class FactPhrase:
    year: str | None = None
    month: str | None = None
    number: str | None = None
    unit: str | None = None
    book: bool = True
    count: bool = False
    """The value counts whole things (people, pages): ranges read "between 700 and 799"."""


class PhraseBook:
    """Lookups in the phrase book. A key it lacks is no clue: infobox keys are often
    layout or table cells ("south_africa", "gold" in a medal table), and a phrase made
    from the key's name reads as one ("has a turned pro of ...")."""

    def __init__(self, data: dict, english: bool = True) -> None:
        self.data = data
        self.english = english
        """Whether keys it lacks get the English fallback (an English wiki's keys)."""
        self.skip = frozenset(data.get("skip", {}).get("keys", ()))
        self.relations = {k: RelationPhrase(v["subj"], v["obj"], hidden=v.get("hidden"))
                          for k, v in data.get("relations", {}).items()}
        self.facts = {k: FactPhrase(v.get("year"), v.get("month"), v.get("number"),
                                    v.get("unit"), count=bool(v.get("count")))
                      for k, v in data.get("facts", {}).items()}
        nouns = data.get("nouns", {})
        self.infobox_nouns: dict[str, str] = dict(nouns.get("infobox", {}))
        self.title_nouns: dict[str, str] = dict(nouns.get("title_word", {}))
        self.categories: dict[str, str] = dict(data.get("categories", {}))

    @classmethod
    @lru_cache(maxsize=1)
    def default(cls) -> PhraseBook:
        with open(PHRASES, "rb") as fh:
            return cls(tomllib.load(fh))

    def for_language(self, lang: str) -> PhraseBook:
        """The book for a graph in ``lang``: other wikis' keys it lacks are no clues."""
        english = lang in ("en", "simple")
        return self if english == self.english else PhraseBook(self.data, english)

    def skipped(self, key: str) -> bool:
        return key in self.skip or base_key(key) in self.skip

    def relation(self, key: str) -> RelationPhrase | None:
        """The phrases for an entity-valued key; None for keys the book lacks or skips."""
        hit = self.relations.get(key) or self.relations.get(base_key(key))
        if hit is not None:
            return hit
        return None  # a key the book lacks may be no attribute ("south_africa", "gold")

    def fact(self, key: str) -> FactPhrase | None:
        """The phrases for a literal key; None for keys that are never clues."""
        hit = self.facts.get(key) or self.facts.get(base_key(key))
        if hit is not None:
            return hit
        return None  # "has a career titles of ...": only keys the book phrases

    def covers(self, key: str) -> bool:
        """The book says something about this relation key (a phrase, or never a clue)."""
        return key in self.relations or base_key(key) in self.relations or self.skipped(key)

    def coverage(self, key_counts: Iterable[tuple[str, int]]) -> tuple[float, list[str]]:
        """Share of FACT edges whose key the book covers, and the uncovered keys by count."""
        total = covered = 0
        missing: dict[str, int] = {}
        for key, n in key_counts:
            total += n
            if self.covers(key):
                covered += n
            else:
                missing[key] = missing.get(key, 0) + n
        share = covered / total if total else 1.0
        return share, sorted(missing, key=lambda k: -missing[k])
