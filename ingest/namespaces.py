"""A wiki's namespace names, read from the dump's ``<siteinfo>``.

Link prefixes are localized (``Kategoreja:`` is ``Category:`` in the Latgalian
Wikipedia), so classifying a link needs the dump's own names plus MediaWiki's
canonical English ones, which every wiki also accepts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# MediaWiki's canonical names (accepted on every wiki) and common aliases.
CANONICAL: dict[int, tuple[str, ...]] = {
    -2: ("Media",), -1: ("Special",), 1: ("Talk",), 2: ("User",), 3: ("User talk",),
    4: ("Project", "Wikipedia", "WP"), 5: ("Project talk", "Wikipedia talk"),
    6: ("File", "Image"), 7: ("File talk", "Image talk"), 8: ("MediaWiki",),
    9: ("MediaWiki talk",), 10: ("Template",), 11: ("Template talk",), 12: ("Help",),
    13: ("Help talk",), 14: ("Category",), 15: ("Category talk",), 100: ("Portal",),
    101: ("Portal talk",), 118: ("Draft",), 119: ("Draft talk",), 828: ("Module",),
    829: ("Module talk",),
}
_RE_INTERWIKI = re.compile(r"^(?:[a-z]{2,3}(?:-[a-z0-9]{2,8})*|simple|commons|wikt|wiktionary|"
                           r"w|m|meta|s|wikisource|q|wikiquote|n|wikinews|b|wikibooks|v|"
                           r"species|d|wikidata|mw|c|voy|wikivoyage|phab|foundation)$", re.I)


@dataclass(slots=True)
class Namespaces:
    """Maps a lower-cased namespace prefix to its number."""

    by_name: dict[str, int] = field(default_factory=dict)

    @classmethod
    def default(cls) -> Namespaces:
        """Canonical names only (for a dump whose siteinfo was not read)."""
        ns = cls()
        for key, names in CANONICAL.items():
            for name in names:
                ns.add(key, name)
        return ns

    def add(self, key: int, name: str) -> None:
        """Register one name (localized or canonical) for namespace ``key``."""
        if name:
            self.by_name[name.strip().replace("_", " ").lower()] = key

    def number(self, prefix: str) -> int | None:
        """The namespace a prefix names, or None if it names none."""
        return self.by_name.get(prefix.strip().replace("_", " ").lower())

    def classify(self, prefix: str) -> str | None:
        """'category', 'file', 'other' (another namespace), 'interwiki', or None
        (an ordinary article title that happens to contain a colon)."""
        key = self.number(prefix)
        if key == 14:
            return "category"
        if key in (6, -2):
            return "file"
        if key is not None:
            return "other"
        if _RE_INTERWIKI.match(prefix.strip()):
            return "interwiki"
        return None

    def is_file(self, prefix: str) -> bool:
        """True when ``prefix`` names the File (or Media) namespace."""
        return self.number(prefix) in (6, -2)

    def split_title(self, title: str) -> tuple[int, str]:
        """Split a full page title into (namespace, title within it)."""
        colon = title.find(":")
        if colon > 0:
            key = self.number(title[:colon])
            if key is not None:
                return key, title[colon + 1:].strip()
        return 0, title
