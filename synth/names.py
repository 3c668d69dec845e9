"""When a name in a question gives a hidden entity away."""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+")
_QUOTED = re.compile(r"[“\"]([^”\"]+)[”\"]")
_QUALIFIER = re.compile(r"\s*\(.*\)$")


def without_qualifier(name: str) -> str:
    """``name`` without a parenthesised tail.

    >>> without_qualifier("Paris (Texas)"), without_qualifier("Riga")
    ('Paris', 'Riga')
    """
    return _QUALIFIER.sub("", name) if "(" in name else name


# Words of a name that say what kind of thing it is, not which one.
_GENERIC = frozenset("river lake sea ocean mountain mountains island islands university "
                     "college school party state states county city town village republic "
                     "kingdom empire economy politics history demographics geography "
                     "culture people language languages church district province region "
                     "national international united north south east west new saint "
                     "battle war award awards film series list".split())


def shares_a_stem(text: str, name: str) -> bool:
    """True when ``text`` has a word that shares its first five letters with a
    distinctive capitalized word of ``name`` ("Angolan kwanza" for "Economy of Angola").

    >>> shares_a_stem("uses the Angolan kwanza", "Economy of Angola")
    True
    >>> shares_a_stem("lies on the Blue River", "Red River")
    False
    """
    stems = {w[:5].lower() for w in _WORD.findall(name)
             if len(w) >= 5 and w[:1].isupper() and w.lower() not in _GENERIC}
    return bool(stems) and any(w[:5].lower() in stems for w in _WORD.findall(text)
                               if len(w) >= 5 and w[:1].isupper())


def too_close(quoted: str, name: str) -> bool:
    """True when a quoted name nearly gives a hidden one away: one contains the other,
    or they share at least half their words (a category named after the entity).

    >>> too_close("Latgolys katuoļu bazneicys", "Latgolys katuoļu bazneicys i kapleicys")
    True
    >>> too_close("Latveja", "Rēzne")
    False
    """
    a, b = quoted.lower().strip(), name.lower().strip()
    if len(a) < 3 or len(b) < 3:
        return a == b
    if shares_a_stem(quoted, name):
        return True
    if a in b or b in a:
        return True
    wa, wb = set(_WORD.findall(a)), set(_WORD.findall(b))
    return bool(wa and wb) and len(wa & wb) / len(wa | wb) >= 0.5
