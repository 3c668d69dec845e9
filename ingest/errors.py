"""Errors raised while reading and ingesting dumps."""

from __future__ import annotations

from hcsp.errors import HcspError


class IngestError(HcspError):
    """Root of ingest/'s errors."""


class SourceError(IngestError):
    """The dump cannot be opened: a missing file, an unreachable URL."""


class DumpError(IngestError):
    """The dump is not a MediaWiki dump, or it is cut or corrupt part-way."""

    def __init__(self, message: str, *, hint: str | None = None,
                 last_title: str | None = None, pages_read: int = 0) -> None:
        super().__init__(message, hint=hint)
        self.last_title = last_title
        self.pages_read = pages_read
