"""Claims from link sentences: what a sentence says about the page's subject and the
entity it links to, as a verb phrase.

A link is a clue only where its sentence states a relation between the two, in the
simple shape "SUBJECT [, ...,] VERB-PHRASE ANCHOR": "Lincoln was born in [Hodgenville]"
gives "was born in". The verb phrase is taken verbatim from the sentence, so the claim
is checkable in the page it came from; anything else (a link inside a list, an
adjective, a sentence about someone else) gives no claim, and offline such a link is
not used.

    >>> claim_vp("Lincoln was born in Hodgenville, Kentucky.", "Hodgenville", "Abraham Lincoln")
    'was born in'
    >>> claim_vp("His father Thomas was born in Virginia.", "Virginia", "Abraham Lincoln") is None
    True
    >>> claim_vp("The Daugava (Latvian: Daugava) flows into the Gulf of Riga.", "Gulf of Riga",
    ...          "Daugava")
    'flows into the'
    >>> claim_vp("He married Mary Todd in 1842.", "Mary Todd", "Abraham Lincoln")
    'married'
    >>> claim_vp("It is the cultivation of animals, plants and fungi.", "animals", "Farm")
    >>> claim_vp("He was among the first thinkers in Europe to affirm it.", "Europe", "Hans")
    >>> claim_vp("Alabama is an American state.", "American", "Alabama") is None
    True
    >>> claim_vp("Newmarket has a station on the Cambridge - Ipswich line.", "Cambridge",
    ...          "Newmarket") is None
    True
    >>> claim_vp("It was in the 4th century that Christianity came.", "4th century", "Wales")
    >>> claim_vp("The family lived in Washington in 1984.", "Washington", "Natalie Portman")
    >>> claim_vp("The treaty was ratified by the League of Nations.", "League of Nations",
    ...          "Treaty of Versailles")
    'was ratified by the'
    >>> claim_vp("The city lies on the Stour.", "Stour", "Canterbury", "city")
    'lies on the'
    >>> claim_vp("In 1905, he later moved to Bern.", "Bern", "Albert Einstein")
    'moved to'
    >>> claim_vp("Einstein was born on 14 March 1879 in Ulm.", "Ulm", "Albert Einstein")
    'was born in'
    >>> claim_vp("Einstein was born in Ulm and grew up in Munich.", "Munich", "Albert Einstein")
    'grew up in'
    >>> claim_vp("Einstein and his wife moved to Bern.", "Bern", "Albert Einstein") is None
    True
    >>> claim_vp("Stravinsky was born in Oranienbaum and brought up in Saint Petersburg.",
    ...          "Saint Petersburg", "Igor Stravinsky")
    'was brought up in'
    >>> claim_vp("It was first visited by Europeans and first colonized successfully by France.",
    ...          "France", "Saint Lucia")
    'was colonized successfully by'
    >>> claim_vp("Yagan's head was removed and brought to London.", "London", "Yagan") is None
    True
    >>> claim_vp("When the war ended, his son moved to Bern.", "Bern", "Albert Einstein") is None
    True
"""

from __future__ import annotations

import re
from functools import lru_cache

from synth.names import without_qualifier

_AUX = frozenset("is was are were has had have became becomes remains remained lies lay "
                 "flows flowed rises rose runs ran stands stood serves served joined joins "
                 "won wins led leads lived lives died dies moved moves borders bordered "
                 "belongs belonged hosts hosted holds held uses used makes made plays played "
                 "taught teaches wrote writes founded founds created creates includes "
                 "included contains contained covers covered connects connected crosses "
                 "crossed reaches reached drains drained feeds fed returned returns went "
                 "goes came comes left leaves met meets ruled rules married marries grew "
                 "spent fought built sent began sang gave took brought bought sold fell "
                 "flew kept knew saw spoke struck drew drove rode shook sought spread broke "
                 "chose bore wore got hung fled dealt dwelt sat stayed won".split())
_PREPS = frozenset("in into on at of by from to with for near under over through across "
                   "along against between within onto upon toward towards as after before "
                   "since during via beside behind beyond around about the a an its their "
                   "his her".split())
# What may follow the anchor: the sentence goes on about time or place, or describes
# the object; anything else ("... [Western philosophy] to affirm ...") may qualify the
# claim, so the words before the anchor alone would say something else.
_NEXT_OK = frozenset("in on at during after before since until from near which who where "
                     "when".split())
_BAD = frozenset("not never no neither nor which who whom whose that and or but if "
                 "although because while than unknown apparently reportedly allegedly "
                 "possibly perhaps probably rarely hardly unlikely failed refused "
                 "derived said thought believed rumoured rumored claimed "
                 "supposedly them him us this these those".split())
# "... is derived from [X]": about a name, not a thing; "is said to have been": hearsay
# A named subject is one thing: "Trotsky ... were led by" was about a group.
_PLURAL_VERBS = frozenset("are were have".split())
_DROP = frozenset("also later then eventually subsequently soon briefly finally first "
                  "originally initially once still now mainly largely primarily mostly "
                  "famously formally officially currently previously formerly frequently "
                  "often traditionally permanently".split())
"""Adverbs of time and manner, left out of a claim ("later moved to" says "moved to")."""
_LEAD = re.compile(
    r"^(?:In|On|At|By|After|Before|During|From|Since|Following|Later|Eventually|Then|"
    r"Today|Initially|Originally|Subsequently|Upon|Until|Throughout|When|As)\b[^,;:()]{1,60}"
    r",\s+")
"""An opening phrase of time or place ("In 1905, he published ..."): the subject follows."""
_DATE = re.compile(
    r",? (?:on|in|around|about|circa|c\.) (?:the )?(?:(?:early|mid|late)[- ])?(?:\d{1,2} )?"
    r"(?:(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December) )?(?:\d{1,2}, )?\d{3,4}s?,?(?= )")
"""A date inside the verb phrase ("was born on 14 March 1879 in"): the claim is the rest."""
_AND = re.compile(r",? and ")
# "made the lovers land in": the claim is about someone the verb acts on.
_CAUSATIVE = frozenset("made makes let lets helped helps forced forces caused causes allowed "
                       "allows".split())
# "They were admitted together to ...": a plural pronoun is about more than the
# subject, so it gives no claim.
_PRONOUNS = ("He", "She", "It")
_WORD = re.compile(r"^[a-z][a-z'’\-]*$")
MAX_WORDS = 7


_THE_NOUN = re.compile(r"^The [a-z]+\b")
_CLEFT = re.compile(r"^It (?:is|was) .{1,80}? (?:that|when|who) ")
_NEXT_WORD = re.compile(r"^\s*([A-Za-z]+)")
_LIST_ITEM = re.compile(r"^\s*,\s*[^,.;]{1,40}(?:,|\band\b|\bor\b)")
_PAREN_HEAD = re.compile(r"^\s*\([^()]*\)")
_APPOSITION = re.compile(r"^\s*,[^,]{1,60},")


def _subject_len(left: str, subject: str, the_noun: bool = True,
                 noun: str | None = None) -> int:
    """How many characters at the start of ``left`` name the subject (0: none): the
    longest of its title without a parenthesised tail, one of the title's capitalised
    words of 3 letters or more (either after a leading "The "), or a pronoun (at the
    very start); else "The <noun>"."""
    skip = 4 if left.startswith("The ") else 0

    def named(n: str) -> int:  # a pronoun stands at the start, a name may follow "The "
        at = 0 if n in _PRONOUNS else skip
        end = at + len(n)
        ok = left.startswith(n, at) and (len(left) == end or not left[end].isalnum())
        return end if ok else 0

    bare = without_qualifier(subject).strip()
    # The whole title first: a word of it, or a pronoun, that also matches is shorter.
    end = named(bare) if bare else 0
    if end:
        return end
    # Else the longest match. Two of one length cannot both match: at one offset they
    # would be one string, and a pronoun (at 0) never starts with "The " (names at 4).
    best = 0
    for n in (*bare.split(" "), *_PRONOUNS):
        if n in _PRONOUNS or (len(n) >= 3 and n[:1].isupper()):
            best = max(best, named(n))
    if best:
        return best
    if not bare and skip and named(""):  # a title all in parentheses: "The" alone
        return skip
    if not the_noun:
        return 0
    # "The <noun>" names the subject where the noun is what it is ("The treaty" on the
    # Treaty of Versailles, "The city" on a city called so), not "The family" on a
    # singer's page nor "The game" on a cartoon's.
    m = _THE_NOUN.match(left)
    if not m:
        return 0
    word = m.group(0)[4:].lower()
    kinds = {w.lower() for w in bare.split(" ")} | {(noun or "").split(" ")[-1]}
    return m.end() if word in kinds else 0


def speaks_of(sentence: str, subject: str) -> bool:
    """Whether ``sentence`` is about ``subject``: it opens with its name, a word of it,
    or a pronoun ("He", "It"); "The title ..." may be about anything.

    >>> speaks_of("After 1938 he lived in Paris.", "Sigmund Freud")
    False
    >>> speaks_of("Freud moved with his family to Vienna.", "Sigmund Freud")
    True
    >>> speaks_of("The title has rarely been used since the Schism.", "Pope Benedict XVI")
    False
    >>> speaks_of("Woods' manner off the course is cautious.", "Tiger Woods")
    False
    """
    n = _subject_len(sentence, subject, the_noun=False)
    return n > 0 and sentence[n:n + 1] not in ("'", "’")  # "Woods' manner": his manner


def states_between(sentence: str, subject: str, anchor: str) -> bool:
    """Whether a verb stands between the subject that opens ``sentence`` and ``anchor``
    ("Freud moved with his family to [Vienna]"); a list item or a caption has none.

    >>> states_between("George I of Great Britain (1660-1727)", "George II", "Great Britain")
    False
    >>> states_between("It was named after Albert Einstein.", "Einsteinium", "Albert Einstein")
    True
    >>> states_between("It has been suggested that he was inspired by Dupin.", "Poe", "Dupin")
    False
    """
    n, at = _subject_len(sentence, subject, the_noun=False), sentence.find(anchor)
    words = re.findall(r"[a-z]+", sentence[n:at])
    return 0 < n <= at and not _HEDGES.intersection(words) and any(
        w in _AUX or (w.endswith("ed") and len(w) > 3) for w in words)


_HEDGES = frozenset("suggested possibly perhaps probably reportedly allegedly apparently "
                    "may might rumoured rumored believed thought claimed speculated not "
                    "never".split())


@lru_cache(maxsize=1 << 16)
def claim_vp(sentence: str | None, anchor: str | None, subject: str,
             noun: str | None = None) -> str | None:
    """The verb phrase that ties ``subject`` (called ``noun``, where known) to the linked
    ``anchor`` in ``sentence``, or None when the sentence states no such simple
    relation. Kept for the most recent links: the sampler asks it of each link twice
    (to walk on, and to describe)."""
    if not sentence or not anchor or len(anchor) < 2:
        return None
    if _CLEFT.match(sentence):
        return None  # "It was in the [4th century] that ...": "it" is no subject
    pos = sentence.find(anchor)
    if pos <= 0:
        return None
    left, right = sentence[:pos], sentence[pos + len(anchor):]
    if right.startswith(("'s", "’s", "' ", "’ ")):
        return None  # "the main protagonists of [Wagner]'s Ring": about something of it
    nxt = _NEXT_WORD.match(right)
    if right[:1].isalnum() or (nxt and right[:1] == " " and nxt.group(1) not in _NEXT_OK):
        return None  # a modifier ("an [American] lawyer"), or the claim goes on
    if re.match(r"^\s*[-–/]\s*\w", right):
        return None  # part of a longer name: "a station on the [Cambridge] - Ipswich line"
    if _LIST_ITEM.match(right):
        return None  # one item of a list: "the cultivation of [animals], plants and fungi"
    lead = _LEAD.match(left)
    if lead:  # "In 1905, he published": the subject comes after the opening phrase
        left = left[lead.end():]
        if left.startswith(("he ", "she ", "it ")):
            left = left[:1].upper() + left[1:]
    n = _subject_len(left, subject, noun=noun)
    if n == 0:
        return None
    rest = left[n:]
    rest = _PAREN_HEAD.sub("", rest)  # "Lincoln (1809–1865) was ..."
    rest = _APPOSITION.sub("", rest)  # "Riga, the capital, lies ..."
    rest = _DATE.sub("", rest)  # "was born on 14 March 1879 in"
    words = _verb_phrase(rest)
    if words is None:
        # "Einstein was born in Ulm and moved to [Munich]": the last of two verb phrases
        # of one subject
        parts = _AND.split(rest)
        words = _verb_phrase(parts[-1]) if len(parts) > 1 else None
        if words is None or not (_is_verb(words[0]) and _opens_with_verb(parts[0])):
            return None
        be = _opening_verb(parts[0])
        if be in ("was", "is", "were", "are") and (words[0] in _PASSIVE or words[-1] == "by"):
            # "was born in Oranienbaum and brought up in", "was first visited by
            # Europeans and colonized successfully by": the second is passive too
            words = [be, *words]
    first, last = words[0], words[-1]
    if first in _PLURAL_VERBS:
        return None
    if first in _CAUSATIVE and len(words) > 1 and words[1] in ("the", "a", "an", "his", "her",
                                                                "its", "their"):
        return None  # "The Trojan War made the lovers land in [Egypt]": about the lovers
    if first not in _AUX and not first.endswith("ed"):
        return None
    if last not in _PREPS and last not in _AUX and not last.endswith("ed"):
        return None
    if last in ("a", "an") and len(words) < 3:
        return None  # "is a [lawyer]": a description, not a relation
    return " ".join(words)


def _is_verb(word: str) -> bool:
    return word in _AUX or (word.endswith("ed") and len(word) > 3)


def _opening_verb(part: str) -> str | None:
    """The first word of ``part`` past adverbs ("quickly conquered ..." -> "conquered")."""
    words = [w for w in part.split() if w not in _DROP and not w.endswith("ly")]
    return words[0] if words else None


def _opens_with_verb(part: str) -> bool:
    """Whether ``part`` goes on from the subject with a verb ("quickly conquered ...",
    not "'s head was removed")."""
    first = _opening_verb(part)
    return first is not None and _is_verb(first)


_PASSIVE = frozenset("brought raised educated buried crowned baptized baptised named elected "
                     "appointed known considered regarded recognised recognized exiled "
                     "imprisoned executed murdered ordained canonized canonised "
                     "knighted".split())
"""Participles that, after "was born in X and", go on in the passive: "brought up in"
says "was brought up in"."""


def _verb_phrase(rest: str) -> list[str] | None:
    """The words of ``rest`` without adverbs of time, or None where one of them is no
    lower-case word, a negation or a pronoun of another, or there are too many."""
    words = rest.split()
    if not words or len(words) > MAX_WORDS:
        return None
    if any(w in _BAD or not _WORD.match(w) for w in words):
        return None
    return [w for w in words if w not in _DROP] or None


_ARTICLE = re.compile(r" (?:the|a|an)$")


def subj_form(vp: str) -> str:
    """The claim about the sentence's subject, ``{}`` for the linked entity (which the
    question describes with its own article).

    >>> subj_form("lies on the")
    'lies on {}'
    """
    return f"{_ARTICLE.sub('', vp)} {{}}"


@lru_cache(maxsize=1 << 12)
def obj_form(vp: str) -> str:
    """The claim as a sentence whose subject is the linked page's subject ``{c}`` and
    whose object is the entity described ``{p}``: said with the named or hidden subject
    first, never as "is the one that X ...".

    >>> obj_form("was born in"), obj_form("married"), obj_form("flows into the")
    ('{c} was born in {p}', '{c} married {p}', '{c} flows into {p}')
    """
    return f"{{c}} {_ARTICLE.sub('', vp)} {{p}}"
