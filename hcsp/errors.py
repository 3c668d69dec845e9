"""The project's one error tree.

Every error a user can see derives from :class:`HcspError`. Each package subclasses it
once (``GraphError`` in graph/, ``IngestError`` in ingest/, ...). Third-party errors
are wrapped once, at the boundary where they enter our code, with ``raise ... from e``.
The message says what went wrong and what to do about it.
"""

from __future__ import annotations


class HcspError(Exception):
    """Root of every error this project raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message
