"""The questions against ground truth on the real samples: exact, membership, search, person."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest
import regex

from corpuscope.config import Settings
from corpuscope.errors import QueryError
from corpuscope.index.membership import membership
from corpuscope.index.person import name_variants, person
from corpuscope.index.query import document, exact, search
from corpuscope.index.searcher import Indexes
from corpuscope.models.answers import Filters
from corpuscope.store import Store
from tests.conftest import documents

REAL = ("c4", "commoncrawl")


@pytest.fixture(scope="module")
def ix(indexed) -> Indexes:
    return Indexes(Store(indexed))


@pytest.fixture(scope="module")
def settings(indexed) -> Settings:
    # The people corpus is smaller than the small-cell threshold; these tests are about the
    # questions' answers, the disclosure rule has its own (test_privacy_surface.py).
    return Settings(data=indexed, small_cell_threshold=1)


@pytest.fixture(scope="module")
def corpus_texts(indexed) -> dict[str, list[tuple[str, str]]]:
    """(doc_id, text) of every document of the real corpora."""
    out = {}
    for c in REAL:
        t = documents(indexed, c)
        out[c] = list(
            zip(t.column("doc_id").to_pylist(), t.column("text").to_pylist(), strict=True)
        )
    return out


def _passages(texts, n: int, rng: random.Random, lo: int = 8, hi: int = 50):
    """`n` passages of lo..hi words cut from random documents at white space."""
    out = []
    while len(out) < n:
        doc_id, text = rng.choice(texts)
        words = text.split()
        if len(words) < lo:
            continue
        size = rng.randint(lo, min(hi, len(words)))
        start = rng.randrange(len(words) - size + 1)
        out.append((doc_id, " ".join(words[start : start + size])))
    return out


#: A character of a word, as the index cuts words (docs/api.md: runs of letters and digits).
_WORD_CHAR = regex.compile(r"[\p{Alphabetic}\p{N}]")


def brute_force(flat: dict[str, str], passage: str) -> dict[str, int]:
    """Verbatim occurrences of `passage` per document, by a plain scan of the texts (`flat`:
    white space runs already made one space), as docs/api.md defines them: runs of white space
    count as one space; an occurrence may not begin or end inside a word of the document."""
    p = " ".join(passage.split())
    out = {}
    for doc_id, text in flat.items():
        n, i = 0, text.find(p)
        while i >= 0:
            j = i + len(p)
            cut = (i > 0 and _WORD_CHAR.match(text[i - 1]) and _WORD_CHAR.match(p[0])) or (
                j < len(text) and _WORD_CHAR.match(text[j]) and _WORD_CHAR.match(p[-1])
            )
            if cut:
                i = text.find(p, i + 1)
            else:
                n += 1
                i = text.find(p, j)
        if n:
            out[doc_id] = n
    return out


def _repeated(flat: dict[str, str], n: int, rng: random.Random) -> list[str]:
    """`n` passages of 4-6 plain words that occur more than once in one document."""
    out = set()
    for text in flat.values():
        words = text.split()
        for size in (4, 5, 6):
            seen = Counter(" ".join(words[i : i + size]) for i in range(len(words) - size + 1))
            out |= {g for g, c in seen.items() if c > 1 and re.fullmatch(r"[A-Za-z ]+", g)}
    return rng.sample(sorted(out), n)


def _check_counts(ix, settings, flat, corpus: str, passage: str) -> dict[str, int]:
    truth = brute_force(flat, passage)
    ans = exact(ix, passage, settings, Filters(corpora=[corpus]), k=settings.max_k)
    assert not ans.partial
    assert (ans.documents, ans.occurrences) == (len(truth), sum(truth.values())), passage
    for h in ans.hits:  # each document shown with its own count
        assert h.occurrences == truth[h.doc_id], (passage, h.doc_id)
    if len(truth) <= settings.max_k:
        assert {h.doc_id for h in ans.hits} == set(truth)
    return truth


@pytest.mark.parametrize("corpus", REAL)
def test_every_sampled_passage_is_counted_as_a_brute_force_scan_counts(
    ix, settings, corpus_texts, corpus
):
    """Documents and occurrences of sampled, repeated and short passages equal a plain scan of
    every document's text; the document a passage was cut from is found."""
    rng = random.Random(11)
    texts = corpus_texts[corpus]
    flat = {d: " ".join(t.split()) for d, t in texts}
    for doc_id, passage in _passages(texts, 60, rng):
        assert doc_id in _check_counts(ix, settings, flat, corpus, passage)
    repeated = 0
    for passage in _repeated(flat, 25, rng):  # occurrences > documents
        truth = _check_counts(ix, settings, flat, corpus, passage)
        repeated += sum(truth.values()) > len(truth)
    assert repeated == 25
    for passage in ("the", "he is", "of the", "is a", "at the", "in the same"):
        assert _check_counts(ix, settings, flat, corpus, passage), passage


def _near_misses(texts, n: int, rng: random.Random) -> list[tuple[str, str, str]]:
    """(kind, passage cut from a text, near miss of it) triples, `n` of each kind: a space put
    before punctuation, a word split in two, one letter of the first word changed."""
    out: list[tuple[str, str, str]] = []
    tries = 0
    while len(out) < 3 * n and tries < 100_000:
        tries += 1
        _, text = rng.choice(texts)
        words = text.split()
        if len(words) < 12:
            continue
        at = rng.randrange(1, len(words) - 8)
        cut = words[at : at + 6]
        passage = " ".join(cut)
        kind = ("space before punctuation", "word split", "letter changed")[len(out) % 3]
        if kind == "space before punctuation":
            i = next(
                (i for i, w in enumerate(cut[:-1]) if re.fullmatch(r"[A-Za-z]+[,.;:!?]", w)), None
            )
            if i is None:
                continue
            miss = [*cut[:i], cut[i][:-1], cut[i][-1], *cut[i + 1 :]]
        elif kind == "word split":
            i = next(
                (i for i, w in enumerate(cut[1:-1], 1) if re.fullmatch(r"[A-Za-z]{5,}", w)), None
            )
            if i is None:
                continue
            miss = [*cut[:i], cut[i][:2], cut[i][2:], *cut[i + 1 :]]
        else:
            if not re.fullmatch(r"[A-Za-z]{3,}", cut[0]):
                continue
            swapped = "q" if cut[0][1] != "q" else "z"
            miss = [cut[0][0] + swapped + cut[0][2:], *cut[1:]]
        out.append((kind, passage, " ".join(miss)))
    return out


@pytest.mark.parametrize("corpus", REAL)
def test_near_misses_are_not_found(ix, settings, corpus_texts, corpus):
    """A space before punctuation, a word split in two, one letter changed: counted as a plain
    scan counts them (none, unless the near miss is itself in a text), also when the phrase
    query matches and only the confirmation on the text can tell."""
    rng = random.Random(3)
    texts = corpus_texts[corpus]
    flat = {d: " ".join(t.split()) for d, t in texts}
    confirmed_away, not_candidates, loose = Counter(), Counter(), Counter()
    for kind, passage, miss in _near_misses(texts, 15, rng):
        assert brute_force(flat, passage), passage
        truth = brute_force(flat, miss)
        ans = exact(ix, miss, settings, Filters(corpora=[corpus]))
        assert (ans.documents, ans.occurrences) == (len(truth), sum(truth.values())), (kind, miss)
        if not truth and ans.candidates:
            confirmed_away[kind] += 1
        if not truth and not ans.candidates:
            not_candidates[kind] += 1
        if kind == "space before punctuation":  # pasted text: punctuation=false finds it
            found = exact(ix, miss, settings, Filters(corpora=[corpus]), punctuation=False)
            loose[kind] += bool(found.documents)
    # the phrase query cannot tell these apart from the passage: the text must
    assert confirmed_away["space before punctuation"] >= 10, confirmed_away
    assert loose["space before punctuation"] == 15, loose
    # an occurrence begins and ends at word boundaries, so every word of the passage is in the
    # phrase query: a changed letter in the first word is not even a candidate
    assert not_candidates["letter changed"] >= 10, not_candidates


def test_near_misses_by_hand(ix, settings):
    """p6: "Unrelated text about engines and weaving looms; mail info@example.net." """
    people = Filters(corpora=["people"])
    for passage in ("and weaving looms;", "weaving looms", "Unrelated text about engines"):
        ans = exact(ix, passage, settings, people)
        assert (ans.documents, ans.occurrences) == (1, 1), passage
    for miss in (
        "and weaving looms ;",  # a space before punctuation
        "weaving looms ;",
        "and weav ing looms;",  # a word split in two
        "and weaving loomz;",  # one letter changed
        "Unrelated text about enginez",  # ... in the last word
        "Xnrelated text about engines",
        "eaving looms",  # a passage may not begin inside a word
        "weaving loom",  # ... nor end inside one
        "text about engin",  # ... whatever its length
        "nrelated text about engines",
    ):
        ans = exact(ix, miss, settings, people)
        assert (ans.documents, ans.occurrences, ans.hits) == (0, 0, []), miss
    assert exact(ix, "and weaving looms ;", settings, people).candidates == 1
    # every word is in the phrase query (occurrences are whole words): not even a candidate
    assert exact(ix, "Xnrelated text about engines", settings, people).candidates == 0


def test_exact_is_confirmed_on_the_text_not_just_the_phrase(ix, settings, corpus_texts):
    """A phrase match that the text does not confirm is not counted (case, punctuation)."""
    doc_id, text = next((d, t) for d, t in corpus_texts["c4"] if len(t.split()) > 30)
    words = text.split()[5:15]
    passage = " ".join(words)
    assert exact(ix, passage, settings).documents >= 1
    swapped = passage.swapcase()
    if swapped != passage:
        strict = exact(ix, swapped, settings)
        assert strict.candidates >= 1  # the phrase query still matches (case-folded index)
        assert strict.documents == 0
        loose = exact(ix, swapped, settings, case_sensitive=False)
        assert doc_id in {h.doc_id for h in loose.hits} or loose.documents > settings.max_k


def test_words_that_never_co_occur_are_not_found(ix, settings, corpus_texts):
    rng = random.Random(5)
    texts = [t for _, t in corpus_texts["c4"] + corpus_texts["commoncrawl"]]
    for _ in range(15):
        words = [
            rng.choice(re.findall(r"[A-Za-z]{4,}", rng.choice(texts)) or ["word"])
            for _ in range(rng.randint(8, 40))
        ]
        passage = " ".join(words)
        assert membership(ix, passage, settings).verdict == "not-found", passage
        assert exact(ix, passage, settings).documents == 0


def _edits(passage: str, rng: random.Random) -> dict[str, str]:
    words = passage.split()
    changed = list(words)
    for i in rng.sample(range(len(words)), 3):
        changed[i] = rng.choice(["zebra", "quokka", "marmalade", "xylophone"])
    third = len(words) // 3
    return {
        "case, punctuation and white space": re.sub(r"[.,;:!?\"']", "", passage.upper()).replace(
            " ", "  \n "
        ),
        "a sentence dropped": " ".join(words[:third] + words[third + 8 :]),
        "a sentence inserted": " ".join(
            [
                *words[:third],
                "this",
                "sentence",
                "was",
                "never",
                "in",
                "any",
                "corpus",
                "at",
                "all",
                *words[third:],
            ]
        ),
        "three words changed": " ".join(changed),
    }


@pytest.mark.parametrize("corpus", REAL)
def test_edited_copies_are_still_recognised(ix, settings, corpus_texts, corpus):
    rng = random.Random(7)
    long_docs = [(d, t) for d, t in corpus_texts[corpus] if len(t.split()) >= 120]
    for doc_id, passage in _passages(long_docs, 12, rng, lo=50, hi=100):
        for edit, text in _edits(passage, rng).items():
            ans = membership(ix, text, settings, Filters(corpora=[corpus]), k=10)
            assert ans.verdict in ("verbatim", "near-duplicate"), (edit, ans.coverage)
            assert doc_id in {e.doc_id for e in ans.evidence} or ans.evidence[0].coverage == 1.0
        exact_copy = membership(ix, passage, settings, Filters(corpora=[corpus]))
        assert exact_copy.verdict == "verbatim"
        assert exact_copy.coverage == 1.0
        assert exact_copy.longest_run == exact_copy.passage_words


def test_membership_evidence_points_at_the_matching_text(ix, settings, corpus_texts):
    doc_id, text = next((d, t) for d, t in corpus_texts["c4"] if len(t.split()) > 200)
    passage = " ".join(text.split()[40:100])
    ans = membership(ix, "Completely new opening words here. " + passage, settings)
    ev = next(e for e in ans.evidence if e.doc_id == doc_id)
    assert ans.verdict == "near-duplicate"
    assert 0.5 <= ev.coverage < 1.0
    assert ev.passage_spans[0].start > 0  # the new opening is not part of the match
    d = ev.document_spans[0]
    assert " ".join(text[d.start : d.end].split()) in " ".join(passage.split())


def test_search_ranks_filters_pages_and_highlights(ix, settings):
    ans = search(ix, "privacy policy", settings, k=5)
    assert ans.total >= 5 and len(ans.hits) == 5
    assert [h.score for h in ans.hits] == sorted((h.score for h in ans.hits), reverse=True)
    for h in ans.hits:
        words = {h.snippet.text[s:e].lower() for s, e in h.snippet.highlights}
        assert words & {"privacy", "policy"}
        assert len(h.snippet.text.split()) <= settings.snippet_words
    page2 = search(ix, "privacy policy", settings, k=5, offset=5)
    assert not {h.doc_id for h in ans.hits} & {h.doc_id for h in page2.hits}
    only_c4 = search(ix, "privacy", settings, Filters(corpora=["c4"]), k=20)
    assert only_c4.hits and {h.corpus for h in only_c4.hits} == {"c4"}
    domain = only_c4.hits[0].domain
    by_domain = search(ix, "privacy", settings, Filters(domain=domain), k=20)
    assert by_domain.total >= 1 and {h.domain for h in by_domain.hits} == {domain}
    assert search(ix, "privacy", settings, Filters(language="xx")).total == 0


def test_query_limits(ix, settings):
    # Plain words past the clause cap are shortened (tests/test_querylang.py); structure
    # past it is still refused.
    with pytest.raises(QueryError):
        search(ix, " OR ".join(f'"w{i} x{i}"' for i in range(settings.max_clauses + 1)), settings)
    with pytest.raises(QueryError):
        search(ix, "x" * (settings.max_query_chars + 1), settings)
    with pytest.raises(QueryError):
        search(ix, "privacy", settings, k=settings.max_k + 1)
    with pytest.raises(QueryError):
        membership(ix, "too short", settings)
    # Regexes are refused by the public query language (index/querylang.py), never run.
    with pytest.raises(QueryError):
        search(ix, "/.*/", settings)


def test_name_variants():
    assert ["ada", "lovelace"] in name_variants("Ada Lovelace")
    assert name_variants("Lovelace, Ada") == name_variants("ada LOVELACE")
    assert ["a", "lovelace"] in name_variants("Ada Lovelace")
    assert ["jose", "muller"] in name_variants("José Müller")


def test_person_counts_names_identifiers_and_both(ix, settings):
    ans = person(
        ix,
        "Ada Lovelace",
        settings,
        emails=["Ada.Lovelace@Example.org "],
        phones=["+44 20 7946 0958"],
        filters=Filters(corpora=["people"]),
    )
    (c,) = ans.corpora
    # p1, p2 ("LOVELACE, ADA"), p3 ("A. Lovelace"), p7 ("Lovelace Ada"). p8's e-mail address
    # spells the name out, but the index holds the redacted view: [EMAIL] is no mention.
    assert c.name_documents == 4
    assert c.identifier_documents == {"email 1": 2, "phone 1": 1}  # p1, p8; p1
    assert c.any_identifier_documents is None  # a union of two would link them (privacy.md 3)
    assert "both_documents" not in c.model_dump()  # a phrase AND an e-mail would link them
    # Evidence is the documents that mention the name; which hold an identifier is not shown.
    assert len(ans.evidence) == 4
    assert "identifiers" not in ans.evidence[0].model_dump()
    for e in ans.evidence:  # public evidence: identifiers redacted
        assert "ada.lovelace@example.org" not in e.snippet.text
        assert "7946" not in e.snippet.text


def test_person_diacritics_usernames_urls(ix, settings):
    ans = person(
        ix,
        "jose muller",
        settings,
        usernames=["@jmuller"],
        urls=["https://forum.example.net/u/jmuller"],
        filters=Filters(corpora=["people"]),
    )
    (c,) = ans.corpora
    assert c.name_documents == 2  # "José Müller" and "Jose Muller"
    assert c.identifier_documents == {"username 1": 1, "url 1": 1}
    assert "jose.muller@example.com" not in ans.model_dump_json()


def test_snippets_and_documents_are_redacted(ix, settings):
    ans = search(ix, "ada lovelace", settings, Filters(corpora=["people"]), k=10)
    p1 = next(h for h in ans.hits if "program" in h.snippet.text)
    assert "[EMAIL]" in p1.snippet.text and "[PHONE]" in p1.snippet.text
    assert "example.org" not in p1.snippet.text
    for s, e in p1.snippet.highlights:  # highlights point at words, never at labels
        assert p1.snippet.text[s:e].lower() in ("ada", "lovelace")
    view = document(ix, p1.doc_id, settings)
    assert view.corpus == "people" and "[EMAIL]" in view.window.text
    assert "@example.org" not in view.window.text


def test_windows_are_capped(ix, settings, corpus_texts):
    doc_id, text = max(corpus_texts["commoncrawl"], key=lambda x: len(x[1]))
    view = document(ix, doc_id, settings)  # no paging: the opening window only
    assert len(view.window.text.split()) <= settings.snippet_words
    assert view.window.start == 0 and view.window.end < len(text)


def test_time_range_filter(ix, settings, corpus_texts, indexed):
    from datetime import UTC, datetime

    docs = documents(indexed, "commoncrawl").to_pylist()
    cut = datetime(2020, 1, 1, tzinfo=UTC)
    before = sum(1 for d in docs if d["timestamp"] and d["timestamp"] < cut)
    after = sum(1 for d in docs if d["timestamp"] and d["timestamp"] >= cut)
    f = Filters(corpora=["commoncrawl"])
    everything = search(ix, "*", settings, f).total
    assert everything == len(docs)
    early = search(
        ix,
        "*",
        settings,
        f.model_copy(update={"until": datetime(2019, 12, 31, 23, 59, 59, tzinfo=UTC)}),
    )
    late = search(ix, "*", settings, f.model_copy(update={"since": cut}))
    assert (early.total, late.total) == (before, after)
    assert all(h.timestamp >= cut for h in late.hits)


def test_exact_never_confirms_a_guess_at_personal_data(ix, settings):
    """A passage running into an e-mail gets the same answer whatever is guessed: the passage
    is redacted as the text is, so a right and a wrong address match alike, and a partial
    guess matches nothing."""
    people = Filters(corpora=["people"])
    assert exact(ix, "wrote the first program. Write to", settings, people).documents == 1
    for guess in ("a", "ada", "ada.lovelace"):
        ans = exact(ix, f"the first program. Write to {guess}", settings, people)
        assert (ans.documents, ans.occurrences, ans.hits) == (0, 0, []), guess
    right = exact(ix, "the first program. Write to ada.lovelace@example.org", settings, people)
    wrong = exact(ix, "the first program. Write to bob.smith@example.org", settings, people)
    assert right.redacted == wrong.redacted == ["EMAIL_ADDRESS"]
    assert right.model_dump(exclude={"took_ms"}) == wrong.model_dump(exclude={"took_ms"})
    assert right.documents == 1  # a passage copied from the corpus still matches


def test_windows_never_cut_personal_data_and_are_capped_without_spaces():
    """Windows are cut from the view the index stores (personal data replaced by its type,
    here by the detector of a shard not scanned yet): no window, wherever it falls, shows a
    piece of a value or half a label."""
    from corpuscope.index.build import public_text
    from corpuscope.index.snippets import snippet

    raw = "word " * 60 + "call +1 415 555 0123 or mail jane.walker@example.com now " + "word " * 60
    text = public_text(raw, None)
    assert "[PHONE]" in text and "[EMAIL]" in text
    for focus in range(260, 320, 1):
        for words in (1, 2, 3, 5, 8):
            shown = snippet(text, ["word"], focus=focus, words=words, lead=0)
            for piece in ("415", "555", "0123", "walker", "example.com"):
                assert piece not in shown.text, (focus, words, shown.text)
            assert shown.text.count("[") == shown.text.count("]") == shown.redactions, shown
            for s, e in shown.highlights:
                assert shown.text[s:e] == "word"
    chinese = "这是一个没有空格的句子用来检查窗口的长度" * 500
    shown = snippet(chinese, [], focus=len(chinese) // 2, words=128)
    assert 0 < len(shown.text) <= 128 * 8
    assert shown.start <= len(chinese) // 2 < shown.end


def test_field_queries_the_index_cannot_run_are_refused(ix, settings):
    for q in ("text:*", "url:*", "doc_id:*"):
        with pytest.raises(QueryError):
            search(ix, q, settings)


def test_membership_probes_the_whole_passage_and_survives_edits_of_short_ones(
    ix, settings, corpus_texts
):
    c4 = Filters(corpora=["c4"])
    doc_id, text = next((d, t) for d, t in corpus_texts["c4"] if len(t.split()) > 200)
    words = text.split()
    noise = " ".join(f"zqx{i}vvk" for i in range(40))
    late = membership(ix, noise + " " + " ".join(words[50:75]), settings, c4)
    assert late.verdict == "partial" and doc_id in {e.doc_id for e in late.evidence}
    for size in (10, 20, 30):
        edited = words[60 : 60 + size]
        for i in range(size // 10):  # one word in ten changed, spread out
            edited[5 + 10 * i] = f"xylophone{i}quartz"
        ans = membership(ix, " ".join(edited), settings, c4)
        assert ans.verdict in ("near-duplicate", "verbatim"), (size, ans.coverage)


def test_urls_shown_have_their_personal_data_redacted():
    from corpuscope.index.query import public_url

    assert public_url("mailto:jane.doe@example.com") == "mailto:[EMAIL]"
    assert "jane" not in public_url("https://x.org/a?email=jane.doe%40example.com&b=1")
    assert public_url("https://example.com/a%20b") == "https://example.com/a%20b"
    assert public_url(None) is None
