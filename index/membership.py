""" "Was this text trained on?": shingle the passage, retrieve candidates, score, give a verdict.

The passage and each candidate document are cut into index terms (case, punctuation, white
space and diacritics do not count) and into shingles of `n` consecutive terms. A candidate's
*coverage* is the share of the passage's shingles it contains; its *longest run* is the
longest stretch of passage words found in the same order in the document. The verdict:

- ``verbatim``: every passage word, in order, in one run (coverage 1);
- ``near-duplicate``: coverage at least `NEAR` (survives a sentence dropped or inserted and
  a few words changed, which each cost at most `n` shingles: 3 below `LONG` words, else 5);
- ``partial``: coverage at least `PARTIAL`, or a run of at least `RUN` words;
- ``not-found``: otherwise.
"""

from __future__ import annotations

from collections import defaultdict

import tantivy

from corpuscope.config import Settings
from corpuscope.errors import QueryError
from corpuscope.index.query import (
    Deadline,
    check_page,
    check_passage,
    public_passage,
    targets,
    with_filters,
    withhold,
)
from corpuscope.index.schema import phrase, positioned, tokens_with_offsets
from corpuscope.index.searcher import CorpusIndex, Indexes
from corpuscope.index.snippets import snippet
from corpuscope.models.answers import Filters, MembershipAnswer, MembershipEvidence, Span

SHINGLE = 5  # words per shingle, for passages of LONG words or more
SHORT_SHINGLE = 3  # words per shingle below that: one changed word costs at most 3 shingles
LONG = 50
NEAR = 0.5  # coverage for near-duplicate
PARTIAL = 0.2  # coverage for partial
RUN = 13  # words in one run for partial (the n-gram length of GPT-3's contamination check)
PROBES = 32  # shingles sent to the index to find candidates
CANDIDATES = 25  # documents scored per question
MIN_WORDS = 3


def shingle_size(n_words: int) -> int:
    """Shingles of 5 words for long passages, of 3 for shorter ones (so that a 10-word
    passage with one word changed keeps 5 of its 8 shingles: still a near-duplicate)."""
    return max(1, min(SHINGLE if n_words >= LONG else SHORT_SHINGLE, n_words))


def _merge(spans: list[tuple[int, int]]) -> list[Span]:
    out: list[list[int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [Span(start=s, end=e) for s, e in out]


def score(passage: list[tuple[str, int, int]], text: str, n: int) -> tuple[float, int, list, list]:
    """Coverage, longest run (words) and matched spans in the passage and in the document."""
    p_terms = [t for t, _, _ in passage]
    shingles = [tuple(p_terms[i : i + n]) for i in range(len(p_terms) - n + 1)]
    wanted = set(shingles)
    doc = tokens_with_offsets(text)
    d_terms = [t for t, _, _ in doc]
    where: dict[tuple, list[int]] = defaultdict(list)
    for j in range(len(d_terms) - n + 1):
        sh = tuple(d_terms[j : j + n])
        if sh in wanted:
            where[sh].append(j)
    if not where:
        return 0.0, 0, [], []
    matched = [i for i, sh in enumerate(shingles) if sh in where]
    coverage = len(matched) / len(shingles)
    best, prev = 0, {}
    for sh in shingles:
        cur = {j: prev.get(j - 1, 0) + 1 for j in where.get(sh, ())}
        best = max(best, *cur.values()) if cur else best
        prev = cur
    longest = best + n - 1
    p_spans = [(passage[i][1], passage[i + n - 1][2]) for i in matched]
    d_spans = []
    for i in matched:
        j = where[shingles[i]][0]
        d_spans.append((doc[j][1], doc[j + n - 1][2]))
    return coverage, longest, _merge(p_spans), _merge(d_spans)


_THRESHOLDS = {
    "near_duplicate_coverage": NEAR,
    "partial_coverage": PARTIAL,
    "partial_run_words": RUN,
}


def verdict(coverage: float, longest: int, n_words: int) -> str:
    if coverage >= 1.0 and longest >= n_words:
        return "verbatim"
    if coverage >= NEAR:
        return "near-duplicate"
    if coverage >= PARTIAL or longest >= min(RUN, n_words):
        return "partial"
    return "not-found"


def _probe_query(ci: CorpusIndex, words: list[tuple[int, str]], n: int) -> tantivy.Query:
    """Up to PROBES of the passage's shingles, spread over it, any of which may match."""
    last = len(words) - n
    if last + 1 > PROBES:  # evenly spread, first and last shingle included
        starts = sorted({round(i * last / (PROBES - 1)) for i in range(PROBES)})
    else:
        starts = list(range(last + 1))
    probes = [phrase(ci.schema, words[i : i + n]) for i in starts]
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in probes])


def membership(
    indexes: Indexes,
    passage: str,
    settings: Settings,
    filters: Filters | None = None,
    k: int = 5,
) -> MembershipAnswer:
    """The verdict for `passage` with the evidence of the best `k` documents."""
    deadline = Deadline(settings.query_timeout)
    filters = filters or Filters()
    check_passage(passage, settings)
    check_page(k, 0, settings)
    passage, redactions = public_passage(passage)
    tokens = tokens_with_offsets(passage)
    if len(tokens) < MIN_WORDS:
        raise QueryError(f"the passage needs at least {MIN_WORDS} words")
    n = shingle_size(len(tokens))
    terms = [t for t, _, _ in tokens]
    cis = targets(indexes, filters)
    _, found = indexes.search(
        cis,
        lambda ci: with_filters(_probe_query(ci, positioned(passage), n), ci.schema, filters),
        min(CANDIDATES, settings.max_candidates),
        count=False,
    )
    scored = []
    partial = False
    for f in found:
        if deadline.passed:
            partial = True
            break
        doc = indexes.fetch(f)
        coverage, longest, p_spans, d_spans = score(tokens, doc.text, n)
        if coverage > 0 or longest > 0:
            scored.append((coverage, longest, doc, p_spans, d_spans))
    if withhold(indexes, cis, filters, "", len(found), settings):
        return MembershipAnswer(
            verdict="withheld",
            withheld=True,
            passage=passage,
            redacted=redactions,
            coverage=0.0,
            longest_run=0,
            passage_words=len(tokens),
            shingle_words=n,
            thresholds=_THRESHOLDS,
            evidence=[],
            candidates=None,
            partial=partial,
            took_ms=deadline.ms(),
        )
    scored.sort(key=lambda x: (x[0], x[1]), reverse=True)
    evidence = [
        MembershipEvidence(
            doc_id=doc.doc_id,
            corpus=doc.corpus,
            coverage=round(coverage, 4),
            longest_run=longest,
            passage_spans=p_spans,
            document_spans=d_spans,
            snippet=snippet(
                doc.text,
                set(terms),
                focus=d_spans[0].start if d_spans else None,
                words=settings.snippet_words,
            ),
        )
        for coverage, longest, doc, p_spans, d_spans in scored[:k]
    ]
    best_cov, best_run = (scored[0][0], scored[0][1]) if scored else (0.0, 0)
    return MembershipAnswer(
        verdict=verdict(best_cov, best_run, len(tokens)),
        passage=passage,
        redacted=redactions,
        coverage=round(best_cov, 4),
        longest_run=best_run,
        passage_words=len(tokens),
        shingle_words=n,
        thresholds=_THRESHOLDS,
        evidence=evidence,
        candidates=len(found),
        partial=partial,
        took_ms=deadline.ms(),
    )
