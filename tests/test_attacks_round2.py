"""Attacks found by the second security review of the public API, kept as regression tests.

Each test is written as the contract (docs/privacy.md) says it should hold: a right and a wrong
guess give identical public answers; a suppressed (erased) document is absent from every
answer, its words included; what is shown has every personal-data value of the display
redaction's forms hidden; and bad input is a clear error, never a 500. The corpora are small
planted documents, ingested, scanned and indexed for real; suppression is made through the
real `/v1/dsr/rules` route with an officer key.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from corpuscope.api.app import create_app
from corpuscope.config import Settings
from corpuscope.state import State
from tests.conftest import build_corpus, corpuscope_cmd, free_port, wait_until_up

EMAIL = "quorvina.teslaw@example.org"
FILLER = [
    f"The weaving guild met on day {i} to discuss looms, patterns and the price of wool."
    for i in range(14)
]
# a document holding the e-mail, and another one; each has a word of its own ("orrery",
# "astrolabe") that the public sees in its snippet
HOLDER = f"The orrery maker wrote to {EMAIL} about the brass gears."
OTHER = "The astrolabe collector sold brass gears at the autumn fair."
# personal data in a document's address, shown redacted (`public_url`)
URL_EMAIL = "velmaric.hosk@example.org"
URL_PHONE = "+442079460018"
DOUBLE_ENCODED = "jane.hiddenvalue%2540example.org"  # jane.hiddenvalue@example.org, encoded twice
IP_HOST = "192.0.2.17"

# corpus "erase": a visible page with two words of its own, and a page erased by a rule
VISIBLE = "The navigator packed a sextant and a gimbal for the long voyage."
ERASED = "The diary says the sextant was lost at sea and quillfeather the cat slept on deck."


def _weave() -> list[dict]:
    out = [
        {"id": f"f{i}", "text": t, "url": f"https://news.example.net/{i}"}
        for i, t in enumerate(FILLER)
    ]
    out += [
        {"id": "holder", "text": HOLDER, "url": "https://shop.example.com/orrery"},
        {"id": "other", "text": OTHER, "url": "https://shop.example.com/astrolabe"},
        {
            "id": "url-email",
            "text": "The profile page of a weaver who sells rugs online.",
            "url": f"https://rugs.example.com/profile?email={URL_EMAIL}",
        },
        {
            "id": "url-phone",
            "text": "A rug seller's page with a number in its address.",
            "url": f"https://rugs.example.com/call/{URL_PHONE}",
        },
        {
            "id": "url-double",
            "text": "A tracker link about tapestry looms.",
            "url": f"https://t.example.com/c?u={DOUBLE_ENCODED}",
        },
        {
            "id": "ip-host",
            "text": "An admin page of a home router about its firmware update.",
            "url": f"http://{IP_HOST}/admin/status",
        },
        {  # a long page holding the word "a" (about 15,000 characters)
            "id": "long",
            "text": "A long page about a loom and its shuttle. " * 360,
            "url": "https://long.example.com/",
        },
    ]
    return out


def _erase() -> list[dict]:
    out = [
        {"id": f"e{i}", "text": t, "url": f"https://news.example.net/e{i}"}
        for i, t in enumerate(FILLER)
    ]
    out.append({"id": "visible", "text": VISIBLE, "url": "https://news.example.net/visible"})
    out.append({"id": "erased", "text": ERASED, "url": "https://diary.example.org/q"})
    return out


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> TestClient:
    root = tmp_path_factory.mktemp("attacks2")
    settings = Settings(data=root / "data", workers=1, rate_limit="", key_rate_limit="")
    build_corpus(settings, "weave", root / "weave.jsonl", _weave())
    build_corpus(settings, "erase", root / "erase.jsonl", _erase())
    officer = {"Authorization": f"Bearer {State(settings.data).create_key('officer', 'officer')}"}
    c = TestClient(create_app(settings), raise_server_exceptions=False)
    rule = {"kind": "domain", "value": "diary.example.org", "reason": "erasure (test)"}
    r = c.post("/v1/dsr/rules", json=rule, headers=officer)
    assert r.status_code == 201 and r.json()["documents_added"] == 1, r.text
    return c


def _counts(client: TestClient, **body) -> dict:
    r = client.post("/v1/person", json={"corpora": ["weave"], **body})
    assert r.status_code == 200, r.text
    return r.json()["corpora"][0]


# -- an identifier looked up as a URL matches the document's raw address ------------------------
@pytest.mark.parametrize(
    ("right", "wrong"),
    [
        (
            f"https://rugs.example.com/profile?email={URL_EMAIL}",
            "https://rugs.example.com/profile?email=wrong.guess@example.org",
        ),
        (
            f"https://rugs.example.com/call/{URL_PHONE}",
            "https://rugs.example.com/call/+442079460019",
        ),
    ],
)
def test_url_lookup_does_not_confirm_personal_data_in_a_document_address(client, right, wrong):
    """Attack: a hit shows a document's URL with the personal data in it redacted
    (`https://rugs.example.com/profile?email=[EMAIL]`, `/call/[PHONE]`). `POST /v1/person` with
    `urls: [guess]` compares the guess with the document's *raw* stored URL
    (`index/person.py: Identifier._confirmed`, `url == bare.lower()`, and the term query on
    the raw `url` field), so filling in the right value counts 1 and a wrong one 0.
    Contract: a right and a wrong guess at a hidden value give identical answers."""
    shown = client.get("/v1/search", params={"q": "rug rugs", "corpus": "weave", "k": 20}).json()
    assert len(shown["hits"]) == 2  # both pages, their addresses redacted
    assert URL_EMAIL not in json.dumps(shown) and URL_PHONE not in json.dumps(shown)
    assert _counts(client, urls=[right]) == _counts(client, urls=[wrong])


# -- the union of identifier counts links an e-mail to one document ------------------------------
@pytest.mark.parametrize("kind", ["usernames", "urls"])
def test_any_identifier_count_does_not_say_which_document_holds_an_email(client, kind):
    """Attack: `any_identifier_documents` is |documents with the e-mail OR with the
    user name (or URL)|. A user name that is a word only one known document holds (read from
    its public snippet: "orrery"), or that document's own URL, makes the union say whether
    that very document holds the e-mail: 1 = 1 + 1 - 1 for the holder, 2 for another page.
    That is the combination docs/privacy.md point 3 forbids for names ("identifier counts are
    never combined"), rebuilt from two identifiers. Contract: which documents hold an
    identifier is for the officer role; guessing the holder right or wrong gives identical
    answers."""
    if kind == "usernames":
        holder, other = ["orrery"], ["astrolabe"]
    else:
        holder, other = ["https://shop.example.com/orrery"], ["https://shop.example.com/astrolabe"]
    right = _counts(client, emails=[EMAIL], **{kind: holder})
    wrong = _counts(client, emails=[EMAIL], **{kind: other})
    assert right["identifier_documents"] == wrong["identifier_documents"]  # 1 and 1 each
    assert right == wrong


# -- a user name of punctuation only ------------------------------------------------------------
@pytest.mark.parametrize("username", ["...", "--", "-.-", "@.."])
def test_username_without_letters_is_a_clear_error_not_a_500(client, username):
    """Attack: `POST /v1/person {"usernames": ["..."]}` passes the user-name check
    (`_USERNAME`: 2-64 of letters, digits, '.', '_', '-') but has no word for the index, and
    `Identifier._confirmed` builds a phrase of no terms: IndexError, a 500 for one request.
    Contract: bad input gets a clear error (422) or an answer, never a 500."""
    r = client.post("/v1/person", json={"usernames": [username]})
    assert r.status_code in (200, 422), r.text


# -- an erased document's words still shape public answers ---------------------------------------
def _long_query(word: str) -> str:
    """A plain-text query past `max_clauses` (64): the shortening drops words no document holds
    first, and lists them in `dropped`."""
    return "sextant " + " ".join(f"nowordw{i}x" for i in range(70)) + f" {word}"


def test_dropped_words_do_not_reveal_the_words_of_an_erased_document(client):
    """Attack: after an erasure (here a domain rule) the document is left out of every search,
    but the long-query shortening (`querylang._reduce`) ranks words by `doc_freq` over the whole
    index, suppressed documents included: a word only the erased page holds ("quillfeather")
    is kept (doc_freq 1), a word no page holds is dropped first (doc_freq 0). So `dropped`
    tells the public which words the erased document held. Contract (docs/privacy.md, "How
    erasure propagates"): from the moment of suppression it is absent from every answer."""
    right = client.get("/v1/search", params={"q": _long_query("quillfeather"), "corpus": "erase"})
    wrong = client.get("/v1/search", params={"q": _long_query("quillfeathez"), "corpus": "erase"})
    assert right.status_code == wrong.status_code == 200
    r, w = right.json(), wrong.json()
    assert r["total"] == w["total"]
    assert ("quillfeather" in r["dropped"]) == ("quillfeathez" in w["dropped"])


@pytest.mark.xfail(
    strict=True,
    reason="known limit (docs/privacy.md, erasure): from the grant until `dsr apply`, BM25 "
    "statistics (IDF, average length) still count suppressed documents; tantivy scores with "
    "its index's own statistics and `dsr apply` (a full index rebuild) closes the window",
)
def test_search_scores_do_not_depend_on_an_erased_document(client):
    """Attack: a visible page holds "sextant" and "gimbal" once each, and no other visible page
    holds either; the erased page also held "sextant". BM25's IDF is still computed over the
    index with the erased page in it (until `dsr apply`), so the visible page scores lower for
    "sextant" than for "gimbal": the score says the erased page held the word. Contract: a
    suppressed document is absent from every answer (scores included)."""

    def score(word: str) -> float:
        r = client.get("/v1/search", params={"q": word, "corpus": "erase"}).json()
        assert r["total"] == 1, r
        return r["hits"][0]["score"]

    assert score("sextant") == score("gimbal")


# -- personal data in the `domain` of a document ---------------------------------------------------
def test_an_ip_address_host_is_not_shown_as_the_domain(client):
    """Attack: a document at `http://192.0.2.17/admin/status` is shown with its URL redacted
    (`http://[IP]/admin/status`), but its `domain` field (and the `domain` filter, and the
    statistics' domain tables) holds the host as it is (`ingest/normalise.py: domain_of_host`
    keeps an IP address), so the address shows in every hit, and a guess through the
    `domain` filter is withheld (found) when right and 0 when wrong. Contract: IP addresses
    are personal data, shown as `[IP]`; a right and a wrong guess give identical answers."""
    r = client.get("/v1/search", params={"q": "firmware", "corpus": "weave"}).json()
    assert r["hits"], r
    assert IP_HOST not in json.dumps(r)

    def narrowed(guess: str) -> dict:
        a = client.get("/v1/search", params={"q": "firmware", "domain": guess}).json()
        return {k: a.get(k) for k in ("total", "withheld", "hits")}

    assert narrowed(IP_HOST) == narrowed("192.0.2.18")


def test_a_twice_percent_encoded_email_in_a_url_is_redacted(client):
    """Attack: `public_url` decodes a URL once before redacting, so an address encoded twice
    (`?u=jane.hiddenvalue%2540example.org`, common in tracking links) is shown as stored, and
    any reader sees `jane.hiddenvalue@example.org`. Contract (docs/privacy.md, point 6): any
    syntactically valid e-mail address is redacted in what is shown, percent-encoded too."""
    r = client.get("/v1/search", params={"q": "tapestry", "corpus": "weave"}).json()
    assert r["hits"], r
    for h in r["hits"]:
        assert "hiddenvalue" not in (h["url"] or "")
        doc = client.get(f"/v1/documents/{h['doc_id']}").json()
        assert "hiddenvalue" not in (doc["url"] or "")


# -- one request that stalls the whole server ------------------------------------------------------
def test_a_passage_of_combining_marks_does_not_stall_the_server(client):
    """Attack: `POST /v1/exact {"passage": "a" + "\u0301" * 6000}` (an "a" with 6,000 combining
    accents: 12 kB). The index folds the accents away, so every document with the word "a" is
    a candidate; `passage_pattern` compiles the passage as one 6,001-character literal, and the
    `regex` module's first search of it over a text longer than the literal costs about
    O(n^3) (about 1 minute for 3,200 marks on one 10 kB page, measured) while holding the GIL:
    the deadline is only checked between documents, so the whole server, `/v1/health`
    included, stops answering for many minutes (seen with real uvicorn). Contract: one
    request cannot stall the server; a question past `query_timeout` answers partially or 503.
    Runs the real `corpuscope serve`; the outcome, not the time, is asserted."""
    data = client.app.state.settings.data
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CORPUSCOPE_RATE_LIMIT": "", "CORPUSCOPE_QUERY_TIMEOUT": "5"}
    proc = subprocess.Popen(
        corpuscope_cmd("serve", "--port", port, "--data-dir", data),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    answer: list[object] = []

    def attack() -> None:
        try:
            body = {"passage": "a" + "\u0301" * 6000, "corpus": ["weave"]}
            answer.append(httpx.post(f"{base}/v1/exact", json=body, timeout=90).status_code)
        except httpx.HTTPError as exc:
            answer.append(exc)

    try:
        wait_until_up(base, tries=1200)
        thread = threading.Thread(target=attack, daemon=True)
        thread.start()
        time.sleep(2)  # let the attack reach the check on the text (not a timing assertion)
        try:
            health = httpx.get(f"{base}/v1/health", timeout=20).status_code
        except httpx.HTTPError as exc:
            health = repr(exc)
        assert health == 200, "the server stopped answering during one request"
        thread.join(timeout=120)
        assert answer and answer[0] in (200, 422, 503), answer
    finally:
        proc.kill()
        proc.wait(timeout=30)
