"""Dependencies: the graph (opened once, reopened after an outage), settings, auth, and
the app's state (api.state)."""

from __future__ import annotations

import os
import secrets
import threading
import time
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import ApiError
from api.state import Generation, TreeCache
from graph.backend import GraphBackend, engine_info, open_backend
from graph.errors import GraphUnavailable
from graph.schema import migrate
from hcsp.settings import Settings


class GraphHandle:
    """The API's one connection. If the graph is down at start or goes down later,
    requests get 503 (with Retry-After) and the handle retries (at most once every
    ``retry_every`` seconds, 1 by default) until it is back; no restart of the API is
    needed. An embedded engine that this handle starts is also supervised: restarted
    when it dies (graph.embedded). One that ``hcsp serve``'s parent process started is
    supervised there; one that runs on its own (``hcsp graph start``, Neo4j) is only
    reconnected to.

    That limit holds while the engine is as it was at the failed try: an embedded
    engine that has come back since (another pid, or running now), or whose supervisor
    went away or gave up (this handle may start it now), is tried at once. Otherwise a
    worker that tried while its parent was restarting the engine answered 503 for up
    to a second after the others were serving again."""

    def __init__(self, settings: Settings, uri: str | None = None, *,
                 retry_every: float = 1.0) -> None:
        self.settings = settings
        self.uri = uri or settings.graph_uri
        self.retry_every = retry_every
        self._backend: GraphBackend | None = None
        self._lock = threading.Lock()
        self._last_try = 0.0
        self._engine_at_try: tuple[object, ...] | None = None
        self.last_error: str | None = None

    def get(self) -> GraphBackend:
        """The open backend, or GraphUnavailable."""
        if self._backend is not None:
            return self._backend
        with self._lock:
            if self._backend is None:
                engine = self._engine_state()
                if (self.last_error and engine == self._engine_at_try
                        and time.monotonic() - self._last_try < self.retry_every):
                    raise GraphUnavailable(f"the graph is unavailable: {self.last_error}",
                                           hint="retry shortly; see /readyz")
                self._last_try, self._engine_at_try = time.monotonic(), engine
                s = self.settings
                try:
                    backend = open_backend(self.uri, user=s.neo4j_user,
                                           password=s.neo4j_password.get_secret_value(),
                                           database=s.neo4j_database, supervise=True)
                    try:
                        migrate(backend)  # an older graph is brought up to date once
                    except BaseException:
                        backend.close()  # (and the engine it started, and its supervisor)
                        raise
                except GraphUnavailable as e:
                    self.last_error = e.message
                    raise
                self._backend, self.last_error = backend, None
        return self._backend

    def _engine_state(self) -> tuple[object, ...]:
        """What says the engine changed: whether it runs, its pid, its restarts, its
        supervisor and whether that gave up (a state file read for the embedded
        engine; constant for Neo4j)."""
        try:
            info = engine_info(self.uri)
        except (OSError, ValueError):
            return ()
        return tuple(info.get(k) for k in ("running", "pid", "restarts", "supervisor_pid",
                                           "gave_up"))

    def check(self) -> None:
        """Ping the graph; GraphUnavailable if it does not answer."""
        self.get().ping()

    def engine_info(self) -> dict[str, object]:
        """The engine behind the graph (graph.backend engine_info), from this API's
        side: ``owned`` is true when this API (this process or the `hcsp serve` parent
        of its workers) started it."""
        backend = self._backend
        info = backend.engine_info() if backend is not None else engine_info(self.uri)
        owner = info.get("owner_pid")
        return {**info, "owned": owner is not None and owner in (os.getpid(), os.getppid())}

    def close(self) -> None:
        with self._lock:
            if self._backend is not None:
                self._backend.close()
                self._backend = None


async def get_handle(request: Request) -> GraphHandle:
    return request.app.state.graph


def get_backend(handle: Annotated[GraphHandle, Depends(get_handle)]) -> GraphBackend:
    return handle.get()


async def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


_bearer = HTTPBearer(auto_error=False)


def _token_ok(settings: Settings, creds: HTTPAuthorizationCredentials | None) -> bool:
    if settings.api_token is None or creds is None:
        return False
    return secrets.compare_digest(creds.credentials, settings.api_token.get_secret_value())


async def require_admin(settings: Annotated[Settings, Depends(get_app_settings)],
                  creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
                  ) -> None:
    """Admin operations need the bearer token from HCSP_API_TOKEN."""
    if settings.api_token is None:
        raise ApiError(403, "admin operations are disabled: no API token is configured",
                       hint="set HCSP_API_TOKEN and send it as 'Authorization: Bearer ...'")
    if not _token_ok(settings, creds):
        raise ApiError(401, "a valid bearer token is required for this operation",
                       hint="send 'Authorization: Bearer <HCSP_API_TOKEN>'",
                       headers={"WWW-Authenticate": "Bearer"})


async def require_reader(settings: Annotated[Settings, Depends(get_app_settings)],
                   creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
                   ) -> None:
    """Reads are open unless HCSP_API_PROTECT_READS is set."""
    if settings.api_protect_reads and not _token_ok(settings, creds):
        raise ApiError(401, "this API requires a bearer token for reads",
                       hint="send 'Authorization: Bearer <HCSP_API_TOKEN>'",
                       headers={"WWW-Authenticate": "Bearer"})


BackendDep = Annotated[GraphBackend, Depends(get_backend)]
HandleDep = Annotated[GraphHandle, Depends(get_handle)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
Admin = Depends(require_admin)
Reader = Depends(require_reader)


async def get_generation(request: Request) -> Generation:
    return request.app.state.generation


async def get_trees(request: Request) -> TreeCache:
    return request.app.state.trees


GenerationDep = Annotated[Generation, Depends(get_generation)]
TreesDep = Annotated[TreeCache, Depends(get_trees)]
