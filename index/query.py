"""The questions asked of the index: BM25 search, exact passages, single documents.

Every function takes the `Indexes` of a data directory and the settings (for limits), and
returns a pydantic answer from `corpuscope.models.answers`; the CLI prints it, the API serves it.
Bad input raises `QueryError` (HTTP 422); every snippet shown is redacted (`snippets`).

Every answer says what it searched (`targets`: `corpus_coverage`, one `Coverage` per corpus
asked about): never a confident answer over data not searched. A corpus named in a question
that is not indexed is refused with `NotIndexed` (409, with the command to run), an unknown
one with `NotFound` (404); over every corpus, one not indexed or damaged is named as not
searched and the answer is `partial`.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import regex
import tantivy

from corpuscope.artifacts import (
    Made,
    compare,
    current_scanner,
    live_inputs,
    statuses,
    summarise,
)
from corpuscope.config import Settings
from corpuscope.errors import Damaged, NotFound, NotIndexed, NotScanned, QueryError
from corpuscope.index.build import folder_bytes, index_made
from corpuscope.index.querylang import doc_freq_over, parse_public
from corpuscope.index.schema import (
    INDEX_VERSION,
    WORD,
    build_schema,
    phrase,
    positioned,
    tokenize,
)
from corpuscope.index.searcher import CorpusIndex, Indexes, StoredDoc, repair_hint
from corpuscope.index.snippets import best_region, snippet
from corpuscope.models.answers import (
    CorpusInfo,
    Coverage,
    DocumentView,
    ExactAnswer,
    ExactHit,
    Filters,
    Hit,
    SearchAnswer,
    Snippet,
    Span,
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


class Targets(list[CorpusIndex]):
    """The corpora a question searches (their indexes, in order), with the coverage of every
    corpus it was asked about (`covered`)."""

    def __init__(self, searched: list[CorpusIndex], asked: list[Coverage]):
        super().__init__(searched)
        self.asked = asked

    def covered(self, stopped: str | None = None) -> list[Coverage]:
        """The answer's `corpus_coverage`; `stopped` says why the search of every corpus
        searched ended early (a limit, the time limit): each is then `partial`."""
        if not stopped:
            return list(self.asked)
        return [
            c.model_copy(update={"status": "partial", "reasons": [*c.reasons, stopped]})
            if c.searched
            else c
            for c in self.asked
        ]


#: What `Targets.covered` is told when a question stopped early.
STOPPED_BY_TIME = "the time limit (`query_timeout`) stopped the check before every candidate"
STOPPED_BY_CANDIDATES = (
    "more candidate documents than `max_candidates`: only the best-ranked were checked"
)


def _index_state(cs) -> str:
    """The corpus's index against its shards (`artifacts.compare`), from the manifests."""
    try:
        made = index_made(cs)
        return compare(
            cs.name, "index", made, Made("index", str(INDEX_VERSION), live_inputs(cs))
        ).state
    except (OSError, ValueError, KeyError, TypeError):  # an unreadable index.json or manifest
        return "damaged"


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _manifests_stamp(cs) -> tuple:
    """Inode, modification time and size of every file a corpus's states are read from (the
    manifests, the index's CURRENT and its index.json): any of them replaced changes it."""
    current = cs.index_dir / "CURRENT"
    try:
        generation = current.read_text().strip()
    except OSError:
        generation = ""
    files = [cs.manifest_path, cs.pii_manifest_path, cs.stats_manifest_path, current]
    if generation:
        files.append(cs.index_dir / generation / "index.json")
    return tuple(_stamp(f) for f in files)


#: The states of corpora by (data directory, corpus, scanner, stamp of their manifests):
#: reading and hashing the manifests on every question cost a fifth of a search.
_STATES: dict[tuple, tuple[str, str | None]] = {}


def _states(cs, settings: Settings | None) -> tuple[str, str | None]:
    """(indexed, scanned) of a corpus; scanned only with `settings` (identifier lookups)."""
    key = (
        str(cs.root),
        settings and current_scanner(settings),
        _manifests_stamp(cs),
    )
    if key not in _STATES:
        if len(_STATES) > 256:
            _STATES.clear()
        if settings is None:
            _STATES[key] = (_index_state(cs), None)
        else:
            try:
                states = summarise(statuses(cs, settings))
                _STATES[key] = (states["indexed"], states["scanned"])
            except (OSError, ValueError, KeyError, TypeError):
                _STATES[key] = ("damaged", "damaged")
    return _STATES[key]


def corpus_coverage(
    indexes: Indexes,
    name: str,
    ci: CorpusIndex | None,
    damaged: bool,
    settings: Settings | None = None,
) -> Coverage:
    """How a question covers one corpus: its index as served (`ci`; None with `damaged`: out
    of service) and against its shards; with `settings` (identifier lookups), its scan too."""
    cs = indexes.store.corpus(name)
    reasons: list[str] = []
    indexed, scanned = _states(cs, settings)
    if ci is None:
        if damaged:
            reasons.append(f"its index is damaged: {repair_hint(name)}")
            indexed = "damaged"
        else:
            reasons.append(f"not indexed yet: run `corpuscope index --corpus {name}`")
            indexed = "missing"
        return Coverage(
            corpus=name,
            status="not-searched",
            searched=False,
            indexed=indexed,
            scanned=scanned,
            reasons=reasons,
        )
    status = "complete"
    if ci.problem is not None:  # the published generation is damaged; the one before answers
        status, indexed = "partial", "damaged"
        reasons.append(
            f"answered by its previous index (the published one is damaged): {repair_hint(name)}"
        )
    elif indexed != "current":
        status = "stale"
        reasons.append(
            "its index is older than its shards (documents ingested, changed or removed since "
            f"are not reflected): run `corpuscope index --corpus {name}`"
        )
    if scanned is not None and scanned != "current":
        status = "partial"
        reasons.append(
            "not every shard is scanned for personal data with the current scanner, so "
            f"identifiers are not looked up in all of it: run `corpuscope scan --corpus {name}`"
        )
    return Coverage(
        corpus=name, status=status, searched=True, indexed=indexed, scanned=scanned, reasons=reasons
    )


def targets(
    indexes: Indexes,
    filters: Filters,
    settings: Settings | None = None,
    identifiers: bool = False,
) -> Targets:
    """The indexed corpora a question goes to, with the coverage of every corpus asked about.

    An unknown corpus is a 404 (`NotFound`); a corpus named in `filters` that is not indexed
    is a 409 (`NotIndexed`), and so is a question no corpus is indexed for; with
    `identifiers` (a lookup of e-mails or phones, which reads the PII sidecars), a named
    corpus never scanned is a 409 (`NotScanned`). Over every corpus, one not indexed is named
    as not searched. A damaged index is left out and named (`Indexes.tolerant`); a question
    only damaged corpora could answer is a 503 (`Damaged`).
    """
    known = indexes.store.corpora()
    for name in filters.corpora:
        if name not in known:
            raise NotFound(f"no corpus named {name!r}")
    names = list(dict.fromkeys(filters.corpora)) or list(known)
    if not names:
        raise NotFound("there is no corpus yet: run `corpuscope ingest --corpus NAME SOURCE`")
    with indexes.tolerant() as skipped:
        opened = {name: indexes.get(name) for name in names}
    asked = [
        corpus_coverage(
            indexes, name, opened[name], name in skipped, settings if identifiers else None
        )
        for name in names
    ]
    named = set(filters.corpora)
    unindexed = [c.corpus for c in asked if c.indexed == "missing" and not c.searched]
    refused = [n for n in unindexed if n in named] or (
        unindexed if not any(c.searched for c in asked) and not skipped else []
    )
    if refused:
        which = ", ".join(refused)
        runs = "; ".join(f"`corpuscope index --corpus {n}`" for n in refused)
        raise NotIndexed(
            f"{'corpus' if len(refused) == 1 else 'corpora'} {which} "
            f"{'is' if len(refused) == 1 else 'are'} not indexed yet, so nothing can be "
            f"searched there: run {runs}"
        )
    unscanned = [c.corpus for c in asked if c.corpus in named and c.scanned == "missing"]
    if identifiers and unscanned:
        which = ", ".join(unscanned)
        runs = "; ".join(f"`corpuscope scan --corpus {n}`" for n in unscanned)
        raise NotScanned(
            f"{'corpus' if len(unscanned) == 1 else 'corpora'} {which} "
            f"{'is' if len(unscanned) == 1 else 'are'} not scanned for personal data yet, so "
            f"e-mails and phone numbers cannot be looked up there: run {runs}"
        )
    searched = [opened[c.corpus] for c in asked if c.searched]
    if not searched and skipped:
        indexes.indexed(sorted(skipped))  # raises `Damaged`: nothing left to answer from
    return Targets(searched, asked)


def with_filters(query: tantivy.Query, schema: tantivy.Schema, filters: Filters) -> tantivy.Query:
    extra = clauses(filters, schema)
    if not extra:
        return query
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in [query, *extra]])


def check_passage(passage: str, settings: Settings) -> None:
    if len(passage) > settings.max_passage_chars:
        raise QueryError(f"the passage is longer than {settings.max_passage_chars} characters")


#: Rounds of percent-decoding a URL gets before it is redacted (``%2540`` is ``@`` encoded
#: twice, common in tracking links); a URL still changing after them is withheld.
URL_DECODE_ROUNDS = 4
#: What is shown for a URL encoded more often than `URL_DECODE_ROUNDS`.
WITHHELD_URL = "[URL]"


@lru_cache(maxsize=65_536)  # a pure function of the URL, and the detector's pass is costly
def public_url(url: str | None) -> str | None:
    """A document's URL as shown: percent-decoded until stable, then personal data in it
    (``mailto:``, ``?email=``, a phone number, encoded once or more) redacted and the decoded,
    redacted form shown; a URL with none is shown as stored. A URL still changing after
    `URL_DECODE_ROUNDS` decodings is withheld (`WITHHELD_URL`)."""
    if not url:
        return url
    decoded = url
    for _ in range(URL_DECODE_ROUNDS):
        once = unquote(decoded)
        if once == decoded:
            break
        decoded = once
    else:
        if unquote(decoded) != decoded:
            return WITHHELD_URL
    shown, replaced = redact(decoded)
    return shown if replaced else url


def shown_metadata(doc: StoredDoc) -> dict[str, Any]:
    """A stored document's metadata as answers show it: its URL with personal data redacted
    (`public_url`); the index stores the public view of the domain (`public_domain`)."""
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
    """BM25 over the text in the public query language (`querylang`), filtered and paged;
    each hit's snippet is centred on its best-matching region (`best_region`)."""
    deadline = Deadline(settings.query_timeout)
    filters = filters or Filters()
    if len(q) > settings.max_query_chars:  # before any work on it
        raise QueryError(f"the query is longer than {settings.max_query_chars} characters")
    # A query is redacted like a passage: it looks for the type of a value, never the value.
    q, replaced = redact(q)
    query_words = _LABEL_WORD.sub(r" \1 ", q)  # [EMAIL] is the word "email" to the index
    cis = targets(indexes, filters)
    from corpuscope.dsr.suppression import hidden_ids

    hidden = hidden_ids(indexes.store.root)
    doc_freq = doc_freq_over(lambda: [s for ci in cis for s in ci.searchers()], hidden)
    # Plain text past max_clauses: its rarest words; syntax it cannot read: plain words.
    read = parse_public(query_words, build_schema(), settings, doc_freq)
    parsed, searched, dropped = read.query, read.terms, read.dropped
    check_page(k, offset, settings)

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
    page = [] if withheld else found[offset : offset + k]
    weights = _idf(terms, doc_freq, sum(ci.num_docs() for ci in cis)) if page else {}
    phrases = _phrases(query_words, terms) if read.read_as == "query" else []
    loose = set(tokenize(_QUOTED.sub(" ", query_words))) & terms  # words searched on their own
    single = loose | (terms - {w for p in phrases for w in p})
    hits = []
    for f in page:
        doc = indexes.fetch(f)
        focus, marks = best_region(doc.text, single, settings.snippet_words, weights, phrases)
        shown = snippet(doc.text, focus=focus, words=settings.snippet_words, lead=0.5, marks=marks)
        hits.append(hit(Hit, doc, f.score, shown))
    return SearchAnswer(
        query=q,
        redacted=[r.entity_type for r in replaced],
        dropped=dropped,
        read_as=read.read_as,
        read_as_reason=read.reason,
        corpora=[c.name for c in cis],
        total=None if withheld else total,
        withheld=withheld,
        offset=offset,
        k=k,
        hits=hits,
        corpus_coverage=cis.covered(STOPPED_BY_TIME if deadline.passed else None),
        took_ms=deadline.ms(),
    )


def _idf(terms: set[str], doc_freq, documents: int) -> dict[str, float]:
    """BM25's IDF of each term over the corpora searched (the public index: no hidden value
    counts), so that a snippet prefers the rarer terms of the query."""
    out = {}
    for t in terms:
        df = doc_freq(t)
        out[t] = math.log(1 + (documents - df + 0.5) / (df + 0.5))
    return out


_QUOTED = re.compile(r'(-?)"([^"]*)"')


def _phrases(query: str, terms: set[str]) -> list[list[str]]:
    """The phrases of a query (already accepted by `parse_public`, so its quotes pair up and
    hold no escapes) whose words are all searched for (not excluded), as index terms."""
    out = []
    for minus, text in _QUOTED.findall(query):
        words = tokenize(text)
        if not minus and len(words) > 1 and all(w in terms for w in words):
            out.append(words)
    return out


# -- exact passages ----------------------------------------------------------------------------
def public_passage(passage: str) -> tuple[str, list[str]]:
    """A passage as the public index holds text: personal data replaced by its type, white
    space runs made one space. Returns it with the types replaced (so the answer says so)."""
    redacted, replaced = redact(passage)
    return normalise_passage(redacted), [r.entity_type for r in replaced]


def normalise_passage(passage: str) -> str:
    """White space runs become one space; the passage is otherwise kept as given."""
    return " ".join(passage.split())


#: A character of a word, as the index cuts words (`schema.WORD`: letters and digits).
_WORD_CHAR = regex.compile(r"[\p{Alphabetic}\p{N}]")


@dataclass(frozen=True)
class PassageMatcher:
    """Finds the occurrences of a passage in a text: `body` (the standard library's `re`:
    the `regex` module's search for a long literal grows about as the cube of its length,
    seconds for a 1,600-character word on one page) where the passage's ends are words, at
    word boundaries of the text."""

    body: re.Pattern[str]
    starts: bool  # the passage begins with a letter or digit
    ends: bool  # … ends with one

    def spans(self, text: str) -> list[tuple[int, int]]:
        """[start, end) of each occurrence, leftmost first, not overlapping."""
        out: list[tuple[int, int]] = []
        pos = 0
        while (m := self.body.search(text, pos)) is not None:
            start, end = m.span()
            if (self.starts and start > 0 and _WORD_CHAR.match(text, start - 1)) or (
                self.ends and end < len(text) and _WORD_CHAR.match(text, end)
            ):
                pos = start + 1  # inside a longer word: look again one character on
                continue
            out.append((start, end))
            pos = max(end, start + 1)
        return out


def passage_pattern(
    passage: str, case_sensitive: bool = True, punctuation: bool = True
) -> PassageMatcher:
    """What an occurrence of `passage` (white space normalised) is in a document's text.

    The passage's white-space-separated pieces, in order, separated by any white space; with
    `punctuation` false, its words (runs of letters and digits, as the index cuts them)
    separated by any run of other characters (punctuation, white space, symbols), so that
    punctuation and spacing added, dropped or changed do not count. Either way an occurrence
    begins and ends at word boundaries: where the passage begins (ends) with a letter or
    digit, the text may not have one just before (after) it, so "the" is not found in
    "other", nor "he is" in "she is", nor "volcan" in "volcano".
    """
    if punctuation:
        body = r"\s+".join(re.escape(w) for w in passage.split())
        starts = bool(passage) and _WORD_CHAR.match(passage) is not None
        ends = bool(passage) and _WORD_CHAR.match(passage, len(passage) - 1) is not None
    else:
        words = WORD.findall(passage)
        if not words:
            raise QueryError("the passage has no words to look for")
        body = r"[\W_]+".join(re.escape(w) for w in words)  # anything but letters and digits
        starts = ends = True
    return PassageMatcher(re.compile(body, 0 if case_sensitive else re.IGNORECASE), starts, ends)


def phrase_query(schema: tantivy.Schema, passage: str) -> tantivy.Query:
    """A phrase query of all the passage's words, which every document holding an occurrence
    matches (occurrences begin and end at word boundaries, so every word of the passage is a
    whole word of the text): a superset, confirmed on the text."""
    words = positioned(passage)
    if not words:
        raise QueryError("the passage has no words to look for")
    return phrase(schema, words)


def exact_note(
    redacted: list[str],
    documents: int | None,
    candidates: int | None,
    case_sensitive: bool,
    punctuation: bool,
) -> str | None:
    """Why a passage may match fewer documents than expected, in words. It depends only on the
    redacted passage (the types replaced in it) and on counts over the public index, never on
    a hidden value: a right and a wrong guess at personal data get the same note."""
    parts = []
    if redacted:
        types = ", ".join(sorted(set(redacted)))
        parts.append(
            f"The passage holds text taken for personal data ({types}), which was replaced "
            "by its type before matching, as it is in every document of the public index. A "
            "document whose scan did not take the same characters for personal data (a date "
            "or number read differently in its full context) cannot match there"
            + (
                ": search for the part of the passage before or after it."
                if documents == 0
                else "."
            )
        )
    if documents == 0 and candidates:
        loosen = [
            name
            for name, on in (
                ("case_sensitive=false", case_sensitive),
                ("punctuation=false", punctuation),
            )
            if on
        ]
        parts.append(
            "Documents hold the passage's words in this order, but not as written (case, "
            "punctuation, spacing or a hidden span differ)"
            + (f": try {' or '.join(loosen)}." if loosen else ".")
        )
    return " ".join(parts) or None


def exact(
    indexes: Indexes,
    passage: str,
    settings: Settings,
    filters: Filters | None = None,
    k: int = 10,
    case_sensitive: bool = True,
    punctuation: bool = True,
) -> ExactAnswer:
    """Does this passage occur verbatim (`passage_pattern`)? Documents and occurrences,
    confirmed on the text: `occurrences` is the sum of the documents' own counts
    (non-overlapping occurrences, leftmost first: `PassageMatcher.spans`)."""
    deadline = Deadline(settings.query_timeout)
    filters = filters or Filters()
    check_passage(passage, settings)
    check_page(k, 0, settings)
    norm, redactions = public_passage(passage)
    pattern = passage_pattern(norm, case_sensitive, punctuation)
    cis = targets(indexes, filters)
    _, found = indexes.search(
        cis,
        lambda ci: with_filters(phrase_query(ci.schema, norm), ci.schema, filters),
        settings.max_candidates,
        count=False,
    )
    documents = occurrences = 0
    hits: list[ExactHit] = []
    stopped = STOPPED_BY_CANDIDATES if len(found) >= settings.max_candidates else None
    for f in found:
        if deadline.passed:
            stopped = STOPPED_BY_TIME
            break
        doc = indexes.fetch(f)
        # Both the passage and the text are the redacted view: a guess at a hidden value
        # matches exactly as a wrong guess does (neither is there; its type is).
        matches = pattern.spans(doc.text)
        if not matches:
            continue  # the phrase matched but the text does not confirm it
        documents += 1
        occurrences += len(matches)
        if len(hits) < k:
            shown = snippet(doc.text, words=settings.snippet_words, marks=matches)
            spans = [Span(start=s, end=e) for s, e in matches[: settings.max_spans]]
            hits.append(
                hit(
                    ExactHit,
                    doc,
                    f.score,
                    shown,
                    occurrences=len(matches),
                    document_spans=spans,
                )
            )

    if withhold(indexes, cis, filters, "", max(documents, len(found)), settings):
        documents = occurrences = None
        hits = []
    candidates = None if documents is None else len(found)
    return ExactAnswer(
        passage=norm,
        redacted=redactions,
        withheld=documents is None,
        case_sensitive=case_sensitive,
        punctuation=punctuation,
        documents=documents,
        occurrences=occurrences,
        candidates=candidates,
        hits=hits,
        note=exact_note(redactions, documents, candidates, case_sensitive, punctuation),
        corpus_coverage=cis.covered(stopped),
        took_ms=deadline.ms(),
    )


def document(indexes: Indexes, doc_id: str, settings: Settings) -> DocumentView:
    """A document's metadata and its opening window (`snippet_words` words of the redacted
    view). There is no paging: public display is capped snippets, never a whole document.

    Not found is a 404 only when every corpus was searched: with a corpus not indexed it is a
    409 (`NotIndexed`), with a damaged one a 503 (`Damaged`)."""
    cis = targets(indexes, Filters())
    try:
        doc, damaged = indexes.find_doc(doc_id), None
    except Damaged as exc:  # not in the corpora searched, and some index is damaged
        doc, damaged = None, exc
    if doc is None:
        unindexed = [c.corpus for c in cis.asked if not c.searched and c.indexed == "missing"]
        if unindexed:
            raise NotIndexed(
                f"no document {doc_id!r} in the corpora searched, and {', '.join(unindexed)} "
                "cannot be searched until indexed: run "
                + "; ".join(f"`corpuscope index --corpus {n}`" for n in unindexed)
                + (f" ({damaged})" if damaged else "")
            )
        if damaged:
            raise damaged
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
        corpus_coverage=cis.covered(),
    )


def corpora(indexes: Indexes) -> list[CorpusInfo]:
    """Every corpus with its sizes, and what its index holds."""
    from corpuscope.dsr.suppression import pending

    out = []
    for name in indexes.store.corpora():
        totals = indexes.store.corpus(name).manifest().totals()
        ci = indexes.get(name)
        # Suppressed documents still in the files until `dsr apply` are not counted.
        hidden = len(pending(indexes.store.root, name))
        out.append(
            CorpusInfo(
                name=name,
                shards=totals["shards"],
                documents=max(0, totals["documents"] - hidden),
                quarantined=totals["quarantined"],
                text_bytes=totals["text_bytes"],
                parquet_bytes=totals["parquet_bytes"],
                indexed_documents=max(0, ci.num_docs() - hidden) if ci else 0,
                index_bytes=folder_bytes(ci.folder) if ci else 0,
                index_partitions=len(ci.partitions) if ci else 0,
            )
        )
    return out
