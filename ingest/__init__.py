"""ingest/: a MediaWiki dump into the graph.

pages, redirects (as aliases), body links with their sentences, typed infobox facts,
categories and short descriptions. Entry point: :func:`ingest.pipeline.ingest_dump`.
"""
