"""The one data model that flows through every stage: records, documents, shards, summaries.

Readers yield `SourceRecord` (or `Quarantined` for a record they cannot read); normalisation
turns a `SourceRecord` into a `Document`; the shard pipeline writes Documents to Parquet with
`DOCUMENT_SCHEMA` and reports a `ShardResult` per shard; an ingest run ends in an
`IngestSummary`.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Annotated, Any

import pyarrow as pa
import xxhash
from pydantic import BaseModel, ConfigDict, Field

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
class Document:
    """A normalised document; its fields are the columns of DOCUMENT_SCHEMA."""

    doc_id: str
    corpus: str
    shard: str
    source_id: str | None
    url: str | None
    domain: str | None
    timestamp: datetime | None
    language: str
    text: str
    n_chars: int
    n_words: int
    text_hash: str
    metadata: str


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


class ShardFailure(Exception):
    """A shard could not be read to its end (truncated or corrupt archive, unreadable file)."""


@dataclass(slots=True)
class Shard:
    """A unit of work's output: one Parquet file of documents, as recorded in the manifest."""

    shard_id: str
    source: str  # the source's stable name (file name relative to the argument given)
    fingerprint: str  # input fingerprint; a changed input gives new shard ids
    part: int  # slice number within the source
    first_ordinal: int
    records: int  # records read = documents + quarantined
    documents: int
    quarantined: int
    text_bytes: int
    parquet: str | None  # path relative to the corpus folder
    parquet_bytes: int
    sha256: str | None
    skipped: int = 0  # records passed over on purpose (non-HTML WARC responses), not in `records`
    status: str = "done"  # done | failed
    error: str | None = None
    reasons: dict[str, int] = field(default_factory=dict)  # quarantined records by reason
    normaliser: int = 1  # version of the normalisation that wrote it (1: before it was recorded)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Shard:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(slots=True)
class SourceTask:
    """A unit of scheduling: one input (file, archive, folder member set or hub stream)."""

    corpus: str
    source: str  # stable name used in doc ids and shard ids
    location: str  # what the reader opens (a path, or a hub spec as JSON)
    format: str
    fingerprint: str
    shard_docs: int
    size_bytes: int = 0
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ShardResult:
    """What a worker reports for one shard: written now, skipped as already done, or failed."""

    outcome: str  # written | skipped | failed
    shard: Shard | None = None
    source: str = ""
    error: str | None = None


@dataclass(slots=True)
class ScanTask:
    """A unit of PII-scan work: one published document shard."""

    corpus: str
    shard_id: str
    parquet: str  # path relative to the corpus folder
    sha256: str  # of the document shard: a changed shard is rescanned
    size_bytes: int = 0


@dataclass(slots=True)
class PiiShard:
    """A PII manifest entry: what the scan of one shard found (counts only, no values)."""

    shard_id: str
    source_sha256: str  # the document shard this sidecar belongs to
    scanner: str  # scanner version: a new one rescans
    path: str  # sidecar path relative to the corpus folder
    sha256: str
    documents: int
    documents_with_pii: int
    spans: int
    text_bytes: int
    by_entity: dict[str, int] = field(default_factory=dict)
    by_language: dict[str, dict[str, int]] = field(default_factory=dict)  # lang -> counts
    ner: str | None = None  # the NER model used, if any
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PiiShard:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class _RunSummary:
    """What ingest and scan summaries share: success, and JSON with throughput."""

    _throughput_of = "text_bytes"  # the byte count MB/s is computed from

    @property
    def ok(self) -> bool:
        return self.shards_failed == 0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        done = getattr(self, self._throughput_of)
        data["mb_per_s"] = round(done / 1e6 / self.seconds, 2) if self.seconds else 0.0
        return data


@dataclass(slots=True)
class IngestSummary(_RunSummary):
    """The end of an ingest run, printed as a table or as JSON."""

    _throughput_of = "input_bytes"

    corpus: str
    shards_done: int = 0
    shards_skipped: int = 0
    shards_failed: int = 0
    records_read: int = 0
    documents_written: int = 0
    quarantined: int = 0
    skipped_records: int = 0
    input_bytes: int = 0
    text_bytes: int = 0
    parquet_bytes: int = 0
    seconds: float = 0.0
    failures: list[dict[str, str]] = field(default_factory=list)
    ignored: list[dict[str, str]] = field(default_factory=list)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    #: Sources of the corpus whose shards an older normalisation wrote (other languages rules,
    #: other text hashes): ingest them again so that the corpus is comparable throughout.
    outdated_sources: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ScanSummary(_RunSummary):
    """The end of a scan run: shards, documents, spans by entity and by language."""

    corpus: str
    shards_scanned: int = 0
    shards_skipped: int = 0
    shards_failed: int = 0
    documents: int = 0
    documents_with_pii: int = 0
    spans: int = 0
    text_bytes: int = 0
    seconds: float = 0.0
    ner_model: str | None = None
    by_entity: dict[str, int] = field(default_factory=dict)
    by_language: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[dict[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class IndexSummary:
    """The end of an index run: shards added, removed and kept, and the index's size."""

    corpus: str
    partitions: int
    generation: str
    rebuilt: bool = False
    shards_added: int = 0
    shards_removed: int = 0
    shards_kept: int = 0
    documents_added: int = 0
    text_bytes: int = 0
    index_bytes: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["mb_per_s"] = round(self.text_bytes / 1e6 / self.seconds, 2) if self.seconds else 0.0
        return data


# -- answers: what the index returns to the CLI and the API (pydantic, so the API's schema) -----
class Snippet(BaseModel):
    """A redacted window of a document (at most `snippet_words` words) with highlights.

    `highlights` are [start, end) character offsets into `text` (the redacted text), computed
    after redaction; `start` is where the window begins in the document.
    """

    text: str
    highlights: list[tuple[int, int]] = []
    start: int = 0
    end: int = 0
    redactions: int = 0


class Hit(BaseModel):
    doc_id: str
    corpus: str
    score: float
    url: str | None = None
    domain: str | None = None
    language: str | None = None
    timestamp: datetime | None = None
    snippet: Snippet


class SearchAnswer(BaseModel):
    query: str
    corpora: list[str]
    total: int
    offset: int
    k: int
    hits: list[Hit]
    partial: bool = False
    took_ms: float = 0.0


class ExactHit(Hit):
    occurrences: int


class ExactAnswer(BaseModel):
    passage: str  # the normalised passage that was looked for
    case_sensitive: bool
    documents: int
    occurrences: int
    candidates: int  # documents the phrase query returned, before confirmation on the text
    hits: list[ExactHit]
    partial: bool = False
    took_ms: float = 0.0


class Span(BaseModel):
    start: int
    end: int


class MembershipEvidence(BaseModel):
    doc_id: str
    corpus: str
    coverage: float
    longest_run: int  # words
    passage_spans: list[Span]
    document_spans: list[Span]
    snippet: Snippet


class MembershipAnswer(BaseModel):
    verdict: str  # verbatim | near-duplicate | partial | not-found
    coverage: float
    longest_run: int
    passage_words: int
    shingle_words: int
    thresholds: dict[str, float]
    evidence: list[MembershipEvidence]
    candidates: int
    partial: bool = False
    took_ms: float = 0.0


class PersonCorpus(BaseModel):
    corpus: str
    name_documents: int
    identifier_documents: dict[str, int]  # identifier label ("email 1") -> documents
    any_identifier_documents: int
    both_documents: int


class PersonEvidence(BaseModel):
    doc_id: str
    corpus: str
    name: bool
    identifiers: list[str]  # labels of the identifiers the document holds
    snippet: Snippet


class PersonAnswer(BaseModel):
    name: str
    variants: list[str]
    corpora: list[PersonCorpus]
    evidence: list[PersonEvidence]
    partial: bool = False
    took_ms: float = 0.0


class DocumentView(BaseModel):
    doc_id: str
    corpus: str
    shard: str
    url: str | None = None
    domain: str | None = None
    language: str | None = None
    timestamp: datetime | None = None
    n_chars: int
    window: Snippet


class CorpusInfo(BaseModel):
    """A corpus and its sizes: what was ingested and what the index holds."""

    name: str
    shards: int
    documents: int
    quarantined: int
    text_bytes: int
    parquet_bytes: int
    indexed_documents: int
    index_bytes: int
    index_partitions: int


# -- questions: what the API and CLI ask of the index --------------------------------------------
_STRICT = ConfigDict(extra="forbid")


class Filters(BaseModel):
    """What every question can be narrowed to: corpora, domain, language, shard, time range."""

    model_config = _STRICT

    corpora: list[Annotated[str, Field(max_length=64)]] = Field([], max_length=32)
    domain: str | None = Field(None, max_length=253)
    language: str | None = Field(None, max_length=16)
    shard: str | None = Field(None, max_length=200)
    since: datetime | None = None
    until: datetime | None = None


class ExactRequest(Filters):
    passage: str = Field(..., min_length=1, max_length=100_000)
    case_sensitive: bool = True
    k: int = Field(10, ge=1, le=1000)


class MembershipRequest(Filters):
    passage: str = Field(..., min_length=1, max_length=100_000)
    k: int = Field(5, ge=1, le=1000)


class PersonRequest(Filters):
    name: str = Field("", max_length=10_000)
    emails: list[Annotated[str, Field(max_length=512)]] = Field([], max_length=100)
    phones: list[Annotated[str, Field(max_length=512)]] = Field([], max_length=100)
    usernames: list[Annotated[str, Field(max_length=512)]] = Field([], max_length=100)
    urls: list[Annotated[str, Field(max_length=512)]] = Field([], max_length=100)
    k: int = Field(10, ge=1, le=1000)


# -- statistics: what the API serves about a corpus --------------------------------------------
class StatsTableInfo(BaseModel):
    name: str
    description: str
    rows: int
    columns: list[str]
    sha256: str  # of the full table as published (Parquet)
    downloads: dict[str, str]


class StatsIndex(BaseModel):
    corpus: str
    current: bool  # computed from the corpus as it is now
    computed_at: float
    role: str
    small_cell_threshold: int | None  # None: full tables (auditor)
    tables: list[StatsTableInfo]
    manifest: dict[str, Any]


class StatsTable(BaseModel):
    corpus: str
    table: str
    description: str
    columns: list[str]
    total_rows: int
    offset: int
    limit: int
    rows: list[dict[str, Any]]
    role: str
    small_cell_threshold: int | None
    hidden_rows: int
    hidden_cells: int
    sha256: str


class DomainAnswer(BaseModel):
    """Is my website in this corpus? (the Washington Post's C4 lookup, for any corpus)"""

    corpus: str
    query: str
    domain: str  # the registered domain looked up
    found: bool
    suppressed: bool = False  # found, but too few documents to show figures publicly
    rank: int | None = None
    domains: int  # domains in the corpus
    documents: int | None = None
    words: int | None = None
    bytes: int | None = None
    share_of_words: float | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
