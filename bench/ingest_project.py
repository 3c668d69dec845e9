"""Projection of a full ingest (simplewiki, full English Wikipedia) from rates measured here.

Used by bench/ingest.py (``--project``, on by default). Every projected figure is a
count of the target dump divided by a rate measured in the same run, and the table
prints both. Stages, one core each (ingest runs them in one process, one after the
other):

  decompress  Python's bz2 on the real sample dumps, MB of XML out per second; and a
              process pool over independent bz2 streams, as in Wikimedia's
              ``-multistream`` dumps (100 pages a stream). The samples are single-stream,
              so the streams are made here from their XML, 100 pages each.
  read XML    ingest.dump.DumpReader over the decompressed XML.
  parse       ingest's wikitext extractor (ParseArticles) on the English samples' articles.
  stage       ArticleStager.add, rows written to the staging folder per second.
  resolve     ingest.load.Resolver, links resolved through redirects per second; its title
              maps in bytes per title at 1M titles, scaled to the target's titles.
  load        BulkLoader into the embedded engine, rows/s, on a Wikipedia-shaped
              synthetic graph (ingest.synthetic) whose link sentences are real ones drawn
              from the English samples; the engine's peak resident memory at two sizes and
              at a second link density, fitted as intercept + per entity + per link.
  neo4j csv   BulkLoader with graph.neo4j_csv.Neo4jCsvWriter (the neo4j-admin import path),
              rows/s and the loader process's own peak memory, in a fresh process.

neo4j-admin import itself is measured by bench/neo4j_import.py (it needs the Maven-built
Neo4j); its rate is a constant here, cited in the table.
"""

from __future__ import annotations

import bz2
import concurrent.futures as cf
import json
import multiprocessing as mp
import os
import random
import resource
import shutil
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from graph.backend import FalkorBackend
from graph.store import graph_stats
from ingest.dump import DumpReader
from ingest.load import BulkLoader, Resolver
from ingest.pipeline import ArticleStager, IngestConfig, ParseArticles, ingest_dump
from ingest.staging import Checkpoint, Staging
from ingest.synthetic import SyntheticShape, stage_synthetic
from ingest.wikitext import DISAMBIGUATION_TEMPLATES, WikitextParser

Row = tuple[str, str, str]
MB = 1e6
GB = 1e9
GIB = 2**30
OS_RESERVE_GIB = 2.0  # the OS, page cache for the staging files, the API


@dataclass(frozen=True)
class Target:
    """A dump to project to. Counts not given are derived, as ``note`` says."""

    name: str
    xml_gb: float
    articles: int
    redirects: int
    links: int
    note: str


ENWIKI = Target("enwiki", 95.0, 7_000_000, 11_000_000, 180_000_000,
                "~22 GB bz2, ~95 GB XML, ~7M articles, ~11M redirects, ~180M links (issue 11)")
# simplewiki: 253,516 articles in March 2024 (simple.wikipedia.org, "Simple English
# Wikipedia"); ~270k now, ~1 GB of XML. Redirects scale with articles and links with XML
# bytes, both at enwiki's ratios (simplewiki's own counts are not known here).
SIMPLEWIKI = Target("simplewiki", 1.0, 270_000, int(270_000 * 11 / 7), int(180e6 / 95),
                    "~270k articles, ~1 GB XML; redirects and links at enwiki's ratios")

# neo4j-admin import, published: LDBC SF100, 288M nodes + 2,095M relationships + 2,295M
# properties in 5 h 59 min (github.com/neo4j/neo4j/pull/7790, 2016, a many-core server with
# a PCIe SSD); a small case, 1.2M nodes + 3.1M relationships in 57 s (~76k rows/s,
# github.com/alephdata/followthemoney/pull/60). Both faster than measured here.
# Measured with bench/neo4j_import.py (Neo4j 5.26.30 from Maven Central, 2 shared cores):
# 3,229,489 rows (synthetic 300,000) in 62.9 s, wall clock. The projection uses this one.
NEO4J_IMPORT_ROWS_S = 3_229_489 / 62.86
NEO4J_IMPORT_CITE = ("measured by bench/neo4j_import.py, synthetic 300,000 (3,229,489 rows) "
                     "in 62.9 s; published: 1.2M nodes + 3.1M rels in 57 s "
                     "(alephdata/followthemoney#60)")
# Neo4j record sizes (neo4j.com/developer/kb/understanding-data-on-disk): node 15 B,
# relationship 34 B, property 41 B, long strings in 128 B blocks.
NEO4J_NODE_B, NEO4J_REL_B, NEO4J_PROP_B, NEO4J_STR_BLOCK = 15, 34, 41, 128


def _best(fn: Any, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# -- decompression ----------------------------------------------------------------------
def _split_pages(xml: bytes, per_stream: int = 100) -> list[bytes]:
    """The XML cut after every ``per_stream``-th ``</page>``, as the multistream dumps are."""
    chunks, start, n, pos = [], 0, 0, 0
    end_tag = b"</page>"
    while True:
        i = xml.find(end_tag, pos)
        if i < 0:
            break
        pos = i + len(end_tag)
        n += 1
        if n % per_stream == 0:
            chunks.append(xml[start:pos])
            start = pos
    chunks.append(xml[start:])
    return [c for c in chunks if c]


_STREAMS: tuple[str, list[tuple[int, int]]] | None = None


def _decompress_group(idx: list[int]) -> tuple[int, float]:
    """Decompress some streams of the multistream file; bytes out and CPU seconds used."""
    assert _STREAMS is not None
    path, spans = _STREAMS
    out, cpu = 0, time.thread_time()
    with open(path, "rb") as fh:
        for i in idx:
            off, size = spans[i]
            fh.seek(off)
            out += len(bz2.decompress(fh.read(size)))
    return out, time.thread_time() - cpu


def measure_decompression(dumps: list[Path], tmp: Path, m: dict[str, float],
                          rows: list[Row]) -> list[bytes]:
    """bz2 MB/s of XML out on one core, then over independent streams with a pool."""
    global _STREAMS
    comp = [p.read_bytes() for p in dumps]
    xmls = [bz2.decompress(c) for c in comp]
    xml_mb = sum(map(len, xmls)) / MB
    sec = _best(lambda: [bz2.decompress(c) for c in comp])
    m["bz2_mb_s"] = xml_mb / sec
    m["bz2_ratio"] = sum(map(len, xmls)) / sum(map(len, comp))
    rows.append(("decompress", f"bz2, one stream, 1 core ({len(dumps)} real dumps, "
                 f"{xml_mb:.1f} MB XML, x{m['bz2_ratio']:.2f} of bz2)",
                 f"{m['bz2_mb_s']:.1f} MB XML/s"))

    # Multistream: 100 pages a stream, 3 copies of the XML so a run lasts a second or more.
    chunks = [c for x in xmls for c in _split_pages(x)] * 3
    blobs = [bz2.compress(c, 9) for c in chunks]
    path = tmp / "multistream.xml.bz2"
    spans, off = [], 0
    with open(path, "wb") as fh:
        for b in blobs:
            fh.write(b)
            spans.append((off, len(b)))
            off += len(b)
    single = sum(len(bz2.compress(x, 9)) for x in xmls) * 3
    assert len(bz2.decompress(path.read_bytes())) == sum(map(len, chunks))  # one reader too
    _STREAMS = (str(path), spans)
    total_mb = sum(map(len, chunks)) / MB
    groups = [list(range(i, min(i + 8, len(spans)))) for i in range(0, len(spans), 8)]
    cores = os.cpu_count() or 1
    workers_tried = sorted({1, 2, cores})
    for workers in workers_tried:
        with cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
            list(pool.map(_decompress_group, [[0]] * workers))  # start the workers
            best, cpu = float("inf"), 0.0
            for _ in range(2):
                t = time.perf_counter()
                done = list(pool.map(_decompress_group, groups))
                if time.perf_counter() - t < best:
                    best, cpu = time.perf_counter() - t, sum(c for _, c in done)
        m[f"bz2_pool{workers}_mb_s"] = total_mb / best
        m["bz2_stream_cpu_mb_s"] = total_mb / cpu  # per core, whatever else runs
    m["bz2_pool_mb_s"] = m[f"bz2_pool{cores}_mb_s"]
    m["bz2_free_cores_mb_s"] = m["bz2_stream_cpu_mb_s"] * cores
    pool_txt = ", ".join(f"{w} proc {m[f'bz2_pool{w}_mb_s']:.1f}" for w in workers_tried)
    rows.append(("decompress", f"multistream (made here: {len(blobs):,} streams of 100 pages, "
                 f"{off / single - 1:+.0%} size vs one stream), process pool, wall clock",
                 f"{pool_txt} MB XML/s ({m['bz2_pool_mb_s'] / m['bz2_pool1_mb_s']:.2f}x on "
                 f"{cores} cores)"))
    rows.append(("decompress", f"multistream, per stream: CPU time (so {cores} free cores give "
                 f"{cores}x)", f"{m['bz2_stream_cpu_mb_s']:.1f} MB XML/s per core -> "
                 f"{m['bz2_free_cores_mb_s']:.1f} MB XML/s on {cores}"))
    _STREAMS = None
    return xmls


# -- reading, parsing, staging ----------------------------------------------------------
def measure_read_parse_stage(dumps: list[Path], xmls: list[bytes], tmp: Path,
                             m: dict[str, float], rows: list[Row]) -> list[str]:
    """DumpReader MB/s over plain XML; parse MB/s; staging rows/s. Returns real sentences."""
    paths = []
    for p, x in zip(dumps, xmls, strict=True):
        paths.append(tmp / p.name.removesuffix(".bz2"))
        paths[-1].write_bytes(x)

    def read_all() -> None:
        for p in paths:
            with DumpReader(str(p)) as r:
                for _ in r.pages():
                    pass

    xml_mb = sum(map(len, xmls)) / MB
    m["xml_mb_s"] = xml_mb / _best(read_all)
    rows.append(("read XML", f"DumpReader over the same XML ({xml_mb:.1f} MB)",
                 f"{m['xml_mb_s']:.1f} MB XML/s"))

    english = [p for p in paths if p.name.startswith("enwiki")]
    pages, eng_xml = [], 0
    ns = None
    for p in english:
        eng_xml += p.stat().st_size
        with DumpReader(str(p)) as r:
            for pg in r.pages():
                if pg.ns == 0 and pg.text and not pg.redirect_to \
                        and pg.text.lstrip()[:9].upper() != "#REDIRECT":
                    pages.append(pg)
            ns = r.info.namespaces
    step = ParseArticles(lambda: WikitextParser(
        ns, disambiguation_templates=DISAMBIGUATION_TEMPLATES))  # type: ignore[arg-type]
    text_mb = sum(len((pg.text or "").encode()) for pg in pages) / MB
    arts: list[Any] = []

    def parse_all() -> None:
        arts[:] = [step.apply(pg) for pg in pages]

    sec = _best(parse_all, 2)
    m["parse_mb_s"] = text_mb / sec
    m["text_share"] = text_mb * MB / eng_xml
    rows.append(("parse", f"wikitext extractor, {len(pages)} English articles "
                 f"({text_mb:.1f} MB, {m['text_share']:.0%} of their dumps' XML)",
                 f"{m['parse_mb_s']:.2f} MB wikitext/s = "
                 f"{m['parse_mb_s'] / m['text_share']:.2f} MB XML/s"))

    def stage() -> None:
        st = Staging(tmp / "stage-bench", "bench", "bench")
        st.reset()
        stager = ArticleStager(st, Checkpoint(source="bench"), IngestConfig())
        for a in arts:
            stager.add(a)
        st.close()

    sec = _best(stage)
    st = Staging(tmp / "stage-bench", "bench", "bench")
    counts = {name: sum(1 for _ in st.rows(name)) for name in
              ("titles", "entities", "links", "facts", "efacts", "cats")}
    n_rows = sum(counts.values())
    m["stage_rows_s"] = n_rows / sec
    n_art = counts["entities"]
    for k in ("facts", "efacts", "cats"):
        m[f"{k}_per_article"] = counts[k] / n_art
    m["stage_bytes_link"] = st.path("links").stat().st_size / counts["links"]
    m["stage_bytes_article"] = (_dir_bytes(st.dir) - st.path("links").stat().st_size) / n_art
    sentences = [r[2] for r in st.rows("links") if len(r) > 2 and r[2]]
    m["sentence_chars"] = sum(map(len, sentences)) / len(sentences)
    rows.append(("stage", f"ArticleStager, {n_rows:,} rows ({counts['links']:,} links); per "
                 f"article {m['facts_per_article']:.1f} literal facts, "
                 f"{m['efacts_per_article']:.1f} linked facts, {m['cats_per_article']:.1f} "
                 "categories", f"{m['stage_rows_s']:,.0f} rows/s"))
    rows.append(("stage", "staging on disk: per link row (its sentence: "
                 f"{m['sentence_chars']:.0f} chars on average) / per article, other files",
                 f"{m['stage_bytes_link']:.0f} B / {m['stage_bytes_article']:,.0f} B"))

    # The whole read phase of a real ingest, to check the stages add up.
    big = dumps[0]
    rep = ingest_dump(str(big), None, IngestConfig(staging_root=tmp / "e2e-st",
                                                   neo4j_csv=tmp / "e2e-csv"))
    x_mb = len(xmls[0]) / MB
    read_s = rep.seconds - rep.load_seconds
    per_mb = (1 / m["bz2_mb_s"] + 1 / m["xml_mb_s"] + m["text_share"] / m["parse_mb_s"])
    predicted = x_mb * per_mb + n_rows / m["stage_rows_s"] * (x_mb * MB / eng_xml)
    rows.append(("check", f"ingest read phase of {big.name} ({x_mb:.1f} MB XML): measured "
                 "vs sum of the stages above", f"{read_s:.2f} s vs {predicted:.2f} s"))
    shutil.rmtree(tmp / "e2e-st", ignore_errors=True)
    shutil.rmtree(tmp / "e2e-csv", ignore_errors=True)
    for p in paths:
        p.unlink()
    return sentences


# -- the resolver's title maps ----------------------------------------------------------
def measure_title_maps(tmp: Path, n: int, m: dict[str, float], rows: list[Row]) -> None:
    """Bytes per title in Resolver.titles (a set) and per entry of Resolver.redirects."""
    def staged(kind: str) -> Staging:
        st = Staging(tmp / f"titles-{kind}", kind, "bench")
        st.reset()
        for i in range(n):
            title = f"Title number {i:07d} ({i % 977})"  # ~26 chars, as an English title
            if kind == "titles":
                st.add_title(title)
            else:
                st.add_redirect(f"Other name {i:07d}", title)
        st.close()
        return st

    for kind, attr in (("titles", "titles"), ("redirects", "redirects")):
        st = staged(kind)
        tracemalloc.start()
        r = Resolver(st, "stub", Counter())
        size = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        assert len(getattr(r, attr)) == n
        m[f"bytes_per_{kind[:-1]}"] = size / n
        del r
        shutil.rmtree(st.dir, ignore_errors=True)
    rows.append(("resolve", f"Resolver title maps at {n:,} entries (tracemalloc): "
                 "per article title (set) / per redirect (dict, two strings)",
                 f"{m['bytes_per_title']:.0f} B / {m['bytes_per_redirect']:.0f} B"))


# -- synthetic graphs: engine memory, bulk load, neo4j csv ------------------------------
def _real_sentences(st: Staging, sentences: list[str], seed: int) -> None:
    """Give every staged link a real sentence (synthetic ones are a few words)."""
    rng = random.Random(seed)
    src = st.path("links")
    tmp = src.with_suffix(".real")
    with open(src, encoding="utf-8") as fin, open(tmp, "w", encoding="utf-8") as fout:
        for line in fin:
            f = line.rstrip("\n").split("\t")
            f[2] = rng.choice(sentences)
            fout.write("\t".join(f) + "\n")
    os.replace(tmp, src)


def _csv_child(root: str, source: str, out: str) -> dict[str, float]:
    """In a fresh process: the neo4j-admin CSV export of a staging, and its peak memory."""
    from graph.neo4j_csv import Neo4jCsvWriter

    base = psutil.Process().memory_info().rss
    st = Staging(Path(root), source, "bench")
    t = time.perf_counter()
    resolver = Resolver(st, "stub", Counter())
    w = Neo4jCsvWriter(Path(out))
    BulkLoader(None, writer=w).load(st, resolver, Counter())
    sec = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"rows": w.nodes_sent + w.edges_sent, "seconds": sec, "peak": peak,
            "base": base, "bytes": _dir_bytes(Path(out))}


def _vm(pid: int, key: str) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0.0


@dataclass
class GraphPoint:
    n: int
    mean_links: float
    entities: int = 0
    links: int = 0
    categories: int = 0
    category_edges: int = 0
    rows: int = 0
    load_s: float = 0.0
    resolve_s: float = 0.0
    engine_peak: float = 0.0
    engine_rss: float = 0.0
    disk: int = 0
    csv: dict[str, float] | None = None


def measure_graph(tmp: Path, n: int, mean_links: float, sentences: list[str],
                  csv: bool) -> GraphPoint:
    pt = GraphPoint(n, mean_links)
    root = tmp / f"syn-{n}-{mean_links:g}"
    st = stage_synthetic(root, n, seed=1, shape=SyntheticShape(mean_out_links=mean_links))
    st.close()
    _real_sentences(st, sentences, seed=n)
    t = time.perf_counter()
    resolver = Resolver(st, "stub", Counter())
    nl = sum(1 for _ in resolver.links(count=False))
    pt.resolve_s = time.perf_counter() - t
    gdir = tmp / f"g-{n}-{mean_links:g}"
    b = FalkorBackend(str(gdir))
    try:
        t = time.perf_counter()
        BulkLoader(b).load(st, Resolver(st, "stub", Counter()), Counter())
        b.sync()
        pt.load_s = time.perf_counter() - t
        s = graph_stats(b).as_dict()
        facts = sum(s["literal_facts"].values())  # type: ignore[union-attr]
        pt.entities = int(s["entities"])  # type: ignore[arg-type]
        pt.links = int(s["links"])  # type: ignore[arg-type]
        assert pt.links == nl
        pt.categories = int(s["categories"])  # type: ignore[arg-type]
        pt.category_edges = int(s["category_edges"])  # type: ignore[arg-type]
        pt.rows = (pt.entities + 2 * facts + int(s["categories"])  # type: ignore[arg-type]
                   + pt.links + int(s["entity_facts"]) + int(s["category_edges"]))  # type: ignore[arg-type]
        pid = b.engine.status().pid
        assert pid
        pt.engine_peak, pt.engine_rss = _vm(pid, "VmHWM"), _vm(pid, "VmRSS")
    finally:
        b.close()
    pt.disk = _dir_bytes(gdir)
    shutil.rmtree(gdir, ignore_errors=True)
    if csv:
        out = tmp / f"csv-{n}"
        with cf.ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
            pt.csv = pool.submit(_csv_child, str(root), f"synthetic:{n}:1", str(out)).result()
        shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)
    return pt


def measure_graphs(tmp: Path, sizes: list[int], dense_links: float, sentences: list[str],
                   m: dict[str, float], rows: list[Row]) -> None:
    """Engine memory per entity and per link (fitted), bulk and CSV rows/s, loader memory."""
    pts = [measure_graph(tmp, n, 5.0, sentences, csv=True) for n in sizes]
    pts.append(measure_graph(tmp, sizes[0], dense_links, sentences, csv=False))
    for p in pts:
        rows.append(("load", f"synthetic {p.n:,} x {p.mean_links:g} links: {p.entities:,} "
                     f"entities, {p.links:,} links, {p.rows:,} rows; bulk into the engine",
                     f"{p.rows / p.load_s:,.0f} rows/s; engine peak {p.engine_peak / MB:,.0f} "
                     f"MB (after {p.engine_rss / MB:,.0f}); disk {p.disk / MB:,.0f} MB"))
    a, b, d = pts[0], pts[1], pts[-1]
    # Peak memory = base + per_entity * entities + per_link * links: the dense graph
    # (same entities, more links) gives per link, the two sizes then give per entity.
    for key, val in (("mem", lambda p: p.engine_peak), ("disk", lambda p: p.disk)):
        per_link = (val(d) - val(a)) / (d.links - a.links)
        per_ent = (val(b) - val(a) - per_link * (b.links - a.links)) / (b.entities - a.entities)
        m[f"{key}_link"], m[f"{key}_entity"] = per_link, per_ent
        m[f"{key}_base"] = val(a) - per_ent * a.entities - per_link * a.links
    rows.append(("load", "engine peak memory, fitted: base + per 1M entities (each with its "
                 "synthetic facts, categories) + per 1M links (real sentences)",
                 f"{m['mem_base'] / GB:.2f} GB + {m['mem_entity'] * 1e6 / GB:.2f} GB + "
                 f"{m['mem_link'] * 1e6 / GB:.3f} GB"))
    rows.append(("load", "engine folder on disk (snapshot + append-only file), fitted the same "
                 "way", f"{m['disk_base'] / GB:.2f} GB + {m['disk_entity'] * 1e6 / GB:.2f} GB "
                 f"+ {m['disk_link'] * 1e6 / GB:.3f} GB"))
    m["bulk_rows_s"] = b.rows / b.load_s  # the larger graph
    m["resolve_links_s"] = b.links / b.resolve_s
    m["stubs_per_entity"] = (b.entities - b.n) / b.n
    m["cat_nodes_per_edge"] = b.categories / b.category_edges
    rows.append(("resolve", f"Resolver: redirects + titles loaded, {b.links:,} links resolved "
                 f"(synthetic {b.n:,})", f"{m['resolve_links_s']:,.0f} links/s"))
    ca, cb = a.csv, b.csv
    assert ca and cb
    m["csv_rows_s"] = cb["rows"] / cb["seconds"]
    m["neo4j_import_rows_s"] = NEO4J_IMPORT_ROWS_S
    m["csv_bytes_row"] = cb["bytes"] / cb["rows"]
    m["loader_entity"] = (cb["peak"] - ca["peak"]) / (b.entities - a.entities)
    m["loader_base"] = ca["peak"] - m["loader_entity"] * a.entities
    # What the loader holds per entity beyond the Resolver's title maps (measured above).
    m["loader_maps_entity"] = m["loader_entity"] - (
        b.n * m["bytes_per_title"] + b.n * SyntheticShape().alias_share
        * m["bytes_per_redirect"]) / b.entities
    rows.append(("neo4j csv", f"BulkLoader -> neo4j-admin CSV files, synthetic {b.n:,} "
                 f"({cb['rows']:,.0f} rows, {cb['bytes'] / MB:,.0f} MB)",
                 f"{m['csv_rows_s']:,.0f} rows/s; {m['csv_bytes_row']:.0f} B/row"))
    rows.append(("neo4j import", f"neo4j-admin database import: {NEO4J_IMPORT_CITE}",
                 f"{NEO4J_IMPORT_ROWS_S:,.0f} rows/s (measured)"))
    rows.append(("load", f"loader process peak memory at {a.n:,} / {b.n:,} (fresh process): "
                 "base + per 1M entities", f"{ca['peak'] / MB:,.0f} / {cb['peak'] / MB:,.0f} MB"
                 f" = {m['loader_base'] / GB:.2f} GB + {m['loader_entity'] * 1e6 / GB:.2f} GB"))


# -- the projection ------------------------------------------------------------------------
def _h(sec: float) -> str:
    return f"{sec / 3600:.1f} h" if sec >= 3600 else f"{sec / 60:.1f} min" if sec >= 60 \
        else f"{sec:.0f} s"


def project(t: Target, m: dict[str, float], rows: list[Row]) -> dict[str, float]:
    """Hours and GB for one target dump on this machine, stage by stage."""
    xml_mb = t.xml_gb * 1e3
    entities = t.articles * (1 + m["stubs_per_entity"])
    per_article = m["facts_per_article"] + m["efacts_per_article"] + m["cats_per_article"]
    staged = 2 * t.articles + t.redirects + t.links + t.articles * per_article
    rows_written = (entities + t.links + t.articles * (
        2 * m["facts_per_article"] + m["efacts_per_article"]
        + m["cats_per_article"] * (1 + m["cat_nodes_per_edge"])))
    k = t.name
    sec = {
        "decompress": xml_mb / m["bz2_mb_s"],
        "read": xml_mb / m["xml_mb_s"],
        "parse": xml_mb * m["text_share"] / m["parse_mb_s"],
        "stage": staged / m["stage_rows_s"],
        "load": rows_written / m["bulk_rows_s"],
    }
    resolve = 2 * t.links / m["resolve_links_s"]  # the bulk loader passes over links twice
    rows.append((k, f"counts: {t.note}; {entities:,.0f} entities with stubs "
                 f"(x{1 + m['stubs_per_entity']:.2f}, synthetic); facts and categories per "
                 "article as staged above",
                 f"{staged:,.0f} staged rows, {rows_written:,.0f} graph rows"))
    rows.append((k, f"decompress {xml_mb:,.0f} MB XML at {m['bz2_mb_s']:.1f} MB/s (one "
                 f"stream); multistream pool at {m['bz2_pool_mb_s']:.1f} MB/s",
                 f"{_h(sec['decompress'])} (multistream, measured: "
                 f"{_h(xml_mb / m['bz2_pool_mb_s'])}; free cores: "
                 f"{_h(xml_mb / m['bz2_free_cores_mb_s'])})"))
    rows.append((k, f"read XML at {m['xml_mb_s']:.1f} MB/s + parse {m['text_share']:.0%} of it "
                 f"at {m['parse_mb_s']:.2f} MB/s", f"{_h(sec['read'])} + {_h(sec['parse'])}"))
    rows.append((k, f"stage {staged:,.0f} rows at {m['stage_rows_s']:,.0f} rows/s",
                 _h(sec["stage"])))
    rows.append((k, f"bulk load {rows_written:,.0f} rows at {m['bulk_rows_s']:,.0f} rows/s "
                 f"(includes resolving 2 x {t.links:,} links at {m['resolve_links_s']:,.0f}/s)",
                 f"{_h(sec['load'])} (resolving: {_h(resolve)})"))
    total = sum(sec.values())
    rows.append((k, "embedded engine, end to end, one process (sum of the five stages)",
                 f"{_h(total)}"))

    # Title maps: Resolver.titles and the stager's set of seen titles (alive until the load
    # ends), Resolver.redirects; then the loader's own maps (ids, degrees, stubs, aliases).
    titles_b = 2 * t.articles * m["bytes_per_title"] + t.redirects * m["bytes_per_redirect"]
    loader = m["loader_base"] + m["loader_maps_entity"] * entities + titles_b
    engine = m["mem_base"] + m["mem_entity"] * entities + m["mem_link"] * t.links
    rows.append((k, f"ingest peak memory: title maps of {t.articles + t.redirects:,} titles "
                 f"({titles_b / GB:.1f} GB) + loader maps at {m['loader_maps_entity']:.0f} "
                 "B/entity + base", f"{loader / GB:.1f} GB"))
    rows.append((k, f"engine peak memory at {m['mem_entity']:.0f} B/entity + "
                 f"{m['mem_link']:.0f} B/link + base", f"{engine / GB:.1f} GB (with ingest: "
                 f"{(engine + loader) / GB:.1f} GB while loading)"))
    disk_stage = t.links * m["stage_bytes_link"] + t.articles * m["stage_bytes_article"]
    disk_graph = m["disk_base"] + m["disk_entity"] * entities + m["disk_link"] * t.links
    rows.append((k, "disk: bz2 dump + staging folder + engine folder",
                 f"{t.xml_gb / m['bz2_ratio']:.1f} + {disk_stage / GB:.1f} + "
                 f"{disk_graph / GB:.1f} GB"))

    csv_s = rows_written / m["csv_rows_s"]
    neo_s = rows_written / NEO4J_IMPORT_ROWS_S
    props = entities * 8 + t.links * 2  # ~8 non-null properties a node, sentence+anchor a link
    sblocks = t.links * (1 + int(m["sentence_chars"] // (NEO4J_STR_BLOCK - 8)))
    store = (entities * NEO4J_NODE_B + rows_written * NEO4J_REL_B + props * NEO4J_PROP_B
             + sblocks * NEO4J_STR_BLOCK)
    front = sum(sec[s] for s in ("decompress", "read", "parse", "stage"))
    rows.append((k, f"Neo4j: the same first four stages ({_h(front)}) + CSV export at "
                 f"{m['csv_rows_s']:,.0f} rows/s ({rows_written * m['csv_bytes_row'] / GB:.1f} "
                 f"GB of CSV) + neo4j-admin import at {NEO4J_IMPORT_ROWS_S:,.0f} rows/s "
                 "(measured)",
                 f"{_h(front)} + {_h(csv_s)} + {_h(neo_s)} = {_h(front + csv_s + neo_s)}"))
    rows.append((k, "Neo4j store, from its record sizes (15/34/41 B, 128 B string blocks; "
                 "every row counted as a relationship: an upper bound)",
                 f"~{store / GB:.0f} GB on disk"))
    return {"engine": engine, "loader": loader, "entities": entities}


def largest_graph(m: dict[str, float], enwiki: dict[str, float], rows: list[Row]) -> None:
    """The most entities (at enwiki's link density) the engine holds in 24 GB."""
    total = psutil.virtual_memory().total
    budget = total - OS_RESERVE_GIB * GIB
    lpe = ENWIKI.links / enwiki["entities"]
    per = m["mem_entity"] + lpe * m["mem_link"]
    serve = (budget - m["mem_base"]) / per
    loader_per = (enwiki["loader"] - m["loader_base"]) / enwiki["entities"]
    load = (budget - m["mem_base"] - m["loader_base"]) / (per + loader_per)
    rows.append(("memory", f"largest graph in this machine's {total / GIB:.1f} GiB "
                 f"({OS_RESERVE_GIB:.0f} GiB left to the OS) at enwiki's {lpe:.1f} links per "
                 "entity: serving / while "
                 f"bulk-loading (engine {per:,.0f} B + ingest {loader_per:,.0f} B per entity)",
                 f"{serve / 1e6:.1f}M / {load / 1e6:.1f}M entities "
                 f"({serve * lpe / 1e6:,.0f}M / {load * lpe / 1e6:,.0f}M links)"))


def run_projection(dumps: list[Path], tmp: Path, sizes: list[int], dense_links: float,
                   titles: int, rows: list[Row]) -> dict[str, float]:
    """Measure every rate, then project simplewiki and enwiki; returns the measurements."""
    m: dict[str, float] = {"load_avg_1min": os.getloadavg()[0]}
    rows.append(("machine", f"{os.cpu_count()} cores, "
                 f"{psutil.virtual_memory().total / GIB:.1f} GiB; load average when the "
                 "projection started (others' jobs share the cores)",
                 f"{m['load_avg_1min']:.1f}"))
    xmls = measure_decompression(dumps, tmp, m, rows)
    sentences = measure_read_parse_stage(dumps, xmls, tmp, m, rows)
    del xmls
    measure_title_maps(tmp, titles, m, rows)
    measure_graphs(tmp, sizes, dense_links, sentences, m, rows)
    project(SIMPLEWIKI, m, rows)
    largest_graph(m, project(ENWIKI, m, rows), rows)
    return m


def dump_json(m: dict[str, float], path: Path) -> None:
    path.write_text(json.dumps(m, indent=1, sort_keys=True))
