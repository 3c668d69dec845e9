"""The small interface every graph database sits behind, and its two implementations.

Callers see rows as plain dicts of plain values (queries never return nodes or
temporal values, so both engines agree). Dialect differences live in graph.dialect.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any, Protocol

from graph.dialect import Dialect
from graph.embedded import EmbeddedEngine, EngineSupervisor
from graph.errors import GraphError, GraphUnavailable, QueryError

GRAPH_NAME = "kg"
_INDEX_STATUS = "CALL db.indexes() YIELD label, status RETURN label, status"
_REL_TYPES = "CALL db.relationshipTypes() YIELD relationshipType RETURN relationshipType AS t"
log = logging.getLogger(__name__)


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

    def engine_info(self) -> dict[str, Any]:
        """What runs the database: kind, pid, uptime, owned/supervised, restarts."""
        ...


class FalkorBackend:
    """The embedded FalkorDB engine, reached over its unix socket."""

    dialect = Dialect.FALKORDB

    def __init__(self, path: str, *, autostart: bool = True, graph_name: str = GRAPH_NAME,
                 supervise: bool = False) -> None:
        """``supervise``: if this backend starts (or adopts) the engine, restart it when
        it dies (graph.embedded.EngineSupervisor) until close()."""
        import redis
        from falkordb import FalkorDB

        self.engine = EmbeddedEngine(path)
        self.uri = str(self.engine.path)
        status = self.engine.status()
        self.owns_engine = False
        self._supervisor: EngineSupervisor | None = None
        if not status.running and not autostart:
            raise GraphUnavailable(f"the embedded engine for {self.uri} is not running",
                                   hint="run `hcsp graph start`")
        try:
            # start() also adopts an engine whose owner was killed (then we own it).
            self.owns_engine = autostart and self.engine.start()
            status = self.engine.status()
            if self.owns_engine and supervise:
                self._supervisor = EngineSupervisor(self.engine).start()
            self._redis_errors = (redis.ConnectionError, redis.TimeoutError)
            self._redis_connection_error = redis.ConnectionError
            self._response_error = redis.ResponseError
            self.db = FalkorDB(unix_socket_path=status.socket or self.engine.socket_path)
            self.graph = self.db.select_graph(graph_name)
            self._pool = self.db.connection.connection_pool
            self._local = threading.local()
            self._epoch = 0  # one more at each close(): connections made before are not used
            self._conns_lock = threading.Lock()
            # Each thread's connection, for close(); one whose thread ended is let go
            # (and closed) with that thread's local. Set last: _disconnect_all needs
            # the two above.
            self._conns: weakref.WeakSet[Any] = weakref.WeakSet()
            # A write query creates the graph's key, so reads never meet a missing graph.
            self._run("RETURN 1 AS ok", None, False)
            self.index_wait_s = self.wait_for_indexes()
            self.warm_s = self.warm()
        except BaseException:
            if hasattr(self, "_conns"):
                self._disconnect_all()
            self._release_engine()
            raise

    def wait_for_indexes(self, timeout: float = 900.0) -> float:
        """Wait until every index is built; returns the seconds waited. The engine does
        not keep its indexes on disk: it rebuilds them in the background after each
        start (~20 s for a 1M-entity graph), and until then an index lookup is a scan
        of every node (a title lookup took 290 ms instead of 0.1 ms at 1M)."""
        t0 = time.monotonic()
        while True:
            building = [r for r in self._run(_INDEX_STATUS, None, True)
                        if r["status"] != "OPERATIONAL"]
            if not building:
                return time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                log.warning("the embedded engine at %s is still building indexes after "
                            "%.0f s (%s); going on, slowly", self.uri, timeout,
                            ", ".join(f"{r['label']} {r['status']}" for r in building))
                return time.monotonic() - t0
            time.sleep(0.05)

    def warm(self) -> float:
        """Touch every relationship type once; returns the seconds it took. After a
        start the engine prepares a type's edges at their first traversal (0.7-0.9 s
        for the 1M synthetic graph's links): here, not inside the first sampled tree
        or request."""
        t0 = time.monotonic()
        try:
            for r in self._run(_REL_TYPES, None, True):
                self._run(f"MATCH ()-[r:`{r['t']}`]->() RETURN 1 AS ok LIMIT 1", None, True)
        except (GraphUnavailable, QueryError) as e:  # only a head start: never fatal here
            log.warning("could not warm the embedded engine at %s: %s", self.uri, e)
        return time.monotonic() - t0

    def _run(self, query: str, params: dict[str, Any] | None,
             read_only: bool) -> list[dict[str, Any]]:
        command = ("GRAPH.RO_QUERY" if read_only else "GRAPH.QUERY", self.graph.name,
                   self.graph._build_params_header(params) + query, "--compact")
        try:
            reply = self._send(command, read_only)
            return self._rows(reply)
        except self._redis_errors as e:
            raise GraphUnavailable(f"the embedded engine at {self.uri} stopped answering: {e}",
                                   hint=self._down_hint()) from e
        except self._response_error as e:
            raise QueryError(f"the embedded engine rejected a query: {e}",
                             hint=f"query was: {' '.join(query.split())[:300]}") from e

    def _send(self, command: tuple[str, ...], read_only: bool, resend: bool = True) -> Any:
        """One command on this thread's own connection, sent and read directly: the
        client's pooled path (a connection taken from the pool and given back, retry
        and response-callback layers) cost 110-130 us of Python a query, this one
        ~60 us, at ~28 queries a 6-vertex tree.

        A connection to an engine that was restarted (by its supervisor, perhaps in
        another process) is dead until used once. A command it could not send is sent
        again on a fresh one; one whose answer broke off is sent again only if it is a
        read (a write may have been applied). A connection whose exchange broke off
        (an error other than the engine's own reply, or an interrupt) is closed, so no
        late reply is read as the next one's. With ``resend`` False nothing is sent
        again (a command about this connection's own past, as WAITAOF).

        A thread's connection is made anew after a fork and after close()."""
        for again in (False, True):
            conn = getattr(self._local, "conn", None)
            if conn is None or self._local.key != (os.getpid(), self._epoch):
                # Made here, not by the pool: its make_connection counts against the
                # pool's limit (100) and only giving one back counts down.
                conn = self._pool.connection_class(**self._pool.connection_kwargs)
                with self._conns_lock:
                    self._conns.add(conn)
                self._local.conn, self._local.key = conn, (os.getpid(), self._epoch)
            sent = False
            try:
                conn.send_command(*command)
                sent = True
                return conn.read_response()
            except self._response_error:
                raise
            except self._redis_connection_error:
                conn.disconnect()
                if again or not resend or (sent and not read_only):
                    raise
            except BaseException:
                conn.disconnect()
                raise
        raise AssertionError("unreachable")

    def _rows(self, reply: list[Any]) -> list[dict[str, Any]]:
        """A compact reply ([header, records, statistics], or the statistics alone) as
        rows. Parsed here rather than by falkordb's QueryResult, which took twice as
        long (1.4 against 0.65 ms for 300 neighbours with their sentences); values of
        other types (nodes, paths, points, dates) are left to falkordb's own parser."""
        for part in (reply[0], reply[-1]):  # a run-time error comes as the last part
            if isinstance(part, self._response_error):
                raise part
        if len(reply) < 3 or not reply[0]:
            return []
        names = [h[1] for h in reply[0]]
        value = self._value
        return [dict(zip(names, [value(v) for v in row], strict=True)) for row in reply[1]]

    def _value(self, v: list[Any]) -> Any:
        kind, x = v
        if kind == 2 or kind == 3:  # string (decoded by the client), integer
            return x
        if kind == 1:
            return None
        if kind == 4:
            return x == "true"
        if kind == 5:
            return float(x)
        if kind == 6:
            return [self._value(i) for i in x]
        if kind == 10:  # a map: key, value, key, value ...
            return {x[i]: self._value(x[i + 1]) for i in range(0, len(x), 2)}
        from falkordb.query_result import parse_scalar

        return parse_scalar(v, self.graph)

    def read(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return self._run(query, params, True)

    def write(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return self._run(query, params, False)

    def ping(self) -> None:
        # A graph query, not PING: a restarted engine answers PING while it is still
        # loading its data, and only a query says whether reads will work.
        try:
            self._run("RETURN 1 AS ok", None, True)
        except GraphUnavailable as e:
            raise GraphUnavailable(f"the embedded engine at {self.uri} does not answer: "
                                   f"{e.__cause__}", hint=e.hint) from e.__cause__

    def _down_hint(self) -> str:
        info = self.engine.info()
        if info["supervised"]:
            return (f"it is being restarted by its supervisor (pid {info['supervisor_pid']}); "
                    "retry in a second")
        return "run `hcsp graph status`; restart with `hcsp graph start`"

    def engine_info(self) -> dict[str, Any]:
        return self.engine.info()

    def sync(self) -> None:
        # WAITAOF returns once the append-only file is fsynced past the last write of
        # the connection that sends it: this thread's, as write() uses (on a fresh one
        # it would return at once, so it is not sent again). Writes sent from other
        # threads or by execute_command (the bulk loader's) are on disk when answered:
        # the engine runs with --appendfsync always (graph.embedded).
        try:
            self._send(("WAITAOF", "1", "0", "0"), read_only=False, resend=False)
        except self._response_error as e:
            raise QueryError(f"the embedded engine rejected WAITAOF: {e}") from e
        except self._redis_errors as e:
            raise GraphUnavailable(f"the embedded engine at {self.uri} stopped answering: {e}",
                                   hint="run `hcsp graph status`; rerun the command") from e

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
            self._disconnect_all()
            self.db.connection.close()
        finally:
            self._release_engine()

    def _disconnect_all(self) -> None:
        with self._conns_lock:
            conns, self._conns = list(self._conns), weakref.WeakSet()
            self._epoch += 1
        for conn in conns:
            conn.disconnect()

    def _release_engine(self) -> None:
        if self._supervisor is not None:
            self._supervisor.stop()
            self._supervisor = None
        if self.owns_engine:
            self.engine.stop()
            self.owns_engine = False


BOOKMARK_TIMEOUT = "Neo.TransientError.Transaction.BookmarkTimeout"


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
            # Notifications off: Neo4j warns about every property key that no node has yet
            # (`f.month` on a graph without dates), and the driver logs each warning.
            self.driver = neo4j.GraphDatabase.driver(uri, auth=(user, password),
                                                     notifications_min_severity="OFF")
            self.driver.verify_connectivity()
        except nx.AuthError as e:
            raise GraphUnavailable(f"Neo4j at {uri} refused the credentials: {e.message}",
                                   hint="set HCSP_NEO4J_USER and HCSP_NEO4J_PASSWORD") from e
        except (nx.ServiceUnavailable, nx.DriverError, OSError, ValueError) as e:
            raise GraphUnavailable(f"cannot reach Neo4j at {uri}: {e}",
                                   hint="start it with `scripts/neo4j.sh start` (or `docker "
                                   "compose up -d neo4j`), or check HCSP_GRAPH_URI") from e
        self._read = neo4j.RoutingControl.READ
        self._write = neo4j.RoutingControl.WRITE
        self._new_bookmarks = neo4j.GraphDatabase.bookmark_manager
        self._bookmarks = self._new_bookmarks()

    def _forget_bookmarks(self) -> None:
        """Bookmarks (read-your-writes across queries) name transactions of the database
        as it was; one replaced while the server was down (neo4j-admin import, a restore)
        is behind them, and every query would wait for transactions that never come."""
        self._bookmarks = self._new_bookmarks()

    def _run(self, query: str, params: dict[str, Any] | None, routing: Any) -> list[dict[str, Any]]:
        nx = self._nx
        for attempt in (1, 2):
            try:
                records, _, _ = self.driver.execute_query(
                    query, params or {}, routing_=routing, database_=self.database,
                    bookmark_manager_=self._bookmarks)
                return [r.data() for r in records]
            except (nx.ServiceUnavailable, nx.SessionExpired) as e:
                self._forget_bookmarks()
                raise GraphUnavailable(f"Neo4j at {self.uri} stopped answering: {e}",
                                       hint="check that the server runs (`scripts/neo4j.sh "
                                       "status`, `docker compose ps`)") from e
            except nx.Neo4jError as e:
                if e.code == BOOKMARK_TIMEOUT and attempt == 1:
                    self._forget_bookmarks()  # the database was replaced under us
                    continue
                raise QueryError(f"Neo4j rejected a query: {e.message}",
                                 hint=f"query was: {' '.join(query.split())[:300]}") from e
        raise AssertionError("unreachable")

    def read(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return self._run(query, params, self._read)

    def write(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return self._run(query, params, self._write)

    def ping(self) -> None:
        try:
            self.driver.verify_connectivity()
        except (self._nx.ServiceUnavailable, self._nx.DriverError, OSError) as e:
            self._forget_bookmarks()
            raise GraphUnavailable(f"Neo4j at {self.uri} does not answer: {e}") from e

    def sync(self) -> None:
        """Neo4j commits are durable when execute_query returns."""

    def close(self) -> None:
        self.driver.close()

    def engine_info(self) -> dict[str, Any]:
        return neo4j_info(self.uri)


def neo4j_info(uri: str) -> dict[str, Any]:
    """Neo4j runs on its own: never owned, never restarted by us, only reconnected to."""
    return {"kind": "neo4j", "uri": uri, "running": None, "pid": None, "uptime_s": None,
            "owner_pid": None, "supervised": False, "supervisor_pid": None, "restarts": 0,
            "gave_up": None}


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
                 database: str | None = None, autostart: bool = True,
                 supervise: bool = False) -> GraphBackend:
    """Open the database a URI names: Neo4j for bolt/neo4j URIs, else the embedded
    engine in that folder (started on demand unless ``autostart`` is False; restarted
    when it dies if ``supervise`` and this call started it). Neo4j is never restarted
    by us: its driver reconnects."""
    if is_neo4j_uri(uri):
        return Neo4jBackend(uri, user, password, database)
    return FalkorBackend(os.path.expanduser(embedded_path(uri)), autostart=autostart,
                         supervise=supervise)


def engine_info(uri: str) -> dict[str, Any]:
    """engine_info() for a URI, without opening (or starting) anything."""
    if is_neo4j_uri(uri):
        return neo4j_info(uri)
    return EmbeddedEngine(os.path.expanduser(embedded_path(uri))).info()


@contextlib.contextmanager
def hold_engine(uri: str, *, supervise: bool = True) -> Iterator[dict[str, Any] | None]:
    """Keep the embedded engine for ``uri`` up while the block runs, for a parent whose
    children (API workers) open the graph: start it here (or adopt it), supervise it if
    this process owns it, and stop it at the end if so, on a signal too. One that was
    already running (``hcsp graph start``) is left alone. Neo4j: nothing to hold."""
    if is_neo4j_uri(uri):
        yield None
        return
    engine = EmbeddedEngine(os.path.expanduser(embedded_path(uri)))
    owned = False
    supervisor: EngineSupervisor | None = None
    try:
        owned = engine.start()
        if owned and supervise:
            supervisor = EngineSupervisor(engine).start()
        yield engine.info()
    finally:
        if supervisor is not None:
            supervisor.stop()
        if owned:
            engine.stop()
