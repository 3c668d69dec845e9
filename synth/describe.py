"""What a thing is, in words: categories as descriptions, and the noun a question
calls an entity by.

A category is a clue only when it reads as a statement about its members:
"American novelists" -> "is an American novelist", "People from Boston" -> "comes
from Boston", "Cities in Latvia" -> "is a city in Latvia". Topic categories
("Anarchism"), maintenance categories and birth/death years (ingest turns those into
year facts, blurred like any other) are never clues.

    >>> describe_category("American novelists").vp
    'is an American novelist'
    >>> describe_category("People from Boston").vp
    'comes from Boston'
    >>> describe_category("Cities and towns in Latvia").vp
    'is a city or town in Latvia'
    >>> describe_category("1862 births") is None, describe_category("Anarchism") is None
    (True, True)
    >>> describe_category("Harvard University alumni").vp
    'studied at Harvard University'
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from synth.names import without_qualifier
from synth.phrasebook import PhraseBook
from synth.policy import BAD_NOUNS, NOUN_MAP

# Wikipedia housekeeping: says nothing about the subject.
_MAINTENANCE = re.compile(
    r"articles|pages|wikipedia|wikidata|stubs?\b|cs1|webarchive|use \w+ (?:english|dates)"
    r"|\bdmy\b|\bmdy\b|templates?\b|redirects|disambiguation|infobox|coordinates|commons"
    r"|short description|engvar|good article|featured|all \w+ |related$|lists? of|^lists?\b"
    r"|video clips|\bisbn\b|harv and sfn|vague or ambiguous|citation|dead external|npov"
    r"|^vikipedeja|^saroksti|^roksts", re.I)
_YEARS = re.compile(r"^\d{1,4}s?(?: BC| BCE)? (?:births|deaths)$|^year of (?:birth|death)", re.I)
_PREPS = ("of", "in", "from", "by", "at", "on", "for", "with", "about", "to", "under",
          "based", "established", "founded", "named", "who", "that", "which", "during")
_NOT_PLURAL = ("ss", "us", "is", "ous", "sis", "news", "series", "species", "yes")
_ICS = frozenset("politics physics mathematics economics ethics linguistics statistics genetics "
                 "electronics athletics gymnastics aesthetics logistics semantics acoustics "
                 "optics dynamics mechanics metaphysics phonetics informatics robotics "
                 "ceramics classics".split())
_IRREGULAR = {"people": "person", "men": "man", "women": "woman", "children": "child",
              "alumni": "alumnus", "genera": "genus", "phenomena":
              "phenomenon", "criteria": "criterion", "fungi": "fungus", "cacti": "cactus",
              "mice": "mouse", "geese": "goose", "teeth": "tooth", "feet": "foot",
              "businesspeople": "businessperson", "sportspeople": "sportsperson",
              "clergy": "cleric", "wives": "wife", "knives": "knife", "lives": "life",
              "leaves": "leaf", "wolves": "wolf", "halves": "half", "thieves": "thief"}
# Plural heads of prefix patterns: "People from X" -> "comes from X".
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^Living people$"), "is a living person"),
    (re.compile(r"^People from (.+)$"), "comes from {0}"),
    (re.compile(r"^People educated at (.+)$"), "was educated at {0}"),
    (re.compile(r"^People associated with (.+)$"), "is associated with {0}"),
    (re.compile(r"^People of (.+) descent$"), "is of {0} descent"),
    (re.compile(r"^People (\w+ed) (.+)$"), "was {0} {1}"),
    (re.compile(r"^(.+) alumni$"), "studied at {0}"),
    (re.compile(r"^Alumni of (.+)$"), "studied at {0}"),
    (re.compile(r"^Burials (?:at|in) (.+)$"), "is buried in {0}"),
    (re.compile(r"^(\d{3,4}) establishments in (.+)$"), "was established in {0} in {1}"),
    (re.compile(r"^(\d{3,4}) disestablishments in (.+)$"), "was dissolved in {0} in {1}"),
    (re.compile(r"^States and territories established in (\d{3,4})$"),
     "became a state or territory in {0}"),
    (re.compile(r"^(\d{3,4}) (films|books|novels|songs|albums|singles|video games|plays|"
                r"poems|paintings|works|short stories)$"), "is a {0} {1}"),
)


@dataclass(frozen=True, slots=True)
class Description:
    """A category as words: ``vp`` a verb phrase about a member ("is an American
    novelist"); ``noun`` the bare head noun, when the category names a kind of thing."""

    vp: str
    noun: str | None = None


if TYPE_CHECKING:
    import inflect


@lru_cache(maxsize=1)
def _inflect() -> inflect.engine:
    """inflect's engine, imported on first use. inflect wraps its engine in typeguard's
    ``@typechecked``, which recompiles every method at import (3.8 s of CPU, a third of a
    300-tree run at 1M entities) and checks argument types on each call; imported here
    with that decorator as a no-op (as ``python -O`` would make it), it takes 0.1 s."""
    import typeguard

    checked = typeguard.typechecked

    def unchecked(target: Any = None, **_: Any) -> Any:
        return target if target is not None else (lambda t: t)

    typeguard.typechecked = unchecked  # type: ignore[assignment]
    try:
        import inflect
    finally:
        typeguard.typechecked = checked
    return inflect.engine()


@lru_cache(maxsize=65536)
def article(np: str) -> str:
    """``a`` or ``an`` before ``np``, as it is said (inflect's rules; numerals read out).

    >>> [article(w) for w in ("American novelist", "city", "U.S. state", "hour",
    ...                       "NASA mission", "FBI agent", "8th-century king", "11-year-old")]
    ['an', 'a', 'a', 'an', 'a', 'an', 'an', 'an']
    """
    word = np.lstrip("\"“(")
    digits = re.match(r"\d+", word)
    if digits:  # "an 8th-century king", "an 11-year-old", "a 19th-century poet"
        d = digits.group()
        return "an" if d.startswith("8") or (d[:2] in ("11", "18") and len(d) in (2, 5)) \
            else "a"
    return _inflect().a(word).split(" ", 1)[0]


def with_article(np: str) -> str:
    return f"{article(np)} {np}"


def singular(word: str) -> str | None:
    """The singular of a plural noun; None when ``word`` does not look plural.

    >>> [singular(w) for w in ("cities", "novelists", "churches", "people", "politics")]
    ['city', 'novelist', 'church', 'person', None]
    """
    low = word.lower()
    if low in _IRREGULAR:
        out = _IRREGULAR[low]
        return out[0].upper() + out[1:] if word[:1].isupper() else out
    if len(low) < 4 or not low.endswith("s") or low.endswith(_NOT_PLURAL) or low in _ICS \
            or low.split("-")[-1] in _ICS:
        return None
    if low.endswith("ies") and len(low) > 4:
        return word[:-3] + "y"
    if low.endswith(("ches", "shes", "sses", "xes", "zzes")):
        return word[:-2]
    return word[:-1]


def _set_category(name: str) -> Description | None:
    """``Countries in Europe`` -> "is a country in Europe" (head noun made singular)."""
    words = name.split(" ")
    cut = _first_prep(words)
    head, rest = words[:cut], words[cut:]
    # "Cities and towns": both heads singular, joined by "or".
    parts = " ".join(head).split(" and ")
    # "Producers directors and media figures", "Sports and games people": lists of
    # heads run together, no kind a member is.
    if len(parts) > 1 and (any(singular(w) for p in parts for w in p.split(" ")[:-1])
                           or (len(parts[0].split()) == 1 and len(parts[-1].split()) > 1)):
        return None
    out_parts = []
    noun = None
    for n, part in enumerate(parts):
        ws = part.split(" ")
        last = ws[-1]
        if not last or (last[:1].isupper() and (n > 0 or len(ws) > 1)):
            return None  # a proper name ("Academy Awards") names one thing, not a kind
        sing = singular(last)
        if sing is None:
            return None
        noun = noun or sing.lower()
        out_parts.append(" ".join([*ws[:-1], sing]))
    np = " or ".join(out_parts)
    if np[:1].isupper() and not re.match(r"^[A-Z][a-z]*[A-Z]|^[A-Z]{2}|^[A-Z]\.", np):
        first, *others = np.split(" ")
        proper = _looks_proper(first) and (bool(others) or sum(c.isupper() for c in first) > 1)
        if not proper and not (others and others[0][:1].isupper()):
            np = np[:1].lower() + np[1:]
    np = " ".join([np, *rest]).strip()
    return Description(f"is {with_article(np)}", noun)


_PROPER_ADJ = re.compile(r"^(?:[A-Z][a-z]+(?:an|ian|ese|ish|i)|Jewish|Muslim|French|Czech|"
                         r"Icelandic|Baltic|Slavic|Nordic|Germanic|Arabic|Hispanic|Islamic|"
                         r"Gaelic|Olympic|Atlantic|Pacific|Arctic|Antarctic|"
                         r"Christian|Catholic|Buddhist|Hindu|Greek|Thai|Dutch|Swiss|Basque|"
                         r"Roman|Byzantine|Soviet|Nazi|Viking|Celtic|Arab|Inuit|Maori)"
                         r"(?:-[A-Za-z]+)?$")


def _looks_proper(word: str) -> bool:
    """A capitalized first word that keeps its capital: a nationality or a name."""
    return (bool(_PROPER_ADJ.match(word)) or sum(c.isupper() for c in word) > 1
            or bool(re.search(r"(?:ales|aceae|idae|inae|formes|oidea|ini)$", word)))


_LTG_PLACE = re.compile(r"^(.+ (?:pogosts|nūvods))$")


@lru_cache(maxsize=65536)
def describe_category(name: str, lang: str = "en") -> Description | None:
    """The category as a statement about its members, or None when it is no clue.
    English rules apply to English wikis (``lang`` "en" or "simple"); other wikis'
    categories are clues only where the phrase book's lexicon says what they mean."""
    name = name.strip()
    book = PhraseBook.default()
    if name in book.categories:
        np = book.categories[name]
        head = re.sub(r"^(?:a|an|the) ", "", np).split(" ")
        noun = next((w for w in reversed(head[:_first_prep(head)]) if w.isalpha()), None)
        return Description(f"is {np}", noun)
    if not name or _MAINTENANCE.search(name) or _YEARS.search(name):
        return None
    if lang not in ("en", "simple"):
        m = _LTG_PLACE.match(name) if lang == "ltg" else None
        return Description(f"lies in {m.group(1)}") if m else None
    for pattern, template in _PATTERNS:
        m = pattern.match(name)
        if m:
            groups = [g for g in m.groups()]
            return Description(template.format(*groups), None)
    if "," in name or "(" in name or (" by " in f" {name} " and name.startswith("Works")):
        return None
    if not re.match(r"^[A-Z0-9][\w\-.'’ ]+$", name):
        return None
    return _set_category(name)


def _first_prep(words: list[str]) -> int:
    return next((i for i, w in enumerate(words) if i > 0 and w in _PREPS), len(words))


_COPULA = re.compile(r"\b(?:is|was|are|were)\s+(?:also\s+|now\s+|currently\s+|often\s+|"
                     r"widely\s+|generally\s+|probably\s+|perhaps\s+|traditionally\s+|"
                     r"formerly\s+|usually\s+|considered\s+|regarded as\s+)*"
                     r"(?:(?:one|any|each|some) of (?:the|many|several)|a|an|the)\s+(.*)$")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z\-']*|\d[\d,.]*(?:st|nd|rd|th|s)?|[^\sA-Za-z\d]")
_STOP = frozenset("that which who whose whom where when of in on for from with by and or but "
                  "as located based derived used made known to since between near than at "
                  "about after before during under over into within from throughout "
                  "whereby while founded born native".split())
_OF_HEADS = frozenset("type kind form species sort variety member one group family genus "
                      "class branch piece style breed".split())
_SKIP_AFTER_OF = frozenset("the a an about several many some over around approximately "
                           "roughly".split())
_COMPOUNDS = frozenset(("dwarf planet", "chemical element", "programming language",
                        "video game", "football club", "television series", "prime minister",
                        "city state", "sovereign state", "island nation", "rock band",
                        "martial art", "board game", "card game", "space probe",
                        "space station", "comic book", "art form", "music genre",
                        "political party", "tropical cyclone", "tropical storm",
                        "natural satellite", "gas giant", "light year", "river delta",
                        "national park", "space shuttle", "operating system",
                        "musical instrument", "sea bird", "field of study", "folk dance",
                        "heavy metal", "world war", "civil war", "ethnic group",
                        "mountain range", "noble gas", "alkali metal", "transition metal",
                        "metal element", "court case", "public school", "research university",
                        "football player", "opera singer", "rock musician", "jazz musician",
                        "film director", "film actor", "stage actor", "art movement",
                        "religious movement", "literary movement", "police force",
                        "air force", "news agency", "stock exchange", "sports team"))


_ADJECTIVES = frozenset("best large small great major minor international compact national "
                        "local main famous popular common important long short big old new "
                        "first last most well only second third single former leading "
                        "prominent notable noted largest smallest oldest biggest highest "
                        "longest very intense multilateral independent public private "
                        "ancient modern early late iconic legendary classic second third "
                        "fourth fifth sixth seventh "
                        "eighth ninth tenth eleventh twelfth thirteenth fourteenth fifteenth "
                        "sixteenth seventeenth eighteenth nineteenth twentieth military "
                        "political economic social cultural religious civil "
                        "fought known made built held found born thought taught brought "
                        "sold told led won begun drawn grown shown seen set put".split())


_EST_NOUNS = frozenset("forest interest contest protest request harvest quest chest nest "
                       "west rest test guest priest conquest manifest tempest inquest "
                       "arrest digest crest".split())
_ING_NOUNS = frozenset("painting building meeting setting recording clothing wedding ring "
                       "king thing string spring wing ceiling evening morning beginning "
                       "feeling drawing engraving carving dwelling crossing landing "
                       "bed red seed speed creed breed reed shed sled".split())
_LY_NOUNS = frozenset("family assembly monopoly rally supply anomaly butterfly dragonfly "
                      "firefly italy july lily jelly".split())


def _np_words(tokens: list[str]) -> tuple[list[str], int]:
    """The words of a noun phrase at the start of ``tokens`` (up to 6), and where it
    stops: at a preposition, a relative word, punctuation, or a participle that follows
    the noun ("a language designed by ...")."""
    words: list[str] = []
    i = 0
    while i < len(tokens) and len(words) < 8:
        t = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else "."
        if t[:1].isdigit() and nxt[:1].isalpha() and nxt.lower() not in _STOP:
            i += 1  # "a landmark 1933 Hollywood ... film", "a 15th century painting"
            continue
        if not t[:1].isalpha() or t.lower() in _STOP:
            break
        if t.endswith("ly") and len(t) > 4 and t.lower() not in _LY_NOUNS:
            if not nxt[:1].isalpha() or nxt.lower() in _STOP:
                break  # "a physicist widely ...": the noun phrase has ended
            i += 1  # "an immensely influential philosopher": the adverb says no kind
            continue
        if words and t.endswith(("ed", "ing")) and t.lower() not in _ING_NOUNS and (
                not nxt[:1].isalpha() or nxt.lower() in _STOP):
            break  # "a language designed by": the participle follows the noun
        words.append(t)
        i += 1
        if _modifiers_joined(tokens, i):
            words.append(tokens[i])  # "film and stage actor": modifiers, the noun follows
            i += 1
            continue
        after = tokens[i + 1] if i + 1 < len(tokens) else "."
        if i < len(tokens) - 1 and tokens[i] in (",", "and", "or") and (
                t.lower() in _ADJECTIVES or ("-" in t and tokens[i] == "," and (
                    "-" in after or after.lower() in _ADJECTIVES))):
            i += 1  # "a very compact, intense hurricane", "a military and political leader"
    return words, i


def _modifiers_joined(tokens: list[str], i: int) -> bool:
    """Whether ``tokens[i]`` ("and", "or") joins two modifiers of one noun that follows:
    "film and stage actor," (the noun phrase ends right after it), not "philosopher and
    scientist." nor "poet and playwright best known for"."""
    if i + 2 >= len(tokens) or tokens[i] not in ("and", "or"):
        return False
    a, b = tokens[i + 1], tokens[i + 2]
    end = tokens[i + 3] if i + 3 < len(tokens) else "."
    return (bool(re.fullmatch(r"[a-z][a-z\-]+", a)) and bool(re.fullmatch(r"[a-z][a-z\-]+", b))
            and b not in _STOP and (not end[:1].isalpha() or end.lower() in _STOP))


_GENERIC = frozenset({"place", "person", "organization", "organism", "building"})


@lru_cache(maxsize=1 << 16)
def description_noun(description: str | None, title: str) -> str | None:
    """The head noun of an English lead sentence's "X is a ... NOUN" phrase (a compound
    such as "dwarf planet" where it is one), or None when the lead names no kind.

    >>> description_noun("Alabama is a state located in the southeastern region.", "Alabama")
    'state'
    >>> description_noun("Aristotle was a Greek philosopher and scientist.", "Aristotle")
    'philosopher'
    >>> description_noun("Perl is a dynamic programming language designed by Larry Wall.",
    ...                  "Perl")
    'programming language'
    >>> description_noun("The Hen Harrier is a species of bird of prey.", "Hen Harrier")
    'bird'
    >>> description_noun("Paris is one of the largest cities in Europe.", "Paris")
    'city'
    >>> description_noun("This is a featured article.", "Gyeongju") is None
    True
    >>> description_noun("Stewart was an American film and stage actor, best known.", "J")
    'actor'
    >>> description_noun("Engineering is the design, analysis and construction of works.",
    ...                  "Engineering") is None
    True
    """
    if not description:
        return None
    m = _COPULA.search(description[:300])
    if not m:
        return None
    tokens = _TOKEN.findall(m.group(1))
    words, stop = _np_words(tokens)
    for _ in range(2):  # "a species of bird", "a type of a ..."
        if not words or words[-1].lower() not in _OF_HEADS or stop >= len(tokens) \
                or tokens[stop].lower() != "of":
            break
        rest = tokens[stop + 1:]
        while rest and (rest[0].lower() in _SKIP_AFTER_OF or rest[0][:1].isdigit()):
            rest = rest[1:]
        inner, used = _np_words(rest)
        if not inner:
            break
        words, tokens, stop = inner, rest, used
    if not words:
        return None
    if stop < len(tokens) - 1 and tokens[stop] == "," and len(words) == 1 \
            and re.search(r"\bthe\s+$", m.group(0)[:len(m.group(0)) - len(m.group(1))]):
        return None  # "is the design, analysis and construction of": what it does
    head = words[-1]
    if not re.fullmatch(r"[a-z][a-z\-]{2,}", head):
        return None
    if head in _ADJECTIVES or (head.endswith(("en", "ed")) and head not in ("garden", "queen",
                                                                           "women", "children")) \
            or (head.endswith("est") and head not in _EST_NOUNS):  # "one of the greatest"
        return None  # "is a large ...", "is written by": no noun
    head = singular(head) or head
    if head.endswith("s") and head in _ICS:
        return None
    if re.search(rf"\b{re.escape(head)}\b", without_qualifier(title).lower()) \
            or head in BAD_NOUNS:
        return None
    mapped = NOUN_MAP.get(head, head)
    if mapped is None:
        return None
    if len(words) >= 2 and words[-2].islower() and words[-3:-2] not in (["and"], ["or"]):
        pair = f"{words[-2]} {head}"
        if pair in _COMPOUNDS:
            return pair
    return mapped


def noun_for(infobox: str | None, categories: list[str], title: str,
             fact_keys: list[str], lang: str = "en", description: str | None = None
             ) -> str | None:
    """What to call an entity: a word of its title that says what it is, its
    infobox type, the head noun of its lead sentence, a head noun of its categories
    that the lead sentence also uses, else a kind from its infobox keys."""
    book = PhraseBook.default()
    last = title.split(" ")[-1].lower() if " " in title else ""
    if last in book.title_nouns:
        return book.title_nouns[last]
    english = lang in ("en", "simple")
    if infobox:
        low = infobox.lower().strip()
        bare = "" if low == "infobox" else re.sub(r"^infobox[ _]+", "", low)
        for k in (low, bare):
            if k in book.infobox_nouns:
                noun = book.infobox_nouns[k]
                if noun in _GENERIC and english:  # "place": the lead may say "town"
                    return description_noun(description, title) or noun
                return noun
        bare = without_qualifier(bare)
        if bare and bare not in BAD_NOUNS and re.fullmatch(r"[a-z][a-z .\-]{2,30}", bare) \
                and len(bare.split()) <= 3 and not low.startswith("infoskreine"):
            return bare
    if lang in ("en", "simple"):
        noun = description_noun(description, title)
        if noun:
            return noun
    heads = Counter(d.noun for c in categories if (d := describe_category(c, lang)) and d.noun
                    and d.noun not in BAD_NOUNS)
    desc = (description or "").lower()
    for head, _ in sorted(heads.items(), key=lambda kv: (-kv[1], kv[0])):
        if lang not in ("en", "simple") or head in desc or not desc:
            return head
    return _noun_from_keys(fact_keys)


_KEY_NOUNS = (
    ("person", ("birth", "death", "spouse", "children", "occupation", "nationality", "alma")),
    ("place", ("population", "area", "capital", "elevation", "pluots", "dzeivuotuoju",
               "density", "bīzeiba", "subdivision")),
    ("organization", ("founded", "founder", "headquarters", "industry", "key_people")),
    ("work", ("release", "director", "author", "genre", "published", "starring")),
)


def _noun_from_keys(fact_keys: list[str]) -> str | None:
    for noun, prefixes in _KEY_NOUNS:
        if any(k.startswith(prefixes) for k in fact_keys):
            return noun
    return None
