"""Streaming reader for MediaWiki pages-articles XML dumps.

Reads a local ``.xml``/``.xml.bz2``/``.xml.gz`` file or an http(s) URL of one, page by
page, with constant memory (elements are cleared as soon as a page is yielded). Bytes
read so far (compressed, as they come off the disk or the network) are counted for
progress reporting.
"""

from __future__ import annotations

import bz2
import gzip
import io
import os
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import DumpError, SourceError
from ingest.namespaces import Namespaces


@dataclass(slots=True)
class RawPage:
    """One ``<page>`` element as read from the dump. Fields may be missing on a
    malformed page; later steps check them."""

    title: str | None
    ns: int | None
    page_id: int | None
    redirect_to: str | None
    text: str | None
    ordinal: int = 0  # 1-based position in the dump


@dataclass(slots=True)
class DumpInfo:
    """What the dump's ``<siteinfo>`` says about its wiki."""

    sitename: str = ""
    dbname: str = ""
    lang: str = ""
    namespaces: Namespaces = field(default_factory=Namespaces.default)


class CountingReader(io.RawIOBase):
    """Wraps a binary stream and counts the bytes read through it."""

    def __init__(self, raw: io.IOBase) -> None:
        self.raw = raw
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.raw.read(len(b))
        n = len(data)
        b[:n] = data
        self.bytes_read += n
        return n

    def close(self) -> None:
        try:
            self.raw.close()
        finally:
            super().close()


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class DumpReader:
    """Iterates the pages of one dump. Use as a context manager.

    >>> # with DumpReader("enwiki.xml.bz2") as r:
    >>> #     for page in r.pages(): ...
    """

    def __init__(self, source: str, *, timeout: float = 30.0) -> None:
        self.source = source
        self.timeout = timeout
        self.info = DumpInfo()
        self.total_bytes: int | None = None
        self.last_title: str | None = None
        self.pages_read = 0
        self._counter: CountingReader | None = None
        self._stream: io.IOBase | None = None
        self._bytes_closed = 0

    @property
    def bytes_read(self) -> int:
        """Compressed bytes consumed so far."""
        return self._counter.bytes_read if self._counter else self._bytes_closed

    def __enter__(self) -> DumpReader:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Open the source; raises SourceError if it cannot be read at all."""
        raw = self._open_raw()
        self._counter = CountingReader(raw)
        buffered = io.BufferedReader(self._counter, buffer_size=1 << 20)
        head = buffered.peek(4)[:4]
        if head[:3] == b"BZh":
            self._stream = bz2.BZ2File(buffered)
        elif head[:2] == b"\x1f\x8b":
            self._stream = gzip.GzipFile(fileobj=buffered)
        else:
            self._stream = buffered

    def _open_raw(self) -> io.IOBase:
        src = self.source
        if src.startswith(("http://", "https://")):
            req = urllib.request.Request(src, headers={"User-Agent": "hcsp-ingest/0.1"})
            try:
                resp = urllib.request.urlopen(req, timeout=self.timeout)
            except urllib.error.HTTPError as e:
                raise SourceError(f"cannot download {src}: HTTP {e.code} {e.reason}",
                                  hint="check the URL of the dump") from e
            except (urllib.error.URLError, OSError, ValueError) as e:
                reason = getattr(e, "reason", e)
                raise SourceError(f"cannot reach {src}: {reason}",
                                  hint="check the network, or download the dump and pass "
                                  "its local path") from e
            length = resp.headers.get("Content-Length")
            self.total_bytes = int(length) if length and length.isdigit() else None
            return resp
        path = Path(src)
        if not path.exists():
            raise SourceError(f"no such file: {src}",
                              hint="pass a pages-articles .xml or .xml.bz2 dump or an "
                              "http(s) URL of one")
        if path.is_dir():
            raise SourceError(f"{src} is a folder, not a dump file",
                              hint="pass the path of a .xml or .xml.bz2 file")
        self.total_bytes = os.path.getsize(path)
        return open(path, "rb")

    def close(self) -> None:
        """Close the underlying file or connection."""
        if self._counter is not None:
            self._bytes_closed = self._counter.bytes_read
        for s in (self._stream, self._counter):
            if s is not None:
                try:
                    s.close()
                except Exception:
                    pass
        self._stream = self._counter = None

    def pages(self) -> Iterator[RawPage]:
        """Yield each ``<page>``; raise DumpError (with the last page read) if the
        stream is truncated or is not a MediaWiki dump."""
        if self._stream is None:
            self.open()
        assert self._stream is not None
        context = ET.iterparse(self._stream, events=("start", "end"))
        root = None
        try:
            for event, elem in context:
                name = _local_name(elem.tag)
                if root is None:
                    root = elem
                    if name != "mediawiki":
                        raise DumpError(
                            f"{self.source} is not a MediaWiki XML dump: its root element "
                            f"is <{name}>, expected <mediawiki>",
                            hint="pass a pages-articles dump (e.g. "
                            "simplewiki-latest-pages-articles.xml.bz2)")
                    self.info.lang = elem.get("{http://www.w3.org/XML/1998/namespace}lang", "")
                    continue
                if event != "end":
                    continue
                if name == "siteinfo":
                    self._read_siteinfo(elem)
                    root.clear()
                elif name == "page":
                    page = self._read_page(elem)
                    root.clear()
                    self.pages_read += 1
                    page.ordinal = self.pages_read
                    yield page
                    self.last_title = page.title
        except ET.ParseError as e:
            if root is None:
                if self.bytes_read == 0:
                    raise DumpError(f"{self.source} is empty",
                                    hint="pass a pages-articles dump") from e
                raise DumpError(f"{self.source} is not a MediaWiki XML dump: it is not XML ({e})",
                                hint="pass a pages-articles .xml, .xml.bz2 or .xml.gz dump"
                                ) from e
            raise self._truncated(f"the XML is cut or malformed ({e})") from e
        except EOFError as e:
            raise self._truncated(f"the compressed stream ends early ({e})") from e
        except OSError as e:
            if self.pages_read == 0 and root is None:
                raise DumpError(f"{self.source} cannot be decompressed: {e}",
                                hint="pass an .xml, .xml.bz2 or .xml.gz dump") from e
            raise self._truncated(f"reading failed ({e})") from e
        if root is None:
            raise DumpError(f"{self.source} is empty", hint="pass a pages-articles dump")

    def _truncated(self, what: str) -> DumpError:
        last = f"'{self.last_title}' (page {self.pages_read})" if self.last_title else "none"
        return DumpError(
            f"{self.source}: {what}; last page read: {last}",
            hint="every page before it is in the graph; fix or re-download the file and "
            "rerun the same command (add --resume to skip the pages already done)",
            last_title=self.last_title, pages_read=self.pages_read)

    def _read_siteinfo(self, elem: ET.Element) -> None:
        info = self.info
        for child in elem:
            name = _local_name(child.tag)
            if name == "sitename":
                info.sitename = child.text or ""
            elif name == "dbname":
                info.dbname = child.text or ""
            elif name == "namespaces":
                for nse in child:
                    key = nse.get("key")
                    if key is not None and key.lstrip("-").isdigit() and nse.text:
                        info.namespaces.add(int(key), nse.text)

    @staticmethod
    def _read_page(elem: ET.Element) -> RawPage:
        title = ns = page_id = redirect = text = None
        for child in elem:
            name = _local_name(child.tag)
            if name == "title":
                title = child.text
            elif name == "ns":
                ns = int(child.text) if child.text and child.text.lstrip("-").isdigit() else None
            elif name == "id":
                page_id = int(child.text) if child.text and child.text.isdigit() else None
            elif name == "redirect":
                redirect = child.get("title")
            elif name == "revision":
                for rc in child:
                    if _local_name(rc.tag) == "text":
                        text = rc.text if rc.text is not None else ("" if rc.get("deleted") is None
                                                                    else None)
        return RawPage(title, ns, page_id, redirect, text)
