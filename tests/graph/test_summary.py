"""The summary ingest keeps (graph.summary) says what the graph itself says.

Every stored selectivity row equals the count graph.constraints would query for its
predicate; every predicate without a row matches fewer than the threshold; the stored
fingerprint is that of the graph's counts; a sampler made on a summarized graph runs
no scan; roots drawn by rejection are uniform over the eligible entities.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph import queries as Q
from graph import summary as S
from graph.backend import FalkorBackend
from graph.constraints import Predicate, alone_queries, candidates_each, candidates_query
from graph.store import graph_stats
from ingest.pipeline import IngestConfig, ingest_dump
from synth.sampler import Sampler, SynthConfig
from tests.conftest import LTGWIKI


@pytest.fixture(scope="module")
def ltg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FalkorBackend]:
    path = tmp_path_factory.mktemp("summary")
    b = FalkorBackend(str(path / "graph"))
    try:
        ingest_dump(str(LTGWIKI), b, IngestConfig(staging_root=path / "staging"))
        yield b
    finally:
        b.close()


def predicate_of(key: str) -> Predicate:
    """The predicate a selectivity key stands for (the inverse of selectivity_key)."""
    what, value = key.split("=", 1)
    if what.startswith("bk_"):
        return Predicate.of("fact_year", {"level": what[3:], "bucket": value})
    if what in ("fact_in", "fact_out"):
        fkey, title = value.split("|", 1)
        if what == "fact_in":
            return Predicate.of("fact_named", {"key": fkey, "title": title})
        return Predicate.of("relation", {"rel": "FACT", "direction": "in", "key": fkey,
                                         "title": title})
    kind, param = {"initial": ("title_initial", "letter"), "category": ("category", "name"),
                   "linkers": ("links_to_named", "title"),
                   "linked": ("linked_from_named", "title")}[what]
    return Predicate.of(kind, {param: value})


def live(b: FalkorBackend, p: Predicate) -> int:
    q, params = candidates_query([p])
    return int(b.read(q, {**params, "cap": 10**9})[0]["n"])


def test_every_stored_count_is_the_queried_count(ltg: FalkorBackend) -> None:
    s = S.read_summary(ltg)
    assert s.stored and s.threshold == S.THRESHOLD
    kinds = Counter(k.split("=")[0] for k in s.selectivity)
    # the Latgalian graph has large sets of every kind but entity facts
    assert {"initial", "category", "linkers", "linked"} <= set(kinds), kinds
    assert any(k.startswith("bk_") for k in kinds), kinds
    for key, n in s.selectivity.items():
        p = predicate_of(key)
        assert S.selectivity_key(p) == key
        assert n >= s.threshold and live(ltg, p) == n, key
        assert s.count(p, cap=10) == 10  # capped as the count query caps


def test_a_predicate_without_a_row_matches_fewer_than_the_threshold(ltg: FalkorBackend
                                                                    ) -> None:
    s = S.read_summary(ltg)
    rng = random.Random(0)
    titles = [r["title"] for r in ltg.read("MATCH (e:Entity) RETURN e.title AS title "
                                           "ORDER BY title")]
    cats = [r["name"] for r in ltg.read("MATCH (c:Category) RETURN c.name AS name")]
    preds = [Predicate.of("links_to_named", {"title": t}) for t in rng.sample(titles, 150)]
    preds += [Predicate.of("linked_from_named", {"title": t}) for t in rng.sample(titles, 150)]
    preds += [Predicate.of("relation", {"rel": "LINKS_TO", "direction": d, "key": "",
                                        "title": t})
              for d in ("out", "in") for t in rng.sample(titles, 50)]
    preds += [Predicate.of("category", {"name": c}) for c in cats]
    preds += [Predicate.of("title_initial", {"letter": t[0].upper()}) for t in titles[::50]]
    for r in ltg.read("MATCH (f:Fact) WHERE f.bk_decade IS NOT NULL "
                      "RETURN DISTINCT f.bk_decade AS v"):
        preds.append(Predicate.of("fact_year", {"level": "decade", "bucket": r["v"]}))
    for p in preds:
        n, stored = live(ltg, p), s.count(p, cap=10**9)
        assert stored == n if n >= s.threshold else stored is None, (p, n, stored)


def test_counts_batched_by_kind_are_each_predicates_own(ltg: FalkorBackend) -> None:
    """alone_queries counts many predicates in a query per kind: each count is the one
    candidates_query gives that predicate alone, a name the graph lacks counts 0, and
    a predicate given twice is counted twice alike."""
    rng = random.Random(1)
    titles = [r["title"] for r in ltg.read("MATCH (e:Entity) RETURN e.title AS title "
                                           "ORDER BY title")]
    cats = [r["name"] for r in ltg.read("MATCH (c:Category) RETURN c.name AS name "
                                        "ORDER BY name")]
    preds = [Predicate.of("links_to_named", {"title": t}) for t in rng.sample(titles, 60)]
    preds += [Predicate.of("linked_from_named", {"title": t}) for t in rng.sample(titles, 60)]
    preds += [Predicate.of("category", {"name": c}) for c in rng.sample(cats, 40)]
    for r in ltg.read("MATCH (a)-[f:FACT]->(b:Entity) RETURN DISTINCT f.key AS k, "
                      "b.title AS t ORDER BY k, t LIMIT 40"):
        preds.append(Predicate.of("fact_named", {"key": r["k"], "title": r["t"]}))
    for level in ("decade", "century"):
        for r in ltg.read(f"MATCH (f:Fact) WHERE f.bk_{level} IS NOT NULL "
                          f"RETURN DISTINCT f.bk_{level} AS v ORDER BY v LIMIT 20"):
            preds.append(Predicate.of("fact_year", {"level": level, "bucket": r["v"]}))
    assert any(p.kind == "fact_named" for p in preds)
    preds += [Predicate.of("links_to_named", {"title": "No such page"}),
              Predicate.of("category", {"name": "No such category"}),
              Predicate.of("fact_named", {"key": "born", "title": "No such page"}),
              Predicate.of("fact_year", {"level": "century", "bucket": "c-99"})]
    preds += preds[:5]  # twice
    skipped = [Predicate.of("title_initial", {"letter": "A"}),
               Predicate.of("relation", {"rel": "LINKS_TO", "direction": "out", "key": "",
                                         "title": titles[0]})]
    batches = alone_queries(preds + skipped)
    assert len(batches) == 6  # one per kind, and per blur level for facts
    got = {}
    for q, rows in batches:
        got.update({int(r["i"]): int(r["n"]) for r in ltg.read(q, {"rows": rows})})
    assert all(i < len(preds) for i in got)  # the two with no batched form are left out
    counts = [got.get(i, 0) for i in range(len(preds))]
    assert counts == [live(ltg, p) for p in preds]
    assert counts[-4 - 5:-5] == [0, 0, 0, 0] and counts[-5:] == counts[:5]
    assert sum(n > 0 for n in counts) > len(preds) // 2


def test_candidates_read_together_are_each_sets_own(ltg: FalkorBackend) -> None:
    """candidates_each (check 1 and the solver: one query for several vertices) reads
    for each set of predicates the titles candidates_query reads for it alone: sets of
    several kinds, one matching nothing, a missing name, the same parameters in two."""
    rng = random.Random(2)
    titles = [r["title"] for r in ltg.read("MATCH (e:Entity) WHERE e.popularity > 3 "
                                           "RETURN e.title AS title ORDER BY title")]
    cats = [r["name"] for r in ltg.read("MATCH (c:Category) RETURN c.name AS name "
                                        "ORDER BY name")]
    sets = []
    for _ in range(12):
        t, c = rng.choice(titles), rng.choice(cats)
        sets.append([Predicate.of("links_to_named", {"title": t})])
        sets.append([Predicate.of("links_to_named", {"title": t}),
                     Predicate.of("category", {"name": c})])
        sets.append([Predicate.of("relation", {"rel": "LINKS_TO", "direction": "in",
                                               "key": "", "title": t}),
                     Predicate.of("title_initial", {"letter": t[0].upper()})])
    sets += [[Predicate.of("category", {"name": "No such category"})], sets[0]]
    for cap in (2, 50):
        q, params = candidates_each(sets)
        row = ltg.read(q, {**params, "cap": cap})[0]
        for j, preds in enumerate(sets):
            one, own = candidates_query(preds, count=False)
            alone = [r["title"] for r in ltg.read(one, {**own, "cap": cap})]
            if len(alone) < cap:  # all of them: the same set (else any cap of them)
                assert sorted(row[f"t{j}"]) == alone, (j, preds)
            else:
                assert len(row[f"t{j}"]) == cap
    assert row[f"t{len(sets) - 2}"] == []
    assert sum(bool(row[f"t{j}"]) for j in range(len(sets))) > len(sets) // 3


def test_fingerprint_and_stats_are_the_graphs_and_survive_a_lost_summary(
        ltg: FalkorBackend) -> None:
    s = S.read_summary(ltg)
    assert s.fingerprint == S.fingerprint_of(graph_stats(ltg))
    assert s.stats.as_dict() == graph_stats(ltg).as_dict()
    S.invalidate(ltg)  # a writer killed before it refreshed
    try:
        lost = S.read_summary(ltg)
        assert not lost.stored
        assert (lost.fingerprint, lost.selectivity, lost.bucket_max, lost.bucket_top,
                lost.roots) == (s.fingerprint, s.selectivity, s.bucket_max, s.bucket_top,
                                s.roots)
    finally:
        S.refresh(ltg)
    assert S.read_summary(ltg).stored


def test_a_sampler_on_a_summarized_graph_scans_nothing(ltg: FalkorBackend,
                                                       monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    ran: list[str] = []
    real = ltg.read
    monkeypatch.setattr(ltg, "read", lambda q, p=None: ran.append(q) or real(q, p))
    sampler = Sampler(ltg, SynthConfig(vertices=5))
    sampler.check_request()
    allowed = {Q.APPLIED_MIGRATIONS, Q.LIST_SUMMARY, Q.LIST_SELECTIVITY,
               Q.LIST_DUMP_LANGUAGES, Q.ELIGIBLE_SOME}
    assert set(ran) <= allowed, set(ran) - allowed
    assert sampler.summary.stored


@pytest.mark.parametrize("draw", ["prefetch", "weighed", "rejection"])
def test_roots_are_drawn_uniformly_from_the_eligible(ltg: FalkorBackend, draw: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """All at once (a small graph), or bucket by bucket as on a large graph: weighed
    by the summary's roots per bucket, or by rejection (an older summary, or another
    eligibility than the one the summary counts)."""
    prefetch = draw == "prefetch"
    if not prefetch:
        monkeypatch.setattr("synth.sampler._PREFETCH_ENTITIES", 0)
    cfg = SynthConfig(vertices=5)
    summary = S.read_summary(ltg)
    if draw == "rejection":
        summary.roots = None
    sampler = Sampler(ltg, cfg, summary)
    assert (sampler._weights is not None) is (draw == "weighed")
    eligible = [r["title"] for b in range(sampler.summary.bucket_top + 1)
                for r in ltg.read(Q.ELIGIBLE_IN_BUCKET, {
                    "bucket": b, "min_degree": cfg.min_degree, "min_popularity": 0,
                    "max_popularity": cfg.max_popularity})]
    any_popularity = [r["title"] for b in range(sampler.summary.bucket_top + 1)
                      for r in ltg.read(Q.ELIGIBLE_IN_BUCKET_ANY_POPULARITY, {
                          "bucket": b, "min_degree": cfg.min_degree})]
    assert any_popularity == eligible  # the default band is no band (its faster query)
    rng = random.Random(7)
    draws = 20 * len(eligible)
    seen = Counter(sampler.pick_root(rng) for _ in range(draws))
    assert set(seen) <= set(eligible)
    assert sampler._prefetched is prefetch
    # Pearson's chi-square against uniform: for ~900 cells its 99.9% point is ~1050
    # per 900 degrees of freedom; a bias towards sparse buckets would be far above.
    expected = draws / len(eligible)
    chi2 = sum((seen.get(t, 0) - expected) ** 2 / expected for t in eligible)
    assert chi2 < 1.2 * len(eligible), chi2
    if draw == "weighed":  # the summary counts exactly the eligible ones
        assert sum(summary.roots.values()) == len(eligible)  # type: ignore[union-attr]


def test_a_narrow_band_falls_back_to_weighing_buckets(ltg: FalkorBackend) -> None:
    pops = sorted((int(r["p"]) for r in ltg.read(
        "MATCH (e:Entity) WHERE e.stub = false AND e.disambiguation = false AND "
        "e.n_facts + e.out_links >= 3 RETURN e.popularity AS p")), reverse=True)
    band = pops[3]  # the four (or so) most linked-to articles
    sampler = Sampler(ltg, SynthConfig(vertices=5, min_popularity=band))
    picks = {sampler.pick_root(random.Random(i)) for i in range(40)}
    assert sampler._histogram is not None  # 64 misses in a row: buckets weighed
    assert 2 <= len(picks) <= sum(p >= band for p in pops)


def test_ingest_twice_keeps_one_summary(tmp_path: Path) -> None:
    b = FalkorBackend(str(tmp_path / "g"))
    try:
        for _ in range(2):
            ingest_dump(str(LTGWIKI), b, IngestConfig(staging_root=tmp_path / "st",
                                                      resume=False))
        assert int(b.read("MATCH (s:Summary) RETURN count(s) AS n")[0]["n"]) == 1
        s = S.read_summary(b)
        assert s.stored and s.fingerprint == S.fingerprint_of(graph_stats(b))
    finally:
        b.close()


def test_no_summary_is_written_while_an_ingest_holds_the_graph(ltg: FalkorBackend) -> None:
    """A summary of a half-loaded graph would outlive an ingest killed before its own
    refresh: while the writer lock is held, migrations leave data and summary alone."""
    from graph.schema import migrate
    from graph.store import exclusive_writer

    S.invalidate(ltg)
    try:
        with exclusive_writer(ltg):  # as ingest holds it while it loads
            assert not any(d.startswith("summary") for d in migrate(ltg))
            assert not S.read_summary_stored(ltg)
        assert "summary_v1" in migrate(ltg)
    finally:
        if not S.read_summary_stored(ltg):
            S.refresh(ltg)
    assert S.read_summary_stored(ltg)


@pytest.mark.parametrize("prefetch", [True, False])
def test_a_seed_draws_the_same_root_however_used_the_sampler_is(
        ltg: FalkorBackend, prefetch: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not prefetch:
        monkeypatch.setattr("synth.sampler._PREFETCH_ENTITIES", 0)
    used = Sampler(ltg, SynthConfig(vertices=5))
    for seed in [*range(1000, 1030), *range(10), *range(10)]:  # the last ten twice
        used.pick_root(random.Random(seed))
    for seed in range(10):
        fresh = Sampler(ltg, SynthConfig(vertices=5))
        assert fresh.pick_root(random.Random(seed)) == used.pick_root(random.Random(seed))
    if not prefetch:  # ``used`` drew from kept titles, each ``fresh`` by one title's read
        assert used._weights is not None and len(used._roots) >= 10
        assert len(fresh._roots) == 0 and len(fresh._drawn_from) == 1


def test_a_buckets_kth_root_read_alone_is_the_kth_of_all(
        ltg: FalkorBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bucket's first draw reads its k-th root alone (graph.queries
    ELIGIBLE_KTH_IN_BUCKET), later ones read and keep all of them: the same title."""
    monkeypatch.setattr("synth.sampler._PREFETCH_ENTITIES", 0)
    cfg = SynthConfig(vertices=5)
    buckets = sorted(S.read_summary(ltg).roots or {})[:6]
    checked = 0
    for b in buckets:
        every = [r["title"] for r in ltg.read(Q.ELIGIBLE_IN_BUCKET_ANY_POPULARITY, {
            "bucket": b, "min_degree": cfg.min_degree})]
        for k in range(len(every) + 1):
            alone = Sampler(ltg, cfg)._kth_root(b, k)  # a first draw
            kept = Sampler(ltg, cfg)
            kept._kth_root(b, 0)
            again = kept._kth_root(b, k)  # a second: all read and kept
            want = every[k] if k < len(every) else None
            assert alone == again == want, (b, k)
            checked += 1
        assert kept._roots.peek(str(b)) == every
    assert checked > 10


def test_a_stale_count_of_roots_draws_by_rejection(ltg: FalkorBackend,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr("synth.sampler._PREFETCH_ENTITIES", 0)
    summary = S.read_summary(ltg)
    assert summary.roots
    empty = summary.bucket_top + 1  # a bucket no entity has
    summary.roots = {empty: 10**6}  # as if the graph had lost every root since
    sampler = Sampler(ltg, SynthConfig(vertices=5), summary)
    eligible = {r["title"] for b in range(summary.bucket_top + 1)
                for r in ltg.read(Q.ELIGIBLE_IN_BUCKET, {
                    "bucket": b, "min_degree": 3, "min_popularity": 0,
                    "max_popularity": 10**12})}
    with caplog.at_level("WARNING"):
        assert sampler.pick_root(random.Random(0)) in eligible
    assert "stale" in caplog.text


def test_a_count_of_roots_short_of_the_buckets_is_told(ltg: FalkorBackend,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """A summary that counts fewer roots than a bucket holds draws only those it
    counts, the same root each time; once the bucket's titles are read, it says so."""
    monkeypatch.setattr("synth.sampler._PREFETCH_ENTITIES", 0)
    summary = S.read_summary(ltg)
    bucket = max(summary.roots, key=lambda b: summary.roots[b])
    assert summary.roots[bucket] > 1
    summary.roots = {bucket: 1}  # as if the bucket had gained roots since
    sampler = Sampler(ltg, SynthConfig(vertices=5), summary)
    with caplog.at_level("WARNING"):
        first = sampler.pick_root(random.Random(0))  # the k-th read alone: not told
        assert "stale" not in caplog.text
        assert sampler.pick_root(random.Random(1)) == first  # the bucket read whole
    assert "stale" in caplog.text and "holds" in caplog.text
