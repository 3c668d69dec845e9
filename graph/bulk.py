"""Bulk insertion into an empty embedded graph with FalkorDB's GRAPH.BULK command.

The command takes nodes and relationships as binary tokens: per token a header (the
label or type, then its property names) and then, per entity, its property values,
each a type byte and the value. Relationships name their endpoints by node ids, which
are the order in which nodes were inserted (counting from 0 in an empty graph). The
format is the one the engine's own bulk loader (falkordb-bulk-loader) sends.

It only creates a new graph, so it is used only when the graph is empty; everything
else goes through the MERGE queries in graph.queries.
"""

from __future__ import annotations

import queue
import struct
import threading
from collections.abc import Sequence
from typing import Any

from graph.backend import FalkorBackend, GraphBackend
from graph.errors import GraphError

_NULL, _BOOL, _DOUBLE, _STRING, _LONG, _ARRAY = 0, 1, 2, 3, 4, 5
MAX_TOKEN_BYTES = 16 * 1024 * 1024
MAX_CALL_BYTES = 64 * 1024 * 1024
COUNT_ALL = "MATCH (n) RETURN count(n) AS n"


def can_bulk_load(backend: GraphBackend) -> bool:
    """True for the embedded engine when its graph holds no node at all."""
    if not isinstance(backend, FalkorBackend):
        return False
    rows = backend.read(COUNT_ALL)
    return bool(rows) and int(rows[0]["n"]) == 0


_PACK_LONG = struct.Struct("=Bq").pack
_PACK_DOUBLE = struct.Struct("=Bd").pack
_PACK_IDS = struct.Struct("=QQ").pack


def _enc_str(v: str) -> bytes:
    data = v.encode("utf-8")
    if b"\x00" in data:
        data = data.replace(b"\x00", b"")
    return b"\x03" + data + b"\x00"


def _enc_list(v: list[Any] | tuple[Any, ...]) -> bytes:
    return _PACK_LONG(_ARRAY, len(v)) + b"".join(encode_value(x) for x in v)


_ENCODERS: dict[type, Any] = {
    type(None): lambda v: b"\x00",
    bool: lambda v: b"\x01\x01" if v else b"\x01\x00",
    int: lambda v: _PACK_LONG(_LONG, v),
    float: lambda v: _PACK_DOUBLE(_DOUBLE, v),
    str: _enc_str,
    list: _enc_list,
    tuple: _enc_list,
}


def encode_value(v: Any) -> bytes:
    """One property value in the bulk format.

    >>> encode_value(None), encode_value(True), encode_value(7)[:1], encode_value("ab")
    (b'\\x00', b'\\x01\\x01', b'\\x04', b'\\x03ab\\x00')
    """
    enc = _ENCODERS.get(type(v))
    if enc is None:
        raise GraphError(f"cannot bulk-insert a value of type {type(v).__name__}")
    return enc(v)


def _header(name: str, props: Sequence[str]) -> bytes:
    out = name.encode() + b"\x00" + struct.pack("=I", len(props))
    return out + b"".join(p.encode() + b"\x00" for p in props)


class BulkWriter:
    """Streams nodes, then relationships, into a new graph, a token at a time."""

    def __init__(self, backend: GraphBackend) -> None:
        if not isinstance(backend, FalkorBackend):
            raise GraphError("bulk insertion needs the embedded engine")
        self.backend = backend
        self.graph = backend.graph.name
        self.began = False
        self.next_id = 0
        self.nodes_sent = self.edges_sent = 0
        self._header = b""
        self._kind = "node"
        self._entities: list[bytes] = []
        self._size = 0
        self._count = 0
        self._tokens: list[tuple[str, bytes, int]] = []  # (kind, token, count)
        self._call_size = 0
        self.edges_started = False
        # One call is encoded here while the engine inserts the previous one.
        self._queue: queue.Queue[list[Any] | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._sender = threading.Thread(target=self._send_loop, name="bulk-sender", daemon=True)
        self._sender.start()

    def _send_loop(self) -> None:
        while (args := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self.backend.execute_command("GRAPH.BULK", self.graph, *args)
                except BaseException as e:  # re-raised in the caller's thread
                    self._error = e

    def begin_nodes(self, label: str, props: Sequence[str]) -> None:
        """Start a run of nodes with one label and these properties (in this order)."""
        if self.edges_started:
            raise GraphError("all nodes must be written before the first relationship")
        self._close_token()
        self._header, self._kind = _header(str(label), props), "node"

    def begin_edges(self, rel_type: str, props: Sequence[str]) -> None:
        """Start a run of relationships of one type."""
        self._close_token()
        self.edges_started = True
        self._header, self._kind = _header(str(rel_type), props), "edge"

    def node(self, values: Sequence[Any]) -> int:
        """Add a node; returns its id (for relationships)."""
        self._add(b"".join([encode_value(v) for v in values]))
        nid = self.next_id
        self.next_id += 1
        return nid

    def edge(self, src: int, dst: int, values: Sequence[Any]) -> None:
        """Add a relationship between two node ids."""
        self._add(_PACK_IDS(src, dst) + b"".join([encode_value(v) for v in values]))

    def _add(self, data: bytes) -> None:
        if self._size + len(data) > MAX_TOKEN_BYTES and self._entities:
            self._close_token()
        self._entities.append(data)
        self._size += len(data)
        self._count += 1

    def _close_token(self) -> None:
        if not self._entities:
            return
        token = self._header + b"".join(self._entities)
        if self._call_size + len(token) > MAX_CALL_BYTES:
            self._send()
        self._tokens.append((self._kind, token, self._count))
        self._call_size += len(token)
        self._entities, self._size, self._count = [], 0, 0

    def _send(self) -> None:
        if not self._tokens:
            return
        nodes = [t for k, t, _ in self._tokens if k == "node"]
        edges = [t for k, t, _ in self._tokens if k == "edge"]
        n_nodes = sum(c for k, _, c in self._tokens if k == "node")
        n_edges = sum(c for k, _, c in self._tokens if k == "edge")
        if not self.began:
            # BEGIN creates the graph; an empty one left by opening the engine goes first.
            try:
                self.backend.execute_command("GRAPH.DELETE", self.graph)
            except GraphError:
                pass  # no graph key yet
        args: list[Any] = ["BEGIN"] if not self.began else []
        args += [n_nodes, n_edges, len(nodes), len(edges), *nodes, *edges]
        if self._error is not None:
            raise self._error
        self._queue.put(args)
        self.began = True
        self.nodes_sent += n_nodes
        self.edges_sent += n_edges
        self._tokens, self._call_size = [], 0

    def finish(self) -> None:
        """Send what is buffered and wait until the engine has inserted everything."""
        try:
            self._close_token()
            self._send()
        finally:
            self._queue.put(None)
            self._sender.join()
        if self._error is not None:
            raise self._error
