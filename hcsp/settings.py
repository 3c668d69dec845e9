"""Endpoints and secrets, read from the environment (``HCSP_*``) or a ``.env`` file.

Run parameters (batch sizes, limits) are dataclasses in each package, not settings.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_GRAPH_URI = ".hcsp/graph"


class Settings(BaseSettings):
    """Where the graph lives and how to log in to it; the API's token and limits; which
    chat models a bare ``openai`` / ``anthropic`` spec means and where local models are
    cached."""

    model_config = SettingsConfigDict(env_prefix="HCSP_", env_file=".env", extra="ignore")

    graph_uri: str = Field(
        DEFAULT_GRAPH_URI,
        description="A folder for the embedded engine, or bolt://... / neo4j://... for Neo4j.",
    )
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr = SecretStr("")
    neo4j_database: str | None = None
    api_token: SecretStr | None = Field(
        None, description="Bearer token for the API's admin operations (pool fill, delete); "
        "unset, they are refused.")
    api_protect_reads: bool = Field(False, description="Require the token for reads too.")
    api_generate_timeout_s: float = Field(
        20.0, description="An on-demand request generates for at most this long.")
    api_max_count: int = Field(100, description="Most questions one request may ask for.")
    api_pool_timeout_s: float = Field(
        300.0, description="An admin pool fill generates for at most this long.")
    api_workers: int = Field(
        2, description="Sampling threads per generating request, at most one per question "
        "asked: a second attempt in parallel for a request of one question costs a core "
        "under load and gains nothing (bench/api.py, ltgwiki, 16 clients: p95 244 ms with "
        "one thread, 452 ms with two).")
    api_max_generating: int = Field(
        4, description="Requests that generate at once per API process (on-demand and pool "
        "fills); more wait up to HCSP_API_GENERATE_QUEUE_S, then get 503 + Retry-After, so "
        "that reads and /readyz stay fast under load.")
    api_generate_queue_s: float = Field(
        5.0, description="How long a generating request waits for its turn.")
    api_sampler_ttl_s: float = Field(
        300.0, description="The API reuses a sampler (what it has read: profiles, roots, "
        "counts) and the graph's summary this long each; a new ingest shows in questions "
        "generated after at most about twice that.")
    openai_model: str = Field("gpt-4o-mini", description="The model a bare `openai` spec "
                              "means (`openai:MODEL` names one).")
    openai_base_url: str | None = Field(
        None, description="An OpenAI-compatible server (vLLM, `hcsp agent serve-model`) for "
        "`openai:` specs given no --base-url.")
    anthropic_model: str = Field("claude-sonnet-4-5", description="The model a bare "
                                 "`anthropic` spec means.")
    model_cache: Path = Field(
        default_factory=lambda: Path.home() / ".cache" / "hcsp" / "models",
        description="Where local models are materialized (SmolLM2's float32 copy).")


@lru_cache
def get_settings() -> Settings:
    """The settings, read once per process."""
    return Settings()
