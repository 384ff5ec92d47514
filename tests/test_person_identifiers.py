"""Person search's identifiers as the public sees them (docs/privacy.md, point 3).

A URL is matched as shown: the URL asked and each document's address both go through
`public_url`, so a guess at personal data in an address (right, wrong, or the shown form
itself) gets the same count; a URL with no personal data matches its document in any case,
scheme or trailing slash, and where a text writes it. The union of several identifiers'
documents is withheld. An officer (a data-subject case) matches addresses as stored. The
corpus is small planted documents, ingested, scanned and indexed for real.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from corpuscope import jobs
from corpuscope.api.app import create_app
from corpuscope.config import Settings
from corpuscope.index.person import Identifier, person
from corpuscope.index.searcher import Indexes
from corpuscope.store import Store

EMAIL = "velmaric.hosk@example.org"
PHONE_A, PHONE_B = "+442079460018", "+442079460057"
DOCS = [
    *(
        {
            "id": f"f{i}",
            "text": f"The weaving guild met on day {i} to discuss looms and wool.",
            "url": f"https://news.example.net/{i}",
        }
        for i in range(12)
    ),
    {
        "id": "orrery",
        "text": "The orrery maker sold brass gears.",
        "url": "https://Shop.Example.com/Orrery",
    },
    {
        "id": "mail",
        "text": "The profile page of a weaver who sells rugs online.",
        "url": f"https://rugs.example.com/profile?email={EMAIL}",
    },
    {
        "id": "call-a",
        "text": "A rug seller's page with a number in its address.",
        "url": f"https://rugs.example.com/call/{PHONE_A}",
    },
    {
        "id": "call-b",
        "text": "Another rug seller's page with a number in its address.",
        "url": f"https://rugs.example.com/call/{PHONE_B}",
    },
    {
        "id": "cites",
        "text": "Patterns for the loom are at https://blog.example.com/loom-patterns today.",
        "url": "https://forum.example.com/t/1",
    },
]


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    root = tmp_path_factory.mktemp("person-ids")
    s = Settings(data=root / "data", workers=1, rate_limit="", key_rate_limit="")
    src = root / "weave.jsonl"
    src.write_text("".join(json.dumps(d) + "\n" for d in DOCS))
    assert jobs.ingest(s, "weave", [str(src)]).ok
    assert jobs.scan(s, "weave").ok
    jobs.index(s, "weave")
    return s


@pytest.fixture(scope="module")
def client(settings) -> TestClient:
    return TestClient(create_app(settings), raise_server_exceptions=False)


def _corpus(client: TestClient, **body) -> dict:
    r = client.post("/v1/person", json={"corpora": ["weave"], **body})
    assert r.status_code == 200, r.text
    (c,) = r.json()["corpora"]
    return c


def _url_count(client: TestClient, url: str) -> int:
    return _corpus(client, urls=[url])["identifier_documents"]["url 1"]


@pytest.mark.parametrize(
    "url",
    [
        "https://Shop.Example.com/Orrery",
        "http://shop.example.com/orrery/",
        "shop.example.com/ORRERY",
        "https://blog.example.com/loom-patterns",  # written in a text
    ],
)
def test_a_url_without_personal_data_matches_its_document(client, url):
    assert _url_count(client, url) == 1


def test_a_url_matches_no_other_page(client):
    assert _url_count(client, "https://shop.example.com/orrery-2") == 0
    assert _url_count(client, "https://shop.example.com/") == 0


def test_personal_data_in_an_address_matches_as_its_type(client):
    """Right, wrong and shown: the same count, and the page shown is found."""
    hits = client.get("/v1/search", params={"q": "rug", "corpus": "weave", "k": 20}).json()["hits"]
    shown = {h["url"] for h in hits}
    assert "https://rugs.example.com/call/[PHONE]" in shown and not any(
        PHONE_A in u or EMAIL in u for u in shown
    )
    # both /call/ pages are shown alike, so any number asked matches both
    calls = [PHONE_A, "+442079460019", "[PHONE]"]
    counts = {_url_count(client, f"https://rugs.example.com/call/{p}") for p in calls}
    assert counts == {2}
    mails = [EMAIL, "wrong.guess@example.org", "x@y.example.com"]
    counts = {_url_count(client, f"https://rugs.example.com/profile?email={m}") for m in mails}
    assert len(counts) == 1 and counts.pop() >= 1


def test_past_max_candidates_a_url_count_is_partial(settings):
    tight = settings.model_copy(update={"max_candidates": 1})
    ans = person(
        Indexes(Store(settings.data)),
        "",
        tight,
        urls=[f"https://rugs.example.com/call/{PHONE_A}"],
    )
    assert ans.partial and ans.corpora[0].identifier_documents["url 1"] == 1


def test_an_officer_matches_an_address_as_stored(settings):
    """A data-subject case (dsr/search.py) runs with the officer's rights: the exact address."""
    ix = Indexes(Store(settings.data))
    (ci,) = ix.indexed()

    def docs(url: str) -> list[str]:
        q = Identifier("url 1", "url", raw=True).query(ix, ci, url, settings, 100)
        _, found = ix.search([ci], lambda _c: q, 10)
        return sorted(ix.fetch(f).url for f in found)  # as stored: officers only

    assert docs(f"https://rugs.example.com/call/{PHONE_A}") == [
        f"https://rugs.example.com/call/{PHONE_A}"
    ]
    assert docs("https://rugs.example.com/call/+442079460019") == []
    assert docs("https://shop.example.com/orrery") == ["https://Shop.Example.com/Orrery"]


def test_the_union_of_identifiers_is_withheld(client):
    one = _corpus(client, usernames=["orrery"])
    assert one["identifier_documents"] == {"username 1": 1}
    assert one["any_identifier_documents"] == 1
    two = _corpus(client, usernames=["orrery", "astrolabe"])
    assert two["identifier_documents"] == {"username 1": 1, "username 2": 0}
    assert two["any_identifier_documents"] is None
    r = client.post("/v1/person", json={"corpora": ["weave"], "name": "Jane Walker"})
    assert r.json()["corpora"][0]["any_identifier_documents"] == 0


@pytest.mark.parametrize("username", ["...", "@--", "_._"])
def test_a_user_name_without_a_letter_or_digit_is_refused(client, username):
    r = client.post("/v1/person", json={"usernames": [username]})
    assert r.status_code == 422 and "letter or digit" in r.text
