"""Sample research trees as walks over the graph, and accept only proven ones.

Action 1 (init) picks the answer uniformly among eligible entities; Action 3 (extend)
walks from a vertex along a real relation (an infobox fact or a link with its
sentence) to a new entity vertex; Action 2 (blur) gives each entity vertex, bottom
up, blurred constraints until the graph says it is the only match; Action 4
(terminate) stops at exactly N vertices. Acceptance (checks.py) is then recomputed.

Its configuration (synth.config) and its counting (synth.counting) are modules of their
own, which the proof (synth.checks) and the solver use without the sampler.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import random
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from graph import queries as Q
from graph import store
from graph.backend import GraphBackend
from graph.constraints import Predicate
from graph.model import Rel
from graph.schema import needs_fact_buckets
from graph.summary import ROOT_MIN_DEGREE, GraphSummary, read_summary
from synth.blur import EntityProfile, profile
from synth.claims import claim_vp, obj_form, speaks_of, states_between, subj_form
from synth.config import MAX_VERTICES, SHAPES, SKIPPED, Rejected, SynthConfig
from synth.counting import Counts, constraint_pred, relation_pred
from synth.describe import noun_for
from synth.errors import SynthError
from synth.model import FACT_NUMBER, TITLE_INITIAL, Constraint, Relation, Tree, Vertex
from synth.names import too_close
from synth.phrasebook import PhraseBook
from synth.policy import (
    NOT_A_THING,
    Sketch,
    claim_fits,
    findable_default,
    fits,
    functional,
    holds,
    initials_allowed,
    is_work,
    number_allowed,
    person_noun,
    pins,
    tier,
)

__all__ = ["MAX_VERTICES", "SHAPES", "Counts", "Rejected", "Sampler", "SynthConfig",
           "constraint_pred", "fact_relation", "link_relation", "relation_pred"]
log = logging.getLogger(__name__)
_PREFETCH_ENTITIES = 200_000  # up to here, every eligible root is read at once (one scan)
_KEEP_TITLES = 500_000  # eligible roots kept in memory, by bucket
_KEEP_ENTITIES = 50_000  # profiles and neighbours kept (a long-lived API sampler)
_NARROW_MAX = 64  # a vertex's candidates this few are read once, with every option's test


def _rank(c: Constraint) -> int:
    """0: a statement about the world or a date; 1: a bucketed number; 2: an initial."""
    return max(0, tier(c.kind) - 1)


class Narrowing:
    """A vertex's candidates (its relations to its children and the constraints chosen
    so far), each with the options it meets, read in one query: the greedy choice's
    later counts are then taken in memory (on the 1M synthetic graph three quarters
    of its count queries were over sets of at most 64 candidates). Exact counts where
    the queries count only up to a bound, so the same choices and trees; the proof
    (synth.checks) counts again by queries."""

    def __init__(self, chosen: list[Constraint], options: list[Constraint],
                 rows: list[tuple[str, list[bool]]]) -> None:
        self._place = {id(c): i for i, c in enumerate(options)}
        self._before = {id(c) for c in chosen}  # every candidate meets these
        self._meets = [frozenset(i for i, ok in enumerate(m) if ok) for _, m in rows]

    def count(self, chosen: list[Constraint], c: Constraint) -> int:
        """How many candidates meet ``chosen`` and ``c`` (options, or chosen before)."""
        need = {self._place[id(x)] for x in (*chosen, c) if id(x) not in self._before}
        return sum(need <= meets for meets in self._meets)


class Kept[T]:
    """What a sampler has read, by key, for as long as it is among the most recently
    used, up to ``size`` in all by ``weight`` (1 per item unless given; sampling
    threads share it)."""

    def __init__(self, size: int, weight: Callable[[T], int] = lambda _: 1) -> None:
        self.size = size
        self.weight = weight
        self._items: OrderedDict[str, T] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def get(self, key: str, read: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = read()  # outside the lock: two threads may read one key, both the same
        with self._lock:
            if key not in self._items:
                self._items[key] = value
                self._total += self.weight(value)
            while self._total > self.size and len(self._items) > 1:
                self._total -= self.weight(self._items.popitem(last=False)[1])
        return value

    def peek(self, key: str) -> T | None:
        """The value kept for ``key`` (now the most recently used), or None."""
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def __len__(self) -> int:
        return len(self._items)


def graph_language(backend: GraphBackend) -> str:
    """The language of the graph's dumps ("en", "ltg", ...): English rules for
    categories and sentences apply to English wikis only. Mixed graphs read as "mixed"."""
    langs = store.dump_languages(backend)
    if langs <= {"en", "simple"}:
        return "en"
    return langs.pop() if len(langs) == 1 else "mixed"


def graph_scope(summary: GraphSummary) -> dict[str, object]:
    """How complete the graph is: its articles among all its entities. A slice of a
    dump links mostly to pages it lacks (stubs), so a tree proven unique in it is
    unique within this graph only, not within Wikipedia."""
    entities, stubs = summary.stats.entities, summary.stats.stubs
    completeness = round((entities - stubs) / entities, 4) if entities else 0.0
    return {"unique_within": "this graph", "articles": entities - stubs, "entities": entities,
            "completeness": completeness, "partial": completeness < 0.5}


_WHERE = re.compile(r"^is (where|what) \{s\} (.+)$")
_THE = re.compile(r"^The [a-z]")


def fact_relation(book: PhraseBook, key: str, direction: str, text: str | None = None
                  ) -> Relation | None:
    """An infobox relation in words: "out" when the parent's infobox names the child
    ("was born in {}"), "in" when the child's names the parent ("is the birthplace of
    {}"). Where the plain statement has the child as its subject ("{c} is the capital
    of {p}" for "has {} as its capital", "{c} died in {p}" for "is where {} died"),
    the phrase is that sentence. None for keys that are never clues."""
    words = book.relation(key)
    if words is None:
        return None
    if direction == "out":
        if words.hidden:
            phrase = words.hidden.replace("{o}", "{}")
        elif words.subj.startswith("has {o} as ") and words.obj.startswith("is "):
            phrase = "{c} " + words.obj.replace("{s}", "{p}")
        else:
            phrase = words.subj.replace("{o}", "{}")
    else:
        m = _WHERE.match(words.obj)
        if m:
            prep = " in" if m.group(1) == "where" and not re.search(
                r" (?:in|at|on|from|to|into)$", m.group(2)) else ""
            phrase = f"{{c}} {m.group(2)}{prep} {{p}}"
        else:
            phrase = words.obj.replace("{s}", "{}")
    return Relation(str(Rel.FACT), direction, key, None, text, phrase)


def link_relation(direction: str, sentence: str | None, anchor: str | None, parent: str,
                  child: str, noun: str | None = None) -> Relation | None:
    """A link as a claim from its sentence, which is on the page the link leaves from
    (the parent's for "out", the child's for "in"; ``noun``: what that page is called);
    None where it states no claim."""
    subject = parent if direction == "out" else child
    claim = claim_vp(sentence, anchor, subject, noun)
    if claim is None:
        return None
    return Relation(str(Rel.LINKS_TO), direction, None, sentence, None,
                    subj_form(claim) if direction == "out" else obj_form(claim), claim)


WRITER_OUT, WRITER_IN = "is tied to {}", "{c} is tied to {p}"
"""What a template says of a link the writer states (never kept as the question: a tree
whose writer fails is dropped)."""


def writer_relation(direction: str, sentence: str | None, anchor: str | None, parent: str,
                    child: str) -> Relation | None:
    """A link whose sentence relates its two ends in words no pattern reads ("After the
    war, [he] moved with his family to [Vienna]"): a relation the writer states from the
    sentence. Only a sentence of MIN_WRITER_WORDS to MAX_WRITER_WORDS that names the anchor and
    speaks of its page's subject (by name or pronoun, synth.claims.speaks_of)."""
    subject = parent if direction == "out" else child
    if not sentence or not anchor or anchor not in sentence \
            or not MIN_WRITER_WORDS <= len(sentence.split()) <= MAX_WRITER_WORDS \
            or not speaks_of(sentence, subject) or not states_between(sentence, subject, anchor):
        return None
    return Relation(str(Rel.LINKS_TO), direction, None, sentence, None,
                    WRITER_OUT if direction == "out" else WRITER_IN, None, "writer")


MIN_WRITER_WORDS, MAX_WRITER_WORDS = 6, 40
"""A sentence the writer states a relation from: a statement, not a list item or a
caption (fewer words), nor a paragraph's worth (more)."""


def _card_noun(backend: GraphBackend, title: str, lang: str,
               card: store.Card | None = None) -> str | None:
    card = card or store.card(backend, title)
    if card is None:
        return None
    keys = [f["key"] for f in card["facts"]] + [f["key"] for f in card["entity_facts"]]
    return noun_for(card["infobox"], card["categories"], title, keys, lang,
                    card["description"])


class Sampler:
    """Samples and proves research trees against one graph."""

    def __init__(self, backend: GraphBackend, config: SynthConfig,
                 summary: GraphSummary | None = None) -> None:
        """Reads only. ``summary``: the graph's (graph.summary), when the caller holds
        it already (the API reads it once per open graph)."""
        self.backend = backend
        self.config = config
        if needs_fact_buckets(backend):
            raise SynthError("this graph was loaded by an older version: its facts lack "
                             "the blur buckets that sampling counts by",
                             hint="run `hcsp graph migrate` once")
        self.summary = summary or read_summary(backend)
        self.counts = Counts(backend, config.cap, self.summary)
        self.rejected: Counter[str] = Counter()
        self._checked = False
        self._histogram: list[tuple[int, int]] | None = None
        self._roots: Kept[list[str]] = Kept(_KEEP_TITLES, weight=len)
        self._all_roots: dict[int, list[str]] | None = None  # a small graph's, read at once
        self._roots_lock = threading.Lock()
        self._drawn_from: set[int] = set()  # buckets a root was drawn from (_kth_root)
        self._stale_warned = False
        self._weights = self._root_weights()
        self._profiles: Kept[EntityProfile] = Kept(_KEEP_ENTITIES)
        self._neighbours: Kept[list[tuple[Relation, str]]] = Kept(_KEEP_ENTITIES)
        self._links: Kept[list[store.Neighbour]] = Kept(2 * _KEEP_ENTITIES)
        self._nouns: Kept[str | None] = Kept(_KEEP_ENTITIES)
        self.fingerprint = self.summary.fingerprint
        self.lang = graph_language(backend)
        self.book = PhraseBook.default().for_language(self.lang)
        self.scope = graph_scope(self.summary)
        self.findable = (config.findable if config.findable is not None
                         else findable_default(self.scope))

    # -- Action 1: init -------------------------------------------------------------------
    def check_request(self) -> None:
        """Fail fast, once, when the graph cannot give what the configuration asks."""
        if self._checked:
            return
        c = self.config
        rows = self.backend.read(Q.ELIGIBLE_SOME, {**self._eligible_params(),
                                                   "n": c.entity_vertices})
        eligible = int(rows[0]["n"]) if rows else 0
        if not eligible:
            raise SynthError(
                f"the graph has no entity with at least {c.min_degree} facts and links "
                f"and {c.min_popularity}-{c.max_popularity} in-links to start a tree from",
                hint="ingest a dump first (hcsp ingest ...), or widen the popularity band")
        if eligible < c.entity_vertices:
            raise SynthError(
                f"a {c.vertices}-vertex tree hides {c.entity_vertices} entities, but this "
                f"graph has only {eligible} that trees can start from",
                hint="use a smaller --vertices or ingest a larger dump")
        if c.k > self.summary.stats.entities:
            raise SynthError(f"k={c.k} asks every constraint to match more entities "
                             f"than the graph has ({self.summary.stats.entities})",
                             hint="use a smaller --k")
        self._checked = True

    def _eligible_params(self) -> dict[str, int]:
        c = self.config
        return {"min_degree": c.min_degree, "min_popularity": c.min_popularity,
                "max_popularity": c.max_popularity}

    def _no_band(self) -> bool:
        """Whether the popularity band admits every entity (an entity's popularity is
        its in-links: at most the graph's links)."""
        c, stats = self.config, self.summary.stats
        return c.min_popularity <= 0 and c.max_popularity >= max(stats.links, stats.entities)

    def _read_eligible(self, banded: str, any_popularity: str,
                       **params: int) -> list[dict[str, Any]]:
        """Rows of an eligibility query: ``any_popularity`` (without the band's two
        comparisons, which cost as much again) where the band admits every entity."""
        if self._no_band():
            return self.backend.read(any_popularity,
                                     {"min_degree": self.config.min_degree, **params})
        return self.backend.read(banded, {**self._eligible_params(), **params})

    def _eligible_in(self, bucket: int) -> list[str]:
        """The eligible roots of one ``bucket``, in a fixed order. Kept, up to
        ``_KEEP_TITLES`` titles (least recently used go); a small graph's are all read
        in one query at first use."""
        if self.summary.stats.entities <= _PREFETCH_ENTITIES:
            with self._roots_lock:  # sampling threads share the sampler: read once
                if self._all_roots is None:
                    self._all_roots = {}
                    for r in self._read_eligible(Q.ELIGIBLE_ALL,
                                                 Q.ELIGIBLE_ALL_ANY_POPULARITY):
                        self._all_roots.setdefault(int(r["bucket"]), []).append(r["title"])
            return self._all_roots.get(bucket, [])
        return self._roots.get(str(bucket), lambda: [r["title"] for r in self._read_eligible(
            Q.ELIGIBLE_IN_BUCKET, Q.ELIGIBLE_IN_BUCKET_ANY_POPULARITY, bucket=bucket)])

    def _kth_root(self, bucket: int, k: int) -> str | None:
        """The ``k``-th eligible root of ``bucket`` in _eligible_in's order, or None if
        it has fewer. A bucket's first draw reads that one title; from its second on,
        all of them are read and kept (a long run draws from each of the 4,096 buckets
        many times; a short one, from most once)."""
        titles = self._roots.peek(str(bucket))
        if titles is None:
            with self._roots_lock:
                first = bucket not in self._drawn_from
                self._drawn_from.add(bucket)
            if first:
                rows = self._read_eligible(Q.ELIGIBLE_KTH_IN_BUCKET,
                                           Q.ELIGIBLE_KTH_IN_BUCKET_ANY_POPULARITY,
                                           bucket=bucket, k=k)
                return rows[0]["title"] if rows else None
            titles = self._eligible_in(bucket)
            if len(titles) != self.summary.roots[bucket] and not self._stale_warned:
                self._stale_warned = True
                log.warning("the graph's summary counts %d roots in bucket %d, which holds "
                            "%d: it is stale (run `hcsp graph migrate --refresh-summary`); "
                            "roots are drawn by its counts", self.summary.roots[bucket],
                            bucket, len(titles))
        return titles[k] if k < len(titles) else None

    @property
    def _prefetched(self) -> bool:
        return self._all_roots is not None

    def pick_root(self, rng: random.Random) -> str:
        """Uniform over eligible entities. On a large graph, with the default
        eligibility and a summary that counts each bucket's roots: a bucket by its
        share of them, then one of its roots (one read, no misses). Otherwise by
        rejection: a bucket uniformly, then a slot among as many as the fullest bucket
        holds (graph.summary keeps that number); a slot past the bucket's eligible
        entities draws again. No scan of the graph. Where few entities are eligible
        (a narrow popularity band), after 64 misses it weighs buckets by their
        eligible entities, counted once. Which way is fixed when the sampler is made,
        so a seed draws the same root however much the sampler has read before."""
        self.check_request()
        if self._weights is not None:
            buckets, cumulative = self._weights
            bucket = buckets[bisect.bisect_right(cumulative, rng.randrange(cumulative[-1]))]
            # One of the roots the summary counts there: the same draw whether or not
            # the bucket's titles are kept, so a seed's root never depends on what the
            # sampler read before.
            title = self._kth_root(bucket, rng.randrange(self.summary.roots[bucket]))
            if title is not None:
                return title
            log.warning("the graph's summary counts more roots in bucket %d than it "
                        "holds now: it is stale (run `hcsp graph migrate --refresh-summary`); "
                        "drawing this root by rejection", bucket)
        top, most = self.summary.bucket_top, max(1, self.summary.bucket_max)
        for _ in range(64):
            titles = self._eligible_in(rng.randrange(top + 1))
            slot = rng.randrange(most)
            if slot < len(titles):
                return titles[slot]
        if self._histogram is None:
            rows = self._read_eligible(Q.ELIGIBLE_BUCKETS, Q.ELIGIBLE_BUCKETS_ANY_POPULARITY)
            self._histogram = [(int(r["bucket"]), int(r["n"])) for r in rows]
        (bucket, _), = rng.choices(self._histogram, weights=[n for _, n in self._histogram])
        titles = self._eligible_in(bucket)
        return titles[rng.randrange(len(titles))]

    def _root_weights(self) -> tuple[list[int], list[int]] | None:
        """The summary's roots per bucket, cumulated, where they count the roots this
        configuration asks for (the default eligibility) and the graph is too large
        to read every root at once; else None."""
        c, roots = self.config, self.summary.roots
        if (not roots or self.summary.stats.entities <= _PREFETCH_ENTITIES
                or c.min_degree != ROOT_MIN_DEGREE or not self._no_band()):
            return None
        buckets = sorted(b for b, n in roots.items() if n > 0)
        return buckets, list(itertools.accumulate(roots[b] for b in buckets))

    def profile(self, title: str) -> EntityProfile:
        return self._profiles.get(title, lambda: profile(
            self.backend, title, self.lang, self.book, self._links_of, self.noun_of,
            self.nouns_of))

    def nouns_of(self, titles: list[str]) -> None:
        """Read what each of ``titles`` is called, those not known yet, in one query
        (noun_of then finds them)."""
        need = sorted({t for t in titles if self._profiles.peek(t) is None
                       and self._nouns.peek(t) is None})
        if not need:
            return
        cards = store.cards(self.backend, need)
        for t in need:
            if t in cards:
                self._nouns.get(t, lambda t=t: _card_noun(self.backend, t, self.lang, cards[t]))

    def noun_of(self, title: str) -> str | None:
        """What ``title`` is called, from its card alone (no profile: that would read
        the pages its own claims come from, and theirs)."""
        peek = self._profiles.peek(title)
        if peek is not None:
            return peek.noun
        return self._nouns.get(title, lambda: _card_noun(self.backend, title, self.lang))

    def _links_of(self, title: str, direction: str) -> list[store.Neighbour]:
        """An entity's links one way, read once for both its profile and the walk."""
        return self._links.get(f"{direction}:{title}", lambda: store.neighbours(
            self.backend, title, Rel.LINKS_TO, direction))

    # -- Action 3: extend ------------------------------------------------------------------
    def neighbours(self, title: str) -> list[tuple[Relation, str]]:
        """Relations that say something about the world: infobox keys the phrase book
        reads, and links whose sentence states a claim (synth.claims)."""
        return list(self._neighbours.get(title, lambda: self._read_neighbours(title)))

    def _read_neighbours(self, title: str) -> list[tuple[Relation, str]]:
        """Every relation that may lead on from ``title``. What needs another page's noun
        (whether that page may hold a key, whether a claim from its sentence speaks of
        the world) is asked only of the options the walk looks at (_option_fits): on the
        1M synthetic graph reading each neighbour's card took a third of query time."""
        out: list[tuple[Relation, str]] = []
        for rel, direction in ((Rel.FACT, "out"), (Rel.FACT, "in"), (Rel.LINKS_TO, "out"),
                               (Rel.LINKS_TO, "in")):
            rows = (self._links_of(title, direction) if rel == Rel.LINKS_TO
                    else store.neighbours(self.backend, title, rel, direction))
            for r in rows:
                if r["stub"] or r["disambiguation"] or NOT_A_THING.search(r["title"]):
                    continue
                if (r["n_facts"] or 0) + (r["out_links"] or 0) < 2:
                    continue
                if (r.get("popularity") or 0) < self.findable:
                    continue  # not findable: too few pages lead to it
                if rel == Rel.FACT:
                    if direction == "in" and not self._value_fits(title, r["key"]):
                        continue  # "consort = Wessex": this is no such value
                    if direction == "out" and not self._holds(title, r["key"]):
                        continue
                    relation = fact_relation(self.book, r["key"] or "", direction, r["text"])
                else:
                    relation = link_relation(direction, r["sentence"], r["anchor"], title,
                                             r["title"])
                    if relation is None and _THE.match(r["sentence"] or ""):
                        # "The city lies ...": a claim where its page is a city
                        subject = title if direction == "out" else r["title"]
                        relation = link_relation(direction, r["sentence"], r["anchor"],
                                                 title, r["title"], self.noun_of(subject))
                    if relation is None and self.config.writer_claims:
                        relation = writer_relation(direction, r["sentence"], r["anchor"],
                                                   title, r["title"])
                if relation is not None:
                    out.append((relation, r["title"]))
        return out

    def _holds(self, holder: str, key: str | None) -> bool:
        """"country = United States" on a tennis player: no place it is in (the holder's
        noun from its card; a full profile is not needed)."""
        noun = self.noun_of(holder)
        return holds(key, person_noun(noun), noun)

    def _option_fits(self, title: str, option: tuple[Relation, str]) -> bool:
        """What _read_neighbours left to the options looked at: the holder of an infobox
        key may hold it; a claim's page speaks of the world ("King Kong was on display in
        ..." is a work's story), and a work's sentences are not stated by the writer."""
        rel, other = option
        if rel.rel == Rel.FACT:
            return rel.direction == "out" or self._holds(other, rel.key)
        subject, obj = (title, other) if rel.direction == "out" else (other, title)
        if rel.stated and is_work(self.noun_of(subject)):
            return False
        return claim_fits(rel.claim, self.noun_of(subject),
                          lambda: self.noun_of(obj)) if rel.claim else True

    def _value_fits(self, title: str, key: str | None) -> bool:
        """Whether ``title`` can be the value of infobox ``key`` (synth.policy.fits)."""
        prof = self.profile(title)
        return fits(key, prof.noun, prof.person)

    def _usable_root(self, title: str) -> bool:
        """A thing in the world, with a noun to call it by and a relation to go on by."""
        return (not NOT_A_THING.search(title) and bool(self.profile(title).noun)
                and self._findable(title) and bool(self.neighbours(title)))

    def _findable(self, title: str) -> bool:
        """At least ``findable`` pages link to it (its in-links, read for the walk)."""
        need = self.findable
        return need <= 0 or len(self._links_of(title, "in")) >= need

    def _pick_extension(self, parent: str, options: list[tuple[Relation, str]],
                        rng: random.Random) -> tuple[Relation, str] | None:
        """Of a few random options, the relation that narrows the parent the most (a
        person's one birth place beats one of the hundreds of pages linking to it),
        among infobox relations first, and a functional hop (one the graph measures as
        pinning its parent everywhere) before any other; only children the question can
        name a kind for."""
        facts = [o for o in options if o[0].rel == Rel.FACT]
        if facts and len(facts) < len(options) and rng.random() >= self.config.fact_preference:
            facts = [o for o in options if o[0].rel != Rel.FACT]
        pool = facts or options
        sample = rng.sample(pool, min(len(pool), self.config.extension_trials))
        keys = self.summary.keys
        if not any(functional(o[0], keys) for o in sample):
            # A hop the graph measures as functional (synth.policy.functional) is
            # offered whenever the pool has one.
            pinning = [o for o in pool if functional(o[0], keys)]
            if pinning:
                sample.append(rng.choice(pinning))
        ranked = sorted(sample, key=lambda o: (not functional(o[0], keys),
                                               self.counts.count([relation_pred(*o)])))
        return next((o for o in ranked if self._option_fits(parent, o)
                     and self.profile(o[1]).noun and (
            o[0].direction != "out"  # the value is the parent: checked by _read_neighbours
            or fits(o[0].key, self.profile(o[1]).noun, self.profile(o[1]).person))), None)

    # -- one tree ----------------------------------------------------------------------------
    def sample(self, seed: int, skip: Callable[[Sketch], bool] | None = None) -> Tree:
        """Build one tree from ``seed`` or raise Rejected with the reason (and, once the
        walk is done, its Sketch). ``skip``: asked of the walk's Sketch before the tree is
        blurred and proven; True stops there (Rejected SKIPPED)."""
        cfg = self.config
        rng = random.Random(seed)
        root = self.pick_root(rng)
        # Many entities relate to nothing the question can state (no infobox relation,
        # no link whose sentence makes a claim): draw again, a few times, from the seed.
        for _ in range(cfg.root_trials - 1):
            if self._usable_root(root):
                break
            root = self.pick_root(rng)
        if NOT_A_THING.search(root):
            raise Rejected("not_a_thing", f"{root} is a page about pages")
        if not self._findable(root):
            raise Rejected("not_findable", f"fewer than {self.findable} pages lead to {root}")
        verts = [Vertex(0, None, "entity", entity=root)]
        used = {root}
        attach = 0
        for _ in range(cfg.entity_vertices - 1):
            options = [(rel, t) for rel, t in self.neighbours(verts[attach].entity or "")
                       if t not in used]
            if not options:
                raise Rejected("dead_end", f"no relation leads on from {verts[attach].entity}")
            picked = self._pick_extension(verts[attach].entity or "", options, rng)
            if picked is None:
                raise Rejected("no_noun", f"no kind of thing to call what {verts[attach].entity} "
                               "leads to")
            rel, title = picked
            v = Vertex(len(verts), attach, "entity", entity=title, relation=rel)
            verts.append(v)
            used.add(title)
            attach = v.id if cfg.shape == "deep" else 0
        tree = Tree(seed=seed, vertices=verts, shape=cfg.shape)
        sketch = Sketch.of(root, self.profile(root).noun,
                           [v.relation for v in verts if v.relation is not None],
                           [v.entity for v in verts[1:] if v.entity])
        if skip is not None and skip(sketch):
            raise Rejected(SKIPPED, sketch=sketch)
        try:
            self._blur(tree, rng)
            if tree.n_vertices != cfg.vertices:
                raise Rejected("wrong_size", f"{tree.n_vertices} != {cfg.vertices}")
            for v in tree.vertices:
                if v.kind == "entity":
                    prof = self.profile(v.entity or "")
                    if not prof.noun:
                        raise Rejected("no_noun", f"no kind of thing to call {v.entity}")
                    v.noun, v.person = prof.noun, prof.person
        except Rejected as r:
            r.sketch = sketch
            raise
        tree.vertices.sort(key=lambda v: v.id)
        tree.scope = dict(self.scope)
        tree.graph_fingerprint = self.fingerprint
        tree.config = asdict(cfg)
        tree.id = tree.make_id()
        return tree

    # -- Action 2 (bottom up) and 4 ----------------------------------------------------------
    def _options(self, title: str, rng: random.Random, hidden: set[str]) -> list[Constraint]:
        """For each blur group, the tightest constraint that alone matches >= K (and fewer
        than ``cap``: one that matches nearly everything is no clue), leaving out names
        that would give a hidden entity away."""
        out = []
        groups = []
        for group in self.profile(title).groups:
            named = group[0].params.get("name") or group[0].params.get("title")
            if not (named and any(too_close(named, h) for h in hidden)):
                groups.append(group)
        # The small ones in a few queries (a query per kind), not one each.
        self.counts.count_alone([constraint_pred(c) for group in groups for c in group])
        for group in groups:
            for c in group:
                n = self.counts.count([constraint_pred(c)])
                if n >= self.config.cap:
                    break  # vaguer levels match even more: too vague to spend a vertex on
                if n >= self.config.k:
                    c.alone = n
                    out.append(c)
                    break
        rng.shuffle(out)
        # Named values, claims and descriptions first, then dates, then bucketed
        # numbers; a name's initial is a last resort (synth.policy.TIERS).
        # Within a tier, a clue that pins the entity in the world, not only in this
        # graph, comes first (synth.policy.pins).
        out.sort(key=lambda c: (tier(c.kind), not self._pins(c)))
        return out

    def _pins(self, c: Constraint) -> bool:
        return pins(c.kind, c.params, c.provenance, self.summary.keys)

    def _blur(self, tree: Tree, rng: random.Random) -> None:
        cfg = self.config
        budget = cfg.vertices - len(tree.vertices)
        entity_verts = tree.bottom_up()
        leaves = {v.id for v in entity_verts if not tree.children(v.id)}
        spare: dict[int, list[Constraint]] = {}
        next_id = len(tree.vertices)
        # A root whose relations may pin it in this graph only (none is functional) keeps
        # a clue's place for one of its own (_said_of_its_own).
        # Only where the leaves keep the two clues each one needs (not at N=4).
        keep = int(budget > 2 * len(leaves) and not any(
            functional(c.relation, self.summary.keys)
            for c in tree.children(0) if c.relation is not None))
        for i, v in enumerate(entity_verts):
            later_leaves = sum(1 for u in entity_verts[i + 1:] if u.id in leaves)
            allowance = budget - 2 * later_leaves - (keep if v.parent is not None else 0)
            base = [relation_pred(c.relation, c.entity or "")  # type: ignore[arg-type]
                    for c in tree.children(v.id) if c.kind == "entity"]
            chosen: list[Constraint] = []
            hidden = {u.entity for u in entity_verts if u.entity}
            options = self._options(v.entity or "", rng, hidden)
            # found: the titles of the n candidates, where a count read them
            n, found = (self.counts.count_keeping(base, keep=_NARROW_MAX) if base
                        else (cfg.cap, None))
            is_root = v.parent is None
            narrowing: Narrowing | None = None
            narrowed = False  # tried once per vertex: if the graph disagrees, queries
            while n > 1 and len(chosen) < allowance:
                if not narrowed and n <= _NARROW_MAX:
                    narrowed = True
                    narrowing = self._narrowing(base, chosen, options, n, found)
                picked = self._most_telling(tree, base, chosen, options, n, is_root, narrowing)
                if picked is None:
                    break
                c, n, found = picked
                chosen.append(c)
            if n != 1:
                raise Rejected("not_unique", f"{v.entity}: {n} candidates with {len(chosen)} "
                               "constraints")
            if is_root and keep and not chosen and len(chosen) < allowance:
                said = self._said_of_its_own(options)
                if said is not None:
                    chosen.append(said)
            # That the one match is v.entity itself is proven by check 1 (synth.checks),
            # which reads the matches: not read here a second time.
            spare[v.id] = [c for c in options if c not in chosen]
            for c in chosen:
                tree.vertices.append(Vertex(next_id, v.id, "constraint", constraint=c))
                next_id += 1
            budget -= len(chosen)
        # Action 4: exactly N. Spend what is left on extra (still valid) constraints: on
        # a root no hop pins in the world first ("a person who died in the 1770s in this
        # city" fits many; the hidden entities are pinned already), else from the leaves.
        order = [entity_verts[-1], *entity_verts[:-1]] if keep else entity_verts
        while budget > 0:
            added = False
            for v in order:
                pool = spare.get(v.id) or []
                while pool and budget > 0:
                    c = pool.pop(0)
                    if c.kind == TITLE_INITIAL:
                        continue  # never spent as an extra: initials only where needed
                    here = sum(x.constraint is not None and x.constraint.kind == FACT_NUMBER
                               for x in tree.children(v.id))
                    if not number_allowed(c.kind, here, self._numbers(tree, [])[1],
                                          self.config.vertices - 1):
                        continue
                    if v.parent is None:
                        mine = [x.constraint for x in tree.children(0) if x.kind == "constraint"]
                        if self._pins(c) or self._root_literals_unique(
                                [*mine, c]):  # type: ignore[list-item]
                            continue
                    tree.vertices.append(Vertex(next_id, v.id, "constraint", constraint=c))
                    next_id += 1
                    budget -= 1
                    added = True
                    break
            if not added:
                raise Rejected("too_few_constraints", "no more constraints to reach N")

    def _said_of_its_own(self, options: list[Constraint]) -> Constraint | None:
        """A clue of its own for a root its relations alone pin in this graph, none by a
        hop the graph measures as functional: "Which place is in this country?" has one
        answer among 4,598 articles and many in the world. The best of its options (in
        synth.policy.TIERS order), never an initial nor a number, nor one that pins the
        root alone (the hierarchy must stay necessary); None where there is none."""
        return next((c for c in options if tier(c.kind) <= 1 and not self._pins(c)
                     and not self._root_literals_unique([c])), None)

    def _narrowing(self, base: list[Predicate], chosen: list[Constraint],
                   options: list[Constraint], n: int, found: list[str] | None
                   ) -> Narrowing | None:
        """The ``n`` candidates of ``base`` and ``chosen`` (``found``: their titles,
        where the count read them) with the options each meets; None (count by
        queries) if their titles, read here, are not exactly ``n``."""
        preds = base + [constraint_pred(c) for c in chosen]
        rows = self.counts.members(preds, [constraint_pred(c) for c in options], n + 1,
                                   found)
        if len(rows) != n:
            log.debug("%d candidates read where %d were counted: counting by queries",
                      len(rows), n)
            return None
        return Narrowing(chosen, options, rows)

    def _most_telling(self, tree: Tree, base: list[Predicate], chosen: list[Constraint],
                      options: list[Constraint], n: int, is_root: bool,
                      narrowing: Narrowing | None = None
                      ) -> tuple[Constraint, int, list[str] | None] | None:
        """The option that, added to what is chosen, leaves the fewest candidates (at
        least one, fewer than ``n``): greedy, so few constraints pin an entity. A name's
        initial only when no statement about the world narrows at all. With a
        ``narrowing`` (the candidates read), counted in memory; without, the queries
        keep the titles of few enough matches, returned with the choice (or None)."""
        best: tuple[Constraint, int, list[str] | None] | None = None
        best_pins = False
        tried = 0
        numbers = self._numbers(tree, chosen)
        for c in options:  # in the policy's order: statements about the world first
            if tried >= self.config.blur_trials and best is not None:
                break
            if best is not None and _rank(c) > _rank(best[0]):
                break  # a number or an initial only where nothing better narrows
            if c in chosen or (c.kind == TITLE_INITIAL and (
                    best is not None or not self._initials_ok(tree, chosen))):
                continue
            pinning = self._pins(c)
            if is_root and pinning:
                continue  # the answer said outright: the chain would be pointless
            if not number_allowed(c.kind, numbers[0], numbers[1], self.config.vertices - 1):
                continue
            tried += 1
            # Counted only up to what it must beat: a count that reaches the bound is
            # rejected whatever it is, so the engine stops there (same choice, fewer rows).
            # A clue that pins in the world (ahead in the options) beats one that does not
            # whenever it narrows at all: the graph is not the world.
            beats_kind = best is not None and pinning and not best_pins
            bound = n if best is None or beats_kind else best[1]
            if narrowing is not None:
                m, found = narrowing.count(chosen, c), None
            else:
                m, found = self.counts.count_keeping(
                    base + [constraint_pred(x) for x in (*chosen, c)], bound, _NARROW_MAX)
            if not 1 <= m < n or (best is not None and not beats_kind
                                  and ((best_pins and not pinning) or m >= best[1])):
                continue
            if is_root and self._root_literals_unique([*chosen, c]):
                continue  # the hierarchy must stay necessary (check 3)
            best, best_pins = (c, m, found), pinning
        return best

    @staticmethod
    def _numbers(tree: Tree, chosen: list[Constraint]) -> tuple[int, int]:
        """Numeric ranges said of the entity being blurred (``chosen``), and in the tree."""
        here = sum(c.kind == FACT_NUMBER for c in chosen)
        return here, here + sum(v.constraint is not None and v.constraint.kind == FACT_NUMBER
                                for v in tree.vertices)

    def _initials_ok(self, tree: Tree, chosen: list[Constraint]) -> bool:
        """A name's initial may be said: allowed for this seed and none said yet."""
        return (self.config.initials and initials_allowed(tree.seed)
                and not self._initial_used(tree, chosen))

    @staticmethod
    def _initial_used(tree: Tree, chosen: list[Constraint]) -> bool:
        return any(c.kind == TITLE_INITIAL for c in chosen) or any(
            v.constraint is not None and v.constraint.kind == TITLE_INITIAL
            for v in tree.vertices)

    def _root_literals_unique(self, constraints: list[Constraint]) -> bool:
        return self.counts.count([constraint_pred(c) for c in constraints], 2) <= 1
