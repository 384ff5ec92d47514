"""Exact means what people expect, and evidence shows what matched.

Occurrences of a passage begin and end at word boundaries (runs of letters and digits, as the
index cuts words), white space runs count as one space, `case_sensitive=false` ignores case
and `punctuation=false` ignores the punctuation and spacing between words. Counted on the real
samples and compared with a regex count over the Parquet text; snippets highlight the matched
spans, centred on them, and BM25 snippets show a phrase where it occurs.
"""

from __future__ import annotations

import json

import pytest
import regex

from corpuscope import jobs
from corpuscope.config import Settings
from corpuscope.index.query import exact, search
from corpuscope.index.schema import tokenize
from corpuscope.index.searcher import Indexes
from corpuscope.index.snippets import snippet
from corpuscope.models.answers import Filters
from corpuscope.store import Store
from tests.conftest import documents

_WORD = r"[\p{Alphabetic}\p{N}]"


def whole_words(texts: list[str], passage: str, case_sensitive: bool = True) -> list[int]:
    """Occurrences of `passage` in each text as whole words, by a plain regex."""
    pattern = regex.compile(
        rf"(?<!{_WORD}){regex.escape(passage)}(?!{_WORD})", 0 if case_sensitive else regex.I
    )
    return [len(pattern.findall(t)) for t in texts]


@pytest.fixture(scope="module")
def ix(indexed) -> Indexes:
    return Indexes(Store(indexed))


@pytest.fixture(scope="module")
def settings(indexed) -> Settings:
    # The people corpus is smaller than the small-cell threshold; these tests are about what
    # matches, the disclosure rule has its own tests (test_privacy_surface.py).
    return Settings(data=indexed, max_candidates=100_000, small_cell_threshold=1)


@pytest.fixture(scope="module")
def texts(indexed) -> dict[str, list[str]]:
    return {c: documents(indexed, c).column("text").to_pylist() for c in ("c4", "commoncrawl")}


@pytest.mark.parametrize("corpus", ["c4", "commoncrawl"])
def test_counts_are_whole_words_as_a_regex_counts_them(ix, settings, texts, corpus):
    """ "the" is counted where it is a word, never in "there" or "other"; "oth" and "volcan"
    never inside a word: documents and occurrences equal a regex count over the Parquet text."""
    flt = Filters(corpora=[corpus])
    for passage, case_sensitive in (
        ("the", True),
        ("The", True),
        ("the", False),
        ("of the", True),
        ("oth", True),
        ("volcan", True),
        ("volcano", True),
    ):
        truth = whole_words(texts[corpus], passage, case_sensitive)
        ans = exact(ix, passage, settings, flt, k=settings.max_k, case_sensitive=case_sensitive)
        assert not ans.partial
        assert (ans.documents, ans.occurrences) == (sum(1 for n in truth if n), sum(truth)), (
            passage,
            case_sensitive,
        )
    # the test can fail: inside words there are many more
    assert sum(t.count("the") for t in texts[corpus]) > sum(whole_words(texts[corpus], "the"))
    assert sum(t.count("oth") for t in texts[corpus]) > 100


def test_occurrences_agree_with_the_documents_listed(ix, settings, texts):
    """Each document listed has its own count and spans (all of them when few); together they
    make `occurrences`; each span is the passage in the text, at word boundaries."""
    ans = exact(ix, "at the", settings, Filters(corpora=["c4"]), k=settings.max_k)
    assert ans.documents <= settings.max_k  # so every document is listed
    assert len(ans.hits) == ans.documents
    assert sum(h.occurrences for h in ans.hits) == ans.occurrences
    for h in ans.hits:
        text = ix.find_doc(h.doc_id).text
        assert len(h.document_spans) == min(h.occurrences, settings.max_spans)
        for span in h.document_spans:
            assert text[span.start : span.end] == "at the"
            assert not regex.match(_WORD, text[span.end : span.end + 1])
            assert not regex.match(_WORD, text[span.start - 1 : span.start]) or span.start == 0
        shown = h.snippet
        assert shown.highlights and all(shown.text[a:b] == "at the" for a, b in shown.highlights)
        first = h.document_spans[0]
        assert shown.start <= first.start and first.end <= shown.end


def test_case_and_punctuation_modes_on_planted_text(ix, settings):
    """p6: "Unrelated text about engines and weaving looms; mail info@example.net." """
    people = Filters(corpora=["people"])
    for passage in ("weaving looms mail", "Unrelated text, about engines!", "looms : mail"):
        strict = exact(ix, passage, settings, people)
        loose = exact(ix, passage, settings, people, punctuation=False)
        assert strict.documents == 0 and loose.documents == 1, passage
        assert loose.punctuation is False and loose.hits[0].occurrences == 1
    # ignoring punctuation does not ignore word boundaries, case or the words themselves
    for passage in ("eaving looms mail", "weaving loom", "weaving looms e-mail"):
        assert exact(ix, passage, settings, people, punctuation=False).documents == 0, passage
    assert exact(ix, "UNRELATED TEXT, about", settings, people, punctuation=False).documents == 0
    assert (
        exact(
            ix, "UNRELATED TEXT, about", settings, people, punctuation=False, case_sensitive=False
        ).documents
        == 1
    )
    # white space runs are one space in both modes
    assert exact(ix, "weaving\n\n  looms;", settings, people).documents == 1


def test_a_near_miss_says_what_to_try(ix, settings):
    people = Filters(corpora=["people"])
    ans = exact(ix, "and weaving looms ;", settings, people)
    assert (ans.documents, ans.candidates) == (0, 1)
    assert ans.note and "punctuation=false" in ans.note and "case_sensitive=false" in ans.note
    assert exact(ix, "and weaving looms;", settings, people).note is None


# -- personal data in a passage: the answer says so in words -----------------------------------
DATED = [
    {
        "id": "d1",
        "text": "Wir wollen das Thema nicht ruhen lassen. Das kann man einfach nicht lassen. "
        "06.12.2022 Immer mehr Menschen kommen zu den Treffen am Marktplatz der Stadt.",
    },
    {"id": "d2", "text": "Ein anderer Text ohne Datum über den Marktplatz und die Treffen."},
]


@pytest.fixture(scope="module")
def dated(tmp_path_factory) -> tuple[Indexes, Settings]:
    root = tmp_path_factory.mktemp("dated")
    settings = Settings(data=root / "data", small_cell_threshold=1)
    src = root / "dated.jsonl"
    src.write_text("".join(json.dumps(d) + "\n" for d in DATED))
    assert jobs.ingest(settings, "dated", [str(src)]).ok
    assert jobs.scan(settings, "dated").ok
    jobs.index(settings, "dated")
    return Indexes(Store(settings.data)), settings


def test_a_passage_holding_personal_data_says_so(dated):
    """The date is taken for a phone number in the passage: it is replaced by its type before
    matching and the answer says so, in words that depend on the redacted passage only."""
    ix, settings = dated
    ans = exact(ix, "nicht lassen. 06.12.2022 Immer mehr", settings)
    assert ans.redacted == ["PHONE_NUMBER"] and "[PHONE]" in ans.passage
    assert ans.note and "personal data" in ans.note and "PHONE_NUMBER" in ans.note
    if ans.documents == 0:  # the page's own scan read the date otherwise: the note says what to do
        assert "before or after it" in ans.note
    # the same page is found from the next sentence alone, with no note
    after = exact(ix, "Immer mehr Menschen kommen zu den Treffen", settings)
    assert after.documents == 1 and after.note is None
    # right and wrong dates get the same answer, note included (nothing depends on the value)
    wrong = exact(ix, "nicht lassen. 07.11.2021 Immer mehr", settings)
    assert wrong.redacted == ans.redacted
    assert wrong.model_dump(exclude={"took_ms"}) == ans.model_dump(exclude={"took_ms"})


# -- snippets: marks and regions ------------------------------------------------------------
def test_marks_are_highlighted_as_spans_and_centred():
    text = " ".join(f"w{i}" for i in range(2000))
    start = text.index("w1000 ")
    end = text.index(" w1004") + len(" w1004")
    shown = snippet(text, ["w3"], words=40, marks=[(start, end), (start + 5000, start + 5005)])
    assert shown.highlights == [(start - shown.start, end - shown.start)]
    assert shown.text[slice(*shown.highlights[0])] == "w1000 w1001 w1002 w1003 w1004"
    before = shown.text[: shown.highlights[0][0]].split()
    after = shown.text[shown.highlights[0][1] :].split()
    assert abs(len(before) - len(after)) <= 1  # centred on the first mark
    # a mark crossing the window's edge is cut to the window, never past it
    shown = snippet(text, words=4, marks=[(start, end)], focus=start, lead=0.0)
    ((a, b),) = shown.highlights
    assert 0 <= a < b <= len(shown.text)


def test_a_phrase_query_shows_the_phrase(ix, settings):
    """`"Programming Language" Python`: the snippet of a page that holds the phrase shows it,
    highlighted whole, wherever it is in the page (not the page's start)."""
    ans = search(ix, '"Programming Language" Python', settings, k=10)
    assert ans.hits
    shown_phrase = 0
    for h in ans.hits:
        text = ix.find_doc(h.doc_id).text
        words = tokenize(text)
        has = any(words[i : i + 2] == ["programming", "language"] for i in range(len(words)))
        marked = [tokenize(h.snippet.text[a:b]) for a, b in h.snippet.highlights]
        if has:
            assert ["programming", "language"] in marked, h.doc_id
            shown_phrase += 1
        assert all(m in (["python"], ["programming", "language"]) for m in marked), marked
    assert shown_phrase >= 1


def test_bm25_snippets_centre_on_the_best_region(tmp_path):
    """A page whose start mentions a common query word and whose middle holds the rare one
    next to it: the snippet shows the middle."""
    settings = Settings(data=tmp_path / "data", small_cell_threshold=1)
    filler = "The river was calm. " * 200
    text = filler + "Here the river met the zeppelin hangar by night. " + filler
    src = tmp_path / "p.jsonl"
    src.write_text(json.dumps({"id": "z", "text": text}) + "\n")
    assert jobs.ingest(settings, "z", [str(src)]).ok
    jobs.index(settings, "z")
    ix = Indexes(Store(settings.data))
    (h,) = search(ix, "river zeppelin", settings).hits
    assert "zeppelin" in h.snippet.text
    words = h.snippet.text.split()
    at = next(i for i, w in enumerate(words) if w.startswith("zeppelin"))
    assert abs(at - len(words) / 2) <= len(words) / 4  # near the middle of the window
