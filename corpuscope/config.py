"""One settings object: every limit has a name, a default and a line of help.

Each setting can be set with an environment variable `CORPUSCOPE_<NAME>` (upper case), and
the CLI options of the same name override it. `docs/operations.md` lists them all; a test
fails if one is missing there.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The development value of `case_key`; `secrets_at_default` names it while it is in use.
DEFAULT_CASE_KEY = "development-only-case-key"


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
        64,
        ge=1,
        description="Most terms in one search query (each word of a phrase and each field "
        "counts): plain words past it are shortened to the rarest (`dropped` in the answer); a "
        "query with phrases, groups, operators or fields past it gets 422.",
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
        description="Most candidate documents an exact, membership or person check confirms on the text.",
    )
    max_spans: int = Field(
        100,
        ge=1,
        description="Most matched spans an exact answer lists per document (its occurrence count covers all).",
    )
    membership_near_coverage: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Share of a passage's shingles one document must hold for a near-duplicate membership verdict.",
    )
    membership_min_coverage: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Least share of a passage's shingles a document must hold to count as membership evidence (and make the verdict partial), with `membership_min_run`.",
    )
    membership_min_run: int = Field(
        13,
        ge=1,
        description="Least run of passage words in a row a document must hold to count as membership evidence, with `membership_min_coverage` (a shorter passage: all its words).",
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
    stats_min_score: dict[str, float] = Field(
        default_factory=lambda: {
            "EMAIL_ADDRESS": 0.5,
            "PHONE_NUMBER": 0.5,
            "IP_ADDRESS": 0.5,
            "CREDIT_CARD": 0.5,
            "IBAN_CODE": 0.5,
            "US_SSN": 0.5,
            "CRYPTO": 0.5,
            "SECRET_KEY": 0.5,
            "PERSON": 0.5,
            "LOCATION": 0.5,
        },
        description="Per entity, the least score of a personal-data span the statistics count "
        '(JSON, e.g. {"PHONE_NUMBER": 0.5}; entities left out keep their default); display redaction hides every span.',
    )

    @field_validator("stats_min_score")
    @classmethod
    def _min_scores(cls, value: dict[str, float]) -> dict[str, float]:
        """Every entity's threshold, between 0 and 1: the given ones over the defaults."""
        default = cls.model_fields["stats_min_score"].default_factory()
        unknown = sorted(set(value) - set(default))
        if unknown:
            raise ValueError(f"unknown entities {unknown}; known: {sorted(default)}")
        bad = sorted(k for k, v in value.items() if not 0 <= v <= 1)
        if bad:
            raise ValueError(f"scores must lie between 0 and 1 ({bad})")
        return {**default, **value}

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
    mode: str = Field(
        "development",
        pattern=r"^(development|production)$",
        description="development or production; in production the API refuses to start while any secret (case_key) has its default value.",
    )
    case_key: SecretStr = Field(
        SecretStr(DEFAULT_CASE_KEY),
        description="Secret from which the key that encrypts data subjects' identifiers in state.sqlite is derived (with secret.key); set your own in production, and keep it: cases sealed under another cannot be read.",
    )
    dsr_due_soon_days: int = Field(
        7, ge=0, le=90, description="A case due within this many days is listed as due soon."
    )
    ui_session_minutes: int = Field(
        480,
        ge=1,
        description="Minutes an officer's sign-in to the web UI's Cases page lasts (it also ends when the browser closes or the key is revoked).",
    )
    dsr_passage_chars: int = Field(
        300,
        ge=40,
        le=5000,
        description="Characters of context on each side of a match in an access report's passage.",
    )
    dsr_max_documents: int = Field(
        5000,
        ge=1,
        description="Most documents one case search stores as evidence (per name variant or identifier and corpus).",
    )
    host: str = Field("127.0.0.1", description="Address `corpuscope serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `corpuscope serve` listens on.")


def secrets_at_default(settings: Settings) -> list[str]:
    """The names of the secrets that still have their development default."""
    return ["case_key"] if settings.case_key.get_secret_value() == DEFAULT_CASE_KEY else []


def settings_help() -> dict[str, str]:
    """Setting name -> its line of help (for docs and `--help`)."""
    return {name: f.description or "" for name, f in Settings.model_fields.items()}
