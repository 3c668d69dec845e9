"""agent/: a deep-research agent over the local corpus (issue 5).

Built so far: the search engine (:mod:`agent.search`: passages of the ingested pages,
BM25, several queries per call), its HTTP service (:mod:`agent.service`) and the
``hcsp agent index|search|serve-search`` commands. The agent loop, trajectories and
evaluation come next. agent/ reads dumps and the API, never the graph.
"""
