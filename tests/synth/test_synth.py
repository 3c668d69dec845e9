"""Research trees on the real Latgalian Wikipedia (complete, closed link graph) and the
enwiki sample (rich infoboxes), on the real embedded engine."""

from __future__ import annotations

import json
import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from graph.backend import FalkorBackend
from graph.constraints import candidates_query
from graph.schema import migrate
from ingest.pipeline import IngestConfig, ingest_dump
from synth import sampler as sampler_module
from synth.checks import check_tree, hidden_names, leaks
from synth.config import SynthConfig
from synth.counting import Counts, constraint_pred
from synth.errors import SynthError
from synth.model import Tree
from synth.pipeline import attempt_seed, synthesize
from synth.sampler import Sampler
from synth.solver import solve
from synth.store import export_record, iter_trees, load_tree, pool_page, save_trees, write_jsonl
from tests.conftest import ENWIKI
from tests.synth.oracle import Oracle


@pytest.fixture(scope="module")
def oracle(ltg: FalkorBackend) -> Oracle:
    return Oracle(ltg)


@pytest.fixture(scope="module")
def batches(ltg: FalkorBackend) -> dict[tuple[int, str], list[Tree]]:
    out = {}
    for n, shape in ((4, "deep"), (5, "deep"), (6, "deep"), (6, "wide"), (8, "deep"),
                     (10, "deep")):
        trees, report = synthesize(ltg, SynthConfig(vertices=n, shape=shape), count=3, seed=11)
        assert len(trees) == 3, (n, shape, report)
        out[(n, shape)] = trees
    return out


def all_trees(batches: dict[tuple[int, str], list[Tree]]) -> list[Tree]:
    return [t for ts in batches.values() for t in ts]


def test_n_is_honoured_exactly(batches: dict[tuple[int, str], list[Tree]]) -> None:
    for (n, shape), trees in batches.items():
        for t in trees:
            assert t.n_vertices == n
            assert t.shape == shape
            assert len(t.entity_vertices()) == SynthConfig(vertices=n).entity_vertices
            if shape == "wide":
                assert all(v.parent == 0 for v in t.entity_vertices() if v.id)


def test_every_tree_passes_every_check_recomputed_independently(
        batches: dict[tuple[int, str], list[Tree]], oracle: Oracle, ltg: FalkorBackend) -> None:
    k = 2
    for tree in all_trees(batches):
        pub = json.loads(json.dumps(tree.to_dict()))
        resolved: dict[int, str] = {}
        for v in tree.bottom_up():  # 1. exactly one match, the intended one
            cand = oracle.candidates(pub, v.id, resolved)
            assert cand == {v.entity}, (tree.id, v.id, sorted(cand)[:5])
            resolved[v.id] = v.entity or ""
        for v in tree.vertices:  # 2. no constraint alone below K
            if v.constraint is not None:
                alone = oracle.matches(v.constraint.kind, v.constraint.params)
                assert len(alone) >= k and v.entity is None
                assert v.constraint.alone == min(len(alone), 10_000)
        root_only = set(oracle.universe)  # 3. the hierarchy is needed
        for c in tree.children(0):
            if c.constraint is not None:
                root_only &= oracle.matches(c.constraint.kind, c.constraint.params)
        assert len(root_only) > 1
        names = hidden_names(ltg, tree)  # 4. no hidden entity named
        assert leaks(tree.question, names) == []
        for title in names:
            assert title.lower() not in tree.question.lower()
        assert (tree.checks["ok"] and tree.checks["root_literals_only"] == len(root_only)) or \
            tree.checks["root_literals_only"] == 10_000


def test_the_solver_agrees_from_constraints_alone(
        batches: dict[tuple[int, str], list[Tree]], ltg: FalkorBackend) -> None:
    for tree in all_trees(batches):
        assert tree.solver["agreed"] is True
        public = tree.public()
        blob = json.dumps(public, ensure_ascii=False)
        assert all(f'"{v.entity}"' not in blob for v in tree.entity_vertices())  # no ids
        assert solve(ltg, public)["answer"] == tree.answer


def test_same_seed_same_trees_byte_for_byte(ltg: FalkorBackend) -> None:
    a, _ = synthesize(ltg, SynthConfig(vertices=6), count=3, seed=5)
    b, _ = synthesize(ltg, SynthConfig(vertices=6), count=3, seed=5, workers=3)
    c, _ = synthesize(ltg, SynthConfig(vertices=6), count=3, seed=6)
    assert [t.to_json() for t in a] == [t.to_json() for t in b]  # threads change nothing
    assert [t.id for t in a] != [t.id for t in c]


def test_same_seed_same_trees_with_roots_drawn_by_bucket(
        ltg: FalkorBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    """As a graph too large to read every root at once draws them (a bucket by the
    summary's count, then its k-th root, read alone at first and kept later): threads
    change nothing there either."""
    monkeypatch.setattr("synth.sampler._PREFETCH_ENTITIES", 0)
    cfg = SynthConfig(vertices=6)
    assert Sampler(ltg, cfg)._weights is not None
    a, _ = synthesize(ltg, cfg, count=4, seed=5)
    b, _ = synthesize(ltg, cfg, count=4, seed=5, workers=3)
    assert [t.to_json() for t in a] == [t.to_json() for t in b] and len(a) == 4


def test_looked_up_and_in_memory_counts_change_nothing(ltg: FalkorBackend) -> None:
    """The summary's counts are a shortcut: a sampler that queries every count gives
    the same trees, byte for byte, with fewer queries."""
    cfg = SynthConfig(vertices=6)
    fast = Sampler(ltg, cfg)
    slow = Sampler(ltg, cfg)
    slow.counts = Counts(ltg, cfg.cap, slow.summary, lookup=False)
    a, ra = synthesize(ltg, cfg, count=6, seed=21, sampler=fast)
    b, rb = synthesize(ltg, cfg, count=6, seed=21, sampler=slow)
    assert [t.to_json() for t in a] == [t.to_json() for t in b] and len(a) == 6
    assert fast.counts.looked_up > 0 and slow.counts.looked_up == 0
    assert ra.queries < rb.queries


def test_bounded_counts_change_nothing(ltg: FalkorBackend) -> None:
    """The sampler counts a candidate set only up to the count it must beat; counting
    every set in full gives the same trees, byte for byte."""

    class FullCounts(Counts):
        def count_keeping(self, preds: list, cap: int | None = None, keep: int = 0
                          ) -> tuple[int, list[str] | None]:
            n, found = super().count_keeping(preds, None, keep)
            return (n, found) if cap is None or n < cap else (cap, None)

    class Bounded(Counts):
        def count_keeping(self, preds: list, cap: int | None = None, keep: int = 0
                          ) -> tuple[int, list[str] | None]:
            caps.append(self.cap if cap is None else cap)
            return super().count_keeping(preds, cap, keep)

    caps: list[int] = []
    cfg = SynthConfig(vertices=6)
    bounded, full = Sampler(ltg, cfg), Sampler(ltg, cfg)
    bounded.counts = Bounded(ltg, cfg.cap, bounded.summary)
    full.counts = FullCounts(ltg, cfg.cap, full.summary)
    a, _ = synthesize(ltg, cfg, count=6, seed=33, sampler=bounded)
    b, _ = synthesize(ltg, cfg, count=6, seed=33, sampler=full)
    assert [t.to_json() for t in a] == [t.to_json() for t in b] and len(a) == 6
    # Bounded: root literals up to 2, and comparisons below the run's cap (30 of 226
    # counts on ltgwiki; the rest are single constraints and their relations, and
    # where 64 or fewer candidates are left the choice is counted in memory).
    assert 2 in caps and sum(c < cfg.cap for c in caps) > 15


def test_narrowing_in_memory_changes_nothing(ltg: FalkorBackend,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Where a vertex has few candidates left, the sampler reads them once with the
    options each meets and counts the rest of its choice in memory; counting every
    choice by queries instead gives the same trees, byte for byte."""
    cfg = SynthConfig(vertices=6)
    reads: list[int] = []
    given = 0  # narrowings on titles a count kept

    class Reading(Counts):
        def members(self, preds: list, tests: list, cap: int,
                    titles: list[str] | None = None) -> list[tuple[str, list[bool]]]:
            nonlocal given
            rows = super().members(preds, tests, cap, titles)
            reads.append(len(rows))
            given += titles is not None
            return rows

    narrowed = Sampler(ltg, cfg)
    narrowed.counts = Reading(ltg, cfg.cap, narrowed.summary)
    a, _ = synthesize(ltg, cfg, count=8, seed=44, sampler=narrowed)
    monkeypatch.setattr(sampler_module, "_NARROW_MAX", 0)
    queried = Sampler(ltg, cfg)
    queried.counts = Reading(ltg, cfg.cap, queried.summary)
    calls = len(reads)
    b, _ = synthesize(ltg, cfg, count=8, seed=44, sampler=queried)
    assert [t.to_json() for t in a] == [t.to_json() for t in b] and len(a) == 8
    assert calls > 5 and len(reads) == calls  # narrowed often; never with the limit at 0
    assert all(2 <= n <= 64 for n in reads) and given >= 1


def test_a_narrowings_counts_are_the_queries_counts(ltg: FalkorBackend) -> None:
    """Narrowing.count, for every option and pair of options of real vertices, equals
    the count the sampler would have queried."""
    cfg = SynthConfig(vertices=6)
    s = Sampler(ltg, cfg)
    titles = [r["title"] for r in ltg.read(
        "MATCH (e:Entity) WHERE e.stub = false AND e.popularity > 5 "
        "RETURN e.title AS title ORDER BY title LIMIT 40")]
    checked = 0
    for title in titles:
        options = s._options(title, random.Random(0), set())
        for first in options[:4]:
            base = [constraint_pred(first)]
            n, found = Counts(ltg, cfg.cap, s.summary).count_keeping(base, keep=64)
            if not 2 <= n <= 64:
                continue
            q, params = candidates_query(base, count=False)
            assert found is not None and sorted(found) == [
                r["title"] for r in ltg.read(q, {**params, "cap": 100})]
            for given in (found, None):  # titles kept by the count, or read again
                asked = s.counts.queries
                narrowing = s._narrowing([], [first], options, n, given)
                assert s.counts.queries > asked  # read, not an answer kept before
                assert narrowing is not None
                for c in options:
                    for d in (None, *options[:3]):
                        chosen = [first] if d is None else [first, d]
                        want = s.counts.count([constraint_pred(x) for x in (*chosen, c)])
                        assert narrowing.count(chosen, c) == want, (title, first, c, d)
                        checked += 1
    assert checked > 100


def test_a_bounded_count_is_cached_as_a_lower_bound(ltg: FalkorBackend) -> None:
    counts = Counts(ltg, 10_000)
    total = counts.count([])  # every entity
    assert 3 < total < 10_000 and counts.queries == 1
    counts = Counts(ltg, 10_000)
    assert counts.count([], 3) == 3 and counts.queries == 1  # "at least 3"
    assert counts.count([], 2) == 2 and counts.queries == 1  # known from the cache
    assert counts.count([]) == total and counts.queries == 2  # more is asked: counted
    assert counts.count([], 3) == 3 and counts.count([], 10**9) == total
    assert counts.queries == 2  # exact now: every bound is answered from the cache
    at_cap = Counts(ltg, total)  # a count that reaches the cap is only "at least"
    assert at_cap.count([]) == total and at_cap.count([], total - 1) == total - 1
    assert at_cap.queries == 1


def test_provenance_and_evidence(batches: dict[tuple[int, str], list[Tree]]) -> None:
    for tree in all_trees(batches):
        rec = export_record(tree)
        assert len(rec["evidence"]) == tree.n_vertices - 1
        for ev, v in zip(rec["evidence"], tree.vertices[1:], strict=True):
            assert ev["vertex"] == v.id
            assert ev.get("page")  # every claim names the page it comes from
        for v in tree.entity_vertices()[1:]:
            if v.relation and v.relation.rel == "LINKS_TO":
                assert v.relation.sentence  # a link claim keeps its sentence


def test_planted_leaks_are_caught(batches: dict[tuple[int, str], list[Tree]],
                                  ltg: FalkorBackend) -> None:
    tree = batches[(6, "deep")][0]
    hidden = tree.entity_vertices()[1].entity
    planted = Tree.from_dict(tree.to_dict())
    planted.question = tree.question[:-1] + f", near {hidden}?"
    result = check_tree(ltg, planted, k=2)
    assert not result["ok"] and result["failed"][0].startswith("4:")
    assert hidden in result["leaks"]
    near = Tree.from_dict(tree.to_dict())
    near.question = f"Which subject is in the category “{tree.answer} history”?"
    assert tree.answer in check_tree(ltg, near, k=2)["leaks"]


def test_check_one_fails_for_another_match_and_for_many(
        batches: dict[tuple[int, str], list[Tree]], ltg: FalkorBackend) -> None:
    tree = batches[(6, "deep")][0]
    assert check_tree(ltg, tree, k=2)["ok"]
    other = Tree.from_dict(tree.to_dict())  # the root's clues, but another entity meant
    other.vertices[0].entity = tree.entity_vertices()[1].entity
    result = check_tree(ltg, other, k=2)
    assert "1:vertex 0 matches 1" in result["failed"]  # one match, and not the one meant
    # The root with its literal clues only, its hidden entities cut off: check 3 made
    # sure those alone match more than one entity.
    loose = Tree.from_dict(tree.to_dict())
    cut = {v.id for v in loose.vertices if v.parent == 0 and v.kind == "entity"}
    for v in sorted(loose.vertices, key=lambda v: v.id):
        if v.parent in cut:
            cut.add(v.id)
    loose.vertices = [v for v in loose.vertices if v.id not in cut]
    result = check_tree(ltg, loose, k=2)
    assert not result["ok"] and result["vertex_matches"]["0"] > 1
    assert any(f.startswith("1:vertex 0 matches") for f in result["failed"])


def test_store_show_and_export(batches: dict[tuple[int, str], list[Tree]], ltg: FalkorBackend,
                               tmp_path: Path) -> None:
    trees = batches[(6, "deep")]
    assert save_trees(ltg, trees) == 3
    save_trees(ltg, trees)  # idempotent
    n_vertices = ltg.read("MATCH (v:TreeVertex) WHERE v.tree = $id RETURN count(v) AS n",
                          {"id": trees[0].id})[0]["n"]
    assert n_vertices == 6
    assert load_tree(ltg, trees[0].id).to_json() == trees[0].to_json()
    stands = ltg.read("MATCH (:ResearchTree {id: $id})-[:HAS_VERTEX]->(v:TreeVertex)"
                      "-[:STANDS_FOR]->(e:Entity) RETURN v.idx AS idx, e.title AS title "
                      "ORDER BY idx", {"id": trees[0].id})
    assert [r["title"] for r in stands] == [v.entity for v in trees[0].entity_vertices()]
    assert {t.id for t in iter_trees(ltg)} >= {t.id for t in trees}
    with pytest.raises(SynthError, match="no research tree"):
        load_tree(ltg, "t-nope")

    path = tmp_path / "trees.jsonl"
    assert write_jsonl(trees, path) == 3
    records = [json.loads(line) for line in path.read_text().splitlines()]
    for rec, tree in zip(records, trees, strict=True):
        assert {"question", "answer", "aliases", "n_vertices", "tree", "checks", "seed",
                "graph_fingerprint", "evidence", "solver"} <= set(rec)
        assert rec["answer"] == tree.answer and rec["n_vertices"] == 6


def test_impossible_requests(ltg: FalkorBackend, tmp_path: Path) -> None:
    with pytest.raises(SynthError, match="at least 4"):
        SynthConfig(vertices=3)
    with pytest.raises(SynthError, match="shape"):
        SynthConfig(shape="round")
    with pytest.raises(SynthError, match="count"):
        synthesize(ltg, SynthConfig(), count=0)
    empty = FalkorBackend(str(tmp_path / "empty"))
    try:
        with pytest.raises(SynthError, match="ingest a dump first"):
            synthesize(empty, SynthConfig(), count=1)
    finally:
        empty.close()
    with pytest.raises(SynthError, match="at most 64"):
        SynthConfig(vertices=1000)


TWINS = """<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" xml:lang="en">
<siteinfo><dbname>twinwiki</dbname><namespaces><namespace key="14">Category</namespace>
</namespaces></siteinfo>
{pages}
</mediawiki>"""


def _page(i: int, title: str, text: str) -> str:
    return (f"<page><title>{title}</title><ns>0</ns><id>{i}</id><revision><text>{text}"
            "</text></revision></page>")


def test_a_graph_without_unique_trees_rejects_with_the_reason(tmp_path: Path) -> None:
    """Twin A and Twin B say exactly the same things: nothing in the graph tells them
    apart, so no tree through them can be proven unique."""
    twin = ("{t} is a twin from the valley. {t} lies near [[Hub]]. {t} lies near [[Alpha]]. "
            "{t} lies near [[Beta]]. [[Category:Twins]]")
    pages = [_page(1, "Twin A", twin.format(t="Twin A")),
             _page(2, "Twin B", twin.format(t="Twin B")),
             _page(3, "Hub", "Hub is a place in the valley. It lies near [[Twin A]] "
                             "and [[Twin B]]."),
             _page(4, "Alpha", "Alpha is a place in the valley."),
             _page(5, "Beta", "Beta is a place in the valley.")]
    dump = tmp_path / "twins.xml"
    dump.write_text(TWINS.format(pages="\n".join(pages)))
    b = FalkorBackend(str(tmp_path / "g"))
    try:
        ingest_dump(str(dump), b, IngestConfig(staging_root=tmp_path / "s"))
        trees, report = synthesize(b, SynthConfig(vertices=5), count=1, max_attempts=20)
        assert trees == [] and report.attempts == 20
        assert report.rejected == {"not_unique": 20}
        with pytest.raises(SynthError, match="hides 4 entities, but this graph has only 2"):
            synthesize(b, SynthConfig(vertices=10), count=1)
    finally:
        b.close()


def test_enwiki_infobox_facts_become_blurred_constraints(tmp_path: Path) -> None:
    b = FalkorBackend(str(tmp_path / "en"))
    try:
        ingest_dump(str(ENWIKI), b, IngestConfig(staging_root=tmp_path / "s"))
        # A graph loaded before blur buckets existed: the sampler (a reader) refuses it
        # and says what to run; the migration fills them in, once, and recounts the
        # summary it changed.
        n_facts = b.write("MATCH (f:Fact) SET f.bk_v = null, f.bk_decade = null "
                         "RETURN count(f) AS n")[0]["n"]
        b.write("MATCH (m:Migration) WHERE m.id STARTS WITH 'data_' DELETE m")
        assert n_facts > 0
        with pytest.raises(SynthError, match="hcsp graph migrate"):
            Sampler(b, SynthConfig())
        assert b.read("MATCH (f:Fact) WHERE f.bk_v IS NULL RETURN count(f) AS n")[0]["n"] \
            == n_facts  # the sampler wrote nothing
        assert migrate(b) == ["data_fact_buckets_v1", "data_tree_k_v1", "summary_v1"]
        assert migrate(b) == []
        assert b.read("MATCH (f:Fact) WHERE f.bk_v IS NULL RETURN count(f) AS n")[0]["n"] == 0
        trees, report = synthesize(b, SynthConfig(vertices=5, shape="wide"), count=4, seed=3,
                                   max_attempts=400)
        assert trees, report
        for t in trees:
            assert t.checks["ok"] and t.solver["agreed"]
    finally:
        b.close()


def test_jsonl_loads_with_hugging_face_datasets(batches: dict[tuple[int, str], list[Tree]],
                                                tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                ) -> None:
    import datasets

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    trees = all_trees(batches)
    path = tmp_path / "questions.jsonl"
    write_jsonl(trees, path)
    ds = datasets.load_dataset("json", data_files=str(path), split="train",
                               cache_dir=str(tmp_path / "cache"))
    assert ds.num_rows == len(trees)
    assert ds["answer"] == [t.answer for t in trees]
    assert ds["n_vertices"] == [t.n_vertices for t in trees]
    assert {"question", "aliases", "tree", "evidence", "checks", "graph_fingerprint"} <= set(
        ds.column_names)


def test_popularity_band_and_impossible_k(ltg: FalkorBackend) -> None:
    trees, _ = synthesize(ltg, SynthConfig(vertices=6, min_popularity=20), count=3, seed=2)
    assert trees
    for t in trees:
        assert ltg.read("MATCH (e:Entity {title: $t}) RETURN e.popularity AS p",
                        {"t": t.answer})[0]["p"] >= 20
    with pytest.raises(SynthError, match="widen the popularity band"):
        synthesize(ltg, SynthConfig(min_popularity=10**9), count=1)
    with pytest.raises(SynthError, match="more entities than the graph has"):
        synthesize(ltg, SynthConfig(k=10**9), count=1)
    with pytest.raises(SynthError, match="above max_popularity"):
        SynthConfig(min_popularity=5, max_popularity=1)


def test_the_pool_filters_on_k_and_old_trees_get_theirs(
        batches: dict[tuple[int, str], list[Tree]], ltg: FalkorBackend) -> None:
    trees = batches[(5, "deep")]
    save_trees(ltg, trees)
    ids = {t.id for t in trees}
    assert ids <= {t.id for t in pool_page(ltg, limit=500, n_vertices=5, k=2)}
    assert not ids & {t.id for t in pool_page(ltg, limit=500, n_vertices=5, k=3)}
    # trees stored before K was a property: the migration reads it from their JSON
    ltg.write("MATCH (t:ResearchTree) REMOVE t.k")
    ltg.write("MATCH (m:Migration {id: 'data_tree_k_v1'}) DELETE m")
    assert not pool_page(ltg, limit=500, k=2)
    assert "data_tree_k_v1" in migrate(ltg)
    assert ids <= {t.id for t in pool_page(ltg, limit=500, n_vertices=5, k=2)}



def test_parallel_attempts_stop_when_enough_are_taken(ltg: FalkorBackend) -> None:
    """Workers run attempts ahead of the one taken next, not in fixed windows: once the
    trees asked for are in, attempts not started are dropped. Asked for one tree whose
    first attempt is accepted, with 3 workers and every other attempt held back for a
    moment, at most the 3 held ones run as well (a window of 6 ran all 6)."""
    cfg = SynthConfig(vertices=6)
    seed = next(s for s in range(300)  # one attempt each (a run of one has no initial)
                if synthesize(ltg, cfg, count=1, seed=s, max_attempts=1)[1].accepted == 1)
    sampler = Sampler(ltg, cfg)
    first = attempt_seed(seed, 0)
    started: list[int] = []
    release = threading.Event()
    real = sampler.sample

    def sample(s: int, **kw: Any) -> Tree:
        started.append(s)
        if s != first:
            release.wait(10)
        return real(s, **kw)

    sampler.sample = sample  # type: ignore[method-assign]
    # The held attempts go on half a second after attempt 0 was taken (by then the
    # run has dropped what had not started).
    timer = threading.Timer(0.5, release.set)
    try:
        trees, report = synthesize(ltg, cfg, count=1, seed=seed, workers=3, sampler=sampler,
                                   progress=lambda *_: timer.start())
    finally:
        release.set()
        timer.cancel()
    assert len(trees) == 1 and report.attempts == 1
    assert first in started and len(started) <= 4, started


def test_attempts_running_at_the_deadline_are_taken(ltg: FalkorBackend) -> None:
    """Past the deadline, attempts not started are dropped and those running (which
    the run waits for anyway) are taken, in order: none is lost unseen."""
    cfg = SynthConfig(vertices=6)
    sampler = Sampler(ltg, cfg)
    started: list[int] = []
    real = sampler.sample
    deadline = time.monotonic() + 0.3

    def sample(s: int, **kw: Any) -> Tree:
        started.append(s)
        time.sleep(max(0.0, deadline + 0.2 - time.monotonic()))  # ends past the deadline
        return real(s, **kw)

    sampler.sample = sample  # type: ignore[method-assign]
    trees, report = synthesize(ltg, cfg, count=50, seed=2, workers=2, sampler=sampler,
                               deadline=deadline)
    assert report.timed_out and len(trees) < 50
    assert report.attempts == len(started) >= 2, (report.attempts, started)
    assert len(started) < 8  # the rest of the 8 in flight were dropped unstarted
