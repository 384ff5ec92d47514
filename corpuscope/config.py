"""One settings object: every limit has a name, a default and a line of help.

Each setting can be set with an environment variable `CORPUSCOPE_<NAME>` (upper case), and
the CLI options of the same name override it. `docs/operations.md` lists them all; a test
fails if one is missing there.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """corpuscope's settings (environment variables `CORPUSCOPE_*`)."""

    model_config = SettingsConfigDict(env_prefix="CORPUSCOPE_", extra="ignore")

    data: Path = Field(
        Path("corpuscope-data"),
        description="Data directory: corpora, indexes, statistics and state.sqlite.",
    )
    shard_docs: int = Field(
        10_000, ge=1, description="Most records in one shard (a slice of a large input)."
    )
    max_doc_bytes: int = Field(
        8 * 1024 * 1024,
        ge=1,
        description="A record larger than this (bytes of its raw form) is quarantined.",
    )
    workers: int = Field(2, ge=1, description="Worker processes of the local executor.")
    lang_id_bytes: int = Field(
        2000,
        ge=256,
        description="Most bytes of a document's start read to identify its language (CLD2 reads "
        "the first 256 and goes on only when unsure of them).",
    )
    parquet_compression: str = Field(
        "zstd", description="Parquet codec for shards (zstd, snappy, gzip, none)."
    )
    phone_region: str = Field(
        "US",
        description="Region assumed for phone numbers written without a country code, when hashing.",
    )
    phone_regions: str = Field(
        "US,GB,DE,FR,IL,IN,CA,BR",
        description="Regions whose phone number formats the PII scan recognises (Presidio's default).",
    )
    ner: bool = Field(
        False,
        description="Run PERSON/LOCATION recognition with an installed spaCy model (slow: about 50 KB/s a core).",
    )
    ner_max_chars: int = Field(
        100_000, ge=1000, description="Characters of a document that name recognition reads."
    )
    scan_batch_docs: int = Field(
        512, ge=1, description="Documents the PII scan reads and detects in one batch."
    )
    lock_timeout: float = Field(
        0.0,
        ge=0,
        description="Seconds an ingest waits for another ingest of the same corpus before refusing.",
    )

    index_partitions: int = Field(
        2,
        ge=1,
        le=64,
        description="tantivy partitions per corpus, searched in parallel and merged.",
    )
    index_threads: int = Field(
        1, ge=1, le=16, description="Indexing threads of each partition's tantivy writer."
    )
    index_heap_mb: int = Field(
        256,
        ge=16,
        description="Memory (MB) of each tantivy indexing thread before it flushes a segment.",
    )
    snippet_words: int = Field(
        128,
        ge=8,
        le=1000,
        description="Most words in a snippet or document window shown to the public.",
    )
    max_query_chars: int = Field(
        1000, ge=1, description="Longest search query (characters); longer ones get 422."
    )
    max_passage_chars: int = Field(
        20_000, ge=1, description="Longest passage for exact and membership checks (characters)."
    )
    max_clauses: int = Field(
        64, ge=1, description="Most terms and phrases in one search query; more get 422."
    )
    max_slop: int = Field(
        2,
        ge=0,
        le=10,
        description='Largest slop of a phrase in a search query ("a b"~N: N moves of a word, e.g. 1 word between, or 2 for a swap); more get 422.',
    )
    max_phrase_words: int = Field(
        16,
        ge=1,
        le=64,
        description="Most words in one quoted phrase of a search query; more get 422.",
    )
    max_k: int = Field(100, ge=1, description="Largest page size (`k`) of any answer.")
    max_offset: int = Field(10_000, ge=0, description="Deepest result offset a search may page to.")
    max_candidates: int = Field(
        2000,
        ge=1,
        description="Most candidate documents an exact or membership check confirms on the text.",
    )
    max_spans: int = Field(
        100,
        ge=1,
        description="Most matched spans an exact answer lists per document (its occurrence count covers all).",
    )
    max_identifiers: int = Field(
        20,
        ge=1,
        description="Most identifiers of each kind (e-mails, phones, user names, URLs) in one person search.",
    )
    query_timeout: float = Field(
        10.0,
        gt=0,
        description="Seconds a query may run; past it the API answers 503 (or a partial answer where one exists).",
    )
    query_threads: int = Field(
        8,
        ge=1,
        le=256,
        description="Threads that search index partitions in parallel, shared by all queries of a process.",
    )
    api_query_threads: int = Field(
        8,
        ge=1,
        le=1024,
        description="Queries the API runs at once (worker threads); more wait their turn.",
    )
    query_grace: float = Field(
        1.0,
        ge=0,
        description="Seconds past `query_timeout` a query that answers partially gets to return its part.",
    )
    max_body_bytes: int = Field(
        1_000_000, ge=1024, description="Largest request body the API reads; larger ones get 413."
    )
    body_read_timeout: float = Field(
        10.0,
        gt=0,
        description="Seconds a request body may take to arrive; a slower one gets 408 and the connection is closed.",
    )
    rate_limit: str = Field(
        "60/minute",
        description="Requests to /v1 per client address without a key (e.g. 60/minute or 10/second;300/hour; empty: none); more get 429.",
    )
    key_rate_limit: str = Field(
        "600/minute",
        description="Requests to /v1 per API key (by its name), same notation; empty: no limit.",
    )
    rate_limit_storage: str = Field(
        "memory://",
        description="Where request counts live: memory:// (each process) or redis://HOST:PORT (shared by workers and machines).",
    )
    small_cell_threshold: int = Field(
        10,
        ge=1,
        description="Public statistics hide any count below this (with complementary cells); 1 shows all.",
    )
    max_rows: int = Field(
        10_000, ge=1, description="Most rows of a statistics table in one JSON answer."
    )
    duckdb_threads: int = Field(
        2, ge=1, le=64, description="Threads DuckDB uses to compute a corpus's statistics."
    )
    duckdb_memory: str = Field(
        "2GB",
        pattern=r"^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="Memory limit of DuckDB while it computes statistics (e.g. 2GB); it spills to disk past it.",
    )
    debug: bool = Field(
        False,
        description="Print the traceback of an unexpected error in a worker (ingest) to stderr.",
    )
    host: str = Field("127.0.0.1", description="Address `corpuscope serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `corpuscope serve` listens on.")


def settings_help() -> dict[str, str]:
    """Setting name -> its line of help (for docs and `--help`)."""
    return {name: f.description or "" for name, f in Settings.model_fields.items()}
