"""api/: the REST service (FastAPI). Not built yet: see issue 4."""
