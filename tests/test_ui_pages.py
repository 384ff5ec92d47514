"""The web UI without a browser (the app in process, over the c4, commoncrawl and people
corpora): its headers, CSRF refusals, escaping, error pages, rate limits, the officer's
session, the packaged assets, and right and wrong guesses of a hidden value answered alike."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from fastapi.testclient import TestClient

from corpuscope.api.app import create_app
from corpuscope.config import Settings
from corpuscope.state import State
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def client(indexed: Path) -> TestClient:
    return TestClient(create_app(Settings(data=indexed, rate_limit="", key_rate_limit="")))


def token(client: TestClient, path: str = "/") -> str:
    """The CSRF token of a page's forms (the client keeps the cookie it goes with)."""
    page = client.get(path)
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text).group(1)


def answer_of(html: str) -> str:
    """The answer section of an Ask page (the form echoes the asker's own words)."""
    found = re.search(r'<section class="answer".*?</section>', html, re.S)
    assert found, html[-2000:]
    return found.group(0)


def test_every_page_answers_with_a_strict_policy(client):
    for path in (
        "/",
        "/?intent=person",
        "/?intent=search",
        "/corpora",
        "/corpora/c4",
        "/summary?corpus=c4",
        "/about",
        "/cases",
        "/static/ui/ui.css",
    ):
        r = client.get(path)
        assert r.status_code == 200, path
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert r.headers["x-frame-options"] == "DENY"
    assert "content-security-policy" not in client.get("/docs").headers  # Swagger's own inline
    page = client.get("/").text
    assert "<script>" not in page and " style=" not in page  # nothing inline


def test_posted_forms_need_their_token_and_our_origin(client):
    form = {"passage": "The analytical engine weaves algebraic patterns just as the loom"}
    fresh = TestClient(client.app)
    assert fresh.post("/ask/text", data=form).status_code == 403  # no cookie, no token
    good = token(fresh)
    assert fresh.post("/ask/text", data={**form, "csrf_token": "0" * 64}).status_code == 403
    other = fresh.post(
        "/ask/text", data={**form, "csrf_token": good}, headers={"origin": "https://evil.example"}
    )
    assert other.status_code == 403
    many = fresh.post(
        "/ask/text", data={**form, "csrf_token": good, **{f"f{i}": "" for i in range(80)}}
    )
    assert many.status_code == 422 and "too many fields" in many.text
    ok = fresh.post("/ask/text", data={**form, "csrf_token": good})
    assert ok.status_code == 200 and 'id="verdict"' in ok.text
    stranger = TestClient(client.app)  # another browser: its own cookie, so not this token
    token(stranger)
    assert stranger.post("/ask/text", data={**form, "csrf_token": good}).status_code == 403


def test_user_strings_are_escaped(client):
    r = client.get("/ask/search", params={"q": '"><script>alert(1)</script>', "corpus": "c4"})
    assert "<script>alert(1)" not in r.text
    assert "&lt;script&gt;alert(1)" in r.text or "&#34;&gt;&lt;script&gt;" in r.text
    r = client.get("/corpora/c4", params={"domain": "<b>x</b>.example"})
    assert "<b>x</b>" not in r.text


def test_error_and_empty_states_are_pages(client):
    r = client.get("/corpora/nothere")
    assert r.status_code == 404 and 'role="alert"' in r.text and "nothere" in r.text
    r = client.get("/summary", params={"corpus": "nothere"})
    assert r.status_code == 404 and 'role="alert"' in r.text
    r = client.get("/ask/search", params={"q": "pii:EMAIL"})
    assert r.status_code == 422 and 'role="alert"' in r.text
    r = client.get("/ask/search", params={"q": "zzqqxxwwvvuu", "corpus": "c4"})
    assert r.status_code == 200 and "No document matched" in r.text
    t = token(client)
    r = client.post("/ask/text", data={"passage": "too short", "csrf_token": t})
    assert r.status_code == 422 and 'role="alert"' in r.text


def test_right_and_wrong_guesses_of_a_hidden_value_give_the_same_page(client):
    """The people corpus holds ada.lovelace@example.org and +44 20 7946 0958; a guess of
    either, right or wrong, is answered with the same page (it is matched as its type)."""
    t = token(client)
    pages = []
    for email, phone in (
        ("ada.lovelace@example.org", "+44 20 7946 0958"),  # right
        ("bob.guess@example.org", "+44 20 7946 0000"),  # wrong
    ):
        passage = (
            f"Ada Lovelace wrote the first program. Write to {email} or call {phone} for the notes."
        )
        r = client.post("/ask/text", data={"passage": passage, "csrf_token": t})
        s = client.get("/ask/search", params={"q": f"write to {email}"})
        own = quote_plus(f"write to {email}")  # the next page's link repeats the query asked
        pages.append((answer_of(r.text), answer_of(s.text).replace(own, "THE-QUERY")))
    assert pages[0] == pages[1]
    assert "[EMAIL]" in pages[0][0]


def test_questions_in_the_ui_spend_the_address_budget(indexed):
    limited = TestClient(create_app(Settings(data=indexed, rate_limit="2/minute")))
    answers = [limited.get("/ask/search", params={"q": "engine"}).status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    assert limited.get("/about").status_code == 200  # pages without a question are not counted


def test_an_officer_session_holds_no_key_and_ends_when_the_key_is_revoked(client, indexed):
    state = State(indexed)
    key = state.create_key("ui-test-officer", "officer")
    auditor = state.create_key("ui-test-auditor", "auditor")
    browser = TestClient(client.app)
    t = token(browser, "/cases")
    refused = browser.post("/cases/session", data={"key": auditor, "csrf_token": t})
    assert refused.status_code == 403 and 'id="key"' in refused.text
    assert browser.post("/cases/session", data={"key": key}).status_code == 403  # no token
    r = browser.post("/cases/session", data={"key": key, "csrf_token": t})
    assert r.status_code == 200 and "Signed in as" in r.text
    cookie = browser.cookies.get("corpuscope_officer")
    assert cookie and key not in cookie and key not in r.text
    forged = TestClient(client.app, cookies={"corpuscope_officer": cookie[:-4] + "0000"})
    assert 'id="key"' in forged.get("/cases").text
    state.revoke_key("ui-test-officer")
    assert 'id="key"' in browser.get("/cases").text  # signed out by the revocation


def test_every_asset_is_package_data():
    """A non-editable install ships every template and static file: each matches a glob of
    `[tool.setuptools.package-data]`, and Chart.js comes with its licence."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["corpuscope.ui"]
    ui = ROOT / "ui"
    files = [
        p for folder in ("templates", "static") for p in (ui / folder).rglob("*") if p.is_file()
    ]
    shipped = {p for g in globs for p in ui.glob(g)}  # setuptools' globs, as it reads them
    missing = [p.relative_to(ui).as_posix() for p in files if p not in shipped]
    assert files and not missing, f"not package data: {missing}"
    assert (ui / "static" / "vendor" / "chartjs" / "LICENSE.md").exists()
