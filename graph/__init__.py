"""graph/: the one place that talks to a graph database.

Connection (:mod:`graph.backend`), the embedded engine's lifecycle
(:mod:`graph.embedded`), schema (:mod:`graph.schema`), every Cypher query
(:mod:`graph.queries`) and the operations built on them (:mod:`graph.store`).
"""
