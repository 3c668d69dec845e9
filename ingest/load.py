"""Load a staged dump into the graph: resolve links through redirects, then write.

Two writers produce the same graph (a test holds them to it):

- :class:`MergeLoader`: batched, idempotent ``UNWIND ... MERGE`` queries (graph.queries)
  on either engine. Used when the graph already holds data (a rerun, a second dump,
  a resume after a crash during loading) and always on Neo4j.
- :class:`BulkLoader`: the embedded engine's own bulk-insert command into an empty
  graph, with degrees computed here rather than by queries afterwards. Several times
  faster; see bench/ingest.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from graph import queries as Q
from graph.backend import GraphBackend
from graph.buckets import BUCKET_PROPS, fact_bucket_props
from graph.bulk import BulkWriter, can_bulk_load
from graph.model import Label, Rel
from graph.schema import migrate
from graph.store import update_degrees, write_rows
from ingest.staging import Staging

BUCKETS = 4096


def rand_of(title: str) -> tuple[float, int]:
    """A uniform key in [0, 1) derived from the title, and its bucket; the same on
    every run and every engine, so sampling is reproducible from (graph, seed)."""
    import hashlib

    h = int.from_bytes(hashlib.blake2b(title.encode(), digest_size=8).digest(), "big")
    r = h / 2**64
    return r, int(r * BUCKETS)


class Resolver:
    """Resolves staged link and fact targets through redirects, counting how."""

    def __init__(self, staging: Staging, missing_links: str, counts: Counter[str]) -> None:
        self.staging = staging
        self.missing_links = missing_links
        self.counts = counts
        self.redirects = load_redirects(staging)
        self.titles = {row[0] for row in staging.rows("titles") if row and row[0]}

    def target(self, dst: str, src: str, kind: str, count: bool = True) -> str | None:
        """The entity a staged target lands on, or None if the edge is left out."""
        final = self.redirects.get(dst, dst)
        c = self.counts if count else Counter()
        if final != dst:
            c[f"{kind}:via_redirect"] += 1
        if final == src:
            c[f"{kind}:self"] += 1
            return None
        if final in self.titles:
            return final
        if self.missing_links == "drop":
            c[f"{kind}:dropped_missing_target"] += 1
            return None
        c[f"{kind}:to_stub"] += 1
        return final

    def links(self, count: bool = True) -> Iterator[dict[str, Any]]:
        """Resolved links, one per (source, target): the first sentence wins, with the
        anchor the link shows in it (None when empty, or staged by an older version)."""
        seen: set[str] = set()
        current = None
        for row in self.staging.rows("links"):
            if len(row) < 3:
                continue
            if row[0] != current:
                current, seen = row[0], set()
            dst = self.target(row[1], row[0], "links", count)
            if dst is None or dst in seen:
                continue
            seen.add(dst)
            yield {"src": row[0], "dst": dst, "sentence": row[2],
                   "anchor": (row[3] if len(row) > 3 else "") or None}

    def entity_facts(self, count: bool = True) -> Iterator[dict[str, Any]]:
        """Resolved linked infobox values, one per (source, key, target)."""
        seen: set[tuple[str, str]] = set()
        current = None
        for row in self.staging.rows("efacts"):
            if len(row) < 5:
                continue
            if row[0] != current:
                current, seen = row[0], set()
            dst = self.target(row[2], row[0], "entity_facts", count)
            if dst is None or (row[1], dst) in seen:
                continue
            seen.add((row[1], dst))
            yield {"src": row[0], "key": row[1], "dst": dst, "text": row[3], "raw": row[4]}

    def aliases(self) -> dict[str, list[str]]:
        """Article title -> sorted titles of the redirects to it."""
        out: dict[str, list[str]] = {}
        for src, dst in self.redirects.items():
            if dst in self.titles and src not in self.titles:
                out.setdefault(dst, []).append(src)
        return {t: sorted(a) for t, a in sorted(out.items())}


def load_redirects(staging: Staging) -> dict[str, str]:
    """Source title -> final target, following chains (A -> B -> C) up to 5 hops."""
    direct = {row[0]: row[1] for row in staging.rows("redirects") if len(row) == 2}
    final: dict[str, str] = {}
    for src, dst in direct.items():
        hops = 0
        while dst in direct and hops < 5 and direct[dst] != src:
            dst = direct[dst]
            hops += 1
        final[src] = dst
    return final


def _categories(staging: Staging) -> Iterator[dict[str, str]]:
    for row in staging.rows("cats"):
        if len(row) == 2 and row[1]:
            yield {"title": row[0], "name": row[1]}


def _batches(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for r in rows:
        batch.append(r)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


LoadProgress = Callable[[str, int], None]


def _no_progress(what: str, n: int) -> None:
    pass


class MergeLoader:
    """Writes a staged dump with idempotent MERGE batches (any engine, any graph)."""

    name = "merge"

    def __init__(self, backend: GraphBackend, batch_size: int,
                 progress: LoadProgress | None = None) -> None:
        self.backend = backend
        self.bs = batch_size
        self.progress = progress or _no_progress

    def load(self, staging: Staging, resolver: Resolver, written: Counter[str]) -> None:
        b, bs = self.backend, self.bs
        migrate(b, summary=False, writer_held=True)
        for what, query, rows in (
                ("entities", Q.UPSERT_ENTITIES, _entities(staging)),
                ("literal_facts", Q.UPSERT_LITERAL_FACTS, _facts(staging)),
                ("category_edges", Q.UPSERT_CATEGORIES, _categories(staging))):
            for batch in _batches(rows, bs):
                written[what] += write_rows(b, query, batch, bs)
                self.progress(what, written[what])

        # A stub left by an earlier run may since have turned out to be a redirect;
        # its links now go to the redirect's target instead.
        if resolver.redirects and (b.read(Q.COUNT_ENTITIES) or [{}])[0].get("stubs"):
            stale = list(resolver.redirects)
            for i in range(0, len(stale), bs):
                b.write(Q.DELETE_STUBS, {"titles": stale[i:i + bs]})
        aliases = [{"title": t, "aliases": a} for t, a in resolver.aliases().items()]
        written["alias_sets"] += write_rows(b, Q.SET_ALIASES, aliases, bs)

        stubs_made: set[str] = set()
        for query, rows, what in ((Q.UPSERT_LINKS, resolver.links(), "links"),
                                  (Q.UPSERT_ENTITY_FACTS, resolver.entity_facts(),
                                   "entity_facts")):
            for batch in _batches(rows, bs):
                new = {r["dst"] for r in batch} - resolver.titles - stubs_made
                if new:
                    stub_rows = [_stub_row(t) for t in sorted(new)]
                    written["stubs"] += write_rows(b, Q.UPSERT_STUBS, stub_rows, bs)
                    stubs_made.update(new)
                written[what] += write_rows(b, query, batch, bs)
                self.progress(what, written[what])
        self.progress("degrees", 0)
        update_degrees(b, bs, BUCKETS)


def _stub_row(title: str) -> dict[str, Any]:
    r, bucket = rand_of(title)
    return {"title": title, "rand": r, "bucket": bucket}


ENTITY_PROPS = ("title", "page_id", "description", "infobox", "short_description",
                "disambiguation", "stub", "rand", "bucket", "text_bytes", "aliases", "popularity",
                "out_links", "n_facts")
FACT_PROPS = ("id", "key", "kind", "text", "raw", "num", "num_hi", "unit", "year", "month", "day",
              "date", "bk_v", *BUCKET_PROPS)


def _entities(staging: Staging) -> Iterator[dict[str, Any]]:
    """Staged entities, with every property (None where one was staged without it)."""
    for rec in staging.records("entities"):
        rec.setdefault("infobox", None)
        rec.setdefault("short_description", None)
        yield rec


def _facts(staging: Staging) -> Iterator[dict[str, Any]]:
    """Staged literal facts with their blur buckets (graph.buckets)."""
    for rec in staging.records("facts"):
        rec.setdefault("num_hi", None)
        rec.update(fact_bucket_props(rec))
        yield rec


class BulkLoader:
    """Writes a staged dump into an EMPTY embedded graph with its bulk-insert command."""

    name = "bulk"

    def __init__(self, backend: GraphBackend | None, progress: LoadProgress | None = None,
                 writer: Any = None) -> None:
        self.backend = backend
        self.progress = progress or _no_progress
        self.writer = writer  # a graph.neo4j_csv.Neo4jCsvWriter writes files instead

    def load(self, staging: Staging, resolver: Resolver, written: Counter[str]) -> None:
        ids: dict[str, int] = {}
        inn: Counter[str] = Counter()
        out: Counter[str] = Counter()
        nfacts: Counter[str] = Counter()
        self.progress("resolving", 0)
        for rec in staging.records("entities"):
            ids[rec["title"]] = len(ids)
        stubs: dict[str, None] = {}
        for lk in resolver.links(count=True):
            inn[lk["dst"]] += 1
            out[lk["src"]] += 1
            if lk["dst"] not in ids:
                stubs.setdefault(lk["dst"])
        for ef in resolver.entity_facts(count=True):
            nfacts[ef["src"]] += 1
            if ef["dst"] not in ids:
                stubs.setdefault(ef["dst"])
        for rec in staging.records("facts"):
            nfacts[rec["title"]] += 1
        for title in stubs:
            ids[title] = len(ids)
        aliases = resolver.aliases()

        self.progress("entities", 0)
        w = self.writer or BulkWriter(self.backend)
        w.begin_nodes(Label.ENTITY, ENTITY_PROPS)
        for rec in _entities(staging):
            title = rec["title"]
            w.node([title, rec["page_id"], rec["description"], rec["infobox"],
                    rec["short_description"], rec["disambiguation"], False, rec["rand"],
                    rec["bucket"], rec["text_bytes"], aliases.get(title), inn[title], out[title],
                    nfacts[title]])
        for title in stubs:
            r, bucket = rand_of(title)
            w.node([title, None, None, None, None, False, True, r, bucket, None, None,
                    inn[title], 0, 0])
        written["entities"] += len(ids) - len(stubs)
        written["stubs"] += len(stubs)
        written["alias_sets"] += len(aliases)

        cat_ids: dict[str, int] = {}
        w.begin_nodes(Label.CATEGORY, ("name",))
        for row in _categories(staging):
            if row["name"] not in cat_ids:
                cat_ids[row["name"]] = w.node([row["name"]])
        fact_ids: list[tuple[int, int, str]] = []
        w.begin_nodes(Label.FACT, FACT_PROPS)
        for rec in _facts(staging):
            fid = w.node([rec[p] for p in FACT_PROPS])
            fact_ids.append((ids[rec["title"]], fid, rec["key"]))
        written["literal_facts"] += len(fact_ids)

        w.begin_edges(Rel.HAS_FACT, ("key",))
        for src, fid, key in fact_ids:
            w.edge(src, fid, [key])
        del fact_ids
        w.begin_edges(Rel.IN_CATEGORY, ())
        for row in _categories(staging):
            w.edge(ids[row["title"]], cat_ids[row["name"]], [])
            written["category_edges"] += 1
        w.begin_edges(Rel.LINKS_TO, ("sentence", "anchor"))
        for lk in resolver.links(count=False):
            w.edge(ids[lk["src"]], ids[lk["dst"]], [lk["sentence"], lk["anchor"]])
            written["links"] += 1
            if written["links"] % 100_000 == 0:
                self.progress("links", written["links"])
        w.begin_edges(Rel.FACT, ("key", "text", "raw"))
        for ef in resolver.entity_facts(count=False):
            w.edge(ids[ef["src"]], ids[ef["dst"]], [ef["key"], ef["text"], ef["raw"]])
            written["entity_facts"] += 1
        self.progress("inserting", w.next_id)
        w.finish()
        if self.backend is not None:
            self.progress("indexes", 0)
            migrate(self.backend, summary=False, writer_held=True)


def choose_loader(backend: GraphBackend, batch_size: int, bulk: bool | None,
                  progress: LoadProgress | None = None) -> MergeLoader | BulkLoader:
    """Bulk into an empty embedded graph (unless ``bulk`` is False), else MERGE."""
    if bulk is not False and can_bulk_load(backend):
        return BulkLoader(backend, progress)
    return MergeLoader(backend, batch_size, progress)
