"""What questions are made of: the rules that choose which entities, hops and clues a
research tree may use, kept in one place apart from the walk (synth.sampler) and the
counting (synth.counting). A change to what questions say should touch this module
(and the phrase book, synth/phrases.toml) alone.

The aim (DESIGN.md, "What a clue is"): findable things, tied by real relations, each
pinned by specific clues (a named value, a claim from a sentence, a description), with
bucketed numbers and name initials as seasoning, not the meal.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from graph.constraints import Kind
from graph.model import Rel
from graph.summary import KeyShape
from synth.model import Relation, Tree

# -- which entities may be vertices -------------------------------------------------------
NOT_A_THING = re.compile(
    r"^(?:Lists? of|Index of|Outline of|Glossary of|Timeline of|Bibliography of|"
    r"Sarakstu?s?\b|(?:History|Geography|Economy|Politics|Culture|Demographics|"
    r"Military|Transport|Transportation|Communications|Religion|Music|Flag|Coat of arms|"
    r"Foreign relations|Government|Education|Tourism|Languages|Administrative divisions)"
    r" of |\d{1,4}s?(?: BC| AD)?$|\d{1,2}(?:st|nd|rd|th)[ -](?:century|millennium)"
    r"(?: BC| AD)?$)|/[a-z]{2,3}(?:-[a-z]+)?$", re.I)
"""Pages about pages, overviews used as places, bare years and centuries, and translation
subpages ("X/fr"): not things in the world a question can be about."""

BAD_NOUNS = frozenset(
    "infobox article page thing subject entity item name term word example part form type "
    "kind member one list index way use lot variety set piece sort number means "
    "version aspect topic feature result case point fact idea other body head".split())
"""Heads that say nothing about what an entity is: never the noun a question calls it by."""

NOUN_MAP = {"study": "field of study", "field": "field of study",
            "discipline": "field of study", "cultivation": "practice", "people": "ethnic group",
            "collection": "collection", "nation": "country", "largest": None, "first": None,
            "only": None,
            "son": None, "daughter": None, "wife": None, "husband": None, "brother": None,
            "sister": None, "widow": None, "nephew": None, "niece": None}
"""Lead-sentence heads read as another noun (None: no noun; "was the son of Duncan I"
says whose son he was, not what he is; "England is a nation in ..." is a country)."""

PERSON_NOUNS = frozenset(
    "person politician writer scientist philosopher artist comedian footballer musician "
    "royal novelist painter poet actor actress singer composer author physicist chemist "
    "mathematician economist historian astronaut explorer monarch king queen emperor "
    "empress president officer soldier general admiral saint cosmologist metaphysician "
    "lawyer judge journalist businessperson philanthropist engineer inventor architect "
    "player socialist anarchist activist priest bishop pope deity character navigator "
    "conqueror sculptor inventor governor senator ruler leader founder dancer astronomer "
    "teacher preacher reformer sailor pioneer designer producer director photographer "
    "pharaoh prophet apostle chancellor chief statesman stateswoman playwright dramatist "
    "essayist critic theologian missionary monk nun saint sultan caliph tsar prince "
    "princess duke duchess earl baron lord lady knight guitarist pianist violinist "
    "drummer rapper broadcaster presenter entrepreneur industrialist banker merchant "
    "scholar physician surgeon nurse biologist botanist zoologist geologist naturalist "
    "chef athlete cyclist boxer wrestler golfer swimmer runner jockey cricketer "
    "commander warrior hero heroine god goddess figure man woman boy girl child "
    "philanthropist aviator pilot mystic poet composer conductor lyricist songwriter "
    "animator cartoonist illustrator screenwriter filmmaker comedian magician polymath "
    "co-founder cofounder emperor regent cleric archbishop reverend rabbi imam".split())
PERSON_SUFFIXES = ("ist", "ian", "ologist", "grapher")
"""Nouns that call a person ("who", not "that")."""

PLACE_NOUNS = frozenset(
    "country city town capital state region island village province county nation "
    "territory place area kingdom empire republic island nation city state sovereign state "
    "municipality district suburb borough port settlement colony continent".split())
PLACE_KEYS = frozenset("birth_date death_date born died birth_place death_place "
                       "resting_place buried residence".split())
"""Infobox keys whose value is a place ("born = 7 August 1966, Huntsville"): a value
called anything else (an organisation linked from the same field) is no such hop."""


PERSON_KEYS = frozenset("father mother parents spouse children child consort partner "
                        "siblings relatives influences influenced influenced_by "
                        "doctoral_advisor doctoral_students notable_students "
                        "academic_advisors predecessor successor key_people".split())
"""Infobox keys whose value is a person ("father = James VI and I" may link a place too)."""
NOT_PLACE_KEYS = frozenset("publisher label record_label distributor studio author writer "
                           "written_by director directed_by producer produced_by founder "
                           "founders founded_by key_people music_by composer title "
                           "office rank".split())


PLACE_HOLDER_KEYS = frozenset("country city state province county district region "
                              "location locale subdivision subdivision_name municipality "
                              "sovereign_state".split())
"""Keys that say where a place is ("is in {o}", "contains {s}"): a person or a work
holding one ("country = United States" on a tennis player) means something else."""


def holds(key: str | None, person: bool, noun: str | None = None) -> bool:
    """Whether an entity (``person``: a person; ``noun``: what it is called) may hold
    infobox ``key`` as a clue: a person's or a work's "country" is no place it is in."""
    return not ((person or is_work(noun)) and key in PLACE_HOLDER_KEYS)


_DEFINITE = re.compile(
    r"^(?:United|Republic|Kingdom|Commonwealth|Federation|Union|Holy|Democratic|People's)\b|"
    r"^(?:Netherlands|Philippines|Bahamas|Maldives|Gambia|Congo|Sudan|Vatican City|"
    r"Czech Republic|Ivory Coast|Solomon Islands|Marshall Islands|Falkland Islands|"
    r"Faroe Islands|Middle East|Caribbean|Soviet Union|Roman Empire|Ottoman Empire|"
    r"Byzantine Empire|British Empire|Pacific Ocean|Atlantic Ocean|Indian Ocean|"
    r"Arctic Ocean|Mediterranean Sea|North Sea|Baltic Sea|Black Sea|Red Sea|Alps|Andes|"
    r"Himalayas|Sahara|Amazon River|Nile|Thames|Danube|Rhine|Mississippi River)$")


def named(title: str) -> str:
    """A name as a sentence says it: "the United States", "Paris".

    >>> named("United States"), named("Paris"), named("Nile")
    ('the United States', 'Paris', 'the Nile')
    """
    return f"the {title}" if _DEFINITE.match(title) else title


def is_place(noun: str | None) -> bool:
    return bool(noun) and (noun in PLACE_NOUNS or noun.split(" ")[-1] in PLACE_NOUNS)


EXCLUSIVE_PLACES = frozenset("country region province city town village continent county "
                             "district island".split())
"""Kinds of place that are not each other: "a region that is a country" (Tibet, filed
under Countries) says two things at once; "a city that is a capital" is fine."""


def places_conflict(noun: str | None, other: str | None) -> bool:
    """Whether a place called ``noun`` may not also be said to be ``other``.

    >>> places_conflict("region", "country"), places_conflict("city", "capital")
    (True, False)
    """
    a = (noun or "").split(" ")[-1]
    b = (other or "").split(" ")[-1]
    return a != b and a in EXCLUSIVE_PLACES and b in EXCLUSIVE_PLACES


_PLACE_RANKS = ({"continent"}, {"country", "nation", "sovereign state", "kingdom", "empire",
                                  "republic"},
                {"state", "province", "region", "county", "territory", "island"})


def place_rank(noun: str | None) -> int:
    """Where a place comes in an address ("Dublin, Ireland"): 0 for a town or city, up to
    3 for a continent, -1 for what is no place.

    >>> place_rank("city"), place_rank("country"), place_rank("person")
    (0, 2, -1)
    """
    if not is_place(noun):
        return -1
    for i, kinds in enumerate(_PLACE_RANKS):
        if noun in kinds:
            return 3 - i
    return 0


ON_NOUNS = frozenset("island islands archipelago atoll peninsula mountain".split())
"""Places one is on, not in: "died on an island"."""


def preposition(phrase: str, noun: str | None) -> str:
    """``phrase`` ("died in {}", "{c} died in {p}") with the preposition its hidden
    object (``{}`` or ``{p}``, called ``noun``) takes.

    >>> preposition("died in {}", "island"), preposition("died in {}", "city")
    ('died on {}', 'died in {}')
    >>> preposition("{c} died in {p}", "island")
    '{c} died on {p}'
    """
    last = (noun or "").split(" ")[-1]
    if last not in ON_NOUNS:
        return phrase
    return phrase.replace(" in {}", " on {}").replace(" in {p}", " on {p}")


AWARD_KEYS = frozenset("awards award honours honors prizes prize medals".split())
AWARD_NOUNS = frozenset("award prize medal order trophy honour honor decoration title "
                        "fellowship cup".split())


def fits(key: str | None, noun: str | None, person: bool = False) -> bool:
    """Whether an entity called ``noun`` (``person``: a person) can be the value of
    infobox ``key``: a birthplace is a place, a father a person, a publisher no city,
    an award an award (not "Basketball" in a player's list of honours)."""
    if key in AWARD_KEYS:
        return (noun or "").split(" ")[-1] in AWARD_NOUNS
    if key in PLACE_KEYS:
        return is_place(noun)
    if key in PERSON_KEYS:
        return person
    if key in NOT_PLACE_KEYS:
        return not is_place(noun)
    return True


WORK_NOUNS = frozenset(
    "work literary work film novel play opera book series television series video game game "
    "song album poem "
    "cartoon comic musical ballet symphony painting sculpture story short story epic "
    "programme program show sitcom documentary saga".split())
WORK_CLAIMS = re.compile(
    r"^(?:was|is) (?:directed|written|produced|released|published|filmed|shot|adapted|"
    r"composed|premiered|first (?:performed|published|shown|broadcast|aired)|made|"
    r"painted|recorded|set|based|broadcast|aired|banned|translated|dedicated)\b|"
    r"^(?:premiered|stars|starred|won|received|sold|features|featured)\b")
"""A sentence on a work's page ("King Kong was on display in New York") often tells its
story, not the world: from a work, only claims about how it was made and received."""


def is_work(noun: str | None) -> bool:
    return bool(noun) and (noun in WORK_NOUNS or noun.split(" ")[-1] in WORK_NOUNS)


AMBIGUOUS_OF_A_PERSON = frozenset(("played",))
"""Claims that say two things of a person object: "Stefan Edberg played [Boris Becker]"
is a match or a role."""


def claim_fits(claim: str | None, subject_noun: str | None,
               object_noun: Callable[[], str | None] | None = None) -> bool:
    """Whether a claim whose subject is called ``subject_noun`` (and whose object,
    asked only where it matters, ``object_noun()``) says something about the world."""
    if not claim:
        return True
    if claim in AMBIGUOUS_OF_A_PERSON and object_noun is not None \
            and person_noun(object_noun()):
        return False
    if not subject_noun:
        return True
    return not is_work(subject_noun) or bool(WORK_CLAIMS.match(claim))


# -- which hops and clues pin in the world -------------------------------------------------
CLAIMS_TO_OBJECT = re.compile(
    r"^(?:was|is) (?:born|baptized|buried|founded|established|built|located|situated|"
    r"centred|centered) (?:in|at|on)\b|^(?:was|is) (?:named after|first described by|"
    r"directed by|written by|composed by|painted by|designed by|invented by)\b|"
    r"^(?:died|lies|flows) (?:in|at|on|into)\b|^(?:was|is) a tributary of\b|"
    r"^(?:was|is) the (?:capital|largest city|most populous city|seat|county seat) (?:city )?"
    r"(?:of|in)\b|^(?:was|is) an? (?:city|town|village|lake|river|island|region|province|"
    r"state|county|district|municipality|port|suburb) (?:in|of|on)\b|"
    r"^(?:was|is) an? (?:overseas |unincorporated |dependent )?territory of\b|"
    r"^(?:was|is) a state of\b")
"""Claims whose subject has one such object in the world: a person was born in one
place, a film was directed by one director, a town is in one county: the object is
pinned by the subject ("the city where Einstein was born")."""
CLAIMS_TO_SUBJECT = re.compile(
    r"^(?:was|is) the (?:capital|largest city|most populous city|holiest city|"
    r"(?:second|third) (?:largest|most populous) city|birthplace|national (?:bird|animal|"
    r"flower|tree|sport|anthem|epic|dish)|official language|currency|namesake|founder|"
    r"(?:international )?headquarters|seat|county seat) (?:city )?(?:of|in)\b|"
    r"^(?:directed|wrote|composed|painted|designed|founded|invented|authored|sculpted|"
    r"co-wrote|co-founded)$")
"""Claims whose object has one such subject: a country has one capital, a film one
director, a novel one author: the subject is pinned by the object ("the director of
Vertigo")."""


def claim_pins(claim: str | None, toward: str) -> bool:
    """Whether a claim pins its ``toward`` end ("object" or "subject") from the other,
    in the world and not only in this graph.

    >>> claim_pins("was born in", "object"), claim_pins("was born in", "subject")
    (True, False)
    >>> claim_pins("is the capital of", "subject"), claim_pins("influenced", "subject")
    (True, False)
    """
    if not claim:
        return False
    return bool((CLAIMS_TO_OBJECT if toward == "object" else CLAIMS_TO_SUBJECT).match(claim))


def functional(rel: Relation, keys: dict[str, KeyShape]) -> bool:
    """Whether a hop pins its parent by itself, in the world and not only in this graph.
    An infobox hop as the graph measures its key (graph.summary.KeyShape): "in" (the
    child's infobox names the parent: "the city where X was born") where a holder names
    one value; "out" (the parent's names the child: "the country whose capital is
    Paris") where a value has one holder. A link by its sentence's claim
    (claim_pins): "in" (the child's sentence is about the parent: "X was born in [it]")
    where the claim's subject has one object, "out" ("[it] directed X") where its object
    has one subject. Such a hop reads well in a chain."""
    if rel.rel != Rel.FACT:
        return claim_pins(rel.claim, "object" if rel.direction == "in" else "subject")
    return key_pins(rel.key, "value" if rel.direction == "in" else "holder", keys)


INVERSE_KEYS = frozenset(
    "capital largest_city seat county_seat national_anthem anthem motto leader_name "
    "head_of_state predecessor successor highest_point namesake".split())
"""Infobox keys whose value has one holder in the world (a city is the capital of one
country): the graph's measure of the holder end is kept for these only. In a graph of
a few thousand pages most values have one holder ("died in Moscow", "makes
Television"); in the world they have thousands."""
_LIST_KEY = re.compile(r"(?:_s|[^su]s)$")
"""A key named in the plural ("awards", "products", "genre_s") lists many values,
though a graph that keeps only the links inside it may hold one of them."""


def key_pins(key: str | None, end: str, keys: dict[str, KeyShape]) -> bool:
    """Whether infobox ``key`` names one ``end`` ("value": a holder names one value;
    "holder": a value has one holder) in the world: as the graph measures it
    (graph.summary.KeyShape), for a key that is no list, and at the holder end for
    INVERSE_KEYS only. An address ("born = Ulm, Württemberg, Germany") names one place
    of each kind, though the graph counts three values."""
    if not key or (end == "value" and _LIST_KEY.search(key) and key != "headquarters"):
        return False
    if end == "value" and key in PLACE_KEYS:
        return True
    if end == "holder" and key not in INVERSE_KEYS:
        return False
    shape = keys.get(key)
    return shape is not None and shape.functional(end)


def pins(kind: str, params: dict, provenance: dict, keys: dict[str, KeyShape]) -> bool:
    """Whether a clue alone pins its entity in the world: a named page's claim of which
    it is the one object ("Einstein was born in [it]"), its own claim of which a named
    page is the one object ("[it] directed Vertigo"), or an infobox value only one
    holder has ("whose capital is Paris", as the graph measures the key)."""
    if kind == Kind.LINKED_FROM_NAMED:
        return claim_pins(provenance.get("claim"), "object")
    if kind == Kind.LINKS_TO_NAMED:
        return claim_pins(provenance.get("claim"), "subject")
    if kind == Kind.FACT_NAMED:
        return key_pins(params.get("key"), "holder", keys)
    return False


# -- which clues a tree says ----------------------------------------------------------------
TIERS = {Kind.CATEGORY: 0, Kind.FACT_NAMED: 0, Kind.LINKS_TO_NAMED: 0,
         Kind.LINKED_FROM_NAMED: 0, Kind.FACT_YEAR: 1, Kind.FACT_MONTHS: 2,
         Kind.FACT_NUMBER: 2, Kind.TITLE_INITIAL: 3}
"""Blur prefers the lowest tier that narrows at all: named values, claims from
sentences and descriptions first, then years, then a season or a bucketed number
(many things fit "born in March, April or May"), and a name's initial last."""

MAX_NUMBERS_PER_ENTITY = 1
"""At most this many numeric ranges describe one entity."""
MAX_NUMBER_SHARE = 1 / 3
"""At most this share of a tree's clues are numeric ranges."""
INITIAL_RATE = 0.1
"""The share of seeds whose tree may use a name's initial (where nothing else narrows)."""

# -- which hidden entities are findable ------------------------------------------------------
MIN_POPULARITY = 3
"""Hidden entities (roots included) need at least this many in-links by default: a
question is about things a person can find. SynthConfig.findable overrides it."""
BAND_FROM_ARTICLES = 1000


def findable_default(scope: dict) -> int:
    """MIN_POPULARITY on a complete graph of BAND_FROM_ARTICLES articles or more; else 0:
    a slice's pages link mostly outside it, and a handful of pages has no band."""
    complete = not scope.get("partial") and int(scope.get("articles") or 0) >= BAND_FROM_ARTICLES
    return MIN_POPULARITY if complete else 0

# -- a run's variety -------------------------------------------------------------------------
MAX_SHARE = 0.25
"""Over a run's kept trees, no root noun and no relation key above this share (from
DIVERSITY_FROM trees on, where the graph has enough kinds: Variety)."""
DIVERSITY_FROM = 8
MAX_HIDDEN_SHARE = 0.1
"""Over a run's kept trees, no entity hidden (other than as the answer) in more than
this share: "Great Bustard is the national bird of a country" ten times over is one
question asked ten times."""
KINDS_FOR_VARIETY = round(1 / MAX_SHARE)
"""A share can be kept under MAX_SHARE only among this many kinds or more: a graph whose
walks have shown fewer root nouns (a synthetic graph's "thing") or relation keys is not
held to it on that count."""


def initials_allowed(seed: int) -> bool:
    """Whether the tree of ``seed`` may use a name's initial (one seed in ten)."""
    return random.Random(f"initial:{seed}").random() < INITIAL_RATE


def tier(kind: str) -> int:
    return TIERS.get(Kind(kind), 1)


def number_allowed(kind: str, about_entity: int, in_tree: int, clues: int) -> bool:
    """Whether one more numeric range may be said, given ``about_entity`` ranges on the
    entity already, ``in_tree`` in the tree and ``clues`` clues the tree will have."""
    if kind != Kind.FACT_NUMBER:
        return True
    return (about_entity < MAX_NUMBERS_PER_ENTITY
            and in_tree + 1 <= max(1, int(clues * MAX_NUMBER_SHARE)))


def person_noun(noun: str | None) -> bool:
    return bool(noun) and (noun in PERSON_NOUNS or noun.split(" ")[-1] in PERSON_NOUNS
                           or noun.endswith(PERSON_SUFFIXES))


def relation_key(rel: Relation) -> str:
    """What a relation is, for variety: its infobox key or its sentence's claim."""
    return f"fact:{rel.key}" if rel.key else f"claim:{rel.claim or 'link'}"


@dataclass(frozen=True)
class Sketch:
    """What variety judges of a tree, known once its walk is done (before it is blurred
    and proven): the answer, what the answer is called, and its relations' keys."""

    answer: str
    noun: str | None
    keys: tuple[tuple[str, int], ...]
    hidden: tuple[str, ...] = ()
    """The hidden entities other than the answer."""

    @classmethod
    def of(cls, answer: str, noun: str | None, relations: list[Relation],
           hidden: list[str] | None = None) -> Sketch:
        return cls(answer, noun, tuple(sorted(Counter(relation_key(r)
                                                      for r in relations).items())),
                   tuple(sorted(set(hidden or ()))))

    @classmethod
    def of_tree(cls, tree: Tree) -> Sketch:
        return cls.of(tree.answer, tree.root.noun,
                      [v.relation for v in tree.vertices if v.relation is not None],
                      [v.entity for v in tree.vertices
                       if v.parent is not None and v.kind == "entity" and v.entity])


def _has_initial(tree: Tree) -> bool:
    return any(v.constraint is not None and v.constraint.kind == Kind.TITLE_INITIAL
               for v in tree.vertices)


class Variety:
    """Keeps a run varied, judged on the trees kept so far, so that it holds of what a
    run delivers however many that is: a walk whose root noun, or one of whose relation
    keys, would take more than MAX_SHARE of the kept trees (relations) is turned away
    before its tree is built (``why_not``, on its Sketch), and so is a built tree with
    a name's initial past one in ten kept (INITIAL_RATE, ``initials_full``). The first
    trees of a run get a little room (two of a noun or key), or no tree could start it.
    No entity is hidden in more than MAX_HIDDEN_SHARE of them besides.

    Nouns and keys are judged once the run's walks have shown KINDS_FOR_VARIETY of them
    (``seen``, in attempt order, so the run stays deterministic); a run asked for fewer
    than DIVERSITY_FROM trees is not judged at all."""

    ROOM = 2

    def __init__(self, count: int) -> None:
        self.active = count >= DIVERSITY_FROM
        self.kept = 0
        self.initials = 0
        self.turned_away = 0
        self.nouns: Counter[str] = Counter()
        self.keys: Counter[str] = Counter()
        self.relations = 0
        self.hidden: Counter[str] = Counter()
        self.walked_nouns: set[str] = set()
        self.walked_keys: set[str] = set()

    def cap(self, of: int) -> int:
        """The most of one kind among ``of`` (trees or relations) with one more kept."""
        return max(self.ROOM, int(of * MAX_SHARE))

    def seen(self, sketch: Sketch) -> None:
        """A walk of the run, in attempt order: which kinds the graph offers."""
        if len(self.walked_nouns) < KINDS_FOR_VARIETY:
            self.walked_nouns.add(sketch.noun or "")
        if len(self.walked_keys) < KINDS_FOR_VARIETY:
            self.walked_keys.update(k for k, _ in sketch.keys)

    def why_not(self, sketch: Sketch) -> str | None:
        """The reason to turn a walk away, or None."""
        why = self.would_turn_away(sketch)
        self.turned_away += why is not None
        return why

    def would_turn_away(self, sketch: Sketch) -> str | None:
        """``why_not`` without counting it (a sampling thread's guess: the run decides
        in attempt order)."""
        if not self.active:
            return None
        if (len(self.walked_nouns) >= KINDS_FOR_VARIETY
                and self.nouns[sketch.noun or ""] + 1 > self.cap(self.kept + 1)):
            return "variety_noun"
        if len(self.walked_keys) >= KINDS_FOR_VARIETY:
            limit = self.cap(self.relations + sum(n for _, n in sketch.keys))
            if any(self.keys[k] + n > limit for k, n in sketch.keys):
                return "variety_relation"
        cap = max(self.ROOM, int((self.kept + 1) * MAX_HIDDEN_SHARE))
        if any(self.hidden[h] + 1 > cap for h in sketch.hidden):
            return "variety_entity"
        return None

    def initials_full(self, tree: Tree) -> bool:
        """Whether ``tree`` uses a name's initial past one in ten of the kept trees: the
        tenth may, the ninth may not (a run of fewer than ten has none)."""
        return _has_initial(tree) and self.initials + 1 > int((self.kept + 1) * INITIAL_RATE)

    def take(self, tree: Tree) -> None:
        self.kept += 1
        self.initials += _has_initial(tree)
        sketch = Sketch.of_tree(tree)
        self.nouns[sketch.noun or ""] += 1
        for k, n in sketch.keys:
            self.keys[k] += n
            self.relations += n
        self.hidden.update(sketch.hidden)
