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
from synth.blur import fmt_number
from synth.describe import with_article
from synth.model import Constraint, Tree, Vertex

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


def _clauses(plan: _Plan, v: Vertex, level: int) -> list[str]:
    """The verb phrases about ``v``: descriptions, facts and named claims first, then
    its relations to hidden entities (the first inline, the rest their own sentence)."""
    tree = plan.tree
    kids = tree.children(v.id)
    lits = [c.constraint for c in kids if c.constraint is not None]
    order = {Kind.CATEGORY: 0, Kind.FACT_YEAR: 1, Kind.FACT_MONTHS: 1, Kind.FACT_NUMBER: 2,
             Kind.FACT_NAMED: 3, Kind.LINKS_TO_NAMED: 4, Kind.LINKED_FROM_NAMED: 4,
             Kind.TITLE_INITIAL: 9}
    out = _merge_dates(sorted(lits, key=lambda c: order.get(c.kind, 5)))
    ents = [c for c in kids if c.kind == "entity"]
    for i, c in enumerate(ents):
        phrase = (c.relation.phrase if c.relation is not None and c.relation.phrase
                  else "is related to {}")
        inline = i == len(ents) - 1 and level < MAX_NESTING
        if inline and phrase.split("{}", 1)[1].strip():
            # "has {} as its capital": a long description would split the phrase.
            moved = re.sub(r"^(\w+) \{\}( as | among | on )(.+)$", r"\1\2\3 {}", phrase)
            if moved.endswith("{}"):
                phrase = moved
            else:
                inline = False  # "is where {} died": the hidden entity gets a sentence
        ref = _noun_phrase(plan, c, level + 1) if inline else _separate(plan, c)
        out.append(phrase.replace("{}", ref))
    return out


_MONTHS = re.compile(r" in (\w+, \w+ or \w+)$")


def _merge_dates(lits: list) -> list[str]:
    """A year and a season of one fact say one thing: "died in the 1860s (in
    September, October or November)", not two clauses."""
    years = {c.params.get("key"): c for c in lits if c.kind == Kind.FACT_YEAR}
    out = []
    for c in lits:
        if c.kind == Kind.FACT_YEAR and any(m.kind == Kind.FACT_MONTHS and m.params.get("key") ==
                                         c.params.get("key") for m in lits):
            continue
        if c.kind == Kind.FACT_MONTHS and c.params.get("key") in years:
            m = _MONTHS.search(c.text)
            year = years[c.params.get("key")].text
            out.append(f"{year} (in {m.group(1)})" if m else f"{year} and {c.text}")
            continue
        out.append(c.text)
    return out


def _head(v: Vertex, clauses: list[str]) -> tuple[str, list[str]]:
    """The noun, or a description that already says it ("lake in Latgale" for a lake
    described as "is a lake in Latgale"), and the clauses left."""
    noun = v.noun or "thing"
    if len(clauses) < 2:
        return noun, clauses  # a question needs at least one clause left to ask with
    for i, c in enumerate(clauses):
        m = re.match(r"^is (?:a|an) (.+)$", c)
        if m and re.search(rf"\b{re.escape(noun)}\b", m.group(1)) and " that " not in c \
                and " who " not in c:
            return m.group(1), clauses[:i] + clauses[i + 1:]
    return noun, clauses


def _noun_phrase(plan: _Plan, v: Vertex, level: int) -> str:
    """ "a painter who was born in the 1860s and ..." """
    head, clauses = _head(v, _clauses(plan, v, level))
    np = with_article(head)
    return f"{np} {_who(v)} {join(clauses)}" if clauses else np


def _separate(plan: _Plan, v: Vertex) -> str:
    """Describe ``v`` in a sentence of its own; return how to refer to it after."""
    noun = v.noun or "thing"
    nth = plan.nouns_used.get(noun, 0)
    plan.nouns_used[noun] = nth + 1
    head, clauses = _head(v, _clauses(plan, v, 0))
    subject = with_article(head) if nth == 0 else f"another {head}"
    sentence = f"{subject} {join(clauses)}." if clauses else f"There is {subject}."
    plan.sentences.append(sentence[0].upper() + sentence[1:])
    ref = f"this {noun}" if nth == 0 else f"this other {noun}"
    plan.separate[v.id] = ref
    return ref


def choices(seed: int) -> tuple[bool, int]:
    """What the seed picks: whether hidden entities nest (else each gets a sentence of
    its own), and which question form (an index into FORMS)."""
    rng = random.Random(f"render:{seed}")
    nested = rng.random() < 0.5
    return nested, rng.randrange(len(FORMS))


def template_question(tree: Tree) -> str:
    """The question for ``tree`` from templates chosen by the tree's seed."""
    root = tree.root
    plan = _Plan(tree)
    nested, form_at = choices(tree.seed)
    level = 0 if nested else MAX_NESTING
    noun, clauses = _head(root, _clauses(plan, root, level))
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
    if c.kind in ("linked_from_named", "fact_named"):
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
