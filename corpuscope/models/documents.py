"""The document model: Arrow schemas of documents, quarantine and PII sidecars, and their rows."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import xxhash

#: Parquet schema of a document shard (DESIGN.md, "Documents").
DOCUMENT_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("corpus", pa.string(), nullable=False),
        pa.field("shard", pa.string(), nullable=False),
        pa.field("source_id", pa.string()),
        pa.field("url", pa.string()),
        pa.field("domain", pa.string()),
        pa.field("timestamp", pa.timestamp("us", tz="UTC")),
        pa.field("language", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("n_chars", pa.int64(), nullable=False),
        pa.field("n_words", pa.int64(), nullable=False),
        pa.field("text_hash", pa.string(), nullable=False),
        pa.field("metadata", pa.string(), nullable=False),
    ]
)

#: Parquet schema of a shard's quarantine: every record that could not become a Document.
QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("corpus", pa.string(), nullable=False),
        pa.field("shard", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("ordinal", pa.int64(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("raw", pa.binary()),
    ]
)


#: Parquet schema of a shard's PII sidecar (DESIGN.md, "PII spans"). Raw values are never stored.
PII_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("start", pa.int32(), nullable=False),
        pa.field("end", pa.int32(), nullable=False),
        pa.field("entity_type", pa.string(), nullable=False),
        pa.field("score", pa.float32(), nullable=False),
        pa.field("detector", pa.string(), nullable=False),
        pa.field("value_hash", pa.string(), nullable=False),
    ]
)


def make_doc_id(source_id: str | None, source: str, ordinal: int) -> str:
    """A stable document id: the source's name with the record's own id, else its ordinal.

    The same input gives the same id on every run and every executor, so suppression lists
    and case evidence keep pointing at the right documents after a rebuild. The source name
    is part of the key because many formats number their records per file.
    """
    key = f"id\x00{source}\x00{source_id}" if source_id else f"pos\x00{source}\x00{ordinal}"
    return hashlib.blake2b(key.encode("utf-8"), digest_size=16).hexdigest()


def text_hash(text: str | bytes | memoryview) -> str:
    """Hash of the normalised text (or of its UTF-8 bytes), for exact-duplicate counts.

    XXH3-128: a non-cryptographic hash (about 40 times faster than BLAKE2b here) is enough to
    group identical texts; nothing is signed or kept secret with it.
    """
    data = text.encode("utf-8") if isinstance(text, str) else text
    return xxhash.xxh3_128_hexdigest(data)


@dataclass(slots=True)
class SourceRecord:
    """One record as a reader found it, mapped onto our fields but not yet normalised."""

    ordinal: int
    text: str
    source_id: str | None = None
    url: str | None = None
    timestamp: Any = None  # str, int/float epoch seconds, datetime or None
    metadata: dict[str, Any] = field(default_factory=dict)
    language: str | None = None  # a language the source declares, if any


@dataclass(slots=True)
class Quarantined:
    """A record that could not be read or mapped, kept with its reason and raw bytes."""

    ordinal: int
    reason: str
    raw: bytes | None = None


@dataclass(slots=True)
class Skipped:
    """A record a reader passed over on purpose (a non-HTML or non-200 WARC response)."""

    reason: str


@dataclass(slots=True, frozen=True)
class PiiSpan:
    """A piece of personal data found in a document: character offsets into its text.

    `value_hash` is a keyed hash of the normalised value, so identifiers can be looked up
    without the value itself being stored anywhere.
    """

    doc_id: str
    start: int
    end: int
    entity_type: str
    score: float
    detector: str
    value_hash: str
