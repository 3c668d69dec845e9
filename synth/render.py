"""Render a research tree as a question a person could have written.

Offline templates: what is asked comes first ("Which city ..."), every clue is a
relative clause about its entity ("... that is in Latvia and was founded in the
1860s"), a hidden entity is a noun phrase ("a painter who ...") nested at most two
deep in one sentence; deeper ones, and every entity child past the first, get a
sentence of their own ("A person was born in the 1860s and married a painter.") and
are referred to as "this person". The seed picks among several question forms, so a
data set varies while each tree renders the same way every time.

An LLM rewrite (synth.llm) may replace the template question; it must keep the
markers listed by :func:`constraint_markers`.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from graph.constraints import Kind
from synth.blur import fmt_number, value_stem
from synth.describe import with_article
from synth.model import Constraint, Tree, Vertex
from synth.names import without_qualifier
from synth.policy import PLACE_KEYS, named, preposition

MAX_NESTING = 2

# Question forms: {np} the root's noun with article, {noun} bare, {who} who/that,
# {clauses} the root's clauses.
FORMS = (
    "Which {noun} {clauses}?",
    "What is the {noun} {who} {clauses}?",
    "Name the {noun} {who} {clauses}.",
    "Identify the {noun} {who} {clauses}.",
    "I am thinking of {np} {who} {clauses}. Which {noun} is it?",
)


def join(parts: list[str]) -> str:
    """>>> join(["a"]), join(["a", "b"]), join(["a", "b", "c"])
    ('a', 'a and b', 'a, b and c')"""
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _who(v: Vertex) -> str:
    return "who" if v.person else "that"


@dataclass
class _Plan:
    """Which hidden entities get a sentence of their own, and the sentences so far."""

    tree: Tree
    separate: dict[int, str] = field(default_factory=dict)  # vertex id -> reference
    sentences: list[str] = field(default_factory=list)
    nouns_used: dict[str, int] = field(default_factory=dict)


def _clauses(plan: _Plan, v: Vertex, level: int) -> tuple[list[str], list[str]]:
    """What is said of ``v``: verb phrases about it (descriptions, facts and named
    claims first, then its relations to hidden entities, the first inline, the rest a
    sentence of their own), and sentences that have ``v`` as their object, ``{p}``
    standing for it ("Kochi hosted the grave of {p}", "a city in India was the
    birthplace of {p}")."""
    tree = plan.tree
    kids = tree.children(v.id)
    lits = [c.constraint for c in kids if c.constraint is not None]
    order = {Kind.CATEGORY: 0, Kind.FACT_YEAR: 1, Kind.FACT_MONTHS: 1, Kind.FACT_NUMBER: 2,
             Kind.FACT_NAMED: 3, Kind.LINKS_TO_NAMED: 4, Kind.LINKED_FROM_NAMED: 4,
             Kind.TITLE_INITIAL: 9}
    lits = sorted(lits, key=lambda c: order.get(c.kind, 5))
    out = _merge_when(_merge_places(_merge_dates(
        _merge_named([c for c in lits if "{p}" not in c.text]))))
    objs = [c.text for c in lits if "{p}" in c.text]
    ents = [c for c in kids if c.kind == "entity"]
    inline_left = [c for c in ents if c.relation is None or "{c}" not in (c.relation.phrase or "")]
    for c in ents:
        phrase = (c.relation.phrase if c.relation is not None and c.relation.phrase
                  else "is related to {}")
        if "{c}" in phrase:  # the hidden child is the subject, ``v`` the object
            ref = (_noun_phrase(plan, c, level + 1) if level < MAX_NESTING
                   else _separate(plan, c))
            objs.append(preposition(phrase, v.noun).replace("{c}", ref))
            continue
        inline = c is inline_left[-1] and level < MAX_NESTING
        if inline and phrase.split("{}", 1)[1].strip():
            # "has {} as its capital": a long description would split the phrase.
            moved = re.sub(r"^(\w+) \{\}( as | among | on )(.+)$", r"\1\2\3 {}", phrase)
            if moved.endswith("{}"):
                phrase = moved
            else:
                inline = False  # the hidden entity gets a sentence of its own
        ref = _noun_phrase(plan, c, level + 1) if inline else _separate(plan, c)
        out.append(preposition(phrase, c.noun).replace("{}", ref))
    # "was born in this country in the 1770s", not "... in the 1770s and was born in
    # this country" (a place said in full takes no date after it: it may go on).
    return _merge_places(out, only=_THIS), objs


_THIS = re.compile(r" this [a-z][a-z \-]*$")


_MONTHS = re.compile(r" in (\w+, \w+ or \w+)$")
_WHEN = re.compile(r"^(?P<verb>.+?) (?P<when>(?:in (?:the |[A-Z][a-z]+, [A-Z][a-z]+ or )|"
                   r"between [A-Z][a-z]+ and [A-Z][a-z]+ of a year in ).+)$")


def _merge_places(clauses: list[str], only: re.Pattern | None = None) -> list[str]:
    """A date and a named place of one event say one thing: "died in Switzerland in
    the 1820s", not "died in the 1820s and died in Switzerland" (``only``: places whose
    clause matches it).

    >>> _merge_places(["died in the 1820s", "is a chemist", "died in Geneva"])
    ['is a chemist', 'died in Geneva in the 1820s']
    >>> _merge_places(["was born in the 1770s", "was born in this country"], _THIS)
    ['was born in this country in the 1770s']
    >>> _merge_places(["died between May and July of a year in the 1860s", "died in this city"],
    ...               _THIS)
    ['died in this city between May and July of a year in the 1860s']
    """
    out = list(clauses)
    for date in clauses:
        m = _WHEN.match(date)
        if not m:
            continue
        verb = m.group("verb")
        place = next((c for c in out if c != date and c.startswith(f"{verb} in ")
                      and not _WHEN.match(c) and (only is None or only.search(c))), None)
        if place is not None and date in out:
            out[out.index(place)] = f"{place} {m.group('when')}"
            out.remove(date)
    return out


def _merge_dates(lits: list) -> list[str]:
    """A year and a season of one fact say one thing: "died between September and
    November of a year in the 1860s", not two clauses."""
    years = {c.params.get("key"): c for c in lits if c.kind == Kind.FACT_YEAR}
    out = []
    for c in lits:
        if c.kind == Kind.FACT_YEAR and any(m.kind == Kind.FACT_MONTHS and m.params.get("key") ==
                                         c.params.get("key") for m in lits):
            continue
        if c.kind == Kind.FACT_MONTHS and c.params.get("key") in years:
            m = _MONTHS.search(c.text)
            year = years[c.params.get("key")].text
            w = _WHEN.match(year)
            if m and w:  # "died between September and November of a year in the 1860s"
                first, *_, last = m.group(1).replace(" or ", ", ").split(", ")
                out.append(f"{w.group('verb')} between {first} and {last} of a year "
                           f"{w.group('when')}")
            else:
                out.append(f"{year} and {c.text}")
            continue
        out.append(c.text)
    return out


def _merge_named(lits: list) -> list:
    """Named values of one infobox key are said once: "was interested in ethics and
    politics", not "was interested in ethics and was interested in politics"; places of
    one field in its order ("was born in Dublin, Ireland"), where the field gives it."""
    groups: dict[str, list] = {}

    def group_of(c: Constraint) -> str | None:
        """Its key; for a place, what it says ("was born in "), which two fields may share
        (birth_date and birth_place)."""
        key = c.params.get("key") if c.kind == Kind.FACT_NAMED else None
        stem = value_stem(c) if key else None
        if stem is None:
            return None
        return "place:" + stem if key in PLACE_KEYS else key

    for c in lits:
        if (g := group_of(c)) is not None:
            groups.setdefault(g, []).append(c)
    for g, same in list(groups.items()):
        if g.startswith("place:"):
            runs = {c.provenance.get("run") for c in same}
            if all("at" in c.provenance for c in same) and len(runs) == 1:
                # one address: "[[Dublin]], [[Ireland]]"
                groups[g] = sorted(same, key=lambda c: c.provenance["at"])
            else:
                del groups[g]  # which is in which is not known: said apart
    out = []
    for c in lits:
        same = groups.get(group_of(c) or "") or []
        if len(same) < 2 or c not in same:
            out.append(c)
        elif c is same[0]:
            stem = value_stem(c) or ""  # grouped: its words end with the value
            names = [named(x.params["title"]) for x in same]
            words = ", ".join(names) if c.params["key"] in PLACE_KEYS else join(names)
            out.append(Constraint(c.kind, c.params, stem + words, c.provenance))
    return out


def _merge_when(clauses: list[str]) -> list[str]:
    """Two events of one time say it once: "died and was crowned in the late 12th
    century (1168–1200)".

    >>> _merge_when(["died in the 1190s", "is a king", "was crowned in the 1190s"])
    ['died and was crowned in the 1190s', 'is a king']
    >>> _merge_when(["was born in the 1190s", "was crowned in the 1190s"])
    ['was born and crowned in the 1190s']
    """
    out = list(clauses)
    for i, a in enumerate(clauses):
        ma = _WHEN.match(a)
        if not ma or a not in out or " in " in ma.group("verb"):
            continue
        for b in clauses[i + 1:]:
            mb = _WHEN.match(b)
            if mb and b in out and mb.group("when") == ma.group("when") \
                    and " in " not in mb.group("verb"):
                va, vb = ma.group("verb"), mb.group("verb")
                aux = va.split(" ", 1)[0]
                if aux in ("was", "is", "were") and vb.startswith(aux + " "):
                    vb = vb[len(aux) + 1:]  # "was born and crowned in ...", once "was"
                out[out.index(a)] = f"{va} and {vb} {ma.group('when')}"
                out.remove(b)
                break
    return out


def _head(v: Vertex, clauses: list[str], keep_one: bool = False) -> tuple[str, list[str]]:
    """The noun, or a description that already says it ("lake in Latgale" for a lake
    described as "is a lake in Latgale"), and the clauses left: a description that
    repeats the noun ("a bird that is a bird") is said once, as the noun phrase.
    ``keep_one``: a question needs one clause left to ask with."""
    noun = v.noun or "thing"
    if keep_one and len(clauses) < 2:
        return noun, clauses
    for i, c in enumerate(clauses):
        m = re.match(r"^is (?:a|an) (.+)$", c)
        if not m or " that " in c or " who " in c:
            continue
        desc = m.group(1)
        if re.search(rf"\b{re.escape(noun)}\b", desc):
            return desc, clauses[:i] + clauses[i + 1:]
        last = desc.split(" or ")[0].split(" ")[-1]
        if noun == last or noun.endswith(f" {last}") or desc.endswith(f" {noun}"):
            return noun, clauses[:i] + clauses[i + 1:]  # "a key item that is an item"
    return noun, clauses


def _cap(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def _noun_phrase(plan: _Plan, v: Vertex, level: int) -> str:
    """ "a painter who was born in the 1860s and ..."; an entity that is the object of
    a sentence of its own is introduced in sentences (see _separate)."""
    subj, objs = _clauses(plan, v, level)
    head, subj = _head(v, subj)
    if objs:
        return _introduce(plan, v, head, subj, objs)
    np = with_article(head)
    return f"{np} {_who(v)} {join(subj)}" if subj else np


def _separate(plan: _Plan, v: Vertex) -> str:
    """Describe ``v`` in sentences of its own; return how to refer to it after."""
    subj, objs = _clauses(plan, v, 0)
    head, subj = _head(v, subj)
    return _introduce(plan, v, head, subj, objs)


def _introduce(plan: _Plan, v: Vertex, head: str, subj: list[str], objs: list[str]) -> str:
    """"A city lies in India." then "Vasco da Gama died in this city.": the entity's
    own clauses in one sentence, each sentence it is the object of after it."""
    noun = v.noun or "thing"
    nth = plan.nouns_used.get(noun, 0)
    plan.nouns_used[noun] = nth + 1
    first = with_article(head) if nth == 0 else f"another {head}"
    ref = f"this {noun}" if nth == 0 else f"this other {noun}"
    if subj:
        plan.sentences.append(_cap(f"{first} {join(subj)}."))
    elif objs:
        plan.sentences.append(_cap(objs[0].replace("{p}", first) + "."))
        objs = objs[1:]
    else:
        plan.sentences.append(_cap(f"There is {first}."))
    plan.sentences.extend(_cap(o.replace("{p}", ref) + ".") for o in objs)
    plan.separate[v.id] = ref
    return ref


def choices(seed: int) -> tuple[bool, int]:
    """What the seed picks: whether hidden entities nest (else each gets a sentence of
    its own), and which question form (an index into FORMS)."""
    rng = random.Random(f"render:{seed}")
    nested = rng.random() < 0.5
    return nested, rng.randrange(len(FORMS))


# Questions about an entity already introduced ("this explorer").
ASK = ("Which {noun} is it?", "{what} is this {noun}?", "Name this {noun}.",
       "Identify this {noun}.", "Which {noun} is this?")


def template_question(tree: Tree) -> str:
    """The question for ``tree`` from templates chosen by the tree's seed."""
    root = tree.root
    plan = _Plan(tree)
    nested, form_at = choices(tree.seed)
    level = 0 if nested else MAX_NESTING
    subj, objs = _clauses(plan, root, level)
    noun, clauses = _head(root, subj, keep_one=not objs)
    if objs:
        # The answer is the object of a sentence ("Kochi hosted the grave of an
        # explorer who ..."): said first, then asked for.
        same = any(v.noun == root.noun for v in tree.entity_vertices() if v.id != root.id)
        plan.nouns_used[root.noun or "thing"] = 1
        np = f"another {noun}" if same else with_article(noun)
        ref = f"this {'other ' if same else ''}{root.noun or 'thing'}"
        if len(clauses) <= 2:
            first = objs[0].replace("{p}", f"{np} {_who(root)} {join(clauses)}"
                                    if clauses else np)
            sentences = [first, *(o.replace("{p}", ref) for o in objs[1:])]
        else:
            sentences = [f"{np} {join(clauses)}", *(o.replace("{p}", ref) for o in objs)]
        ask = ASK[form_at % len(ASK)].format(noun=("other " if same else "")
                                             + (root.noun or "thing"),
                                             what="Who" if root.person else "What")
        text = " ".join([*plan.sentences, *(_cap(x) + "." for x in sentences), ask])
        return re.sub(r"\s+", " ", text).strip()
    form = FORMS[form_at]
    if root.person:
        form = form.replace("What is the", "Who is the")
    ask = form.format(noun=noun, np=with_article(noun), who=_who(root),
                      clauses=join(clauses))
    text = " ".join([*plan.sentences, ask[0].upper() + ask[1:]])
    return re.sub(r"\s+", " ", text).strip()


def constraint_markers_of(c: Constraint) -> list[str]:
    """Strings a faithful rendering of one constraint must keep (a year, a bound, a
    letter, a name)."""
    p = c.params
    if c.kind == Kind.FACT_YEAR:
        return [str(p["lo"])]
    if c.kind == Kind.FACT_NUMBER:
        return [fmt_number(p["lo"])]
    if c.kind == Kind.TITLE_INITIAL:
        return [p["letter"]]
    if c.kind == Kind.LINKS_TO_NAMED:
        return [c.provenance.get("anchor") or p["title"]]
    if c.kind == Kind.LINKED_FROM_NAMED:
        return [without_qualifier(p["title"])]
    if c.kind == Kind.FACT_NAMED:
        return [p["title"]]
    if c.kind == Kind.CATEGORY:
        words = [w for w in re.findall(r"[\w\-.’']+", c.text)[1:]
                 if w[:1].isupper() or w[:1].isdigit()]
        return words[:1]
    return []


def constraint_markers(tree: Tree) -> list[str]:
    """Strings every faithful rendering must keep (years, bounds, letters, names)."""
    return [m for v in tree.vertices if v.constraint is not None
            for m in constraint_markers_of(v.constraint)]


def missing_markers(text: str, tree: Tree) -> list[str]:
    """Constraint markers a rewritten question lost."""
    return [m for m in constraint_markers(tree) if m not in text]
