"""Units of work and the manifest entries they publish."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


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
    #: Where it was read from (location, format, options), so `verify --repair` can redo it.
    task: dict[str, Any] | None = None

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
    made: dict[str, Any] | None = None  # `corpuscope.artifacts.Made`: step, version, inputs

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PiiShard:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
