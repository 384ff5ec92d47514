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
    lang_id_chars: int = Field(
        1000, ge=100, description="Characters of a document's start used to identify its language."
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


def settings_help() -> dict[str, str]:
    """Setting name -> its line of help (for docs and `--help`)."""
    return {name: f.description or "" for name, f in Settings.model_fields.items()}
