"""Answer matching shared by question filtering (synth/), the agent's evaluation
(agent/) and the training rewards (train/): one definition of "the answer is right".

Normalization: lower case, accents, punctuation and English articles removed, spaces
collapsed. Exact match compares whole normalized strings; the alias-aware match also
accepts any alias, a title without its parenthesized qualifier ("Paris (Texas)" ->
"Paris"), and a reply that contains one of those names as whole words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

_QUALIFIER = re.compile(r"\s*\(.*\)$")


def normalize(text: str) -> str:
    """Lower case, no accents, punctuation or articles, single spaces.

    >>> normalize("  The Ṛēzne (city)! ")
    'rezne city'
    """
    t = unicodedata.normalize("NFKD", text)
    t = "".join(c for c in t if not unicodedata.combining(c)).lower()
    t = re.sub(r"[^\w\s]", " ", t)
    t = re.sub(r"\b(the|a|an)\b", " ", t)
    return " ".join(t.split())


def names_of(answer: str, aliases: Sequence[str] = ()) -> list[str]:
    """The normalized names that count as the answer (qualifier-free title included).

    >>> names_of("Paris (Texas)", ["Paris, TX"])
    ['paris texas', 'paris tx', 'paris']
    """
    out: list[str] = []
    for name in (answer, *aliases, _QUALIFIER.sub("", answer)):
        n = normalize(name)
        if n and n not in out:
            out.append(n)
    return out


def exact_match(reply: str, answer: str) -> bool:
    """The reply, normalized, is the answer, normalized.

    >>> exact_match("the  Daugava!", "Daugava")
    True
    >>> exact_match("Daugava river", "Daugava")
    False
    """
    return bool(normalize(answer)) and normalize(reply) == normalize(answer)


def answer_matches(reply: str, answer: str, aliases: Sequence[str] = ()) -> bool:
    """True when the reply names the answer or one of its aliases (normalized, as whole
    words; a parenthesized qualifier in the title may be left out).

    >>> answer_matches("It is Rēzne.", "Rēzne", ["Rēzekne"])
    True
    >>> answer_matches("Daugavpils", "Rēzne", ["Rēzekne"])
    False
    >>> answer_matches("", "Rēzne")
    False
    """
    got = f" {normalize(reply)} "
    return any(f" {n} " in got for n in names_of(answer, aliases))


def leaks_answer(question: str, answer: str, aliases: Sequence[str] = ()) -> bool:
    """True when the question itself names the answer (a question that gives itself away).

    >>> leaks_answer("Which city, founded in 1285 and called Rēzne...?", "Rēzne")
    True
    >>> leaks_answer("Which town in Latgale was founded in 1285?", "Rēzne")
    False
    """
    return answer_matches(question, answer, aliases)
