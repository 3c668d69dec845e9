"""Infobox parameters to typed facts.

A value that links to articles becomes one entity fact per link target. A literal is
typed where it can be: a full date, a year, a number (with its unit), else plain text.
Typed values are what the sampler blurs (a year into a decade, a number into a range).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from ingest.namespaces import Namespaces
from ingest.wikitext import Template, normalize_title, split_params, strip_templates

MONTHS = {m: i for i, m in enumerate(
    "january february march april may june july august september october november december"
    .split(), start=1)}
MONTHS.update({m[:3]: i for m, i in list(MONTHS.items())})
MONTHS["sept"] = 9

# Keys that describe the page's layout or media, not the subject.
_SKIP_KEY = re.compile(
    r"^(?:name|native_name|image\w*|img\w*|caption\w*|alt\w*|signature\w*|logo\w*|map\w*|"
    r"pushpin\w*|coordinates|coor\w*|lat\w*|long\w*|width|size|footnotes|module\w*|embed|"
    r"child|website|url|homepage|blank\w*|\w*_image|\w*_caption|\w*_alt|\w*_size|"
    r"\w*_map\w*|zemislopa\w*|gerba\w*|karūga\w*|teiklavīta|pasauka)$",
    re.I,
)
_DATE_TEMPLATES = re.compile(
    r"^(?:birth|death|start|end|film|release|founding|dissolution)[ _-]?date"
    r"(?: and age| and years)?$|^(?:dob|bda|dda|bd|dod)$", re.I)
_YEAR_TEMPLATES = re.compile(r"^(?:birth|death|start|end) year(?: and age)?$", re.I)
_LIST_TEMPLATES = re.compile(r"^(?:plainlist|flatlist|ubl|unbulleted list|hlist|plain list|"
                             r"flat list|small|nowrap|nobr|lang|nowrap begin|abbr)$", re.I)
_RE_LINK = re.compile(r"\[\[([^\[\]\|\n]*)(?:\|([^\[\]]*))?\]\]")
_RE_BR = re.compile(r"<br\s*/?>|\n\s*[*#]\s*", re.I)
_RE_TAG = re.compile(r"</?[a-zA-Z][^>]*?/?>")
_RE_SPACES = re.compile(r"[ \t\u00a0\u202f]+")
_TIME_KEY = re.compile(
    r"date|year|yr|founded|founding|establish|formed|formation|opened|open|born|birth|death|"
    r"died|start|end|built|complet|release|publish|since|began|begin|first|last|term|reign|"
    r"dissol|abolish|gods|īstateits|dzims|mirs|dybynuots|period|era|century|turned|retired|"
    r"debut|admission|admitted|independen|coronat|crowned|discover|launch|inaugurat|canoniz|"
    r"beatif|accession|incorporat|ratif|signed|adopted|settled", re.I)
_RE_FILENAME = re.compile(r"\.(?:jpe?g|png|svg|gif|tiff?|ogg|oga|webm|pdf)$", re.I)
_RE_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_RE_MDY = re.compile(r"^([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{3,4})$")
_RE_DMY = re.compile(r"^(\d{1,2})\s+([A-Za-z]{3,9})\.?,?\s+(\d{3,4})$")
_RE_MY = re.compile(r"^([A-Za-z]{3,9})\.?,?\s+(\d{3,4})$")
_RE_YEAR = re.compile(r"^(?:c\.\s*|circa\s+|ca\.\s*)?(\d{1,4})\s*(AD|CE|BC|BCE)?$", re.I)
_NUM = r"-?\d{1,3}(?:[ ,\u00a0\u202f]\d{3})+(?:[.,]\d+)?|-?\d+(?:[.,]\d+)?"
_APPROX = r"(?:approx\.?\s*|approximately\s+|about\s+|around\s+|~|≈)?"
_SCALE_WORD = r"(?:(million|billion|trillion|thousand)\b)?"
# A number, then what follows it: a unit and/or notes ("(2010 census)", ", rank 5").
_RE_NUMBER = re.compile(
    rf"^{_APPROX}([$€£¥])?\s*({_NUM})(st|nd|rd|th)?\+?\s*{_SCALE_WORD}\s*(.*)$", re.I | re.S)
# A range "A–B unit", "A-B unit", "A to B unit" (the scale word covers both ends).
_RE_RANGE = re.compile(
    rf"^{_APPROX}([$€£¥])?\s*({_NUM})\s*(?:[–—]|-|\s+to\s+)\s*[$€£¥]?\s*({_NUM})\+?"
    rf"\s*{_SCALE_WORD}\s*(.*)$", re.I | re.S)
# Image and layout sizes ("30px", "250x250px", "x200px", "upright=1.2"): not facts.
_RE_LAYOUT_SIZE = re.compile(
    r"^(?:\d*\s*x\s*)?\d+\s*px$|^upright(?:\s*=?\s*\d*(?:\.\d+)?)?$", re.I)
# Unit tokens with a power ("km2", "m³") are units although they hold a digit.
_RE_POWER_UNIT = re.compile(r"(?<![A-Za-z])(?:sq\s?)?(?:km|mi|m|ft|cm|mm|dm|in|yd|nmi|ha)[23²³]"
                            r"(?![A-Za-z0-9])")
_RE_UNIT_WORD = re.compile(r"^[/%°‰$€£¥]?[^\W\d_][\w.°/²³'’-]*$|^[%‰°]$")
MAX_UNIT_WORDS = 3
# Keys whose values are identifiers or addresses: never numbers or ranges.
_TEXT_KEY = re.compile(
    r"^(?:isbn\d*|issn|eissn|oclc|lccn|dewey|congress|coden|doi|cospar_id|satcat|norad_id|"
    r"\w*_id|id|\w*code|postal\w*|post_?code\w*|zip\w*|call_?sign|iata|icao|faa|"
    r"address|street_address|phone|telephone|fax)$", re.I)
_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_CURRENCY = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
MAX_TEXT = 200


@dataclass(slots=True)
class FactValue:
    """One fact read from an infobox parameter, typed where possible."""

    key: str
    kind: str  # "entity" | "date" | "year" | "number" | "range" | "text"
    raw: str
    text: str
    target: str | None = None
    num: float | None = None
    num_hi: float | None = None
    """The upper end of a range ("20–44 minutes": num 20, num_hi 44)."""
    unit: str | None = None
    year: int | None = None
    month: int | None = None
    day: int | None = None

    @property
    def date(self) -> str | None:
        """ISO date string for full dates (years below 1000 are zero-padded)."""
        if self.kind == "date" and self.year is not None and self.month and self.day:
            return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"
        return None


# Synonymous infobox keys under one name, so one predicate has one meaning.
CANONICAL_KEYS = {
    "born": "birth_date", "date_of_birth": "birth_date", "birthdate": "birth_date",
    "birth": "birth_date",
    "died": "death_date", "date_of_death": "death_date", "deathdate": "death_date",
    "death": "death_date",
    "place_of_birth": "birth_place", "birthplace": "birth_place",
    "place_of_death": "death_place", "deathplace": "death_place",
    "spouses": "spouse",
}


def normalize_key(key: str) -> str:
    """An infobox key in snake case, synonyms under their canonical name
    (:data:`CANONICAL_KEYS`).

    >>> normalize_key("Birth date"), normalize_key(" born"), normalize_key("Date of death")
    ('birth_date', 'birth_date', 'death_date')
    >>> normalize_key("birthplace"), normalize_key("spouses"), normalize_key("partner")
    ('birth_place', 'spouse', 'partner')
    """
    k = _RE_SPACES.sub("_", key.strip().lower()).replace("-", "_")
    return CANONICAL_KEYS.get(k, k)


_RE_CATEGORY_YEAR = re.compile(r"^(\d{1,4})( BC)? (births|deaths)$")


def category_year_facts(categories: list[str], have: set[str]) -> list[FactValue]:
    """Birth and death years from English categories ("1862 births", "420 BC deaths"),
    for the keys (``birth_date``, ``death_date``) not in ``have``: the infobox's own
    dates are better (they have months and days).

    >>> [(f.key, f.year, f.text) for f in category_year_facts(
    ...     ["1809 births", "420 BC deaths", "5th-century BC births"], set())]
    [('birth_date', 1809, '1809'), ('death_date', -420, '420 BC')]
    >>> category_year_facts(["1809 births"], {"birth_date"})
    []
    """
    out: list[FactValue] = []
    for name in categories:
        m = _RE_CATEGORY_YEAR.match(name)
        if not m:
            continue
        key = "birth_date" if m.group(3) == "births" else "death_date"
        if key in have or any(f.key == key for f in out):
            continue
        year = int(m.group(1)) * (-1 if m.group(2) else 1)
        if year == 0:
            continue
        out.append(FactValue(key, "year", name, m.group(1) + (m.group(2) or ""), year=year))
    return out


def infobox_facts(infobox: Template, ns: Namespaces) -> list[FactValue]:
    """All facts of one infobox, in parameter order."""
    facts: list[FactValue] = []
    for key, value in split_params(infobox.body):
        if key is None or not value:
            continue
        nkey = normalize_key(key)
        if not nkey or _SKIP_KEY.match(nkey):
            continue
        facts.extend(value_facts(nkey, value, ns))
    return facts


def value_facts(key: str, value: str, ns: Namespaces) -> list[FactValue]:
    """Facts from one parameter value: entity facts for its links, else a literal."""
    raw = value[:MAX_TEXT * 2]
    out: list[FactValue] = []
    seen: set[str] = set()
    for m in _RE_LINK.finditer(value):
        target = m.group(1).strip()
        colon = target.find(":")
        if colon > 0 and ns.classify(target[:colon]) is not None:
            continue
        title = normalize_title(target)
        if title and title not in seen:
            seen.add(title)
            label = (m.group(2) or target).strip()
            out.append(FactValue(key, "entity", raw, plain_text(label), target=title))
    if _RE_FILENAME.search(value.strip()):
        return out  # a bare media file name is layout, not a fact
    literal = literal_fact(key, value, raw)
    if literal is not None and (not out or literal.kind in ("date", "year", "number")):
        out.append(literal)
    return out


def literal_fact(key: str, value: str, raw: str) -> FactValue | None:
    """A typed literal from a value, or None when nothing readable is left."""
    dated = _date_from_templates(value)
    text = plain_text(value)
    if dated is not None:
        y, mo, d = dated
        if mo and d:
            return FactValue(key, "date", raw, f"{y:04d}-{mo:02d}-{d:02d}", year=y, month=mo, day=d)
        return FactValue(key, "year", raw, str(y), year=y, month=mo)
    if not text or _RE_LAYOUT_SIZE.match(text.strip()):
        return None  # nothing left, or an image size
    return type_text(key, text, raw)


def type_text(key: str, text: str, raw: str) -> FactValue:
    """Type a plain-text value: date, year, number with unit, or text."""
    t = text.strip().rstrip(".,;")
    m = _RE_ISO.match(t)
    if m:
        return _date(key, raw, t, int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = _RE_MDY.match(t)
    if m and m.group(1).lower() in MONTHS:
        return _date(key, raw, t, int(m.group(3)), MONTHS[m.group(1).lower()], int(m.group(2)))
    m = _RE_DMY.match(t)
    if m and m.group(2).lower() in MONTHS:
        return _date(key, raw, t, int(m.group(3)), MONTHS[m.group(2).lower()], int(m.group(1)))
    m = _RE_MY.match(t)
    if m and m.group(1).lower() in MONTHS:
        month = MONTHS[m.group(1).lower()]
        return FactValue(key, "year", raw, t, year=int(m.group(2)), month=month)
    m = _RE_YEAR.match(t)
    # A bare 3-4 digit number is a year only under a key about time: "1406" is a
    # population in `dzeivuotuoju_skaits = 1406`, a year in `founded = 1406`.
    if m and (m.group(2) or (len(m.group(1)) >= 3 and (
            _TIME_KEY.search(key) or re.match(r"(?:c\.|circa|ca\.)", t, re.I)))):
        year = int(m.group(1))
        if m.group(2) and m.group(2).upper() in ("BC", "BCE"):
            year = -year
        return FactValue(key, "year", raw, t, year=year)
    if _TEXT_KEY.match(key):
        return FactValue(key, "text", raw, t[:MAX_TEXT])
    return _range(key, t, raw) or _dated_with_notes(key, t, raw) or _number(key, t, raw) or \
        FactValue(key, "text", raw, t[:MAX_TEXT])


def _split_unit(rest: str) -> tuple[str | None, bool]:
    """What follows a number: (its unit or None, whether it reads as a unit at all).
    Notes after a comma, semicolon or parenthesis are not part of the unit.

    >>> _split_unit("km2 (6 sq mi)"), _split_unit("% of GDP"), _split_unit("")
    (('km2', True), ('% of GDP', True), (None, True))
    >>> _split_unit("–44 minutes"), _split_unit("UN members 6 other states")
    ((None, False), (None, False))
    """
    cut = min((i for i in (rest.find(c) for c in "(,;[") if i >= 0), default=len(rest))
    unit = rest[:cut].strip()
    if not unit:
        return None, True
    words = unit.split()
    if len(words) > MAX_UNIT_WORDS or re.search(r"\d", _RE_POWER_UNIT.sub("", unit)):
        return None, False
    if not all(_RE_UNIT_WORD.match(w) for w in words):
        return None, False
    return unit, True


def _number(key: str, t: str, raw: str) -> FactValue | None:
    m = _RE_NUMBER.match(t)
    if not m:
        return None
    num = parse_number(m.group(2))
    if num is None:
        return None
    unit, ok = _split_unit(m.group(5) or "")
    if not ok or (m.group(3) and unit):  # "19th-century philosophy", "9th Earl of X"
        return None
    if m.group(4):
        num *= _SCALE[m.group(4).lower()]
    unit = _CURRENCY.get(m.group(1) or "") or ("ordinal" if m.group(3) else None) or unit
    return FactValue(key, "number", raw, t, num=num, unit=unit)


def _range(key: str, t: str, raw: str) -> FactValue | None:
    """``20–44 minutes`` -> a range from 20 to 44 minutes; ``1958–86`` -> 1958 to 1986.
    The upper end must not be below the lower one ("870–274" is a record, not a range).
    """
    m = _RE_RANGE.match(t)
    if not m:
        return None
    lo, hi_text = parse_number(m.group(2)), m.group(3).strip()
    hi = parse_number(hi_text)
    if lo is None or hi is None:
        return None
    lo_digits = m.group(2).lstrip("-")
    if hi < lo and hi_text.isdigit() and lo_digits.isdigit() and len(hi_text) < len(lo_digits):
        hi = lo - lo % 10 ** len(hi_text) + hi  # an abbreviated end: 1958–86
    if hi < lo:
        return None
    unit, ok = _split_unit(m.group(5) or "")
    if not ok:
        return None
    if m.group(4):
        scale = _SCALE[m.group(4).lower()]
        lo, hi = lo * scale, hi * scale
    unit = _CURRENCY.get(m.group(1) or "") or unit
    return FactValue(key, "range", raw, t, num=lo, num_hi=hi, unit=unit)


def _dated_with_notes(key: str, t: str, raw: str) -> FactValue | None:
    """A date or year followed by notes: ``17 August 1945 (Secker and Warburg)``."""
    head = re.split(r"\s*[(;]", t, maxsplit=1)[0].strip().rstrip(",")
    if not head or head == t:
        return None
    fact = type_text(key, head, raw)
    return fact if fact.kind in ("date", "year") else None


def _date(key: str, raw: str, text: str, y: int, mo: int, d: int) -> FactValue:
    if 1 <= mo <= 12 and 1 <= d <= 31:
        return FactValue(key, "date", raw, text, year=y, month=mo, day=d)
    return FactValue(key, "year", raw, text, year=y)


def parse_number(s: str) -> float | None:
    """Parse ``1,234.5``, ``4 561`` or ``392,7`` (decimal comma) to a float.

    >>> parse_number("1,234,567"), parse_number("4 561"), parse_number("392,7")
    (1234567.0, 4561.0, 392.7)
    """
    s = s.replace("\u00a0", " ").replace("\u202f", " ").replace(" ", "")
    if "," in s and "." in s:
        s = s.replace(",", "")
    elif "," in s:
        head, _, tail = s.rpartition(",")
        s = s.replace(",", "") if len(tail) == 3 else head.replace(",", "") + "." + tail
    try:
        return float(s)
    except ValueError:
        return None


def _date_from_templates(value: str) -> tuple[int, int | None, int | None] | None:
    if "{{" not in value:
        return None
    _, templates = strip_templates(value)
    for t in templates:
        name = t.name.lower()
        is_date = _DATE_TEMPLATES.match(name)
        if not is_date and not _YEAR_TEMPLATES.match(name):
            continue
        nums = [p for k, p in split_params(t.body) if k is None and p.strip().lstrip("-").isdigit()]
        if not nums:
            continue
        y = int(nums[0])
        mo = int(nums[1]) if is_date and len(nums) > 1 and 1 <= int(nums[1]) <= 12 else None
        d = int(nums[2]) if mo and len(nums) > 2 and 1 <= int(nums[2]) <= 31 else None
        return y, mo, d
    return None


def _render_template(body: str) -> str:
    """Text that a few common inline templates show; others show nothing."""
    from ingest.wikitext import template_name

    name = template_name(body).lower()
    params = split_params(body)
    positional = [v for k, v in params if k is None]
    if name == "convert" and positional:
        if len(positional) > 3 and positional[1].strip() in ("-", "–", "to"):
            return f"{positional[0]}–{positional[2]} {positional[3]}"  # a range
        unit = positional[1] if len(positional) > 1 else ""
        return f"{positional[0]} {unit}".strip()
    if _LIST_TEMPLATES.match(name) and positional:
        items = positional[1:] if name == "lang" else positional
        return ", ".join(i for i in items if i)
    if _DATE_TEMPLATES.match(name) or _YEAR_TEMPLATES.match(name):
        nums = [p for p in positional if p.strip().isdigit()]
        return "-".join(nums[:3])
    return ""


def plain_text(value: str) -> str:
    """Wikitext value to one line of plain text (links shown by their labels)."""
    if "{{" in value:
        value = _expand_templates(value)
    value = _RE_BR.sub(", ", value)
    value = _RE_LINK.sub(_link_text, value)
    value = _RE_TAG.sub("", value)
    value = value.replace("'''", "").replace("''", "")
    value = html.unescape(value)
    value = _RE_SPACES.sub(" ", value.replace("\n", " ")).strip(" ,;")
    return re.sub(r"(?:,\s*){2,}", ", ", value)


def _link_text(m: re.Match[str]) -> str:
    """What a link shows; a media file link ("[[File:Rose.svg|24px]]") shows nothing."""
    if _RE_FILENAME.search(m.group(1).strip()):
        return ""
    return m.group(2) if m.group(2) else m.group(1).split(":")[-1]


def _expand_templates(value: str) -> str:
    out: list[str] = []
    depth = 0
    pos = start = 0
    for m in re.finditer(r"\{\{|\}\}", value):
        if m.group() == "{{":
            if depth == 0:
                out.append(value[pos:m.start()])
                start = m.end()
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                inner = value[start:m.start()]
                out.append(_expand_templates(_render_template(inner)) if "{{" in inner
                           else _render_template(inner))
                pos = m.end()
    if depth == 0:
        out.append(value[pos:])
    return "".join(out)
