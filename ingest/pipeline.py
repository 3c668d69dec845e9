"""Ingest one dump into the graph: read, filter, parse, stage, then load.

    ingest_dump("enwiki.xml.bz2", backend, IngestConfig())

Pages stream through steps (see ingest.steps) into a staging folder on disk
(ingest.staging), with a resume point every few thousand articles. When the dump
ends, the staged pages are loaded (ingest.load): links resolved through redirects,
stubs for missing targets, degrees; by bulk insert into an empty embedded graph, else
by idempotent MERGE batches, so a rerun leaves every count unchanged. If the dump
breaks off part-way, the pages read so far are loaded before the error is raised.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph import queries as Q
from graph import summary
from graph.backend import GraphBackend
from graph.neo4j_csv import Neo4jCsvWriter
from graph.store import exclusive_writer
from ingest.dump import DumpReader, RawPage
from ingest.errors import DumpError, IngestError
from ingest.load import BulkLoader, LoadProgress, Resolver, choose_loader, rand_of
from ingest.staging import Checkpoint, Staging
from ingest.steps import MapStep, PageFilter, Skip, Step, chain, merged_stats
from ingest.values import category_year_facts, infobox_facts
from ingest.wikitext import (
    DISAMBIGUATION_TEMPLATES,
    WikitextParser,
    infobox_name,
    lead_definition,
    normalize_title,
)

_RE_BAD_TITLE = re.compile(r"[\[\]{}|<>\x00-\x1f]")


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
    bulk: bool | None = None
    """Load with the embedded engine's bulk insert when the graph is empty (None: when
    possible; False: always MERGE batches)."""
    neo4j_csv: Path | None = None
    """Write neo4j-admin import CSV files here instead of loading a graph."""

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
    loader: str = ""
    """'bulk' (insert into an empty embedded graph) or 'merge' (batched MERGEs)."""
    seconds: float = 0.0
    parse_seconds: float = 0.0
    load_seconds: float = 0.0
    bytes_read: int = 0
    error: str | None = None


@dataclass(slots=True)
class Article:
    """An article ready to be written."""

    title: str
    page_id: int | None
    ordinal: int
    description: str | None
    disambiguation: bool
    text_bytes: int
    links: list[tuple[str, str, str]]
    """(target as written, sentence, anchor) per body link."""
    categories: list[str]
    facts: list[Any]
    infobox: str | None = None
    """The infobox template's name ("Infobox officeholder", "Speciesbox"), or None."""
    short_description: str | None = None
    """The {{Short description}} text only (``description`` falls back to the lead)."""


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
        categories = sorted(set(parsed.categories))
        # "1862 births" gives a birth year where the infobox gave no date of its own.
        dated = {f.key for f in facts if f.kind in ("date", "year")}
        facts += category_year_facts(categories, dated)
        title = normalize_title(page.title or "")
        short = parsed.short_description[:300] if parsed.short_description else None
        desc = short or lead_definition(parsed.lead, title) or parsed.first_sentence
        disamb = parsed.disambiguation or title.endswith("(disambiguation)")
        return Article(
            title=title, page_id=page.page_id, ordinal=page.ordinal,
            description=desc[:300] if desc else None, disambiguation=disamb,
            text_bytes=len(text.encode("utf-8", "replace")),
            links=[(lk.target, lk.sentence, lk.anchor) for lk in parsed.links
                   if lk.target != title],
            categories=categories, facts=facts,
            infobox=infobox_name(parsed.infobox.name) if parsed.infobox else None,
            short_description=short,
        )


# -- staging ------------------------------------------------------------------------------
class ArticleStager(Step):
    """Stages everything an article yields (see ingest.staging) and saves a resume
    point every ``checkpoint_every`` articles. Nothing touches the graph here."""

    name = "stage"

    def __init__(self, staging: Staging, cp: Checkpoint, config: IngestConfig) -> None:
        super().__init__()
        self.staging, self.cp, self.config = staging, cp, config
        self.seen: set[str] = {row[0] for row in staging.rows("titles") if row}
        self.pending = 0

    def run(self, items: Iterable[Article]) -> Iterator[Article]:
        for art in items:
            t = time.perf_counter()
            if art.title in self.seen:
                self.reject("duplicate_title")  # the first page of a title wins
            else:
                self.add(art)
                if self.pending >= self.config.checkpoint_every:
                    self.checkpoint(art.ordinal, art.title)
            self.seconds += time.perf_counter() - t
            yield art

    def add(self, art: Article) -> None:
        st = self.staging
        self.seen.add(art.title)
        r, bucket = rand_of(art.title)
        st.add_title(art.title)
        st.add_entity({
            "title": art.title, "page_id": art.page_id, "description": art.description,
            "infobox": art.infobox, "short_description": art.short_description,
            "disambiguation": art.disambiguation, "rand": r, "bucket": bucket,
            "text_bytes": art.text_bytes})
        seen: Counter[str] = Counter()
        for f in art.facts:
            if f.kind == "entity":
                st.add_entity_fact(art.title, f.key, f.target, f.text, f.raw)
                continue
            n = seen[f.key]
            seen[f.key] += 1
            st.add_fact({
                "title": art.title, "id": f"{art.title}\x1f{f.key}\x1f{n}", "key": f.key,
                "kind": f.kind, "text": f.text, "raw": f.raw, "num": f.num, "num_hi": f.num_hi,
                "unit": f.unit,
                "year": f.year, "month": f.month, "day": f.day, "date": f.date})
        for name in art.categories:
            st.add_category(art.title, name)
        for dst, sentence, anchor in art.links:
            st.add_link(art.title, dst, sentence, anchor)
        self.stats["articles"] += 1
        self.pending += 1

    def checkpoint(self, pages_done: int, last_title: str | None) -> None:
        """Flush the staged files to disk and record ``pages_done`` as a resume point."""
        self.cp.pages_done = max(self.cp.pages_done, pages_done)
        self.cp.last_title = last_title
        self.staging.checkpoint(self.cp)
        self.pending = 0


# -- the whole run --------------------------------------------------------------------------
ProgressFn = Callable[[int, int, int | None], None]


def ingest_dump(source: str, backend: GraphBackend | None,
                config: IngestConfig | None = None,
                *, progress: ProgressFn | None = None,
                load_progress: LoadProgress | None = None) -> IngestReport:
    """Ingest one dump (path or URL) into ``backend``. If the dump breaks off, the
    pages read so far are loaded, then DumpError is raised (the report is on
    ``error.report``)."""
    config = config or IngestConfig()
    if config.neo4j_csv is not None:  # files for neo4j-admin; no graph is touched
        return _ingest(source, None, config, progress, load_progress)
    if backend is None:
        raise IngestError("ingest needs a graph (or IngestConfig.neo4j_csv for files)")
    with exclusive_writer(backend):  # one ingest at a time into an embedded graph
        return _ingest(source, backend, config, progress, load_progress)


def _ingest(source: str, backend: GraphBackend | None, config: IngestConfig,
            progress: ProgressFn | None, load_progress: LoadProgress | None) -> IngestReport:
    t0 = time.perf_counter()
    report = IngestReport(source=source)
    target = str(config.neo4j_csv) if backend is None else backend.uri
    staging = Staging(config.staging_root, _source_key(source), target)
    cp = staging.load() if config.resume else None
    if cp is not None and cp.finished:
        if backend is not None and not summary.read_summary_stored(backend):
            summary.refresh(backend)  # the finished run was stopped before it summarized
        report.resumed_from = report.pages_read = cp.pages_done
        report.skipped = {"already_finished": cp.pages_done}
        report.seconds = time.perf_counter() - t0
        return report
    if cp is None:
        staging.reset()
        cp = Checkpoint(source=source)
    else:
        staging.open_for_resume(cp)
        report.resumed_from = cp.pages_done
        if cp.phase == "done":  # an earlier run stopped early (--limit, a cut dump)
            cp.phase = "reading"

    error: DumpError | None = None
    steps: list[Step] = []
    stager = ArticleStager(staging, cp, config)
    reader = DumpReader(source)
    redirects = CollectRedirects(staging)
    parse = ParseArticles(lambda: WikitextParser(
        reader.info.namespaces, disambiguation_templates=DISAMBIGUATION_TEMPLATES))
    if cp.phase == "reading":
        steps = [SkipDone(cp.pages_done), KeepWellFormed(), KeepArticles(), redirects, parse]
        try:
            with reader:
                pages = _limited(reader.pages(), config.limit, reader, progress)
                for _ in chain(pages, [*steps, stager]):
                    pass
        except DumpError as e:
            error = e
        info = reader.info
        cp.info = {"dbname": info.dbname, "sitename": info.sitename, "lang": info.lang}
        stager.checkpoint(reader.pages_read, reader.last_title)
        cp.phase = "loading"
        staging.checkpoint(cp)
    t_load = time.perf_counter()

    written: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    resolver = Resolver(staging, config.missing_links, counts)
    loader: Any
    if backend is None:
        assert config.neo4j_csv is not None
        writer = Neo4jCsvWriter(config.neo4j_csv)
        loader = BulkLoader(None, load_progress, writer=writer)
        loader.name = "neo4j-csv"
        loader.load(staging, resolver, written)
    else:
        summary.invalidate(backend)  # until refreshed below: a kill leaves none, not a wrong one
        loader = choose_loader(backend, config.batch_size, config.bulk, load_progress)
        loader.load(staging, resolver, written)
        backend.sync()
    cp.phase = "done"
    cp.finished = error is None and config.limit is None
    cp.counters = dict(written)
    staging.checkpoint(cp)
    staging.close()
    dump_props = {**cp.info, "pages_read": cp.pages_done, "finished": cp.finished,
                  "ingested_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if backend is None:  # the (:Dump) node as the batched path writes it, as one more file
        writer.record_dump(_source_key(source), dump_props)
    else:
        backend.write(Q.RECORD_DUMP, {"source": _source_key(source), "props": dump_props})
        if load_progress is not None:
            load_progress("summary", 0)
        summary.refresh(backend)
        backend.sync()

    report.pages_read = cp.pages_done
    report.bytes_read = reader.bytes_read
    report.articles = stager.stats["articles"]
    report.redirects = redirects.stats["redirects"]
    report.skipped = {k.split(":", 1)[1]: v
                      for k, v in merged_stats([*steps, stager]).items()
                      if k != "dropped:redirect"}
    report.resolved = dict(sorted(counts.items()))
    report.written = dict(written)
    report.loader = loader.name
    report.parse_seconds = parse.seconds
    report.load_seconds = time.perf_counter() - t_load
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
