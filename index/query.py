"""The questions asked of the index: BM25 search, exact passages, single documents.

Every function takes the `Indexes` of a data directory and the settings (for limits), and
returns a pydantic answer from `corpuscope.models.answers`; the CLI prints it, the API serves it.
Bad input raises `QueryError` (HTTP 422); every snippet shown is redacted (`snippets`).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import regex
import tantivy

from corpuscope.config import Settings
from corpuscope.errors import NotFound, QueryError
from corpuscope.index.build import folder_bytes
from corpuscope.index.querylang import doc_freq_over, parse_public
from corpuscope.index.schema import build_schema, phrase, positioned, tokenize
from corpuscope.index.searcher import CorpusIndex, Indexes, StoredDoc
from corpuscope.index.snippets import snippet
from corpuscope.models.answers import (
    CorpusInfo,
    DocumentView,
    ExactAnswer,
    ExactHit,
    Filters,
    Hit,
    SearchAnswer,
    Snippet,
)
from corpuscope.privacy.redact import redact


@dataclass
class Deadline:
    """A per-query time limit; loops over candidates check it and stop with `partial`."""

    seconds: float
    start: float = field(default_factory=time.monotonic)

    @property
    def passed(self) -> bool:
        return time.monotonic() - self.start > self.seconds

    def ms(self) -> float:
        return round((time.monotonic() - self.start) * 1000, 2)


def clauses(filters: Filters, schema: tantivy.Schema) -> list[tantivy.Query]:
    """The filters as tantivy queries, all of which a document must match."""
    out = [
        tantivy.Query.term_query(schema, name, value)
        for name, value in (
            ("domain", filters.domain),
            ("language", filters.language),
            ("shard", filters.shard),
        )
        if value
    ]
    if filters.since or filters.until:
        out.append(
            tantivy.Query.range_query(
                schema,
                "timestamp",
                tantivy.FieldType.Date,
                _in_range(filters.since),
                _in_range(filters.until),
            )
        )
    return out


def _in_range(when: datetime | None) -> datetime | None:
    """A time within what the index can store (naive times are UTC)."""
    if when is None:
        return None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return min(max(when, tantivy.MIN_DATETIME), tantivy.MAX_DATETIME)


def targets(indexes: Indexes, filters: Filters) -> list[CorpusIndex]:
    """The indexed corpora a question goes to; an unknown corpus is a 404."""
    known = set(indexes.store.corpora())
    for name in filters.corpora:
        if name not in known:
            raise NotFound(f"no corpus named {name!r}")
    return indexes.indexed(filters.corpora or None)


def with_filters(query: tantivy.Query, schema: tantivy.Schema, filters: Filters) -> tantivy.Query:
    extra = clauses(filters, schema)
    if not extra:
        return query
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in [query, *extra]])


def check_passage(passage: str, settings: Settings) -> None:
    if len(passage) > settings.max_passage_chars:
        raise QueryError(f"the passage is longer than {settings.max_passage_chars} characters")


def public_url(url: str | None) -> str | None:
    """A document's URL as shown: personal data in it (``mailto:``, ``?email=``, also
    percent-encoded) redacted; a URL with none is shown as stored."""
    if not url:
        return url
    shown, replaced = redact(unquote(url))
    return shown if replaced else url


def shown_metadata(doc: StoredDoc) -> dict[str, Any]:
    """A stored document's metadata as answers show it (its URL with personal data redacted)."""
    return {
        "doc_id": doc.doc_id,
        "corpus": doc.corpus,
        "url": public_url(doc.url),
        "domain": doc.domain,
        "language": doc.language,
        "timestamp": doc.timestamp,
    }


def hit(cls: type[Hit], doc: StoredDoc, score: float, snippet_: Snippet, **extra) -> Hit:
    """An answer's entry for a stored document (its metadata, score and snippet)."""
    return cls(**shown_metadata(doc), score=round(score, 4), snippet=snippet_, **extra)


#: Field queries that narrow a question the way the statistics' small cells do.
_NARROWING_FIELD = re.compile(r"\b(corpus|domain|language|timestamp)\s*:", re.IGNORECASE)


def withhold(
    indexes: Indexes,
    cis: list[CorpusIndex],
    filters: Filters,
    q: str,
    count: int,
    settings: Settings,
) -> bool:
    """One disclosure rule for answers (docs/privacy.md): a count of documents narrowed by
    domain, language, shard or time (filters or field queries), or within a corpus that is
    itself smaller than the threshold, is withheld when it is below `small_cell_threshold`,
    as the public statistics withhold it. Counts over whole corpora are shown."""
    threshold = settings.small_cell_threshold
    if not 0 < count < threshold:
        return False
    narrowed = any((filters.domain, filters.language, filters.shard, filters.since, filters.until))
    small = any(  # a corpus asked for by name that is itself a small cell
        indexes.store.corpus(ci.name).manifest().totals()["documents"] < threshold
        for ci in cis
        if ci.name in filters.corpora
    )
    return narrowed or small or bool(_NARROWING_FIELD.search(q))


def check_page(k: int, offset: int, settings: Settings) -> None:
    if not 1 <= k <= settings.max_k:
        raise QueryError(f"k must be between 1 and {settings.max_k}")
    if not 0 <= offset <= settings.max_offset:
        raise QueryError(f"offset must be between 0 and {settings.max_offset}")


_LABEL_WORD = re.compile(r"\[([A-Z_]+)\]")


def search(
    indexes: Indexes,
    q: str,
    settings: Settings,
    filters: Filters | None = None,
    k: int = 10,
    offset: int = 0,
) -> SearchAnswer:
    """BM25 over the text in the public query language (`querylang`), filtered and paged."""
    deadline = Deadline(settings.query_timeout)
    filters = filters or Filters()
    if len(q) > settings.max_query_chars:  # before any work on it
        raise QueryError(f"the query is longer than {settings.max_query_chars} characters")
    # A query is redacted like a passage: it looks for the type of a value, never the value.
    q, replaced = redact(q)
    query_words = _LABEL_WORD.sub(r" \1 ", q)  # [EMAIL] is the word "email" to the index
    parsed, searched, dropped = parse_public(  # plain text past max_clauses: its rarest words
        query_words,
        build_schema(),
        settings,
        doc_freq_over(lambda: [s for ci in targets(indexes, filters) for s in ci.searchers()]),
    )
    check_page(k, offset, settings)
    cis = targets(indexes, filters)

    def build(ci: CorpusIndex) -> tantivy.Query:
        return with_filters(parsed, ci.schema, filters)

    try:
        total, found = indexes.search(cis, build, offset + k)
    except QueryError:
        raise
    except ValueError as exc:  # e.g. "text:*" asks tantivy for a fast field it does not have
        raise QueryError(f"this query cannot be run: {exc}") from None
    withheld = withhold(indexes, cis, filters, q, total, settings)
    terms = set(searched)
    hits = []
    for f in [] if withheld else found[offset : offset + k]:
        doc = indexes.fetch(f)
        shown = snippet(doc.text, terms, words=settings.snippet_words)
        hits.append(hit(Hit, doc, f.score, shown))
    return SearchAnswer(
        query=q,
        redacted=[r.entity_type for r in replaced],
        dropped=dropped,
        corpora=[c.name for c in cis],
        total=None if withheld else total,
        withheld=withheld,
        offset=offset,
        k=k,
        hits=hits,
        partial=deadline.passed,
        took_ms=deadline.ms(),
    )


# -- exact passages ----------------------------------------------------------------------------
def public_passage(passage: str) -> tuple[str, list[str]]:
    """A passage as the public index holds text: personal data replaced by its type, white
    space runs made one space. Returns it with the types replaced (so the answer says so)."""
    redacted, replaced = redact(passage)
    return normalise_passage(redacted), [r.entity_type for r in replaced]


def normalise_passage(passage: str) -> str:
    """White space runs become one space; the passage is otherwise kept as given."""
    return " ".join(passage.split())


def passage_pattern(passage: str, case_sensitive: bool) -> re.Pattern[str] | regex.Pattern[str]:
    """The passage's words, in order, separated by any white space.

    A passage of fewer than four index words is looked for by all of them in the phrase query,
    so it may not begin or end inside a word of the text either ("he is" is not found in "she
    is", nor "the" in "other"); a longer one may (`phrase_query`).
    """
    body = r"\s+".join(re.escape(w) for w in passage.split())
    if len(positioned(passage)) >= 4:
        return re.compile(body, 0 if case_sensitive else re.IGNORECASE)
    word = r"[\p{Alphabetic}\p{N}]"  # a character of a word, as the index cuts words (WORD)
    if regex.match(word, passage):
        body = rf"(?<!{word}){body}"
    if regex.search(rf"{word}\Z", passage):
        body = rf"{body}(?!{word})"
    return regex.compile(body, 0 if case_sensitive else regex.IGNORECASE)


def phrase_query(schema: tantivy.Schema, passage: str) -> tantivy.Query:
    """A phrase query that every document holding `passage` matches (a superset).

    The first and last words are left out of the phrase when there are four or more, since
    the passage may start or end inside a word of the document.
    """
    words = positioned(passage)
    if not words:
        raise QueryError("the passage has no words to look for")
    return phrase(schema, words[1:-1] if len(words) >= 4 else words)


def exact(
    indexes: Indexes,
    passage: str,
    settings: Settings,
    filters: Filters | None = None,
    k: int = 10,
    case_sensitive: bool = True,
) -> ExactAnswer:
    """Does this passage occur verbatim? Documents and occurrences, confirmed on the text."""
    deadline = Deadline(settings.query_timeout)
    filters = filters or Filters()
    check_passage(passage, settings)
    check_page(k, 0, settings)
    norm, redactions = public_passage(passage)
    pattern = passage_pattern(norm, case_sensitive)
    cis = targets(indexes, filters)
    _, found = indexes.search(
        cis,
        lambda ci: with_filters(phrase_query(ci.schema, norm), ci.schema, filters),
        settings.max_candidates,
        count=False,
    )
    documents = occurrences = 0
    hits: list[ExactHit] = []
    partial = len(found) >= settings.max_candidates
    terms = set(tokenize(norm))
    for f in found:
        if deadline.passed:
            partial = True
            break
        doc = indexes.fetch(f)
        # Both the passage and the text are the redacted view: a guess at a hidden value
        # matches exactly as a wrong guess does (neither is there; its type is).
        matches = list(pattern.finditer(doc.text))
        if not matches:
            continue  # the phrase matched but the text does not confirm it
        documents += 1
        occurrences += len(matches)
        if len(hits) < k:
            shown = snippet(
                doc.text,
                terms,
                focus=matches[0].start(),
                words=settings.snippet_words,
            )
            hits.append(hit(ExactHit, doc, f.score, shown, occurrences=len(matches)))

    if withhold(indexes, cis, filters, "", max(documents, len(found)), settings):
        documents = occurrences = None
        hits = []
    return ExactAnswer(
        passage=norm,
        redacted=redactions,
        withheld=documents is None,
        case_sensitive=case_sensitive,
        documents=documents,
        occurrences=occurrences,
        candidates=None if documents is None else len(found),
        hits=hits,
        partial=partial,
        took_ms=deadline.ms(),
    )


def document(indexes: Indexes, doc_id: str, settings: Settings) -> DocumentView:
    """A document's metadata and its opening window (`snippet_words` words of the redacted
    view). There is no paging: public display is capped snippets, never a whole document."""
    doc = indexes.find_doc(doc_id)
    if doc is None:
        raise NotFound(f"no document {doc_id!r}")
    return DocumentView(
        **shown_metadata(doc),
        shard=doc.shard,
        n_chars=len(doc.text),
        window=snippet(
            doc.text,
            focus=0,
            words=settings.snippet_words,
            lead=0.0,
        ),
    )


def corpora(indexes: Indexes) -> list[CorpusInfo]:
    """Every corpus with its sizes, and what its index holds."""
    out = []
    for name in indexes.store.corpora():
        totals = indexes.store.corpus(name).manifest().totals()
        ci = indexes.get(name)
        out.append(
            CorpusInfo(
                name=name,
                shards=totals["shards"],
                documents=totals["documents"],
                quarantined=totals["quarantined"],
                text_bytes=totals["text_bytes"],
                parquet_bytes=totals["parquet_bytes"],
                indexed_documents=ci.num_docs() if ci else 0,
                index_bytes=folder_bytes(ci.folder) if ci else 0,
                index_partitions=len(ci.partitions) if ci else 0,
            )
        )
    return out
