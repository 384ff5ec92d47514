"""What a job returns: the summaries of ingest, scan and index runs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


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
