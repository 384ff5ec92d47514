""" "Was this text trained on?": shingle the passage, retrieve candidates, score, give a verdict.

The passage and each candidate document are cut into index terms (case, punctuation, white
space and diacritics do not count) and into shingles of `n` consecutive terms. A candidate's
*coverage* is the share of the passage's shingles it contains; its *longest run* is the
longest stretch of passage words found in the same order in the document. Each candidate
gets a verdict (`Thresholds`, from the settings `membership_*`), and the passage gets its
strongest candidate's:

- ``verbatim``: every passage word, in order, in one run (coverage 1);
- ``near-duplicate``: coverage at least `membership_near_coverage` (survives a sentence
  dropped or inserted and a few words changed, which each cost at most `n` shingles: 3
  below `LONG` words, else 5);
- ``partial``: coverage at least `membership_min_coverage` *and* a run of at least
  `membership_min_run` words (all the words of a shorter passage);
- ``not-found``: otherwise.

Only documents that reach ``partial`` or better are evidence: one that shares a common
phrase ("the next morning") with the passage is scored but never listed. The thresholds
are calibrated by bench/membership_quality.py (docs/benchmarks.md).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import tantivy

from corpuscope.config import Settings
from corpuscope.errors import QueryError
from corpuscope.index.query import (
    STOPPED_BY_TIME,
    Deadline,
    check_page,
    check_passage,
    public_passage,
    shown_metadata,
    targets,
    with_filters,
    withhold,
)
from corpuscope.index.schema import phrase, positioned, tokens_with_offsets
from corpuscope.index.searcher import CorpusIndex, Indexes, StoredDoc
from corpuscope.index.snippets import snippet
from corpuscope.models.answers import Filters, MembershipAnswer, MembershipEvidence, Span

SHINGLE = 5  # words per shingle, for passages of LONG words or more
SHORT_SHINGLE = 3  # words per shingle below that: one changed word costs at most 3 shingles
LONG = 50
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


@dataclass(frozen=True)
class Thresholds:
    """The verdict's thresholds (Settings `membership_*`, calibrated by
    bench/membership_quality.py)."""

    near_coverage: float
    min_coverage: float
    min_run: int

    @classmethod
    def of(cls, settings: Settings) -> Thresholds:
        return cls(
            settings.membership_near_coverage,
            settings.membership_min_coverage,
            settings.membership_min_run,
        )

    def shown(self) -> dict[str, float]:
        return {
            "near_duplicate_coverage": self.near_coverage,
            "min_coverage": self.min_coverage,
            "min_run_words": self.min_run,
        }


#: Verdicts from the strongest down (`withheld` is not a verdict on the text).
VERDICTS = ("verbatim", "near-duplicate", "partial", "not-found")


def verdict(coverage: float, longest: int, n_words: int, t: Thresholds) -> str:
    """One document's verdict on a passage of `n_words` words."""
    if coverage >= 1.0 and longest >= n_words:
        return "verbatim"
    if coverage >= t.near_coverage:
        return "near-duplicate"
    if coverage >= t.min_coverage and longest >= min(t.min_run, n_words):
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


@dataclass
class Candidate:
    """A candidate document scored against the passage."""

    doc: StoredDoc
    coverage: float
    longest_run: int
    passage_spans: list[Span]
    document_spans: list[Span]


@dataclass
class Scored:
    """A passage as matched (redacted, white space normalised) and its scored candidates."""

    passage: str
    redacted: list[str]
    words: int
    shingle_words: int
    corpora: list[CorpusIndex]
    candidates: list[Candidate]
    found: int  # documents the probe query returned
    partial: bool


def candidates(
    indexes: Indexes, passage: str, settings: Settings, filters: Filters, deadline: Deadline
) -> Scored:
    """Shingle `passage`, retrieve candidates with the probe query and score each on its text."""
    check_passage(passage, settings)
    passage, redactions = public_passage(passage)
    tokens = tokens_with_offsets(passage)
    if len(tokens) < MIN_WORDS:
        raise QueryError(f"the passage needs at least {MIN_WORDS} words")
    n = shingle_size(len(tokens))
    cis = targets(indexes, filters)
    _, found = indexes.search(
        cis,
        lambda ci: with_filters(_probe_query(ci, positioned(passage), n), ci.schema, filters),
        min(CANDIDATES, settings.max_candidates),
        count=False,
    )
    scored, partial = [], False
    for f in found:
        if deadline.passed:
            partial = True
            break
        doc = indexes.fetch(f)
        coverage, longest, p_spans, d_spans = score(tokens, doc.text, n)
        if coverage > 0:
            scored.append(Candidate(doc, coverage, longest, p_spans, d_spans))
    return Scored(passage, redactions, len(tokens), n, cis, scored, len(found), partial)


def membership(
    indexes: Indexes,
    passage: str,
    settings: Settings,
    filters: Filters | None = None,
    k: int = 5,
) -> MembershipAnswer:
    """The verdict for `passage`, in words too, with the evidence of the best `k` documents
    whose match could matter (`Thresholds`: the others are not listed)."""
    deadline = Deadline(settings.query_timeout)
    filters = filters or Filters()
    check_page(k, 0, settings)
    got = candidates(indexes, passage, settings, filters, deadline)
    t = Thresholds.of(settings)
    common = {
        "passage": got.passage,
        "redacted": got.redacted,
        "passage_words": got.words,
        "shingle_words": got.shingle_words,
        "thresholds": t.shown(),
        "partial": got.partial,
        "corpus_coverage": got.corpora.covered(STOPPED_BY_TIME if got.partial else None),
    }
    if withhold(indexes, got.corpora, filters, "", got.found, settings):
        return MembershipAnswer(
            verdict="withheld",
            withheld=True,
            explanation=explain("withheld", None, got, filters, t),
            coverage=0.0,
            longest_run=0,
            evidence=[],
            candidates=None,
            took_ms=deadline.ms(),
            **common,
        )
    judged = sorted(
        ((verdict(c.coverage, c.longest_run, got.words, t), c) for c in got.candidates),
        key=lambda x: (VERDICTS.index(x[0]), -x[1].coverage, -x[1].longest_run),
    )
    shown, best = judged[0] if judged else ("not-found", None)
    matter = [c for v, c in judged if v != "not-found"]  # the evidence
    evidence = [
        MembershipEvidence(
            **shown_metadata(c.doc),
            coverage=round(c.coverage, 4),
            longest_run=c.longest_run,
            passage_spans=c.passage_spans,
            document_spans=c.document_spans,
            snippet=snippet(
                c.doc.text,
                marks=[(s.start, s.end) for s in c.document_spans],
                words=settings.snippet_words,
            ),
        )
        for c in matter[:k]
    ]
    return MembershipAnswer(
        verdict=shown,
        explanation=explain(shown, best, got, filters, t),
        coverage=round(best.coverage, 4) if best else 0.0,
        longest_run=best.longest_run if best else 0,
        evidence=evidence,
        candidates=got.found,
        took_ms=deadline.ms(),
        **common,
    )


def _names(names: list[str]) -> str:
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)


def searched(got: Scored, filters: Filters) -> str:
    """What was searched, in words: the corpora and the filters."""
    names = [ci.name for ci in got.corpora]
    where = f"the indexed documents of {_names(names)}" if names else "no indexed corpus"
    narrowed = [
        f"{label} {value}"
        for label, value in (
            ("from domain", filters.domain),
            ("in language", filters.language),
            ("in shard", filters.shard),
            ("dated from", filters.since and filters.since.date().isoformat()),
            ("dated until", filters.until and filters.until.date().isoformat()),
        )
        if value
    ]
    return where + (f" ({', '.join(narrowed)})" if narrowed else "")


def explain(
    shown: str, best: Candidate | None, got: Scored, filters: Filters, t: Thresholds
) -> str:
    """The verdict in one sentence a non-expert understands, saying what was searched."""
    scope = searched(got, filters)
    if shown == "withheld":
        return (
            f"Searched {scope}, narrowed to fewer documents than the small-cell threshold, "
            "so the verdict is withheld to protect the people in them (docs/privacy.md)."
        )
    pct = f"{round(100 * best.coverage)}%" if best else "0%"
    if shown == "verbatim":
        said = (
            "The whole passage appears word for word (case, punctuation and spacing aside) "
            f"in a document among {scope}"
        )
    elif shown == "near-duplicate":
        said = (
            f"Most of the passage ({pct} of it) appears with small differences (words "
            f"changed, added or left out) in a document among {scope}"
        )
    elif shown == "partial":
        said = (
            f"Only part of the passage ({pct} of it, at most {best.longest_run} words in a "
            f"row) appears in a document among {scope}"
        )
    else:
        said = (
            f"No document among {scope} shares enough of the passage to suggest it was there "
            f"(at least {round(100 * t.min_coverage)}% of it and {t.min_run} words in a row)"
        )
    if got.partial:
        said += (
            "; the time limit stopped the check before every candidate was read, so a "
            "closer match may have been missed"
        )
    return said + "."
