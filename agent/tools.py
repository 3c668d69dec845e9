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


# queries one request may carry (the service refuses more); longer lists are split
REQUEST_QUERIES = 32


class HttpSearch:
    """The search service over HTTP. Lists of more than ``REQUEST_QUERIES`` queries go
    as several requests; a request that cannot connect or gets a 5xx is tried again
    (``retries`` times, waiting 0.5 s, 1 s, ...): a long training run should outlive a
    service restart."""

    def __init__(self, url: str, timeout: float = 30.0, retries: int = 3) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.name = self.url
        self.http = httpx.Client(timeout=timeout)
        self.retries = retries

    def search(self, queries: list[str], k: int = 5) -> list[list[Hit]]:
        out: list[list[Hit]] = []
        for lo in range(0, len(queries), REQUEST_QUERIES):
            out += self._request(queries[lo:lo + REQUEST_QUERIES], k)
        return out

    def _request(self, queries: list[str], k: int) -> list[list[Hit]]:
        import time

        import httpx

        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                resp = self.http.post(f"{self.url}/search", json={"queries": queries, "k": k})
            except httpx.HTTPError as e:
                if last:
                    raise SearchError(f"search service {self.url} unreachable: {e}",
                                      hint="start it with `hcsp agent serve-search`") from e
            else:
                if resp.status_code == 200:
                    return [[Hit(h["title"], h["text"], h["score"], h["passage"]) for h in row]
                            for row in resp.json()["results"]]
                if resp.status_code < 500 or last:
                    raise SearchError(f"search service {self.url} answered "
                                      f"{resp.status_code}: {resp.text[:200]}")
            time.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")


def open_search(spec: str | Path) -> SearchTool:
    """An index folder, or the URL of a search service."""
    s = str(spec)
    if s.startswith(("http://", "https://")):
        return HttpSearch(s)
    return LocalSearch(SearchIndex.load(Path(s)), name=s)
