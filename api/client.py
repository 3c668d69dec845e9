"""A small Python client for the API, for agent/ and train/ (they never import graph/).

    client = HcspClient("http://localhost:8000")
    items = client.request_questions(vertices=6, count=20, seed=7)
    records = [i["record"] for i in client.request_questions(count=5, full=True)]
    for record in client.stream_questions(vertices=6):   # NDJSON, full records
        ...

Retries connection errors and 502/503/504 with exponential backoff (honouring
Retry-After); other errors raise ClientError with the API's message and hint.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx

from hcsp.errors import HcspError

RETRY_STATUS = {502, 503, 504}


class ClientError(HcspError):
    """The API answered with an error, or could not be reached after retries."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None
                 ) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class HcspClient:
    """Synchronous client with retries."""

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 60.0,
                 retries: int = 4, backoff: float = 0.5,
                 transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout,
                                 transport=transport)
        self.retries = retries
        self.backoff = backoff

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> HcspClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        delay = self.backoff
        last: str = ""
        for attempt in range(self.retries + 1):
            try:
                resp = self.http.request(method, path, **kw)
            except httpx.TransportError as e:
                last = f"cannot reach {self.http.base_url}: {e}"
            else:
                if resp.status_code not in RETRY_STATUS:
                    return _checked(resp)
                last = _message(resp)
                after = resp.headers.get("Retry-After", "")
                if after.isdigit():
                    delay = max(delay, min(float(after), 30.0))
            if attempt < self.retries:
                time.sleep(delay)
                delay *= 2
        raise ClientError(f"gave up after {self.retries + 1} tries: {last}",
                          hint="check that `hcsp serve` runs and /readyz answers")

    def request_questions(self, vertices: int = 6, count: int = 10, *, seed: int = 0,
                          shape: str = "deep", k: int = 2, from_pool: bool = True,
                          full: bool = False) -> list[dict[str, Any]]:
        """POST /v1/questions: items with id, question, answer, aliases, checks, ...;
        with ``full``, each also has ``record``: the full record (tree, evidence), as
        ``tree(id)`` would read it."""
        body = {"vertices": vertices, "count": count, "seed": seed, "shape": shape, "k": k,
                "from_pool": from_pool, **({"full": True} if full else {})}
        return self._send("POST", "/v1/questions", json=body).json()["items"]

    def list_questions(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """GET /v1/questions, following cursors to the end."""
        params = {k: v for k, v in filters.items() if v is not None}
        while True:
            page = self._send("GET", "/v1/questions", params=params).json()
            yield from page["items"]
            if not page["next_cursor"]:
                return
            params["cursor"] = page["next_cursor"]

    def stream_questions(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """GET /v1/questions/stream: full records (tree, evidence, ...) one at a time."""
        params = {k: v for k, v in filters.items() if v is not None}
        resp = self._send("GET", "/v1/questions/stream", params=params)
        for line in resp.iter_lines():
            if line.strip():
                yield json.loads(line)

    def tree(self, tree_id: str) -> dict[str, Any]:
        """GET /v1/trees/{id}."""
        return self._send("GET", f"/v1/trees/{tree_id}").json()

    def stats(self) -> dict[str, Any]:
        """GET /v1/stats."""
        return self._send("GET", "/v1/stats").json()

    def ready(self) -> bool:
        """True when /readyz says the graph answers (no retries)."""
        try:
            return self.http.get("/readyz").status_code == 200
        except httpx.TransportError:
            return False


def _message(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return f"HTTP {resp.status_code}"
    if isinstance(body, dict) and "error" in body:
        return f"HTTP {resp.status_code}: {body['error']}"
    return f"HTTP {resp.status_code}: {body}"


def _checked(resp: httpx.Response) -> httpx.Response:
    if resp.status_code < 400:
        return resp
    hint = None
    try:
        body = resp.json()
        hint = body.get("hint") if isinstance(body, dict) else None
    except ValueError:
        pass
    raise ClientError(_message(resp), status=resp.status_code, hint=hint)
