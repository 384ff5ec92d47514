"""Attacks found by a security review of the public API, kept as regression tests.

Each test is written as the contract (docs/privacy.md) says it should hold: a right and a
wrong guess must give identical public answers, a withheld small count must not
be readable from another answer, and what is shown must have every value of the display
redaction's forms hidden. The corpus is planted documents, ingested, scanned and indexed
for real (as tests/test_privacy_surface.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import xxhash
from fastapi.testclient import TestClient

from corpuscope.api.app import create_app
from corpuscope.config import Settings
from tests.conftest import build_corpus

THRESHOLD = 10
EMAIL = "quorvina.teslaw@example.org"
RIGHT_DOC = f"The pseudonymous weaver wrote to {EMAIL} about the pattern book and its errata."
WRONG_DOC = "Spinning wheels for sale near the old mill, ask the miller about the oak wheel."
FILLER = [
    f"The weaving guild met on day {i} to discuss looms, patterns and the price of wool."
    for i in range(14)
]
# two pages on a domain of their own: a small cell (2 < THRESHOLD) wherever it is narrowed to
RARE = [
    "A rare loom page about weaving on a small frame loom in the attic.",
    "Another rare loom page about weaving blankets on the same frame loom.",
]
# the same page 12 times (an exact-duplicate group the public statistics show)
DUP_EMAIL = "secret.owner@example.org"
DUP = f"Contact the shop owner at {DUP_EMAIL} for the order form."
# values of the forms the display redaction promises to hide (docs/privacy.md, contract 6:
# "cards and IBANs in any spacing", "zero-width tricks", "full-width tricks")
MISSED = {
    "card-4-spaces": (
        "Pay the tapestry invoice with card 4111    1111    1111    1111 soon.",
        "1111",
    ),
    "iban-3-spaces": (
        "Wire the embroidery dues to DE89   3704   0044   0532   0130   00 now.",
        "3704",
    ),
    "email-isolate": (
        "Write to wovensecret\u2066@example.org for the crochet newsletter.",
        "wovensecret",
    ),
    "email-small-dot": (
        "Write to threadkeeper@gmail\ufe52com for the macrame recipes.",
        "threadkeeper",
    ),
}
SEARCH_WORD = {
    "card-4-spaces": "tapestry",
    "iban-3-spaces": "embroidery",
    "email-isolate": "crochet",
    "email-small-dot": "macrame",
}


def _records() -> list[dict]:
    out = [
        {"id": "right", "text": RIGHT_DOC, "url": "https://forum.example.com/t/1"},
        {"id": "wrong", "text": WRONG_DOC, "url": "https://forum.example.com/t/2"},
    ]
    out += [
        {"id": f"f{i}", "text": t, "url": f"https://news.example.net/{i}"}
        for i, t in enumerate(FILLER)
    ]
    out += [
        {"id": f"rare{i}", "text": t, "url": f"https://rare-loom.io/{i}"}
        for i, t in enumerate(RARE)
    ]
    out += [
        {"id": f"dup{i}", "text": DUP, "url": f"https://shop{i}.example.com/"} for i in range(12)
    ]
    out += [
        {"id": f"miss-{k}", "text": t, "url": f"https://misc.example.org/{k}"}
        for k, (t, _) in MISSED.items()
    ]
    return out


def _length_records(address: str) -> list[dict]:
    out = [
        {"id": f"f{i}", "text": t, "url": f"https://news.example.net/{i}"}
        for i, t in enumerate(FILLER[:11])
    ]
    out.append(
        {
            "id": "mail",
            "text": f"Write to {address} for the guild's archive.",
            "url": "https://a.example.com/",
        }
    )
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("attacks")
    settings = Settings(data=root / "data", workers=1)
    build_corpus(settings, "weave", root / "weave.jsonl", _records())
    # two corpora that differ only in the hidden e-mail (a short and a long one)
    build_corpus(settings, "lena", root / "lena.jsonl", _length_records("ab@example.org"))
    build_corpus(
        settings,
        "lenb",
        root / "lenb.jsonl",
        _length_records("abcdefghijklmnopqrstuvwx@example.org"),
    )
    return settings.data


@pytest.fixture(scope="module")
def client(data) -> TestClient:
    return TestClient(create_app(Settings(data=data)))


# -- (a) a hidden value confirmed offline through a hash of the raw text -------------------------
def test_duplicate_groups_do_not_publish_a_hash_that_confirms_a_guess(client):
    """The public `duplicate_groups` table shows `text_hash`, an unkeyed XXH3-128 of the raw
    text. The redacted view of the page is public (its snippet is the whole page), so filling
    in a guess and hashing it confirms the hidden e-mail offline, without any rate limit."""
    r = client.get("/v1/corpora/weave/stats/duplicate_groups")
    assert r.status_code == 200
    hashes = {row.get("text_hash") for row in r.json()["rows"]}
    shown = client.get("/v1/search", params={"q": "shop owner", "corpus": "weave", "k": 1}).json()
    page = shown["hits"][0]["snippet"]["text"]
    assert "[EMAIL]" in page

    def confirmed(guess: str) -> bool:
        return xxhash.xxh3_128_hexdigest(page.replace("[EMAIL]", guess).encode()) in hashes

    assert confirmed(DUP_EMAIL) == confirmed("wrong.owner@example.org")


# -- (b) an identifier linked to the document that holds it --------------------------------------
def test_person_both_count_does_not_say_which_document_holds_an_email(client):
    """`both_documents` is the documents matching the "name" AND holding the identifier; the
    name is any phrase, so a phrase copied from one document's snippet says whether that very
    document holds the e-mail (and the evidence gives its id, /v1/documents its URL)."""

    def counts(name: str) -> dict:
        body = {"name": name, "emails": [EMAIL], "corpora": ["weave"]}
        c = client.post("/v1/person", json=body).json()["corpora"][0]
        assert "both_documents" not in c  # the name and the identifier are never combined
        return {k: v for k, v in c.items() if k != "name_documents"}

    assert counts("pseudonymous weaver") == counts("spinning wheels")


# -- (f) a small count the statistics withhold, read from another answer ------------------------
def test_search_withholds_the_rare_domain(client):
    r = client.get("/v1/search", params={"q": "loom", "domain": "rare-loom.io"}).json()
    assert r["withheld"] is True and r["total"] is None  # the rule the other answers break


def test_person_name_count_narrowed_by_domain_is_withheld(client):
    r = client.post(
        "/v1/person",
        json={"name": "loom", "domain": "rare-loom.io", "corpora": ["weave"], "k": 100},
    ).json()
    c = r["corpora"][0]
    assert not 0 < (c["name_documents"] or 0) < THRESHOLD
    assert not 0 < len(r["evidence"]) < THRESHOLD


def test_exact_candidates_do_not_reveal_a_withheld_count(client):
    r = client.post("/v1/exact", json={"passage": "loom", "domain": "rare-loom.io"}).json()
    assert r["withheld"] is True
    assert not 0 < (r["candidates"] or 0) < THRESHOLD


def test_membership_narrowed_by_domain_does_not_reveal_a_small_count(client):
    body = {"passage": "a rare loom page about weaving", "domain": "rare-loom.io", "k": 100}
    r = client.post("/v1/membership", json=body).json()
    assert not 0 < (r["candidates"] or 0) < THRESHOLD
    assert not 0 < len(r["evidence"]) < THRESHOLD


# -- (e) values the display redaction misses ------------------------------------------------------
@pytest.mark.parametrize("form", sorted(MISSED))
def test_display_redaction_hides_the_promised_forms(client, form):
    _text, secret = MISSED[form]
    r = client.get("/v1/search", params={"q": SEARCH_WORD[form], "corpus": "weave"}).json()
    assert r["hits"], "the planted document is found"
    for h in r["hits"]:
        assert secret not in h["snippet"]["text"]
        doc = client.get(f"/v1/documents/{h['doc_id']}").json()
        assert secret not in doc["window"]["text"]


# -- (a) the length of a hidden value in the public statistics -----------------------------------
def _public_figures(client: TestClient, corpus: str) -> dict:
    info = next(c for c in client.get("/v1/corpora").json() if c["name"] == corpus)
    info = {k: v for k, v in info.items() if k not in ("name", "parquet_bytes", "index_bytes")}
    overview = client.get(f"/v1/corpora/{corpus}/stats/overview").json()["rows"]
    return {"corpora": info, "overview": overview}


def test_public_figures_do_not_depend_on_the_length_of_a_hidden_value(client):
    """The corpora differ only in the e-mail (replaced by [EMAIL] in every public view), yet
    `/v1/corpora` (text_bytes) and the overview (characters, bytes) are computed over the raw
    text: the difference from the public view's lengths is the hidden value's length."""
    assert _public_figures(client, "lena") == _public_figures(client, "lenb")
