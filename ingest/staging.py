"""On-disk staging for one ingest run, so a run can resume and links can be resolved.

Links and linked infobox values can only be resolved once every redirect is known,
which for a streamed dump is at its end; degrees (popularity) only once every link
is. So everything a page yields is appended to files here while pages stream, and
loaded into the graph when the dump ends (or breaks off): by bulk insertion into an
empty embedded graph, else by batched MERGEs. A checkpoint records how many dump
pages are fully staged and how long each file was at that moment, so ``--resume``
cuts off anything written after it and skips the pages before it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FILES = ("titles", "redirects", "links", "efacts", "entities", "facts", "cats")


def _clean(s: str) -> str:
    return s.replace("\t", " ").replace("\n", " ").replace("\r", " ")


@dataclass(slots=True)
class Checkpoint:
    """What a run had finished when it last saved its state."""

    source: str
    pages_done: int = 0
    last_title: str | None = None
    phase: str = "reading"  # "reading" -> "loading" -> "done"
    finished: bool = False  # done, and the whole dump was read
    info: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)


class Staging:
    """The staging folder of one (source, graph) pair."""

    def __init__(self, root: Path, source: str, graph_uri: str) -> None:
        key = hashlib.sha1(f"{source}\n{graph_uri}".encode()).hexdigest()[:16]
        self.dir = Path(root) / key
        self.source = source
        self._handles: dict[str, Any] = {}

    def path(self, name: str) -> Path:
        ext = "jsonl" if name in ("entities", "facts") else "tsv"
        return self.dir / f"{name}.{ext}"

    # -- state ----------------------------------------------------------------------------
    def load(self) -> Checkpoint | None:
        """The last checkpoint, or None if there is none."""
        try:
            data = json.loads((self.dir / "state.json").read_text())
        except (OSError, ValueError):
            return None
        return Checkpoint(**data)

    def reset(self) -> None:
        """Start over: remove every staged file."""
        self.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True, exist_ok=True)

    def open_for_resume(self, cp: Checkpoint) -> None:
        """Cut every file back to its size at the checkpoint."""
        self.dir.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            p = self.path(name)
            size = cp.sizes.get(name, 0)
            if p.exists() and p.stat().st_size > size:
                with open(p, "r+b") as fh:
                    fh.truncate(size)

    def checkpoint(self, cp: Checkpoint) -> None:
        """Flush the files and record ``cp`` atomically."""
        for name, fh in self._handles.items():
            fh.flush()
            os.fsync(fh.fileno())
            cp.sizes[name] = fh.tell()
        for name in FILES:
            if name not in self._handles:
                p = self.path(name)
                cp.sizes[name] = p.stat().st_size if p.exists() else 0
        tmp = self.dir / "state.json.tmp"
        tmp.write_text(json.dumps(asdict(cp)))
        os.replace(tmp, self.dir / "state.json")

    # -- appending --------------------------------------------------------------------------
    def _fh(self, name: str) -> Any:
        fh = self._handles.get(name)
        if fh is None:
            self.dir.mkdir(parents=True, exist_ok=True)
            fh = open(self.path(name), "a", encoding="utf-8", buffering=1 << 20)  # noqa: SIM115
            self._handles[name] = fh
        return fh

    def add_title(self, title: str) -> None:
        self._fh("titles").write(title + "\n")

    def add_redirect(self, source: str, target: str) -> None:
        self._fh("redirects").write(f"{source}\t{target}\n")

    def add_link(self, src: str, dst: str, sentence: str, anchor: str | None) -> None:
        """One body link: its sentence, and the text it shows there (its anchor)."""
        self._fh("links").write(f"{src}\t{dst}\t{_clean(sentence)}\t{_clean(anchor or '')}\n")

    def add_entity_fact(self, src: str, key: str, dst: str, text: str, raw: str) -> None:
        self._fh("efacts").write(f"{src}\t{key}\t{dst}\t{_clean(text)}\t{_clean(raw)}\n")

    def add_entity(self, row: dict[str, Any]) -> None:
        self._fh("entities").write(json.dumps(row, ensure_ascii=False) + "\n")

    def add_fact(self, row: dict[str, Any]) -> None:
        self._fh("facts").write(json.dumps(row, ensure_ascii=False) + "\n")

    def add_category(self, title: str, name: str) -> None:
        self._fh("cats").write(f"{title}\t{_clean(name)}\n")

    def close(self) -> None:
        for fh in self._handles.values():
            fh.close()
        self._handles.clear()

    # -- reading ----------------------------------------------------------------------------
    def _lines(self, name: str) -> Iterator[str]:
        fh = self._handles.get(name)
        if fh is not None:
            fh.flush()  # what this run appended so far is part of the file
        p = self.path(name)
        if not p.exists():
            return
        with open(p, encoding="utf-8") as f:
            yield from f

    def records(self, name: str) -> Iterator[dict[str, Any]]:
        """The staged JSON records of one file."""
        for line in self._lines(name):
            yield json.loads(line)

    def rows(self, name: str) -> Iterator[list[str]]:
        """The staged rows of one file, split on tabs."""
        for line in self._lines(name):
            yield line.rstrip("\n").split("\t")
