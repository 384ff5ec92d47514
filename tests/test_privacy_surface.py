"""The privacy contract as an attacker tries it (docs/privacy.md).

Each attack of the review is written here as a test that asserts the answer does not depend
on the secret: a right and a wrong guess give identical responses. The corpus is a handful
of planted documents next to ordinary ones, ingested, scanned and indexed for real.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from corpuscope import jobs
from corpuscope.api.app import create_app
from corpuscope.config import Settings
from corpuscope.errors import QueryError
from corpuscope.index.membership import membership
from corpuscope.index.person import person
from corpuscope.index.query import exact, search
from corpuscope.index.searcher import Indexes
from corpuscope.models.answers import Filters
from corpuscope.privacy.hashing import luhn_valid
from corpuscope.store import Store

PHONE = "+33 6 12 34 56 78"
CARD = "4111 1111 1111 1111"
EMAIL = "quorvina.teslaw@example.org"
IBAN = "DE89 3704 0044 0532 0130 00"
PLANTED = [
    f"Call the office of Quorvina Teslaw on {PHONE} for the archive of weaving patterns.",
    f"Payment for the loom parts was made with the card {CARD} last spring in Lyon.",
    f"The pseudonymous weaver wrote to {EMAIL} about the pattern book and its errata.",
    f"Wire the membership fee to {IBAN} before the guild meeting of the weavers.",
]
FILLER = [
    f"The weaving guild met on day {i} to discuss looms, patterns and the price of wool."
    for i in range(16)
]
LONELY = "A single page about weaving hosted on a domain of its own, with nothing else."


def _records() -> list[dict]:
    out = [
        {"id": f"p{i}", "text": t, "url": f"https://forum.example.com/t/{i}"}
        for i, t in enumerate(PLANTED)
    ]
    out += [
        {"id": f"f{i}", "text": t, "url": f"https://news.example.net/{i}"}
        for i, t in enumerate(FILLER)
    ]
    out.append({"id": "lonely", "text": LONELY, "url": "https://lonely-weaver.example.io/"})
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("surface")
    src = root / "planted.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in _records()))
    settings = Settings(data=root / "data", workers=1)
    assert jobs.ingest(settings, "weave", [str(src)]).ok
    assert jobs.scan(settings, "weave").ok
    jobs.index(settings, "weave")
    jobs.stats(settings, "weave")
    return settings.data


@pytest.fixture(scope="module")
def settings(data) -> Settings:
    return Settings(data=data)


@pytest.fixture(scope="module")
def ix(data) -> Indexes:
    return Indexes(Store(data))


@pytest.fixture(scope="module")
def client(data) -> TestClient:
    return TestClient(create_app(Settings(data=data)))


def _same(a, b) -> None:
    """Two answers equal but for their timing."""
    drop = {"took_ms"}
    assert a.model_dump(exclude=drop) == b.model_dump(exclude=drop)


def test_search_totals_do_not_depend_on_a_hidden_phone(ix, settings):
    """Digit by digit: the last digits of a phone next to known context, right or wrong."""
    right = search(ix, '"on 33 6 12 34 56 78"', settings)
    for wrong in ('"on 33 6 12 34 56 79"', '"on 33 6 12 34 56 00"'):
        _same_totals = search(ix, wrong, settings)
        assert (right.total, len(right.hits)) == (_same_totals.total, len(_same_totals.hits))
    assert right.total == 1 and right.redacted == ["PHONE_NUMBER"]  # any phone matches [PHONE]
    assert "12 34 56" not in right.model_dump_json()
    context = search(ix, '"office of quorvina teslaw on"', settings)
    assert context.total == 1 and "[PHONE]" in context.hits[0].snippet.text


def test_exact_candidates_do_not_depend_on_a_hidden_card(ix, settings):
    """The last group of a card through `candidates` and counts: every card number a guess
    could be (Luhn-valid) gets the same answer as the right one."""
    base = "was made with the card 4111 1111 1111 "
    guesses = [f"{n:04d}" for n in range(1000, 1300) if luhn_valid(f"411111111111{n:04d}")]
    assert "1111" in guesses and len(guesses) > 20
    answers = [exact(ix, base + last, settings) for last in [*guesses[:12], "1111"]]
    for other in answers:
        _same(other, answers[0])
    assert answers[0].documents == 1 and answers[0].redacted == ["CREDIT_CARD"]


def test_exact_redacts_the_passage_and_says_so(ix, settings):
    right = exact(ix, f"wrote to {EMAIL} about the pattern book", settings)
    wrong = exact(ix, "wrote to someone.else@example.org about the pattern book", settings)
    _same(right, wrong)
    assert right.documents == 1 and right.redacted == ["EMAIL_ADDRESS"]
    assert EMAIL not in right.model_dump_json()


def test_membership_verdict_does_not_depend_on_a_hidden_email(ix, settings):
    passage = "The pseudonymous weaver wrote to {} about the pattern book and its errata."
    right = membership(ix, passage.format(EMAIL), settings)
    wrong = membership(ix, passage.format("nobody.at.all@example.org"), settings)
    _same(right, wrong)
    assert right.verdict == "verbatim"


@pytest.mark.parametrize(
    "q",
    [
        "pii:[0 TO z]",
        "PII:[0 TO z]",
        "pii:abc",
        "+pii:abc",
        "(pii:abc)",
        "unit:x",
        "spans:x",
        "doc_id:[0 TO z]",
        '"the of and to in a is for on that"~1000',
    ],
)
def test_hidden_fields_and_unbounded_queries_are_refused(ix, settings, q):
    with pytest.raises(QueryError):
        search(ix, q, settings)


def test_identifier_lookups_give_counts_not_documents(ix, settings):
    ans = person(ix, "", settings, emails=[EMAIL])
    (c,) = ans.corpora
    assert c.identifier_documents == {"email 1": 1}
    assert ans.evidence == []  # which document holds it is for the officer role
    dump = ans.model_dump_json()
    assert "forum.example.com" not in dump and EMAIL not in dump
    wrong = person(ix, "", settings, emails=["no.one@example.org"])
    assert wrong.corpora[0].identifier_documents == {"email 1": 0}


def test_identifier_counts_ignore_narrowing_filters(ix, settings):
    """A count by domain would tell where a known address was posted."""
    everywhere = person(ix, "", settings, emails=[EMAIL])
    there = person(ix, "", settings, emails=[EMAIL], filters=Filters(domain="example.com"))
    elsewhere = person(ix, "", settings, emails=[EMAIL], filters=Filters(domain="example.net"))
    counts = [a.corpora[0].identifier_documents for a in (everywhere, there, elsewhere)]
    assert counts[0] == counts[1] == counts[2]


def test_usernames_and_urls_are_identifiers_not_phrases(ix, settings):
    with pytest.raises(QueryError):
        person(ix, "", settings, usernames=["the pattern book"])
    with pytest.raises(QueryError):
        person(ix, "", settings, urls=["the pattern book"])
    ans = person(ix, "", settings, usernames=["weav"])  # part of "weaving" is not a name
    assert ans.corpora[0].identifier_documents == {"username 1": 0}


def test_documents_cannot_be_paged(client):
    hit = client.get("/v1/search", params={"q": "pseudonymous weaver"}).json()["hits"][0]
    first = client.get(f"/v1/documents/{hit['doc_id']}").json()
    paged = client.get(f"/v1/documents/{hit['doc_id']}", params={"start": 40}).json()
    assert first == paged and first["window"]["start"] == 0
    assert "[EMAIL]" in first["window"]["text"] and EMAIL not in json.dumps(first)


def test_narrowed_small_counts_are_withheld(ix, settings, client):
    """The public by_domain table hides a domain of one document: search does not tell."""
    narrowed = search(ix, "weaving", settings, Filters(domain="example.io"))
    assert narrowed.withheld and narrowed.total is None and narrowed.hits == []
    by_field = search(ix, "weaving domain:example.io", settings)
    assert by_field.withheld and by_field.total is None
    stats = client.get("/v1/corpora/weave/stats/by_domain").json()
    shown = {r["domain"]: r["documents"] for r in stats["rows"]}
    assert shown.get("example.io") is None  # hidden in the statistics too
    assert search(ix, "weaving", settings).total >= 10  # whole-corpus counts are shown


def test_no_planted_value_in_any_public_answer_or_log(client, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = [PHONE, "12 34 56 78", CARD, "1111 1111", EMAIL, IBAN, "0532 0130"]
    calls = [
        ("get", "/v1/search", {"params": {"q": "weaving pattern card office fee", "k": 50}}),
        ("get", "/v1/search", {"params": {"q": f'"{EMAIL}"'}}),
        ("post", "/v1/exact", {"json": {"passage": f"with the card {CARD} last spring"}}),
        ("post", "/v1/membership", {"json": {"passage": PLANTED[3]}}),
        ("post", "/v1/person", {"json": {"name": "Quorvina Teslaw", "emails": [EMAIL]}}),
        ("get", "/v1/corpora", {}),
        ("get", "/v1/corpora/weave/stats/pii", {}),
        ("get", "/v1/search", {"params": {"q": f"pii:{EMAIL}"}}),  # an error answer
    ]
    for method, path, kw in calls:
        body = getattr(client, method)(path, **kw).text
        for s in secrets:
            assert s not in body, (path, s)
    for s in secrets:
        assert s not in caplog.text
