"""Membership answers a user can trust: evidence only where the match could matter, each with
its URL, a verdict in words that says what was searched, and the calibrated thresholds
(bench/membership_quality.py) on the real samples plus documents planted here."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest

from corpuscope import jobs
from corpuscope.config import Settings
from corpuscope.index.membership import membership
from corpuscope.index.query import public_url
from corpuscope.index.searcher import Indexes
from corpuscope.models.answers import Filters
from corpuscope.store import Store
from tests.conftest import SAMPLES, documents

#: A story that exists only here, and a page that quotes its first half.
STORY = (
    "Marguerite Oyelaran kept the lighthouse at Skerrow Point for eleven winters, logging "
    "every ship that rounded the reef in a ledger bound with sailcloth. When the lamp failed "
    "during the storm of the long equinox she climbed the tower with a lantern and a mirror "
    "borrowed from the chapel, and signalled by hand until the fishing fleet had crossed the "
    "bar. The harbour board later named the new pilot boat after her, though she refused the "
    "ceremony and sent her nephew to cut the ribbon instead."
)
QUOTE = " ".join(STORY.split()[:40]) + " (quoted in the parish newsletter, with thanks)."
#: An address in a planted page: the index holds [EMAIL], and no answer may depend on it.
EMAIL = "wenceslas.marrow@example.org"
MAILED = f"Readers who remember the keeper of Skerrow Point may write to {EMAIL} with stories."
#: Ordinary pages that share one common phrase each with the outside passage below.
COMMON = [
    f"We packed the car at dawn and the next morning we reached the lake, day {i} of the trip."
    for i in range(10)
]
#: A 39-word passage from outside the corpus that shares only "the next morning" with it
#: (at its start: the probe query always includes a passage's first shingle).
OUTSIDE = (
    "The next morning Quartermaster Ibsen measured the brine twice before dusk and wrote "
    "that the copper kettles had turned green along every seam, so the crew scraped them "
    "with pumice and vinegar while gulls circled over the salt pans."
)


def _records() -> list[dict]:
    out = [
        {"id": "story", "text": STORY, "url": f"https://skerrow.example.net/keeper?email={EMAIL}"},
        {"id": "quote", "text": QUOTE, "url": "https://parish.example.com/news/7"},
        {"id": "mailed", "text": MAILED, "url": "https://skerrow.example.net/letters"},
    ]
    out += [
        {"id": f"c{i}", "text": t, "url": f"https://trips.example.org/{i}"}
        for i, t in enumerate(COMMON)
    ]
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("membership")
    settings = Settings(data=root / "data")
    planted = root / "planted.jsonl"
    planted.write_text("".join(json.dumps(r) + "\n" for r in _records()))
    for corpus, path in (
        ("c4", SAMPLES / "c4" / "c4-en-sample-449.jsonl.gz"),
        ("planted", planted),
    ):
        assert jobs.ingest(settings, corpus, [str(path)]).ok
        assert jobs.scan(settings, corpus).ok
        jobs.index(settings, corpus)
    return settings.data


@pytest.fixture(scope="module")
def ix(data) -> Indexes:
    return Indexes(Store(data))


@pytest.fixture(scope="module")
def settings(data) -> Settings:
    return Settings(data=data)


def _doc_id(data: Path, source_id: str) -> str:
    t = documents(data, "planted")
    ids = dict(zip(t.column("source_id").to_pylist(), t.column("doc_id").to_pylist(), strict=True))
    return ids[source_id]


def test_a_passage_sharing_one_common_phrase_is_not_found_and_lists_no_evidence(ix, settings):
    ans = membership(ix, OUTSIDE, settings, k=10)
    assert ans.passage_words == 39
    # Documents sharing "the next morning" were found and scored, but none could matter.
    assert ans.candidates >= 10 and 0 < ans.coverage < 0.1 and ans.longest_run == 3
    assert ans.verdict == "not-found"
    assert ans.evidence == []
    assert ans.explanation.startswith("No document among the indexed documents of c4 and planted")
    # The minimum is the settings': lowered, the same documents become evidence.
    loose = Settings(data=settings.data, membership_min_coverage=0.01, membership_min_run=3)
    ans = membership(ix, OUTSIDE, loose, k=10)
    assert ans.verdict == "partial" and len(ans.evidence) == 10
    assert all(e.coverage >= 0.01 and e.longest_run >= 3 for e in ans.evidence)


def test_an_edited_copy_is_a_near_duplicate_with_the_right_document_first(ix, settings, data):
    words = STORY.split()
    edited = words[3:-4]  # truncated at both ends
    edited[10] = "journal"  # a word replaced
    del edited[30]  # one dropped
    edited.insert(50, "brave")  # one inserted
    text = " ".join(edited).upper().replace(",", "").replace(".", " ;")
    ans = membership(ix, text, settings)
    assert ans.verdict == "near-duplicate", ans
    first, *rest = ans.evidence
    assert first.doc_id == _doc_id(data, "story")
    assert first.url == public_url(f"https://skerrow.example.net/keeper?email={EMAIL}")
    assert EMAIL not in first.url and "[EMAIL]" in first.url
    # The page that quotes half of it matters too, after it: a partial match, with its URL.
    assert [e.doc_id for e in rest] == [_doc_id(data, "quote")]
    assert rest[0].url == "https://parish.example.com/news/7"
    assert rest[0].coverage < first.coverage
    assert ans.explanation.startswith("Most of the passage (")
    assert "small differences" in ans.explanation and "c4 and planted" in ans.explanation
    # The snippet is centred on the match and highlights the matched spans, not single words.
    snip = first.snippet
    assert snip.highlights
    for s, e in snip.highlights:
        start, end = snip.start + s, snip.start + e
        assert any(d.start <= start and end <= d.end for d in first.document_spans)
    verbatim = membership(ix, " ".join(words[5:30]), settings)
    assert verbatim.verdict == "verbatim"
    assert verbatim.explanation.startswith("The whole passage appears word for word")


def test_edited_copies_from_the_real_sample_name_their_document(ix, settings, data):
    rng = random.Random(3)
    t = documents(data, "c4")
    docs = [
        (d, x)
        for d, x in zip(t.column("doc_id").to_pylist(), t.column("text").to_pylist(), strict=True)
        if len(x.split()) >= 150
    ]
    for doc_id, text in rng.sample(docs, 8):
        words = text.split()
        start = rng.randrange(len(words) - 60)
        passage = words[start : start + 60]
        passage[20] = "marmalade"
        del passage[40]
        ans = membership(ix, " ".join(passage).lower(), settings, Filters(corpora=["c4"]))
        assert ans.verdict in ("verbatim", "near-duplicate"), (doc_id, ans.coverage)
        best = ans.evidence[0]
        # The right document first, or a copy of it that matches at least as well.
        assert best.doc_id == doc_id or best.coverage >= ans.evidence[-1].coverage
        assert doc_id in {e.doc_id for e in ans.evidence}
        assert all(e.url for e in ans.evidence)  # every C4 page has its URL


def test_real_text_from_outside_is_not_found(ix, settings):
    owt = sorted((SAMPLES / "openwebtext" / "urlsf_subset00").glob("*.txt"))
    texts = [p.read_text(encoding="utf-8") for p in owt]
    with gzip.open(SAMPLES / "commoncrawl" / "cc-en-head-0091-dolma.jsonl.gz", "rt") as f:
        texts += [json.loads(line)["text"] for line in f]
    rng = random.Random(11)
    for _ in range(12):
        words = rng.choice(texts).split()
        size = rng.randint(20, min(120, len(words)))
        start = rng.randrange(len(words) - size + 1)
        ans = membership(ix, " ".join(words[start : start + size]), settings)
        assert ans.verdict == "not-found" and ans.evidence == [], ans.explanation


def test_the_explanation_says_what_was_searched(ix, settings):
    passage = " ".join(STORY.split()[:30])
    narrowed = membership(
        ix,
        passage,
        Settings(data=settings.data, small_cell_threshold=1),
        Filters(corpora=["planted"], domain="example.net"),
    )
    assert narrowed.verdict == "verbatim"
    assert "the indexed documents of planted (from domain example.net)" in narrowed.explanation
    # Narrowed to a small cell: withheld, and the sentence says so without a figure.
    withheld = membership(ix, passage, settings, Filters(domain="example.net"))
    assert withheld.verdict == "withheld" and withheld.evidence == []
    assert "withheld" in withheld.explanation
    assert not any(ch.isdigit() for ch in withheld.explanation.replace("c4", ""))


def test_no_membership_answer_depends_on_a_hidden_address(ix, settings):
    """The attack: guess the planted address; the right and the wrong guess are answered
    identically (verdict, explanation, evidence, URLs, snippets), as both are [EMAIL]."""
    for filters in (Filters(), Filters(domain="example.net")):
        answers = [
            membership(ix, MAILED.replace(EMAIL, guess), settings, filters).model_dump(
                exclude={"took_ms"}
            )
            for guess in (EMAIL, "someone.else@example.org")
        ]
        assert answers[0] == answers[1]
        assert EMAIL not in json.dumps(answers[0], default=str)
