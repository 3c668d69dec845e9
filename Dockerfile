# The hcsp API. docker compose builds it and points it at the neo4j service.
FROM python:3.12-slim
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY hcsp hcsp
COPY ingest ingest
COPY graph graph
COPY synth synth
COPY api api
COPY agent agent
COPY train train
RUN pip install --no-cache-dir .
ENV HCSP_GRAPH_URI=bolt://neo4j:7687
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --retries=12 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz')"
CMD ["hcsp", "serve", "--host", "0.0.0.0", "--port", "8000"]
