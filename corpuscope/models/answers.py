"""Requests and answers of the questions and statistics (pydantic: the API's schema too)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

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
#: A long plain-text query is shortened rather than refused (index/querylang.py, `_reduce`).
DROPPED = (
    "Words of a plain-text query past `max_clauses` that were not searched, as the index holds "
    "them: the commonest in the corpora searched (lowest IDF over the public, redacted index) "
    "and words no document holds. Empty when every word was searched."
)
#: A query whose syntax cannot be read is read as plain words (index/querylang.py).
READ_AS = (
    "How the query was read: `query` in the query language (docs/api.md), or `words`: its "
    "syntax could not be read (an unknown field before a ':', an unclosed quote or "
    "parenthesis, an operator in an odd place, ...), so it was read as plain words, shortened "
    "like any long plain text; `read_as_reason` says why. Depends on the redacted query only."
)
NOT_SEARCHED = (
    "Corpora asked about that were not searched: not indexed yet (a question over every corpus "
    "only; one that names it is refused with 409) or their index is damaged (`corpuscope "
    "verify --repair`). The answer covers the others only, and `partial` is true."
)
COVERAGE = (
    "Per corpus asked about, whether it was searched and how completely (`status`), with the "
    "reasons in words and the command that fixes each. From the manifests and the searcher: "
    "states only, never counts."
)
PARTIAL = (
    "Not everything asked was searched completely: some corpus in `corpus_coverage` is not "
    "`complete` (not searched, its index stale against its shards, or stopped by a limit)."
)

IndexState = Literal["current", "stale", "missing", "damaged"]
CoverageStatus = Literal["complete", "stale", "partial", "not-searched"]


class Coverage(BaseModel):
    """How completely a question searched one corpus it was asked about.

    `status`: `complete` (searched to the end over an index current with its shards),
    `stale` (searched, but the index is older than the shards: documents ingested or changed
    since are not covered), `partial` (searched, but stopped by a limit or the time limit, or
    answered by an earlier index generation, or identifiers looked up over a corpus not fully
    scanned), `not-searched` (not indexed, or its index is damaged).
    """

    corpus: str
    status: CoverageStatus
    searched: bool = Field(description="Its index answered the question (in full or in part).")
    indexed: IndexState = Field(description="Its index against its shards (artifacts.compare).")
    scanned: IndexState | None = Field(
        None, description="Its PII sidecars (the worst of its shards'); null when not asked."
    )
    reasons: list[str] = Field([], description="Why it is not complete, with the fix.")


class Covered(BaseModel):
    """What every answer says about what it searched: `corpus_coverage`, and the summary
    flags `partial` and `not_searched` that follow from it."""

    corpus_coverage: list[Coverage] = Field([], description=COVERAGE)
    partial: bool = Field(False, description=PARTIAL)
    not_searched: list[str] = Field([], description=NOT_SEARCHED)

    @model_validator(mode="after")
    def _summarise(self) -> Covered:
        if any(c.status != "complete" for c in self.corpus_coverage):
            self.partial = True
        missed = {c.corpus for c in self.corpus_coverage if not c.searched}
        if not missed <= set(self.not_searched):
            self.not_searched = sorted(missed | set(self.not_searched))
        if self.not_searched:
            self.partial = True
        return self


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


class Span(BaseModel):
    start: int
    end: int


class Hit(BaseModel):
    doc_id: str
    corpus: str
    score: float
    url: str | None = None
    domain: str | None = None
    language: str | None = None
    timestamp: datetime | None = None
    snippet: Snippet


class SearchAnswer(Covered):
    query: str  # as searched: personal data in it replaced by its type
    redacted: list[str] = Field([], description=REDACTED)
    dropped: list[str] = Field([], description=DROPPED)
    read_as: Literal["query", "words"] = Field("query", description=READ_AS)
    read_as_reason: str | None = Field(
        None, description="Why the query was read as plain words, in one line (never quoting it)."
    )
    corpora: list[str]
    total: int | None  # None when withheld
    withheld: bool = Field(False, description=WITHHELD)
    offset: int
    k: int
    hits: list[Hit]
    took_ms: float = 0.0


class ExactHit(Hit):
    occurrences: int
    document_spans: list[Span] = Field(
        [],
        description="[start, end) offsets in the document (its redacted view) of its first "
        "`max_spans` occurrences; the snippet highlights those it shows.",
    )


class ExactAnswer(Covered):
    passage: str  # the passage looked for: redacted and white space normalised
    redacted: list[str] = Field([], description=REDACTED)
    case_sensitive: bool
    punctuation: bool = Field(
        True,
        description="false: the passage's words are matched with any punctuation and white "
        "space between them (for pasted text).",
    )
    documents: int | None  # None when withheld
    occurrences: int | None
    withheld: bool = Field(False, description=WITHHELD)
    candidates: int | None  # documents the phrase query returned, before confirmation
    hits: list[ExactHit]
    note: str | None = Field(
        None,
        description="Why the passage may have matched fewer documents than expected, in "
        "words: personal data in it replaced by its type, or candidates whose text differs in "
        "case, punctuation or spacing. Depends on the redacted passage and public counts only.",
    )
    took_ms: float = 0.0


class MembershipEvidence(BaseModel):
    """A document whose match could matter: at least the documented minimum of coverage and
    run length (`membership_min_coverage`, `membership_min_run`)."""

    doc_id: str
    corpus: str
    url: str | None = None  # personal data in it redacted, as in every answer
    domain: str | None = None
    language: str | None = None
    timestamp: datetime | None = None
    coverage: float
    longest_run: int  # words
    passage_spans: list[Span]
    document_spans: list[Span]
    snippet: Snippet


class MembershipAnswer(Covered):
    verdict: str  # verbatim | near-duplicate | partial | not-found | inconclusive | withheld
    explanation: str = Field(
        "", description="The verdict in one plain sentence, saying what was searched."
    )
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
    took_ms: float = 0.0

    @model_validator(mode="after")
    def _only_not_found_when_all_searched(self) -> MembershipAnswer:
        """`not-found` is said only when everything asked was searched to the end; otherwise
        the verdict is `inconclusive` and the explanation says what was not searched."""
        incomplete = [c for c in self.corpus_coverage if c.status != "complete"]
        if self.verdict == "not-found" and (self.partial or incomplete or self.not_searched):
            self.verdict = "inconclusive"
            missed = "; ".join(f"{c.corpus}: {' '.join(c.reasons)}" for c in incomplete)
            self.explanation = (
                (self.explanation + " " if self.explanation else "")
                + "Not everything asked was searched to the end, so this is not a 'not found'"
                + (f" ({missed})" if missed else "")
                + "."
            )
        return self


class PersonCorpus(BaseModel):
    """Counts for one corpus. Identifier counts are never narrowed by domain, language or
    time, and are never combined with the name: a count of documents that mention a phrase
    and hold an e-mail would say whether one known document holds it."""

    corpus: str
    name_documents: int | None  # None when withheld (narrowed to a small cell)
    identifier_documents: dict[str, int]  # identifier label ("email 1") -> documents
    any_identifier_documents: int | None = Field(
        description="Documents holding any identifier given: with one identifier its count "
        "(0 with none); None (withheld) with several, as their union would link them: an "
        "e-mail and a word or URL of one known document would say whether it holds the e-mail."
    )


class PersonEvidence(BaseModel):
    """A document that mentions the name (identifiers give counts only, never documents)."""

    doc_id: str
    corpus: str
    variant: str = Field(
        description='The form of its first mention ("First Last", "Last, F.", "F. M. Last" …: '
        "docs/api.md, Person search)."
    )
    matched: str = Field(description="That mention as the redacted text writes it.")
    mentions: int = Field(description="Mentions of the name in the document, in any form.")
    snippet: Snippet  # centred on the first mention; every mention in it highlighted


class PersonAnswer(Covered):
    name: str
    variants: list[str] = Field(
        description="The forms of the name searched (docs/api.md, Person search); `Last` alone "
        "when no given name was asked."
    )
    corpora: list[PersonCorpus]
    evidence: list[PersonEvidence]
    took_ms: float = 0.0


class DocumentView(Covered):
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
CorpusName = Annotated[str, Field(max_length=64)]
"""A corpus name as a request may give it (the limit every route shares)."""


class Filters(BaseModel):
    """What every question can be narrowed to: corpora, domain, language, shard, time range.

    The corpus filter is spelt `corpus` in every request, as in `GET /v1/search?corpus=`: a
    list of names (or one name); `corpora` is still accepted. Empty: every corpus."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    corpora: list[CorpusName] = Field(
        [],
        max_length=32,
        validation_alias=AliasChoices("corpus", "corpora"),
        description="Corpora to ask (a name or a list of names); empty: every corpus.",
    )

    @field_validator("corpora", mode="before")
    @classmethod
    def _one_name(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    domain: str | None = Field(None, max_length=253)
    language: str | None = Field(None, max_length=16)
    shard: str | None = Field(None, max_length=200)
    since: datetime | None = None
    until: datetime | None = None


class ExactRequest(Filters):
    passage: str = Field(..., min_length=1, max_length=100_000)
    case_sensitive: bool = True
    punctuation: bool = True
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
