"""Answer matching shared by question filtering (synth/), the agent's evaluation
(agent/) and the training rewards (train/): one definition of "the answer is right".

Normalization: lower case, accents, punctuation and English articles removed, spaces
collapsed. Exact match compares whole normalized strings; the alias-aware match also
accepts any alias, a title without its parenthesized qualifier ("Paris (Texas)" ->
"Paris"), and a reply that contains one of those names as whole words. An agent's answer
is accepted (:func:`accepts`, for the agent's evaluation and the GRPO reward alike) when
it matches that way and is the name plus a few words, not a list of guesses.
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


def accepts(reply: str | None, answer: str, aliases: Sequence[str] = ()) -> bool:
    """An agent's answer counts as right: it names the answer or an alias
    (:func:`answer_matches`) inside a few more words at most ("Daugava river"), so that a
    list of guesses does not (at most twice the longest name's words, plus three).

    >>> accepts("the Rīga", "Riga", ["Rīga"]), accepts("Daugava river", "Daugava")
    (True, True)
    >>> accepts("Riga, Tallinn, Vilnius or Kaunas maybe", "Riga")
    False
    >>> accepts(None, "Riga"), accepts("Tallinn", "Riga")
    (False, False)
    """
    if not reply or not answer_matches(reply, answer, aliases):
        return False
    longest = max(len(n.split()) for n in (answer, *aliases))
    return len(reply.split()) <= 2 * longest + 3


def leaks_answer(question: str, answer: str, aliases: Sequence[str] = ()) -> bool:
    """True when the question itself names the answer (a question that gives itself away).

    >>> leaks_answer("Which city, founded in 1285 and called Rēzne...?", "Rēzne")
    True
    >>> leaks_answer("Which town in Latgale was founded in 1285?", "Rēzne")
    False
    """
    return answer_matches(question, answer, aliases)
