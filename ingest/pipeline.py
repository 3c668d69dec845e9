"""Ingest one dump into the graph: read, filter, parse, write, then resolve links.

    ingest_dump("enwiki.xml.bz2", backend, IngestConfig())

Pages stream through steps (see ingest.steps). Entities, literal facts and
categories are written in batches as they come; links and linked infobox values are
staged on disk (ingest.staging) and written once every redirect is known. All writes
are MERGEs, so a rerun leaves every count unchanged. If the dump breaks off part-way
the pages read so far are finished (links included) before the error is raised.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph import queries as Q
from graph.backend import GraphBackend
from graph.schema import apply_schema
from graph.store import update_degrees, write_rows
from ingest.dump import DumpReader, RawPage
from ingest.errors import DumpError, IngestError
from ingest.staging import Checkpoint, Staging
from ingest.steps import MapStep, PageFilter, Skip, Step, chain, merged_stats
from ingest.values import infobox_facts
from ingest.wikitext import WikitextParser, normalize_title

BUCKETS = 4096
_RE_BAD_TITLE = re.compile(r"[\[\]{}|<>\x00-\x1f]")
DISAMBIGUATION_TEMPLATES = frozenset({
    "dab", "disamb", "disambig", "disambiguation", "hndis", "geodis", "numberdis",
    "letter disambiguation", "letter-number combination disambiguation", "mil-unit-dis",
    "schooldis", "species latin name disambiguation", "roaddis", "mountainindex",
    "set index article", "shipindex", "sia", "zeimeibu škiršona",
})


@dataclass
class IngestConfig:
    """Run parameters of one ingest."""

    limit: int | None = None
    """Read at most this many pages of the dump (all namespaces), then finish."""
    batch_size: int = 2000
    """Rows per UNWIND batch."""
    missing_links: str = "stub"
    """What to do with a link to a page the dump lacks: 'stub' creates a bare entity
    (flagged stub=true, never a root), 'drop' leaves the link out. Counted either way."""
    resume: bool = False
    """Skip the pages a previous, interrupted run of the same dump finished."""
    staging_root: Path = Path(".hcsp/staging")
    """Where links wait for their redirects to be known."""
    checkpoint_every: int = 2000
    """Save a resume point after this many articles."""

    def __post_init__(self) -> None:
        if self.missing_links not in ("stub", "drop"):
            raise IngestError(f"missing_links must be 'stub' or 'drop', not {self.missing_links!r}")
        if self.limit is not None and self.limit < 1:
            raise IngestError(f"limit must be at least 1, not {self.limit}",
                              hint="leave it out to read the whole dump")
        if self.batch_size < 1 or self.checkpoint_every < 1:
            raise IngestError("batch_size and checkpoint_every must be at least 1")


@dataclass
class IngestReport:
    """What one ingest did."""

    source: str
    pages_read: int = 0
    articles: int = 0
    redirects: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    """Pages not ingested, by reason (namespace_10, malformed:no_title, ...)."""
    resolved: dict[str, int] = field(default_factory=dict)
    """How staged links and linked facts were resolved (via_redirect, to_stub, ...)."""
    written: dict[str, int] = field(default_factory=dict)
    """Rows sent to the graph, by kind (MERGEs: a rerun sends them again)."""
    resumed_from: int = 0
    seconds: float = 0.0
    parse_seconds: float = 0.0
    write_seconds: float = 0.0
    bytes_read: int = 0
    error: str | None = None

    @property
    def rows_written(self) -> int:
        return sum(self.written.values())


@dataclass(slots=True)
class Article:
    """An article ready to be written."""

    title: str
    page_id: int | None
    ordinal: int
    description: str | None
    disambiguation: bool
    text_bytes: int
    links: list[tuple[str, str]]
    categories: list[str]
    facts: list[Any]


def rand_of(title: str) -> tuple[float, int]:
    """A uniform key in [0, 1) derived from the title, and its bucket; the same on
    every run and every engine, so sampling is reproducible from (graph, seed)."""
    h = int.from_bytes(hashlib.blake2b(title.encode(), digest_size=8).digest(), "big")
    r = h / 2**64
    return r, int(r * BUCKETS)


# -- steps ------------------------------------------------------------------------------
class SkipDone(PageFilter):
    """On resume, drops the pages a previous run finished."""

    name = "done_before_resume"

    def __init__(self, pages_done: int) -> None:
        super().__init__()
        self.pages_done = pages_done

    def keep(self, page: RawPage) -> bool | tuple[bool, str]:
        return page.ordinal > self.pages_done


class KeepWellFormed(PageFilter):
    """Drops pages missing what every page must have."""

    def keep(self, page: RawPage) -> bool | tuple[bool, str]:
        if not page.title or not page.title.strip():
            return False, "malformed:no_title"
        if page.ns is None:
            return False, "malformed:no_namespace"
        if _RE_BAD_TITLE.search(page.title):
            return False, "malformed:bad_title"
        if page.text is None and page.redirect_to is None:
            return False, "malformed:no_text"
        return True


class KeepArticles(PageFilter):
    """Keeps namespace-0 pages (articles and redirects)."""

    def keep(self, page: RawPage) -> bool | tuple[bool, str]:
        return (True if page.ns == 0 else (False, f"namespace_{page.ns}"))


class CollectRedirects(PageFilter):
    """Stages each redirect (it becomes an alias of its target) and drops it."""

    def __init__(self, staging: Staging) -> None:
        super().__init__()
        self.staging = staging

    def keep(self, page: RawPage) -> bool | tuple[bool, str]:
        target = page.redirect_to
        if target is None and page.text and page.text.lstrip()[:9].upper() == "#REDIRECT":
            m = re.search(r"\[\[([^\]|]+)", page.text)
            target = m.group(1) if m else None
        if target is None:
            return True
        src, dst = normalize_title(page.title or ""), normalize_title(target)
        if dst and dst != src:
            self.staging.add_redirect(src, dst)
            self.stats["redirects"] += 1
            return False, "redirect"
        return False, "malformed:redirect_to_self"


class ParseArticles(MapStep):
    """Wikitext to an :class:`Article`. A page the parser cannot read is skipped."""

    def __init__(self, parser_factory: Callable[[], WikitextParser]) -> None:
        super().__init__()
        self._factory = parser_factory
        self._parser: WikitextParser | None = None

    def apply(self, page: RawPage) -> Article:
        if self._parser is None:
            self._parser = self._factory()  # after <siteinfo> is read
        text = page.text or ""
        if not text.strip():
            raise Skip("empty")
        try:
            parsed = self._parser.parse(text)
            facts = infobox_facts(parsed.infobox, self._parser.ns) if parsed.infobox else []
        except (ValueError, IndexError, RecursionError) as e:
            raise Skip(f"parse_error:{type(e).__name__}") from e
        title = normalize_title(page.title or "")
        desc = parsed.short_description or parsed.first_sentence
        disamb = parsed.disambiguation or title.endswith("(disambiguation)")
        return Article(
            title=title, page_id=page.page_id, ordinal=page.ordinal,
            description=desc[:300] if desc else None, disambiguation=disamb,
            text_bytes=len(text.encode("utf-8", "replace")),
            links=[(lk.target, lk.sentence) for lk in parsed.links if lk.target != title],
            categories=sorted(set(parsed.categories)), facts=facts,
        )


# -- the writer ----------------------------------------------------------------------------
class ArticleWriter(Step):
    """Writes entities, literal facts and categories in batches; stages links and
    linked facts; checkpoints so a broken-off run can resume."""

    name = "write"

    def __init__(self, backend: GraphBackend, staging: Staging, cp: Checkpoint,
                 config: IngestConfig, written: Counter[str]) -> None:
        super().__init__()
        self.backend, self.staging, self.cp, self.config = backend, staging, cp, config
        self.written = written
        self.entities: list[dict[str, Any]] = []
        self.facts: list[dict[str, Any]] = []
        self.cats: list[dict[str, Any]] = []
        self.pending = 0
        self.last: Article | None = None

    def run(self, items: Iterable[Article]) -> Iterator[Article]:
        for art in items:
            self.add(art)
            if self.pending >= self.config.checkpoint_every or \
                    len(self.facts) + len(self.cats) >= self.config.batch_size * 4:
                self.flush(art.ordinal, art.title)
            yield art

    def add(self, art: Article) -> None:
        r, bucket = rand_of(art.title)
        self.entities.append({
            "title": art.title, "page_id": art.page_id, "description": art.description,
            "disambiguation": art.disambiguation, "rand": r, "bucket": bucket,
            "text_bytes": art.text_bytes})
        self.staging.add_title(art.title)
        seen: Counter[str] = Counter()
        for f in art.facts:
            if f.kind == "entity":
                self.staging.add_entity_fact(art.title, f.key, f.target, f.text, f.raw)
                continue
            n = seen[f.key]
            seen[f.key] += 1
            self.facts.append({
                "title": art.title, "id": f"{art.title}\x1f{f.key}\x1f{n}", "key": f.key,
                "kind": f.kind, "text": f.text, "raw": f.raw, "num": f.num, "unit": f.unit,
                "year": f.year, "month": f.month, "day": f.day, "date": f.date})
        for name in art.categories:
            self.cats.append({"title": art.title, "name": name})
        seen_targets: set[str] = set()
        for dst, sentence in art.links:
            if dst not in seen_targets:  # one link per pair: the first sentence wins
                seen_targets.add(dst)
                self.staging.add_link(art.title, dst, sentence)
        self.stats["articles"] += 1
        self.pending += 1
        self.last = art

    def flush(self, pages_done: int, last_title: str | None) -> None:
        """Write what is buffered and save a resume point at ``pages_done``."""
        t = time.perf_counter()
        bs = self.config.batch_size
        self.written["entities"] += write_rows(self.backend, Q.UPSERT_ENTITIES, self.entities, bs)
        self.written["literal_facts"] += write_rows(self.backend, Q.UPSERT_LITERAL_FACTS,
                                                    self.facts, bs)
        self.written["category_edges"] += write_rows(self.backend, Q.UPSERT_CATEGORIES,
                                                     self.cats, bs)
        self.entities, self.facts, self.cats = [], [], []
        self.pending = 0
        self.cp.pages_done = max(self.cp.pages_done, pages_done)
        self.cp.last_title = last_title
        self.backend.sync()  # a resume point must never run ahead of the data on disk
        self.staging.checkpoint(self.cp)
        self.seconds += time.perf_counter() - t


# -- resolving links ------------------------------------------------------------------------
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


def resolve_and_write(backend: GraphBackend, staging: Staging, config: IngestConfig,
                      written: Counter[str], counts: Counter[str]) -> None:
    """Write aliases, links and linked facts, now that every redirect is known."""
    bs = config.batch_size
    redirects = load_redirects(staging)
    titles = {row[0] for row in staging.rows("titles") if row and row[0]}

    # A stub left by an earlier, broken-off run may since have turned out to be a
    # redirect; its links now go to the target instead.
    if redirects and backend.read(Q.COUNT_ENTITIES)[0].get("stubs"):
        stale = list(redirects)
        for i in range(0, len(stale), bs):
            backend.write(Q.DELETE_STUBS, {"titles": stale[i:i + bs]})

    aliases: dict[str, list[str]] = {}
    for src, dst in redirects.items():
        if dst in titles and src not in titles:
            aliases.setdefault(dst, []).append(src)
    written["alias_sets"] += write_rows(
        backend, Q.SET_ALIASES,
        [{"title": t, "aliases": sorted(a)} for t, a in sorted(aliases.items())], bs)

    stubs_made: set[str] = set()

    def target(dst: str, src: str, kind: str) -> str | None:
        final = redirects.get(dst, dst)
        if final != dst:
            counts[f"{kind}:via_redirect"] += 1
        if final == src:
            counts[f"{kind}:self"] += 1
            return None
        if final in titles:
            return final
        if config.missing_links == "drop":
            counts[f"{kind}:dropped_missing_target"] += 1
            return None
        counts[f"{kind}:to_stub"] += 1
        return final

    def flush_stubs(rows: list[dict[str, Any]]) -> None:
        new = {r["dst"] for r in rows} - titles - stubs_made
        if new:
            stub_rows = []
            for t in sorted(new):
                r, b = rand_of(t)
                stub_rows.append({"title": t, "rand": r, "bucket": b})
            written["stubs"] += write_rows(backend, Q.UPSERT_STUBS, stub_rows, bs)
            stubs_made.update(new)

    # One row per edge within a batch (keyed dicts keep the first row): engines differ
    # on which row's ON CREATE wins when one UNWIND batch MERGEs the same edge twice.
    batch: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in staging.rows("links"):
        if len(row) < 3:
            continue
        dst = target(row[1], row[0], "links")
        if dst is None:
            continue
        batch.setdefault((row[0], dst), {"src": row[0], "dst": dst, "sentence": row[2]})
        if len(batch) >= bs:
            written["links"] += _write_edges(backend, Q.UPSERT_LINKS, batch, flush_stubs, bs)
            batch = {}
    written["links"] += _write_edges(backend, Q.UPSERT_LINKS, batch, flush_stubs, bs)

    batch = {}
    for row in staging.rows("efacts"):
        if len(row) < 5:
            continue
        dst = target(row[2], row[0], "entity_facts")
        if dst is None:
            continue
        batch.setdefault((row[0], row[1], dst), {"src": row[0], "key": row[1], "dst": dst,
                                                 "text": row[3], "raw": row[4]})
        if len(batch) >= bs:
            written["entity_facts"] += _write_edges(backend, Q.UPSERT_ENTITY_FACTS, batch,
                                                    flush_stubs, bs)
            batch = {}
    written["entity_facts"] += _write_edges(backend, Q.UPSERT_ENTITY_FACTS, batch,
                                            flush_stubs, bs)
    counts["entities:degrees_updated"] += update_degrees(backend, bs, BUCKETS)


def _write_edges(backend: GraphBackend, query: str, batch: dict[tuple[str, ...], dict[str, Any]],
                 flush_stubs: Callable[[list[dict[str, Any]]], None], bs: int) -> int:
    rows = list(batch.values())
    flush_stubs(rows)
    return write_rows(backend, query, rows, bs)


# -- the whole run --------------------------------------------------------------------------
ProgressFn = Callable[[int, int, int | None], None]


def ingest_dump(source: str, backend: GraphBackend, config: IngestConfig | None = None,
                *, progress: ProgressFn | None = None) -> IngestReport:
    """Ingest one dump (path or URL) into ``backend``. Raises DumpError after finishing
    the pages read so far if the dump breaks off; the report is on ``error.report``."""
    config = config or IngestConfig()
    t0 = time.perf_counter()
    report = IngestReport(source=source)
    staging = Staging(config.staging_root, _source_key(source), backend.uri)
    cp = staging.load() if config.resume else None
    if cp is not None and cp.finished:
        report.resumed_from = cp.pages_done
        report.pages_read = cp.pages_done
        report.skipped = {"already_finished": cp.pages_done}
        report.seconds = time.perf_counter() - t0
        return report
    if cp is None:
        staging.reset()
        cp = Checkpoint(source=source)
    else:
        staging.open_for_resume(cp)
        report.resumed_from = cp.pages_done
    apply_schema(backend)

    written: Counter[str] = Counter()
    reader = DumpReader(source)
    steps: list[Step] = [
        SkipDone(cp.pages_done),
        KeepWellFormed(),
        KeepArticles(),
        CollectRedirects(staging),
        ParseArticles(lambda: WikitextParser(
            reader.info.namespaces, disambiguation_templates=DISAMBIGUATION_TEMPLATES)),
    ]
    writer = ArticleWriter(backend, staging, cp, config, written)
    error: DumpError | None = None
    try:
        with reader:
            pages = _limited(reader.pages(), config.limit, reader, progress)
            for _ in chain(pages, [*steps, writer]):
                pass
    except DumpError as e:
        error = e
    writer.flush(reader.pages_read, reader.last_title)
    t_resolve = time.perf_counter()
    counts: Counter[str] = Counter()
    resolve_and_write(backend, staging, config, written, counts)
    finished = error is None
    cp.finished = finished and config.limit is None
    cp.counters = dict(written)
    staging.checkpoint(cp)
    staging.close()
    backend.write(Q.RECORD_DUMP, {"source": source, "props": {
        "dbname": reader.info.dbname, "sitename": reader.info.sitename,
        "lang": reader.info.lang, "pages_read": reader.pages_read, "finished": cp.finished,
        "ingested_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}})

    report.pages_read = reader.pages_read
    report.bytes_read = reader.bytes_read
    report.articles = writer.stats["articles"]
    report.redirects = steps[3].stats["redirects"]
    report.skipped = {k.split(":", 1)[1]: v for k, v in merged_stats(steps).items()
                      if k != "dropped:redirect"}
    report.resolved = dict(sorted(counts.items()))
    report.written = dict(written)
    report.parse_seconds = steps[4].seconds
    report.write_seconds = writer.seconds + (time.perf_counter() - t_resolve)
    report.seconds = time.perf_counter() - t0
    if error is not None:
        report.error = str(error)
        error.report = report  # type: ignore[attr-defined]
        raise error
    return report


def _source_key(source: str) -> str:
    if source.startswith(("http://", "https://")):
        return source
    return str(Path(source).expanduser().resolve())


def _limited(pages: Iterator[RawPage], limit: int | None, reader: DumpReader,
             progress: ProgressFn | None) -> Iterator[RawPage]:
    for page in pages:
        yield page
        if progress is not None and (page.ordinal % 50 == 0):
            progress(reader.pages_read, reader.bytes_read, reader.total_bytes)
        if limit is not None and page.ordinal >= limit:
            break
    if progress is not None:
        progress(reader.pages_read, reader.bytes_read, reader.total_bytes)
