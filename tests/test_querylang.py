"""The public query language (index/querylang.py) on a tiny real index.

Every construct is parsed and run on an index built from a few written documents (ingest,
scan, index: the real pipeline); every refused construct raises `QueryError` without quoting
the query; hidden fields are refused in every spelling; a big slop is refused; syntax that
cannot be read (pasted text) is read as plain words, saying so, shortened as plain text is,
with every refusal still refused wherever it stands; a pasted paragraph is answered on the
real samples, and its reading never depends on personal data; random text never raises
anything else (hypothesis).
"""

from __future__ import annotations

import json
from collections import Counter
from types import SimpleNamespace

import pytest
import tantivy
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from corpuscope import jobs
from corpuscope.config import Settings
from corpuscope.errors import QueryError
from corpuscope.index.query import search
from corpuscope.index.querylang import (
    HIDDEN_FIELDS,
    MAX_DEPTH,
    PUBLIC_FIELDS,
    QUERY,
    WORDS,
    Parsed,
    doc_freq_over,
    parse_public,
)
from corpuscope.index.schema import KEYWORDS, tokenize
from corpuscope.index.searcher import Indexes
from corpuscope.models.answers import Filters
from corpuscope.models.documents import DOCUMENT_SCHEMA
from corpuscope.store import Store

CORPUS = "tiny"
#: The documents, by the last part of their URL (which the tests name them by).
DOCS = [
    {
        "id": "d1",
        "url": "https://news.example.com/1",
        "timestamp": "2019-03-01T00:00:00Z",
        "language": "en",
        "text": "The quick brown fox jumps over the lazy dog near the river bank.",
    },
    {
        "id": "d2",
        "url": "https://news.example.com/2",
        "timestamp": "2019-07-15T12:00:00Z",
        "language": "en",
        "text": "A lazy brown dog sleeps while the quick fox watches from the hill.",
    },
    {
        "id": "d3",
        "url": "https://blog.example.org/3",
        "timestamp": "2020-02-10T09:30:00Z",
        "language": "en",
        "text": "Weaving looms and the analytical engine: notes on the history of computing "
        "machines, written for the museum's new gallery.",
    },
    {
        "id": "d4",
        "url": "https://blog.example.org/4",
        "timestamp": "2021-06-30T08:00:00Z",
        "language": "fr",
        "text": "Le renard brun rapide saute par-dessus le chien paresseux près de la rivière, "
        "dit-il à sa mère.",
    },
    {
        "id": "d5",
        "url": "https://shop.example.net/5",
        "timestamp": "2018-12-31T23:00:00Z",
        "language": "en",
        "text": "Write an e-mail to the shop for questions about the brown fox toy and its box.",
    },
    {
        "id": "d6",
        "url": "https://news.example.com/6",
        "language": "en",
        "text": "the of and to in a is for on that the of and to in a is for on that with as",
    },
]
ALL = {"1", "2", "3", "4", "5", "6"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("querylang")
    source = root / "docs.jsonl"
    source.write_text("".join(json.dumps(d) + "\n" for d in DOCS))
    settings = Settings(data=root / "data")
    assert jobs.ingest(settings, CORPUS, [str(source)]).ok
    assert jobs.scan(settings, CORPUS).ok
    jobs.index(settings, CORPUS)
    indexes = Indexes(Store(settings.data))
    ci = indexes.get(CORPUS)
    assert ci is not None
    stored = {}
    _, found = indexes.search([ci], lambda _ci: tantivy.Query.all_query(), 100)
    for f in found:
        doc = indexes.fetch(f)
        stored[doc.url.rsplit("/", 1)[1]] = doc
    assert set(stored) == ALL
    return SimpleNamespace(indexes=indexes, ci=ci, settings=settings, stored=stored)


def read(tiny: SimpleNamespace, q: str, settings: Settings | None = None, counts=None) -> Parsed:
    return parse_public(q, tiny.ci.schema, settings or tiny.settings, counts)


def found(tiny: SimpleNamespace, q: str, settings: Settings | None = None) -> set[str]:
    query = read(tiny, q, settings).query
    _, hits = tiny.indexes.search([tiny.ci], lambda _ci: query, 100)
    return {tiny.indexes.fetch(f).url.rsplit("/", 1)[1] for f in hits}


def terms(tiny: SimpleNamespace, q: str) -> list[str]:
    return read(tiny, q).terms


def refused(tiny: SimpleNamespace, q: str, settings: Settings | None = None) -> str:
    with pytest.raises(QueryError) as err:
        parse_public(q, tiny.ci.schema, settings or tiny.settings)
    return str(err.value)


# -- what the language says ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("weaving", {"3"}),
        ("WEAVING", {"3"}),  # folded like the index
        ("rivière", {"4"}),
        ("riviere", {"4"}),  # diacritics folded
        ("weaving renard", {"3", "4"}),  # side by side: either
        ("e-mail", {"5"}),  # a word with punctuation inside is the phrase of its parts
        ('"quick brown fox"', {"1"}),
        ('"quick fox"', {"2"}),
        ('"quick fox"~1', {"1", "2"}),  # one word between
        ('"quick fox"~0', {"2"}),
        ('"brown fox"', {"1", "5"}),
        ('"the lazy dog near"', {"1"}),
        ("+brown -lazy", {"5"}),  # brun is not brown
        ("+fox +dog", {"1", "2"}),
        ("fox -toy", {"1", "2"}),
        ("fox AND river", {"1"}),
        ("fox AND NOT lazy", {"5"}),
        ("fox NOT lazy", {"5"}),
        ("fox OR weaving", {"1", "2", "3", "5"}),
        ("(fox OR weaving) AND brown", {"1", "2", "5"}),
        ("(fox OR weaving) -brown", {"3"}),
        ("renard OR (fox AND (dog AND (river OR hill)))", {"1", "2", "4"}),
        ("-(lazy OR toy) fox", set()),  # every fox document is lazy or a toy
        ("-(lazy OR toy) +(fox OR engine)", {"3"}),
        ("fox AND -toy AND -river", {"2"}),
        ('"quick brown fox" OR "analytical engine"', {"1", "3"}),
        ("domain:example.org", {"3", "4"}),
        ("domain:EXAMPLE.ORG", {"3", "4"}),
        ('domain:"example.net"', {"5"}),
        ("Domain:example.net", {"5"}),
        ("+domain:example.com +fox", {"1", "2"}),
        ("domain:example.com AND NOT fox", {"6"}),
        (f"corpus:{CORPUS}", ALL),
        ("corpus:other", set()),
        ("+brown +timestamp:2019", {"1", "2"}),
        ("timestamp:2019", {"1", "2"}),
        ("timestamp:2019-07", {"2"}),
        ("timestamp:2019-03-01", {"1"}),
        ("timestamp:2019-07-15T12:00:00Z", {"2"}),
        ('timestamp:"2019-07-15T12:00:00+00:00"', {"2"}),
        ("timestamp:2019-07-15T14:00:00+02:00", {"2"}),  # the same instant
        ("timestamp:[2019-01-01 TO 2020-01-01]", {"1", "2"}),
        ("timestamp:[2019 TO 2020-02-10T09:30:00Z]", {"1", "2", "3"}),
        ("timestamp:[2019 TO 2020-02-10T09:30:00Z}", {"1", "2"}),
        ("timestamp:{2019-03-01 TO 2019-07-15T12:00:00Z]", {"2"}),
        ("timestamp:[2020 TO *]", {"3", "4"}),
        ("timestamp:[* to 2019]", {"5"}),
        ("timestamp:>=2020", {"3", "4"}),
        ("timestamp:>2020-02-10T09:30:00Z", {"4"}),
        ("timestamp:<2019", {"5"}),
        ("timestamp:<=2019-03-01", {"1", "5"}),
        ("fox timestamp:<2019", {"5"}),  # a field side by side narrows
        ("fox domain:example.com", {"1", "2"}),
        ("fox weaving domain:example.org", {"3"}),
        ("domain:example.com language:en", {"1", "2", "6"}),
        ("timestamp:2019 domain:example.com", {"1", "2"}),
        ("domain:example.com -fox", {"6"}),
        ("domain:example.org OR domain:example.net", {"3", "4", "5"}),
        ("fox (domain:example.org OR domain:example.net)", {"5"}),
        ("fox OR domain:example.org", {"1", "2", "3", "4", "5"}),  # OR: alternatives
        ("+fox dog domain:example.com", {"1", "2"}),
        ("(fox domain:example.net) OR weaving", {"3", "5"}),
        ("((((((((fox))))))))", {"1", "2", "5"}),  # MAX_DEPTH groups deep
        ("weaving !!! ...", {"3"}),  # punctuation alone is no word; a lone - or + neither
        ("weaving - + renard", {"3", "4"}),
        ("and", {"3", "5", "6"}),  # lower-case: a word
        ("+AND +box", {"5"}),  # after a prefix: a word
        ('"the of and to in a is for on that"~2', {"6"}),  # common words, bounded slop
        ("*", ALL),  # every document (nothing is expanded)
        ("* -fox", ALL - {"1", "2", "5"}),
        ("+* +timestamp:2019", {"1", "2"}),
    ],
)
def test_construct_finds(tiny, q: str, expected: set[str]):
    assert found(tiny, q) == expected
    assert read(tiny, q)[3:] == (QUERY, None)  # read in the language, not as words


def test_language_field(tiny):
    for lang in {d.language for d in tiny.stored.values()}:
        want = {k for k, d in tiny.stored.items() if d.language == lang}
        assert found(tiny, f"language:{lang}") == want
        assert found(tiny, f'language:"{lang}"') == want
    assert found(tiny, "language:xx") == set()


def test_slop_counts_moves(tiny):
    """tantivy's slop is Lucene's: N moves of words, so one word between costs 1 and two
    neighbours swapped cost 2."""
    assert found(tiny, '"fox quick"~1') == set()
    assert found(tiny, '"fox quick"~2') == {"2"}
    assert found(tiny, '"quick fox"~2') == {"1", "2"}


def test_terms_for_highlighting(tiny):
    assert terms(tiny, '"Quick brown FOX" -lazy dog') == ["quick", "brown", "fox", "dog"]
    assert terms(tiny, "fox fox Fox") == ["fox"]
    assert terms(tiny, "domain:example.com weaving timestamp:2019") == ["weaving"]
    assert terms(tiny, "engine AND NOT (river OR hill)") == ["engine"]
    assert terms(tiny, "e-mail OR rivière") == ["e", "mail", "riviere"]
    assert terms(tiny, f"corpus:{CORPUS}") == []


def test_a_clause_said_twice_is_searched_once(tiny):
    once = str(read(tiny, '"the of"~2').query)
    twice = str(read(tiny, '"the of"~2 "the of"~2').query)
    assert twice.count("PhraseQuery") == once.count("PhraseQuery") == 1
    assert found(tiny, "fox fox +fox") == {"1", "2", "5"}


def scores(tiny: SimpleNamespace, q: str) -> dict[str, float]:
    query = read(tiny, q).query
    _, hits = tiny.indexes.search([tiny.ci], lambda _ci: query, 100)
    return {tiny.indexes.fetch(f).url.rsplit("/", 1)[1]: f.score for f in hits}


def test_a_word_said_twice_weighs_twice(tiny):
    """BM25 with query term frequency: `fox fox lazy` is `fox` counted twice and `lazy` once."""
    one, two = scores(tiny, "fox lazy"), scores(tiny, "fox fox lazy")
    fox, lazy = scores(tiny, "fox"), scores(tiny, "lazy")
    assert one.keys() == two.keys()
    for doc, score in two.items():
        assert score == pytest.approx(2 * fox.get(doc, 0) + lazy.get(doc, 0), rel=1e-5)
        assert score >= one[doc]
    assert scores(tiny, "fox -lazy -lazy") == scores(tiny, "fox -lazy")  # NOT has no weight


def test_returns_a_tantivy_query(tiny):
    query, words, dropped, read_as, reason = read(tiny, "fox")
    assert isinstance(query, tantivy.Query)
    assert words == ["fox"]
    assert dropped == []
    assert (read_as, reason) == (QUERY, None)


# -- what it refuses -----------------------------------------------------------------------------
SECRET = "zq7secret"  # a value that must never be quoted back

HIDDEN = [
    f"pii:{SECRET}",
    f"PII:{SECRET}",
    f"Pii:{SECRET}",
    "pii:[a TO z]",
    "pii:{a TO z}",
    f"+pii:{SECRET}",
    f"-pii:{SECRET} fox",
    f"(pii:{SECRET})",
    f"fox OR (dog AND pii:{SECRET})",
    f'pii:"{SECRET}"',
    "pii:*",
    f"pii:/{SECRET}.*/",
    f"unit:{SECRET}",
    f"shard:{SECRET}",
    f"doc_id:{SECRET}",
    f"spans:{SECRET}",
    f"url:{SECRET}",
    f"text:{SECRET}",
    f"source_id:{SECRET}",
    f"p\\ii:{SECRET}",
    f"pii\\:{SECRET}",
    f'"pii":{SECRET}',
    f"'pii':{SECRET}",
    f"`pii`:{SECRET}",
    f"pii :{SECRET}",
    f"pii.x:{SECRET}",
    f"domain.pii:{SECRET}",
    f"pii:domain:{SECRET}",
    f"\u201cpii\u201d:{SECRET}",
    f"\uff30\uff29\uff29:{SECRET}",  # full-width PII
    f"NOT pii:{SECRET} fox",
    f"url: {SECRET}",  # a space after the colon: still the name of a hidden field
    f"Text:{SECRET}",
    f"source_id:{SECRET}",
    f"pii:{SECRET} (",  # unreadable elsewhere: the hidden field is refused all the same
    f"Note: pii:{SECRET}",
    f'"unclosed pii:{SECRET}',
    f"fox* unit:{SECRET}",
    f"[pii:{SECRET}]",
]


@pytest.mark.parametrize("q", HIDDEN)
def test_hidden_fields_refused(tiny, q: str):
    message = refused(tiny, q)
    assert SECRET not in message


def test_hidden_fields_are_every_field_the_public_may_not_name():
    """Every field of the index and column of a stored document is public or hidden."""
    every = {*KEYWORDS, "url", "text", "timestamp", *DOCUMENT_SCHEMA.names}
    assert every - set(PUBLIC_FIELDS) <= HIDDEN_FIELDS
    assert not HIDDEN_FIELDS & set(PUBLIC_FIELDS)


#: Well-formed queries that ask for what the language does not allow, and queries with no word
#: to search: refused (422) as before. (Syntax that cannot be read is read as words: below.)
REFUSED = [
    "",
    "   ",
    "!!!",
    "**",  # read as words: no word is left
    "()",
    "-fox",
    "NOT fox",
    "-fox -dog",
    "fox AND (-dog)",
    "/fo.x/",
    "/.*/",
    "fox /fo.x/",
    "[a TO z]",
    "{a TO z}",
    "domain:[a TO z]",
    "domain:{a TO z}",
    "language:>en",
    "corpus:<=z",
    "domain:*",
    "domain:exa*",
    "domain:/exa.*/",
    "domain:example~1",
    "domain:example^2",
    "domain:(example.com OR example.org)",
    'domain:""',
    'domain:"unclosed',
    'domain:"x"y',
    "timestamp:yesterday",
    "timestamp:2019-13-01",
    "timestamp:[2019 TO]",
    "timestamp:[2019 2020]",
    "timestamp:[2019 TO 2020",
    "timestamp:[* TO *]",
    "timestamp:[2021 TO 2019]",
    "timestamp:>",
    "timestamp:>*",
    "timestamp:[2019 TO 2020]x",
    '"quick fox"~3',
    "(" * (MAX_DEPTH + 1) + "fox" + ")" * (MAX_DEPTH + 1),
    # A refusal is decided where it stands, whatever cannot be read elsewhere in the text.
    'fox* "quick fox"~1000',
    'Note: "quick fox"~9',
    "(fox /fo.x/",
    "fox AND [a TO z]",
    "Note: domain:exa*",
    "10:30 timestamp:yesterday",
    "(fox " + "-".join(["fox"] * 17),  # more than max_phrase_words (16) joined
]


@pytest.mark.parametrize("q", REFUSED)
def test_refused(tiny, q: str):
    assert refused(tiny, q)


#: Syntax that cannot be read, as text people paste holds it, and the terms searched when it is
#: read as plain words instead (white space, double quotes and parentheses separate words; all
#: other syntax is punctuation). Each of these was refused before (issue 13).
READ_AS_WORDS = [
    ("Note: the results", ["note", "the", "results"]),  # not a field: the colon is punctuation
    (f"nosuchfield:{SECRET}", ["nosuchfield", SECRET]),
    (f":{SECRET}", [SECRET]),
    ("10:30", ["10", "30"]),
    ("http://example.com", ["http", "example", "com"]),
    ("Language: English", ["language", "english"]),  # a field's colon with a space after it
    ("domain:", ["domain"]),
    ("timestamp:", ["timestamp"]),
    ('"unclosed phrase', ["unclosed", "phrase"]),
    ('"quick fox"dog', ["quick", "fox", "dog"]),
    ('"quick fox"*', ["quick", "fox"]),
    ('"quick fox"^2', ["quick", "fox", "2"]),
    ('"quick fox"~', ["quick", "fox"]),
    ('"quick fox"~~1', ["quick", "fox", "1"]),
    ('"quick fox"~1~1', ["quick", "fox", "1"]),
    ('"quick fox"~x', ["quick", "fox", "x"]),
    ('"Note": fox', ["note", "fox"]),
    ("(fox", ["fox"]),
    ("fox)", ["fox"]),
    (")fox(", ["fox"]),
    ("(" * (MAX_DEPTH + 1) + "fox", ["fox"]),  # unclosed, however deep
    ("fox AND", ["fox", "and"]),
    ("AND fox", ["and", "fox"]),
    ("fox OR OR dog", ["fox", "or", "dog"]),
    ("fox AND OR dog", ["fox", "and", "or", "dog"]),
    ("NOT NOT fox", ["not", "fox"]),
    ("NOT -fox", ["not", "fox"]),
    ("--fox", ["fox"]),
    ("+-fox", ["fox"]),
    ("fox OR -dog", ["fox", "or", "dog"]),
    ("fox OR +dog", ["fox", "or", "dog"]),
    ("fox OR NOT dog", ["fox", "or", "not", "dog"]),
    ("TO BE OR NOT TO BE", ["to", "be", "or", "not"]),
    ("fox*", ["fox"]),
    ("*fox", ["fox"]),
    ("fo?x*", ["fo", "x"]),
    ("fox~", ["fox"]),
    ("fox~2", ["fox", "2"]),
    ("fox~1 dog", ["fox", "1", "dog"]),
    ("fox^2", ["fox", "2"]),
    ("x^2 + y^2", ["x", "2", "y"]),
    ("fox\\ dog", ["fox", "dog"]),
    ("C:\\Users\\fox", ["c", "users", "fox"]),
    ("fox * dog", ["fox", "dog"]),  # a lone * beside words is not every document
    ("the results -- as expected -- hold", ["the", "results", "as", "expected", "hold"]),
]


@pytest.mark.parametrize(("q", "expected"), READ_AS_WORDS)
def test_unreadable_syntax_is_read_as_words(tiny, q: str, expected: list[str]):
    parsed = read(tiny, q)
    assert parsed.read_as == WORDS
    assert parsed.reason and "\n" not in parsed.reason and SECRET not in parsed.reason
    assert parsed.terms == expected
    assert parsed.dropped == []
    found(tiny, q)  # and tantivy runs it


def test_read_as_words_keeps_phrases_of_joined_words(tiny):
    """As plain text: a word joined by punctuation is the phrase of its parts; past
    `max_phrase_words` parts (a long URL) it is its separate words, not refused."""
    assert found(tiny, "Note: e-mail") == {"5"}
    assert found(tiny, "(quick-fox") == {"2"}  # the phrase, not either word
    long = "Note: http://" + "/".join(["fox"] * (tiny.settings.max_phrase_words + 1))
    assert read(tiny, long).read_as == WORDS
    assert found(tiny, long) == {"1", "2", "5"}


def test_big_slop_refused(tiny):
    attack = '"the of and to in a is for on that"~1000'
    assert SECRET not in refused(tiny, attack.replace("the", SECRET))
    refused(tiny, attack)
    refused(tiny, '"the of and to in a is for on that"~99999999999999999999999999')
    s = tiny.settings.max_slop
    refused(tiny, f'"quick fox"~{s + 1}')
    assert found(tiny, f'"quick fox"~{s}') == {"1", "2"}
    assert found(tiny, '"quick fox"~1', tiny.settings.model_copy(update={"max_slop": 1}))
    refused(tiny, '"quick fox"~1', tiny.settings.model_copy(update={"max_slop": 0}))


def test_limits(tiny):
    limit = tiny.settings.max_clauses
    found(tiny, " ".join(["fox"] * limit))
    assert found(tiny, " ".join(["fox"] * (limit + 1))) == {"1", "2", "5"}  # one clause
    # Past the cap, prose's structure (quotes, parentheses) is read as words and shortened;
    # a query's (a slop, operators, prefixes, fields) is refused as before.
    prose = read(tiny, " ".join(f"w{i}" for i in range(limit)) + ' "quick fox"')
    assert prose.read_as == WORDS and len(prose.terms) == limit and prose.dropped
    prose = read(tiny, "(" * 3 + " ".join(f"w{i}" for i in range(limit + 1)) + ")" * 3)
    assert prose.read_as == WORDS and len(prose.terms) == limit and prose.dropped
    refused(tiny, " ".join(["fox"] * limit) + ' "quick fox"~2')
    refused(tiny, " ".join(["fox"] * limit) + ' "quick fox"~0')
    refused(tiny, " AND ".join(f"w{i}" for i in range(limit + 1)))
    refused(tiny, " ".join(f"+w{i}" for i in range(limit + 1)))
    refused(tiny, " ".join(f"w{i}" for i in range(limit)) + " domain:a")
    few = tiny.settings.model_copy(update={"max_clauses": 3})
    found(tiny, '"quick fox" dog', few)
    assert read(tiny, '"quick fox" dog', few).read_as == QUERY
    # each word of a phrase counts: past the cap, the phrase is words, the rarest kept
    assert read(tiny, '"quick brown fox" dog', few, doc_freq(tiny))[1:] == (
        ["quick", "brown", "dog"],
        ["fox"],
        WORDS,
        "past 3 terms, double quotes and parentheses are punctuation",
    )
    refused(tiny, "fox domain:a domain:b domain:c", few)  # so does each field
    refused(tiny, "fox (dog (river timestamp:2019))", few)
    words = tiny.settings.max_phrase_words
    found(tiny, '"' + " ".join(["fox"] * words) + '"')
    refused(tiny, '"' + " ".join(["fox"] * (words + 1)) + '"')
    refused(tiny, "-".join(["fox"] * (words + 1)))  # a word joined by punctuation is a phrase
    refused(tiny, "fox " * 600)  # past max_query_chars
    refused(tiny, "Note: " + "fox " * 600)


def test_messages_never_quote_the_query(tiny):
    for q in (
        f'"{SECRET} {SECRET}"~9',
        f"domain:{SECRET}*",
        f"timestamp:{SECRET}",
        f"timestamp:[{SECRET} TO 2020]",
        f"-{SECRET}",
        f"/{SECRET}/",
    ):
        assert SECRET not in refused(tiny, q)
    for q in (f"{SECRET}*", f"{SECRET}~1", f"{SECRET}:x", f"({SECRET}", f"{SECRET} AND"):
        parsed = read(tiny, q)
        assert parsed.read_as == WORDS and SECRET not in parsed.reason


# -- long plain text -------------------------------------------------------------------------------
#: 73 words of plain text as people paste it (65 distinct index terms, ``e-mail`` being two).
LONG = (
    "I would like to find writings about the history of computing machines, weaving "
    "looms and the analytical engine described for a museum gallery; stories where a quick "
    "brown fox jumps over some lazy dog near a river bank or watches from a hill, letters in "
    "French, e-mail questions sent to a shop that sells toys in boxes, and other notes "
    "people wrote on animals, rivers, engines, gardens, bridges, clocks, trains, maps or "
    "weather."
)


def doc_freq(tiny: SimpleNamespace):
    return doc_freq_over(lambda: tiny.ci.searchers())


def counted(tiny: SimpleNamespace) -> Counter[str]:
    """Documents per term, counted on the stored (redacted) text: the oracle for doc_freq."""
    return Counter(t for d in tiny.stored.values() for t in set(tokenize(d.text)))


def test_long_plain_text_is_shortened_not_refused(tiny):
    assert len(LONG.split()) == 73
    query, searched, dropped, read_as, _ = parse_public(
        LONG, tiny.ci.schema, tiny.settings, doc_freq(tiny)
    )
    words = set(tokenize(LONG))
    assert len(words) > tiny.settings.max_clauses  # over the cap even once each
    assert dropped and set(dropped) <= words | {"e mail"}
    assert len(searched) == tiny.settings.max_clauses  # the cap, filled
    assert not set(searched) & set(dropped)
    assert read_as == QUERY  # plain text is read as it is, only shortened
    _, hits = tiny.indexes.search([tiny.ci], lambda _ci: query, 100)
    assert hits


@pytest.mark.parametrize("cap", [3, 5, 10, 30])
def test_the_commonest_words_are_dropped(tiny, cap: int):
    """Kept: the rarest words in the index; dropped first: words no document holds, then the
    commonest (lowest IDF). Checked against document counts taken from the stored text."""
    few = tiny.settings.model_copy(update={"max_clauses": cap})
    words = LONG.replace("e-mail", "")  # single words only, so each costs one clause
    _, searched, dropped, _, _ = parse_public(words, tiny.ci.schema, few, doc_freq(tiny))
    df = counted(tiny)
    assert len(searched) == cap
    assert set(searched) | set(dropped) == set(tokenize(words))
    assert dropped == [w for w in dict.fromkeys(tokenize(words)) if w not in searched]
    kept_df = [df[w] for w in searched]
    assert min(kept_df) > 0 or all(df[w] == 0 for w in dropped)  # absent words go first
    held = [df[w] for w in dropped if df[w] > 0]
    assert not held or max(kept_df) <= min(held)  # every kept word as rare as any dropped one


def test_shortening_ties_and_no_index(tiny):
    few = tiny.settings.model_copy(update={"max_clauses": 2})
    # the (6 documents), fox (3) out first; of three equally rare words, the last one
    assert parse_public("the fox weaving engine looms", tiny.ci.schema, few, doc_freq(tiny))[2] == [
        "the",
        "fox",
        "looms",
    ]
    assert parse_public("the zzqx fox weaving", tiny.ci.schema, few, doc_freq(tiny))[2] == [
        "the",
        "zzqx",
    ]
    # without document counts, the first words are kept
    assert parse_public("the fox weaving engine", tiny.ci.schema, few)[2] == ["weaving", "engine"]
    # a word joined by punctuation is kept or dropped whole, as rare as its rarest part
    assert parse_public("e-mail the of", tiny.ci.schema, few, doc_freq(tiny))[1:3] == (
        ["e", "mail"],
        ["the", "of"],
    )
    # duplicates are one clause: nothing dropped
    assert parse_public("fox fox fox fox", tiny.ci.schema, few, doc_freq(tiny))[2] == []


def test_search_says_what_it_dropped(indexed):
    """Over the real samples (c4 and commoncrawl): the 73-word query is answered, with hits,
    and the answer names the words it did not search."""
    settings = Settings(data=indexed)
    indexes = Indexes(Store(indexed))
    answer = search(indexes, LONG, settings, Filters(corpora=["c4", "commoncrawl"]), k=5)
    assert answer.hits and answer.total
    assert answer.dropped and set(answer.dropped) <= set(tokenize(LONG)) | {"e mail"}
    assert search(indexes, "weaving looms", settings).dropped == []


def test_what_is_dropped_never_depends_on_personal_data(indexed):
    """A long query holding a guess at a hidden value (right: the address and phone number in
    the people corpus; wrong: others) gets the same answer, dropped words included: the query
    is redacted before it is parsed, and the counts that rank its words are the public
    (redacted) index's."""
    settings = Settings(data=indexed)
    indexes = Indexes(Store(indexed))
    filters = Filters(corpora=["people", "c4"])
    answers = []
    for mail, phone in [
        ("ada.lovelace@example.org", "+44 20 7946 0958"),  # right
        ("ada.lovelace@example.com", "+44 20 7946 0959"),  # wrong
        ("zz.unknown@example.net", "+1 202 555 0143"),  # wrong
    ]:
        q = f"{LONG} write to {mail} or call {phone} about engines"
        answer = search(indexes, q, settings, filters, k=10)
        assert answer.dropped
        answers.append(answer.model_dump(exclude={"took_ms", "partial"}))
    assert answers[0] == answers[1] == answers[2]


#: A CISI-like information need as people paste it (CISI's queries are paragraphs like this):
#: a colon, parentheses and quotes, and more distinct words than `max_clauses`.
PASTED = (
    'Note: I am looking for studies of how people judge the "relevance" of documents found by '
    "information retrieval systems (library catalogues, citation indexes, abstracting services "
    'and web search engines), and whether "relevance" as the user sees it agrees with the '
    "judgements of librarians or indexers; also measures such as precision and recall, the "
    "cost of searching, the time it takes, and how the needs of scientists, engineers and "
    "students (for example in chemistry, physics or medicine) differ from those of the general "
    "public using a city library or a university department's collection."
)


def test_a_pasted_paragraph_is_answered_on_the_real_samples(indexed):
    """The paragraph is read as plain words (its colon names no field), shortened to the
    cap's rarest words like any long plain text, and answered with hits; without the colon,
    its quotes and parentheses past the cap are read as words too; the refusals stand."""
    settings = Settings(data=indexed)
    indexes = Indexes(Store(indexed))
    filters = Filters(corpora=["c4", "commoncrawl"])
    words = set(tokenize(PASTED))
    assert len(words) > settings.max_clauses
    answer = search(indexes, PASTED, settings, filters, k=5)
    assert answer.read_as == "words" and "':'" in answer.read_as_reason
    assert answer.hits and answer.total
    assert answer.dropped and set(answer.dropped) <= words
    assert len(words) - len(answer.dropped) == settings.max_clauses  # the cap, filled
    plain = search(indexes, " ".join(tokenize(PASTED)), settings, filters, k=5)
    assert plain.read_as == "query" and plain.dropped == answer.dropped  # the same shortening
    assert [h.doc_id for h in plain.hits] == [h.doc_id for h in answer.hits]
    no_colon = search(indexes, PASTED.replace("Note:", ""), settings, filters, k=5)
    assert no_colon.read_as == "words" and no_colon.hits and no_colon.dropped
    short = search(indexes, 'information retrieval "library catalogues" (relevance)', settings)
    assert (short.read_as, short.read_as_reason, short.dropped) == ("query", None, [])
    for q in (PASTED + ' "the of"~9', PASTED + " pii:x", PASTED + " url: x", PASTED + " /a.*/"):
        with pytest.raises(QueryError):
            search(indexes, q, settings, filters)


def test_reading_as_words_never_depends_on_personal_data(indexed):
    """A pasted query with a colon and a guess at a hidden e-mail address (right: the one in
    the people corpus; wrong: others) gets the same answer, how it was read included: the
    query is redacted before it is read, so the address is its type wherever it stands."""
    settings = Settings(data=indexed)
    indexes = Indexes(Store(indexed))
    filters = Filters(corpora=["people", "c4"])
    answers = []
    for mail in ("ada.lovelace@example.org", "ada.lovelace@example.com", "zz.q@example.net"):
        for q in (
            f'Contact: {mail} (the weaver) wrote about the "pattern book',
            f"From:{mail} pattern book",
            f'{PASTED} Reply to: "{mail}"',
        ):
            answer = search(indexes, q, settings, filters, k=10)
            assert answer.read_as == "words" and answer.redacted == ["EMAIL_ADDRESS"]
            assert mail not in answer.model_dump_json()
            answers.append(answer.model_dump(exclude={"took_ms", "partial"}))
    assert answers[0:3] == answers[3:6] == answers[6:9]


# -- random text -----------------------------------------------------------------------------------
FRAGMENTS = [
    " ",
    "  ",
    "fox",
    "Quick",
    "e-mail",
    "rivière",
    '"',
    "'",
    "(",
    ")",
    "+",
    "-",
    "~",
    "~2",
    "~1000",
    "*",
    "?",
    "^",
    "^2",
    "\\",
    "/",
    ":",
    "[",
    "]",
    "{",
    "}",
    "<",
    ">",
    "=",
    "AND",
    "OR",
    "NOT",
    "TO",
    "to",
    "corpus",
    "domain",
    "language",
    "timestamp",
    "pii",
    "unit",
    "2019",
    "2019-05",
    "2019-05-03",
    "2019-05-03T10:00:00Z",
    "+02:00",
    "9999",
    "0000",
    "0001-01-01",
    "\x00",
    "\u00a0",
    "日本語",
    "١٢٣",
]


@given(
    st.one_of(
        st.text(max_size=200),
        st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join),
    )
)
@hsettings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_text_is_parsed_or_refused(tiny, q: str):
    try:
        query, words, _, read_as, reason = parse_public(q, tiny.ci.schema, tiny.settings)
    except QueryError as exc:
        assert str(exc)
        return
    assert (read_as == WORDS) == bool(reason) and read_as in (QUERY, WORDS)
    assert isinstance(query, tantivy.Query)
    assert all(isinstance(w, str) and w for w in words)
    tiny.indexes.search([tiny.ci], lambda _ci: query, 10)  # and tantivy runs it
