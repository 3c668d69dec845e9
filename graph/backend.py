"""The small interface every graph database sits behind, and its two implementations.

Callers see rows as plain dicts of plain values (queries never return nodes or
temporal values, so both engines agree). Dialect differences live in graph.dialect.
"""

from __future__ import annotations

import os
from typing import Any, Protocol

from graph.dialect import Dialect
from graph.embedded import EmbeddedEngine
from graph.errors import GraphError, GraphUnavailable, QueryError

GRAPH_NAME = "kg"


class GraphBackend(Protocol):
    """What graph/ needs from a database connection."""

    dialect: Dialect
    uri: str

    def read(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run a read-only query; return its rows."""
        ...

    def write(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run a query that writes; return its rows (often none)."""
        ...

    def ping(self) -> None:
        """Raise GraphUnavailable unless the database answers."""
        ...

    def sync(self) -> None:
        """Return once every write so far is on disk (resume points rely on it)."""
        ...

    def close(self) -> None:
        """Release the connection (and stop an engine this backend started)."""
        ...


class FalkorBackend:
    """The embedded FalkorDB engine, reached over its unix socket."""

    dialect = Dialect.FALKORDB

    def __init__(self, path: str, *, autostart: bool = True, graph_name: str = GRAPH_NAME) -> None:
        import redis
        from falkordb import FalkorDB

        self.engine = EmbeddedEngine(path)
        self.uri = str(self.engine.path)
        status = self.engine.status()
        self.owns_engine = False
        if not status.running:
            if not autostart:
                raise GraphUnavailable(f"the embedded engine for {self.uri} is not running",
                                       hint="run `hcsp graph start`")
            self.owns_engine = self.engine.start()
            status = self.engine.status()
        self._redis_errors = (redis.ConnectionError, redis.TimeoutError)
        self._response_error = redis.ResponseError
        self.db = FalkorDB(unix_socket_path=status.socket)
        self.graph = self.db.select_graph(graph_name)
        # A write query creates the graph's key, so reads never meet a missing graph.
        self._run("RETURN 1 AS ok", None, False)

    def _run(self, query: str, params: dict[str, Any] | None,
             read_only: bool) -> list[dict[str, Any]]:
        try:
            res = (self.graph.ro_query(query, params) if read_only
                   else self.graph.query(query, params))
        except self._redis_errors as e:
            raise GraphUnavailable(f"the embedded engine at {self.uri} stopped answering: {e}",
                                   hint="run `hcsp graph status`; restart with `hcsp graph start`"
                                   ) from e
        except self._response_error as e:
            raise QueryError(f"the embedded engine rejected a query: {e}",
                             hint=f"query was: {' '.join(query.split())[:300]}") from e
        if not res.header:
            return []
        names = [h[1] if isinstance(h, list | tuple) else h for h in res.header]
        return [dict(zip(names, row, strict=True)) for row in res.result_set]

    def read(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return self._run(query, params, True)

    def write(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return self._run(query, params, False)

    def ping(self) -> None:
        try:
            self.db.connection.ping()
        except self._redis_errors as e:
            raise GraphUnavailable(f"the embedded engine at {self.uri} does not answer: {e}",
                                   hint="run `hcsp graph start`") from e

    def sync(self) -> None:
        # WAITAOF returns once the append-only file is fsynced past our last write.
        self.execute_command("WAITAOF", 1, 0, 0)

    def execute_command(self, *args: Any) -> Any:
        """Send a raw engine command (used by the dialect for DDL)."""
        try:
            return self.db.connection.execute_command(*args)
        except self._redis_errors as e:
            raise GraphUnavailable(f"the embedded engine at {self.uri} stopped answering: {e}",
                                   hint="run `hcsp graph status`; rerun the command") from e
        except self._response_error as e:
            raise QueryError(f"the embedded engine rejected {args[0]}: {e}") from e

    def close(self) -> None:
        try:
            self.db.connection.close()
        finally:
            if self.owns_engine:
                self.engine.stop()
                self.owns_engine = False


class Neo4jBackend:
    """Neo4j 5 through the official driver (Bolt)."""

    dialect = Dialect.NEO4J

    def __init__(self, uri: str, user: str, password: str, database: str | None = None) -> None:
        import neo4j
        from neo4j import exceptions as nx

        self.uri = uri
        self.database = database
        self._nx = nx
        try:
            self.driver = neo4j.GraphDatabase.driver(uri, auth=(user, password))
            self.driver.verify_connectivity()
        except nx.AuthError as e:
            raise GraphUnavailable(f"Neo4j at {uri} refused the credentials: {e.message}",
                                   hint="set HCSP_NEO4J_USER and HCSP_NEO4J_PASSWORD") from e
        except (nx.ServiceUnavailable, nx.DriverError, OSError, ValueError) as e:
            raise GraphUnavailable(f"cannot reach Neo4j at {uri}: {e}",
                                   hint="start it with `docker compose up -d neo4j`, or check "
                                   "HCSP_GRAPH_URI") from e
        self._read = neo4j.RoutingControl.READ
        self._write = neo4j.RoutingControl.WRITE

    def _run(self, query: str, params: dict[str, Any] | None, routing: Any) -> list[dict[str, Any]]:
        nx = self._nx
        try:
            records, _, _ = self.driver.execute_query(query, params or {}, routing_=routing,
                                                      database_=self.database)
        except (nx.ServiceUnavailable, nx.SessionExpired) as e:
            raise GraphUnavailable(f"Neo4j at {self.uri} stopped answering: {e}",
                                   hint="check `docker compose ps`") from e
        except nx.Neo4jError as e:
            raise QueryError(f"Neo4j rejected a query: {e.message}",
                             hint=f"query was: {' '.join(query.split())[:300]}") from e
        return [r.data() for r in records]

    def read(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return self._run(query, params, self._read)

    def write(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return self._run(query, params, self._write)

    def ping(self) -> None:
        try:
            self.driver.verify_connectivity()
        except (self._nx.ServiceUnavailable, self._nx.DriverError, OSError) as e:
            raise GraphUnavailable(f"Neo4j at {self.uri} does not answer: {e}") from e

    def sync(self) -> None:
        """Neo4j commits are durable when execute_query returns."""

    def close(self) -> None:
        self.driver.close()


def is_neo4j_uri(uri: str) -> bool:
    """True for bolt://, neo4j:// and their +s/+ssc variants."""
    return uri.split("://", 1)[0].lower() in {
        "bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc"}


def embedded_path(uri: str) -> str:
    """The folder an embedded URI names (a plain path, or file:// / falkordb:// + path)."""
    for scheme in ("file://", "falkordb://", "embedded://"):
        if uri.startswith(scheme):
            return uri[len(scheme):]
    if "://" in uri:
        raise GraphError(f"unknown graph URI scheme in {uri!r}",
                         hint="use a folder path for the embedded engine, or bolt://host:7687 "
                         "/ neo4j://host:7687 for Neo4j")
    return uri


def open_backend(uri: str, *, user: str = "neo4j", password: str = "",
                 database: str | None = None, autostart: bool = True) -> GraphBackend:
    """Open the database a URI names: Neo4j for bolt/neo4j URIs, else the embedded
    engine in that folder (started on demand unless ``autostart`` is False)."""
    if is_neo4j_uri(uri):
        return Neo4jBackend(uri, user, password, database)
    return FalkorBackend(os.path.expanduser(embedded_path(uri)), autostart=autostart)
