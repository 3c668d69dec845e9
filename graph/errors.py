"""Errors raised by graph/, the one place that talks to a graph database."""

from __future__ import annotations

from hcsp.errors import HcspError


class GraphError(HcspError):
    """Root of graph/'s errors: a query failed, a URI is wrong."""


class GraphUnavailable(GraphError):
    """The database cannot be reached or started."""

    exit_code = 3


class QueryError(GraphError):
    """The database rejected a query (a bug in our Cypher, or a dialect gap)."""
