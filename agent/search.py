"""A local search engine over the ingested Wikipedia pages: passages and BM25.

    build_index(["enwiki.xml.bz2"], Path(".hcsp/search"))
    index = SearchIndex.load(Path(".hcsp/search"))
    index.search(["Lincoln birthplace Kentucky", "Hodgenville"], k=5)

Articles are read from the same dumps that ingest reads (agent/ never touches the
graph) and cut into passages of about ``words`` words along paragraph and sentence
boundaries, each keeping its page title. The index (bm25s) and the passages are saved
in one folder. Queries in one call are scored together (bm25s batches them).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from agent.errors import AgentError
from ingest.dump import DumpReader
from ingest.wikitext import (
    DISAMBIGUATION_TEMPLATES,
    WikitextParser,
    normalize_title,
    split_sentences,
)

PASSAGES = "passages.jsonl"
META = "meta.json"
BM25_DIR = "bm25"
# bm25s scores large indexes with numba (a dependency): at 1M passages ~250x the queries/s
# of its numpy scorer, same scores. Compiling takes ~5 s at a process's first query, so
# small indexes (numpy: ~1 ms a query at 10k passages) keep numpy.
NUMBA_FROM = 100_000


def backend_for(passages: int) -> str:
    """The bm25s scorer for an index of this many passages."""
    import importlib.util

    if passages >= NUMBA_FROM and importlib.util.find_spec("numba") is not None:
        return "numba"
    return "numpy"
_TOKEN = re.compile(r"(?u)\b\w\w+\b")


@dataclass(slots=True)
class Passage:
    """A piece of one page's text."""

    id: int
    title: str
    text: str


@dataclass(slots=True)
class Hit:
    """One search result."""

    title: str
    text: str
    score: float
    passage: int


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens (any script), two characters or more.

    >>> tokenize("Rēzne aba Rēzekne - mīsts Latgolā, 1285.")
    ['rēzne', 'aba', 'rēzekne', 'mīsts', 'latgolā', '1285']
    """
    return _TOKEN.findall(text.lower())


def passages_of(title: str, paragraphs: list[str], words: int = 100) -> list[str]:
    """Cut an article into passages of about ``words`` words at sentence boundaries."""
    out: list[str] = []
    current: list[str] = []
    size = 0
    for para in paragraphs:
        for sentence in split_sentences(para):
            n = len(sentence.split())
            if size and size + n > words:
                out.append(" ".join(current))
                current, size = [], 0
            current.append(sentence)
            size += n
    if current:
        out.append(" ".join(current))
    return out


def iter_passages(sources: list[str], words: int = 100, limit: int | None = None
                  ) -> Iterator[tuple[str, str]]:
    """(title, passage text) for every article of the dumps (redirects and other
    namespaces skipped; disambiguation pages kept: they are searchable text)."""
    seen: set[str] = set()
    for source in sources:
        with DumpReader(source) as reader:
            parser: WikitextParser | None = None
            for i, page in enumerate(reader.pages()):
                if limit is not None and i >= limit:
                    break
                if page.ns != 0 or page.redirect_to or not page.title or not page.text:
                    continue
                title = normalize_title(page.title)
                if title in seen:
                    continue
                seen.add(title)
                if parser is None:
                    parser = WikitextParser(reader.info.namespaces,
                                            disambiguation_templates=DISAMBIGUATION_TEMPLATES)
                for text in passages_of(title, parser.paragraphs(page.text), words):
                    yield title, text


@dataclass
class IndexMeta:
    """What an index was built from."""

    sources: list[str]
    passages: int
    pages: int
    words: int
    seconds: float
    built_at: str


def build_index(sources: list[str], out: Path, *, words: int = 100, limit: int | None = None,
                progress: Callable[[int], None] | None = None) -> IndexMeta:
    """Build and save a BM25 index of the dumps' passages into ``out``."""
    import bm25s

    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    texts: list[list[str]] = []
    titles: set[str] = set()
    with open(out / (PASSAGES + ".tmp"), "w", encoding="utf-8") as fh:
        for i, (title, text) in enumerate(iter_passages(sources, words, limit)):
            fh.write(json.dumps(asdict(Passage(i, title, text)), ensure_ascii=False) + "\n")
            texts.append(tokenize(f"{title} {text}"))
            titles.add(title)
            if progress is not None and i % 1000 == 0:
                progress(i)
    if not texts:
        raise AgentError(f"no article text found in {', '.join(sources)}",
                         hint="pass pages-articles dumps with namespace-0 pages")
    retriever = bm25s.BM25(backend=backend_for(len(texts)))
    retriever.index(texts, show_progress=False)
    retriever.save(str(out / BM25_DIR))
    (out / (PASSAGES + ".tmp")).replace(out / PASSAGES)
    meta = IndexMeta([str(s) for s in sources], len(texts), len(titles), words,
                     round(time.perf_counter() - t0, 3),
                     time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    (out / META).write_text(json.dumps(asdict(meta), indent=1))
    return meta


class SearchIndex:
    """A saved index, loaded for searching."""

    def __init__(self, retriever: object, passages: list[Passage], meta: dict[str, object]
                 ) -> None:
        self.retriever = retriever
        self.passages = passages
        self.meta = meta
        self.vocab: dict[str, int] = getattr(retriever, "vocab_dict", {}) or {}

    @classmethod
    def load(cls, path: Path, backend: str | None = None) -> SearchIndex:
        """Load an index folder written by :func:`build_index`; ``backend`` (numpy or
        numba) overrides the scorer chosen by size."""
        import bm25s

        if not (path / META).exists() or not (path / PASSAGES).exists():
            raise AgentError(f"no search index in {path}",
                             hint="build one with `hcsp agent index DUMP ...`")
        meta = json.loads((path / META).read_text())
        retriever = bm25s.BM25.load(str(path / BM25_DIR),
                                    backend=backend or backend_for(int(meta.get("passages", 0))))
        with open(path / PASSAGES, encoding="utf-8") as fh:
            passages = [Passage(**json.loads(line)) for line in fh]
        return cls(retriever, passages, meta)

    def search(self, queries: list[str], k: int = 5) -> list[list[Hit]]:
        """The top ``k`` passages for each query (an empty list when no word of the
        query occurs in the corpus)."""
        if k < 1:
            raise AgentError(f"k must be at least 1, not {k}")
        k = min(k, len(self.passages))
        tokens = [[t for t in tokenize(q) if t in self.vocab] for q in queries]
        results: list[list[Hit]] = [[] for _ in queries]
        todo = [i for i, t in enumerate(tokens) if t]
        if not todo:
            return results
        docs, scores = self.retriever.retrieve(  # type: ignore[attr-defined]
            [tokens[i] for i in todo], k=k, show_progress=False, n_threads=1)
        for row, i in enumerate(todo):
            for doc, score in zip(docs[row], scores[row], strict=True):
                if score <= 0:
                    continue
                p = self.passages[int(doc)]
                results[i].append(Hit(p.title, p.text, round(float(score), 4), p.id))
        return results
