"""When a name in a question gives a hidden entity away."""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+")
_QUOTED = re.compile(r"[“\"]([^”\"]+)[”\"]")


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
    if a in b or b in a:
        return True
    wa, wb = set(_WORD.findall(a)), set(_WORD.findall(b))
    return bool(wa and wb) and len(wa & wb) / len(wa | wb) >= 0.5
