"""The search tool the agent calls: the local index in-process, or the HTTP service
(``hcsp agent serve-search``) that training rollouts share."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from agent.errors import AgentError
from agent.search import Hit, SearchIndex


class SearchError(AgentError):
    """The search tool failed (service down, bad response)."""


class SearchTool(Protocol):
    """``search(queries, k)``: the top ``k`` hits of every query, searched together."""

    name: str

    def search(self, queries: list[str], k: int = 5) -> list[list[Hit]]: ...


class LocalSearch:
    """The index loaded in this process."""

    def __init__(self, index: SearchIndex, name: str = "local") -> None:
        self.index = index
        self.name = name

    def search(self, queries: list[str], k: int = 5) -> list[list[Hit]]:
        return self.index.search(queries, k)


class HttpSearch:
    """The search service over HTTP."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.name = self.url
        self.http = httpx.Client(timeout=timeout)

    def search(self, queries: list[str], k: int = 5) -> list[list[Hit]]:
        import httpx

        try:
            resp = self.http.post(f"{self.url}/search", json={"queries": queries, "k": k})
        except httpx.HTTPError as e:
            raise SearchError(f"search service {self.url} unreachable: {e}",
                              hint="start it with `hcsp agent serve-search`") from e
        if resp.status_code != 200:
            raise SearchError(f"search service {self.url} answered {resp.status_code}: "
                              f"{resp.text[:200]}")
        return [[Hit(h["title"], h["text"], h["score"], h["passage"]) for h in row]
                for row in resp.json()["results"]]


def open_search(spec: str | Path) -> SearchTool:
    """An index folder, or the URL of a search service."""
    s = str(spec)
    if s.startswith(("http://", "https://")):
        return HttpSearch(s)
    return LocalSearch(SearchIndex.load(Path(s)), name=s)
