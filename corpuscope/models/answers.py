"""Requests and answers of the questions and statistics (pydantic: the API's schema too)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: The answers' `not_searched`: a question over several corpora is answered from those that
#: can be searched; a corpus whose index is damaged is named here (and `partial` is true).
#: The one disclosure rule of answers (docs/privacy.md, point 5).
WITHHELD = (
    "The question was narrowed (domain, language, shard, time, or a corpus smaller than the "
    "small-cell threshold) to fewer matching documents than the threshold: its counts and "
    "documents are withheld, as the statistics withhold small cells (docs/privacy.md)."
)
#: A query or passage is matched as the public index holds text (docs/privacy.md, point 1).
REDACTED = (
    "Types of the personal data in the query or passage, replaced by their type before "
    "matching, as the public index holds every text."
)
NOT_SEARCHED = (
    "Corpora left out because their index is damaged (`corpuscope verify --repair`): the "
    "answer covers the others only, and `partial` is true."
)


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
    query: str  # as searched: personal data in it replaced by its type
    redacted: list[str] = Field([], description=REDACTED)
    corpora: list[str]
    total: int | None  # None when withheld
    withheld: bool = Field(False, description=WITHHELD)
    offset: int
    k: int
    hits: list[Hit]
    partial: bool = False
    took_ms: float = 0.0
    not_searched: list[str] = Field([], description=NOT_SEARCHED)


class ExactHit(Hit):
    occurrences: int


class ExactAnswer(BaseModel):
    passage: str  # the passage looked for: redacted and white space normalised
    redacted: list[str] = Field([], description=REDACTED)
    case_sensitive: bool
    documents: int | None  # None when withheld
    occurrences: int | None
    withheld: bool = Field(False, description=WITHHELD)
    candidates: int | None  # documents the phrase query returned, before confirmation
    hits: list[ExactHit]
    partial: bool = False
    took_ms: float = 0.0
    not_searched: list[str] = Field([], description=NOT_SEARCHED)


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
    verdict: str  # verbatim | near-duplicate | partial | not-found | withheld
    withheld: bool = Field(False, description=WITHHELD)
    passage: str = ""  # the passage as matched: personal data replaced by its type
    redacted: list[str] = Field([], description=REDACTED)
    coverage: float
    longest_run: int
    passage_words: int
    shingle_words: int
    thresholds: dict[str, float]
    evidence: list[MembershipEvidence]
    candidates: int | None  # None when withheld
    partial: bool = False
    took_ms: float = 0.0
    not_searched: list[str] = Field([], description=NOT_SEARCHED)


class PersonCorpus(BaseModel):
    """Counts for one corpus. Identifier counts are never narrowed by domain, language or
    time, and are never combined with the name: a count of documents that mention a phrase
    and hold an e-mail would say whether one known document holds it."""

    corpus: str
    name_documents: int | None  # None when withheld (narrowed to a small cell)
    identifier_documents: dict[str, int]  # identifier label ("email 1") -> documents
    any_identifier_documents: int


class PersonEvidence(BaseModel):
    """A document that mentions the name (identifiers give counts only, never documents)."""

    doc_id: str
    corpus: str
    snippet: Snippet


class PersonAnswer(BaseModel):
    name: str
    variants: list[str]
    corpora: list[PersonCorpus]
    evidence: list[PersonEvidence]
    partial: bool = False
    took_ms: float = 0.0
    not_searched: list[str] = Field([], description=NOT_SEARCHED)


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


#: How an answer marks a figure the public may not see (docs/statistics.md, "One disclosure
#: rule everywhere"): the figure is null and its name is listed in the answer's `withheld`.
WITHHELD_FIGURES = (
    "Figures withheld from the public by the small-cell rule (each is null here): a count "
    "below `small_cell_threshold` (10), or a figure that would let one be worked out (every "
    "figure of a corpus of fewer documents than that; indexed documents that differ from the "
    "documents by a small count). Empty for the auditor role and above."
)


class CorpusInfo(BaseModel):
    """A corpus and its sizes: what was ingested and what the index holds. The public sees
    them under the small-cell rule (`withheld`)."""

    name: str
    shards: int | None
    documents: int | None
    quarantined: int | None
    text_bytes: int | None
    parquet_bytes: int | None
    indexed_documents: int | None
    index_bytes: int | None
    index_partitions: int | None
    withheld: list[str] = Field([], description=WITHHELD_FIGURES)
    degraded: bool = Field(
        False,
        description="Its published index is damaged: the index figures are those of the "
        "generation still served, or 0 when none is (see `GET /v1/health`).",
    )


IndexState = Literal["current", "stale", "missing", "damaged"]


class CorpusHealth(BaseModel):
    """Whether one corpus can be searched and its derived artifacts are current (states only:
    no counts, so nothing here depends on what the corpus holds)."""

    corpus: str
    status: Literal["ok", "degraded"] = Field(
        description="`degraded`: its published index is damaged (`corpuscope verify --repair`)."
    )
    serving: Literal["current", "previous", "none"] = Field(
        description="Which index generation answers for it: the published one, the last good "
        "one before it (the published one is damaged), or none (not indexed, or degraded)."
    )
    indexed: IndexState = Field(description="Its index, from the manifests (or as served).")
    scanned: IndexState = Field(description="Its PII sidecars (the worst of its shards').")
    stats: IndexState = Field(description="Its statistics.")


class Health(BaseModel):
    """`GET /v1/health`: `ok` when every corpus's index can be served as published."""

    status: Literal["ok", "degraded"]
    version: str
    corpora: list[CorpusHealth]


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
