"""The web UI in a real browser: Debian's chromium driven by Playwright against a real uvicorn
serving a small demo corpus (real C4 and Common Crawl samples, the people documents, and a
"web" corpus of real C4 texts with planted personal data). Each question asked on its page and
checked against the API's answer; every dashboard chart drawn with data; a download compared
with the API's; no planted value on any public page; axe-core on every page at a laptop's and
a phone's width, with a screenshot of each in tests/artifacts/ (git-ignored)."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import SAMPLES, free_port, to_document, wait_until_up, write_people
from tests.planted import make_planted

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"
AXE = HERE / "vendor" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("CORPUSCOPE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
WIDTHS = {"laptop": 1280, "phone": 390}
#: The planted kinds the pattern scan finds (names need the NER model, which the demo lacks).
PATTERN_KINDS = {"EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS", "CREDIT_CARD", "IBAN_CODE"}
DOMAINS = ("news.example.com", "blog.example.org", "shop.example.net")


def _web_corpus(folder: Path) -> tuple[Path, list[str], list[str]]:
    """Real C4 texts in English with three planted values each, 20 on each of three sites
    over three months, and 12 copies of one more (exact duplicates). Returns the file and the
    planted values the pattern scan finds, and the planted names (no NER here: shown)."""
    from corpuscope.config import Settings
    from corpuscope.models.documents import SourceRecord

    texts, planted = make_planted(80)
    lang_bytes = Settings().lang_id_bytes
    english = [
        i
        for i, t in enumerate(texts)
        if to_document(SourceRecord(0, t), "web", "s", "x", lang_bytes).language == "en"
    ][:61]
    assert len(english) == 61
    rows = [
        {
            "id": f"web{n}",
            "text": texts[i],
            "url": f"https://{DOMAINS[n % 3]}/page/{n}",
            "timestamp": f"2019-0{1 + n // 20}-15T12:00:00Z",
        }
        for n, i in enumerate(english[:60])
    ]
    rows += [
        {
            "id": f"dup{n}",
            "text": texts[english[60]],
            "url": f"https://{DOMAINS[0]}/copy/{n}",
            "timestamp": "2019-01-20T12:00:00Z",
        }
        for n in range(12)
    ]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "web.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    kept = set(english)
    values = {p.value for p in planted if p.entity_type in PATTERN_KINDS and p.doc in kept}
    names = {p.value for p in planted if p.entity_type == "PERSON" and p.doc in kept}
    return path, sorted(values), sorted(names)


@pytest.fixture(scope="session")
def ui_site(tmp_path_factory) -> Iterator[dict]:
    """A real uvicorn serving the UI over c4, commoncrawl, people and web (built here)."""
    import uvicorn

    from corpuscope import jobs
    from corpuscope.api.app import create_app
    from corpuscope.config import Settings

    root = tmp_path_factory.mktemp("ui")
    settings = Settings(data=root / "data", rate_limit="", key_rate_limit="")
    web, planted, names = _web_corpus(root / "web")
    sources = {
        "c4": [SAMPLES / "c4"],
        "commoncrawl": [SAMPLES / "commoncrawl" / "cc-main-2019-30-dolma-697.jsonl.gz"],
        "people": [write_people(root / "people")],
        "web": [web],
    }
    for corpus, paths in sources.items():
        assert jobs.ingest(settings, corpus, [str(p) for p in paths]).ok
        assert jobs.scan(settings, corpus).ok
        jobs.index(settings, corpus)
        jobs.stats(settings, corpus)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base)
    yield {"base": base, "planted": planted, "names": names, "settings": settings}
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium (the project's test set-up installs it); a missing browser fails."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"no chromium at {CHROMIUM}: the UI tests need it "
            "(apt-get install -y --no-install-recommends chromium, as .ci/run does)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (its own cookies) at a laptop's width; CSP violations and
    script errors fail the test."""
    context = browser.new_context(viewport={"width": WIDTHS["laptop"], "height": 900})
    p = context.new_page()
    problems: list[str] = []
    p.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    p.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and "Content Security Policy" in m.text
            else None
        ),
    )
    yield p
    context.close()
    assert not problems, problems


def api(site: dict, method: str, path: str, **kw) -> httpx.Response:
    r = httpx.request(method, site["base"] + path, timeout=60, **kw)
    assert r.status_code == 200, r.text
    return r


def c4_passage() -> str:
    """The first 40 words of a real C4 document of the corpus."""
    import gzip

    with gzip.open(SAMPLES / "c4" / "c4-en-sample-449.jsonl.gz", "rt") as f:
        text = json.loads(f.readline())["text"]
    return " ".join(text.split()[:40])


# -- the three questions -----------------------------------------------------------------------
def test_is_this_text_in_the_training_data(ui_site, page):
    passage = c4_passage()
    expected = api(ui_site, "POST", "/v1/membership", json={"passage": passage}).json()
    assert expected["verdict"] == "verbatim"
    page.goto(ui_site["base"] + "/")
    page.fill("#passage", passage)
    page.click("form.ask button[type=submit]")
    verdict = page.locator("#verdict")
    assert verdict.inner_text() == "Yes: this text is in the training data, word for word."
    assert "verdict-verbatim" in verdict.get_attribute("class")
    assert page.locator(".answer").get_by_text(expected["explanation"]).count() == 1
    first = expected["evidence"][0]
    assert page.locator("ol.hits li").count() == len(expected["evidence"])
    assert first["doc_id"] in page.locator("ol.hits li").first.inner_text()
    assert page.locator("blockquote.passage mark").count() >= 1  # matched spans highlighted
    assert page.locator("ol.hits mark").count() >= 1


def test_a_question_says_it_is_running(ui_site, page):
    page.goto(ui_site["base"] + "/")
    page.fill("#passage", c4_passage())
    # A listener added after the page's own: it keeps this page (no answer comes) so that
    # what the page shows while a question runs can be read.
    page.evaluate(
        "() => document.querySelector('form.ask')"
        ".addEventListener('submit', e => e.preventDefault())"
    )
    assert page.locator(".loading").is_hidden()
    page.click("form.ask button[type=submit]")
    page.wait_for_timeout(200)
    loading = page.locator(".loading")
    assert loading.is_visible() and loading.get_attribute("role") == "status"
    assert loading.inner_text() == "Searching the corpora for this text…"
    assert page.locator("form.ask button[type=submit]").is_disabled()
    assert page.locator("main").get_attribute("aria-busy") == "true"


def test_a_passage_not_in_it_says_so(ui_site, page):
    page.goto(ui_site["base"] + "/")
    page.fill(
        "#passage",
        "Quartz wombats negotiate fluorescent treaties beneath seventeen melancholy "
        "harpsichords while orbiting custard lighthouses hum",
    )
    page.click("form.ask button[type=submit]")
    assert page.locator("#verdict").inner_text().startswith("Not found")
    assert page.locator("p.empty").count() == 1


def test_is_this_person_in_it(ui_site, page):
    email = "ada.lovelace@example.org"
    expected = api(
        ui_site, "POST", "/v1/person", json={"name": "Ada Lovelace", "emails": [email]}
    ).json()
    people = next(c for c in expected["corpora"] if c["corpus"] == "people")
    page.goto(ui_site["base"] + "/?intent=person")
    page.fill("#name", "Ada Lovelace")
    page.fill("#email", email)
    page.click("form.ask button[type=submit]")
    row = page.locator("table.data tbody tr", has=page.locator("th", has_text="people"))
    cells = row.locator("td").all_inner_texts()
    name = people["name_documents"]
    assert cells[0] == ("withheld" if name is None else f"{name:,}")
    assert cells[1] == f"{people['identifier_documents']['email 1']:,}"
    assert cells[2] == f"{people['any_identifier_documents']:,}"
    assert email not in page.content()  # the identifier typed is never shown back
    assert page.get_by_text("data-subject request").count() >= 1


def test_search_with_filters_highlights_and_pages(ui_site, page):
    expected = api(ui_site, "GET", "/v1/search", params={"q": "business", "corpus": "c4"}).json()
    assert expected["total"] > 10
    page.goto(ui_site["base"] + "/?intent=search")
    page.fill("#q", "business")
    page.click("summary")  # the filters
    page.select_option("#corpus", "c4")
    page.click("form.ask button[type=submit]")
    assert page.locator("#results").inner_text() == f"{expected['total']:,} documents"
    hits = page.locator("ol.hits > li")
    assert hits.count() == len(expected["hits"])
    for hit, want in zip(hits.all(), expected["hits"], strict=True):
        assert want["doc_id"] in hit.inner_text()
    assert page.locator("ol.hits mark").first.inner_text().lower().startswith("business")
    page.click("a[rel=next]")
    second = api(
        ui_site, "GET", "/v1/search", params={"q": "business", "corpus": "c4", "offset": 10}
    ).json()
    assert page.locator("ol.hits").get_attribute("start") == "11"
    assert second["hits"][0]["doc_id"] in page.locator("ol.hits > li").first.inner_text()
    assert "Page 2 of" in page.locator("nav.pages").inner_text()


def test_exact_search_and_a_bad_query_are_answered_on_the_page(ui_site, page):
    passage = " ".join(c4_passage().split()[:8])
    expected = api(
        ui_site, "GET", "/v1/search", params={"q": passage, "mode": "exact", "corpus": "c4"}
    ).json()
    page.goto(ui_site["base"] + "/?intent=search")
    page.fill("#q", passage)
    page.check("input[value=exact]")
    page.click("summary")  # the filters
    page.select_option("#corpus", "c4")
    page.click("form.ask button[type=submit]")
    assert page.locator("#results").inner_text().startswith(f"{expected['documents']:,} document")
    page.goto(ui_site["base"] + "/ask/search?q=" + httpx.QueryParams({"x": "pii:EMAIL"})["x"])
    assert page.locator("[role=alert]").count() == 1  # the query language refuses hidden fields


# -- corpora and dashboards ----------------------------------------------------------------------
def test_every_dashboard_chart_is_drawn_with_data(ui_site, page):
    page.goto(ui_site["base"] + "/corpora")
    page.click("a[href='/corpora/web'] >> nth=0")
    assert page.locator("h1").inner_text() == "Corpus web"
    titles = page.locator(".chart-block h2").all_inner_texts()
    assert titles == [
        "Top domains",
        "Languages",
        "Documents over time",
        "Document lengths",
        "Personal data by type",
        "Duplicates",
    ]
    page.wait_for_load_state("load")  # the charts are drawn on DOMContentLoaded
    drawn = page.evaluate(
        """() => [...document.querySelectorAll('canvas[data-kind]')].map(c => {
            const chart = Chart.getChart(c);
            return chart ? chart.data.datasets[0].data.length : -1;
        })"""
    )
    assert len(drawn) == 6 and all(n > 0 for n in drawn), drawn
    # the chart draws what the public table shows: 3 sites, 3 months
    months = api(ui_site, "GET", "/v1/corpora/web/stats/by_month").json()["rows"]
    assert drawn[2] == len([r for r in months if r["documents"] is not None]) == 3
    assert drawn[0] == 3


def test_a_csv_download_is_the_apis(ui_site, page, tmp_path):
    page.goto(ui_site["base"] + "/corpora/web")
    with page.expect_download() as info:
        page.click("a[href='/v1/corpora/web/stats/by_language.csv']")
    got = Path(info.value.path()).read_bytes()
    assert got == api(ui_site, "GET", "/v1/corpora/web/stats/by_language.csv").content
    assert got.startswith(b"language,")


def test_domain_lookup(ui_site, page):
    expected = api(ui_site, "GET", "/v1/corpora/web/domains/news.example.com").json()
    page.goto(ui_site["base"] + "/corpora/web")
    page.fill("#domain", "https://news.example.com/page/3")
    page.click(".lookup button[type=submit]")
    text = page.locator(".lookup .answer").inner_text()
    assert f"rank {expected['rank']}" in text
    assert f"{expected['documents']:,}" in text
    page.fill("#domain", "nowhere.example")
    page.click(".lookup button[type=submit]")
    assert "is not in corpus web" in page.locator(".lookup .answer").inner_text()


def test_summary_and_corpora_pages(ui_site, page):
    page.goto(ui_site["base"] + "/summary?corpus=web")
    markdown = api(ui_site, "GET", "/v1/corpora/web/summary.md").text
    first = markdown.splitlines()[0].lstrip("# ").replace("`", "")
    assert page.locator("article.prose h1").inner_text() == first
    assert page.locator("a[href='/v1/corpora/web/summary.json']").count() == 1
    page.goto(ui_site["base"] + "/corpora")
    info = api(ui_site, "GET", "/v1/corpora/web").json()
    card = page.locator(".card", has=page.locator("h2", has_text="web"))
    assert f"{info['documents']:,}" in card.inner_text()


# -- privacy, security ---------------------------------------------------------------------------
WITHOUT_FORMS = """() => {
    const copy = document.documentElement.cloneNode(true);
    copy.querySelectorAll('form').forEach(f => f.remove());
    return copy.outerHTML;
}"""


def test_no_planted_personal_data_on_any_public_page(ui_site, page):
    base = ui_site["base"]
    shown = []
    urls = ["/", "/corpora", "/corpora/web", "/summary?corpus=web", "/about"]
    for q in ("charged twice", "transfer the fee", "write to", "office hours", "request came"):
        urls.append("/ask/search?" + str(httpx.QueryParams({"q": q, "corpus": "web"})))
    for url in urls:
        page.goto(base + url)
        shown.append(page.content())
    for value in ui_site["planted"][:6]:  # membership: a planted value in a passage
        page.goto(base + "/")
        page.fill("#passage", f"You can write to {value} for details about the report here.")
        page.click("form.ask button[type=submit]")
        assert value in page.input_value("#passage")  # the asker's own words, kept to edit
        shown.append(page.evaluate(WITHOUT_FORMS))
    text = "\n".join(shown)
    assert "[EMAIL]" in text or "[PHONE]" in text  # what was planted is there, redacted
    leaked = [v for v in ui_site["planted"] if v in text]
    assert not leaked, leaked


def test_a_form_without_its_token_is_refused_and_user_strings_are_escaped(ui_site, page):
    r = httpx.post(ui_site["base"] + "/ask/text", data={"passage": "a b c d e f g h"})
    assert r.status_code == 403
    assert "security token" in r.text
    page.goto(ui_site["base"] + "/ask/search?q=" + httpx.QueryParams({"x": "<img src=x>"})["x"])
    assert page.locator("#q").input_value() == "<img src=x>"
    assert page.locator("main img").count() == 0
    headers = httpx.get(ui_site["base"] + "/").headers
    assert "script-src 'self'" in headers["content-security-policy"]


# -- accessibility, layout, screenshots ----------------------------------------------------------
PAGES = {
    "ask": "/",
    "ask-person": "/?intent=person",
    "search": "/ask/search?q=privacy+policy&corpus=c4",
    "corpora": "/corpora",
    "dashboard": "/corpora/web?domain=news.example.com",
    "summary": "/summary?corpus=web",
    "about": "/about",
    "cases": "/cases",
}


def _axe(page) -> list[dict]:
    """axe-core's serious and critical violations on the page (run through the DevTools
    protocol: the page's CSP allows no injected script, and needs not)."""
    page.evaluate(AXE.read_text())
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"][:3]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_page_is_accessible_and_fits(ui_site, browser, width):
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": WIDTHS[width], "height": 900})
    page = context.new_page()
    found = {}
    try:
        for name, url in PAGES.items():
            page.goto(ui_site["base"] + url)
            page.wait_for_load_state("networkidle")
            found[name] = _axe(page)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 1, f"{name} is {overflow}px wider than a {width}'s screen"
            page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
        page.goto(ui_site["base"] + "/")
        page.fill("#passage", c4_passage())
        page.click("form.ask button[type=submit]")
        found["membership-answer"] = _axe(page)
        page.screenshot(path=str(ARTIFACTS / f"membership-answer-{width}.png"), full_page=True)
    finally:
        context.close()
    assert not any(found.values()), {k: v for k, v in found.items() if v}


def test_keyboard_reaches_the_question_and_the_answer(ui_site, page):
    page.goto(ui_site["base"] + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    for _ in range(20):  # tab to the passage box
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "passage":
            break
    assert page.evaluate("document.activeElement.id") == "passage"
    page.keyboard.type(c4_passage())
    page.keyboard.press("Tab")  # the corpus
    page.keyboard.press("Tab")  # the button
    page.keyboard.press("Enter")
    assert page.locator("#verdict").inner_text().startswith("Yes")


# -- a data-subject request, from opening to erasure ---------------------------------------------
def _hit_ids(page) -> str:
    return " ".join(page.locator("ol.hits").all_inner_texts())


def test_a_case_from_opening_to_erasure(ui_site, page):
    from corpuscope.state import State

    base = ui_site["base"]
    key = State(ui_site["settings"].data).create_key("ui-case-officer", "admin")
    name = ui_site["names"][0]  # a person named in the web corpus
    query = {"q": f'"{name}"', "corpus": "web"}
    ask = base + "/ask/search?" + str(httpx.QueryParams(query))
    docs = {h["doc_id"] for h in api(ui_site, "GET", "/v1/search", params=query).json()["hits"]}
    assert docs
    page.goto(ask)
    assert all(d in _hit_ids(page) for d in docs)

    page.goto(base + "/cases")
    page.fill("#key", key)
    page.click("form.ask button[type=submit]")
    assert "Signed in as" in page.locator("main").inner_text()
    assert key not in page.content() and key not in page.url
    assert all(key not in c["value"] for c in page.context.cookies())
    page.select_option("#kind", "erasure")
    page.fill("#name", name)
    page.click("form[action='/cases/open'] button[type=submit]")
    assert page.locator("h1").inner_text().startswith("Case case-")
    case_url = page.url
    assert page.locator("#case-state").inner_text() == "received"

    page.fill("#method", "copy of an identity document checked")
    page.click("form[action$='/verify'] button")
    assert page.locator("#case-state").inner_text() == "verified"
    page.click("form[action$='/search'] button")
    assert page.locator("#case-state").inner_text() == "searched"
    rows = page.locator("table.evidence tbody tr")
    assert rows.count() >= 1
    assert all(d in page.locator("table.evidence").inner_text() for d in docs)

    with page.expect_download() as info:
        page.click("a[href$='/report.html']")
    report = Path(info.value.path()).read_text()
    assert name.split()[-1] in report

    page.select_option("#outcome", "granted")
    page.fill("#reasons", "the person asked for erasure and was identified")
    page.click("form[action$='/decide'] button")
    assert page.locator("#case-state").inner_text() == "decided"
    ARTIFACTS.mkdir(exist_ok=True)
    for width, pixels in WIDTHS.items():  # the signed-in pages: accessible, and fit
        page.set_viewport_size({"width": pixels, "height": 900})
        assert _axe(page) == [], width
        page.screenshot(path=str(ARTIFACTS / f"case-{width}.png"), full_page=True)
    page.set_viewport_size({"width": WIDTHS["laptop"], "height": 900})
    page.click("form[action$='/apply'] button")
    assert "Done: apply" in page.locator("main").inner_text()
    trail = page.locator("ol.trail > li strong").all_inner_texts()
    assert trail == ["open", "verify", "search", "decide"]

    page.goto(ask)  # the public Ask page no longer finds them
    assert not any(d in _hit_ids(page) for d in docs)
    after = api(ui_site, "GET", "/v1/search", params=query).json()
    assert not docs & {h["doc_id"] for h in after["hits"]}

    page.goto(base + "/cases")  # listed, with its deadline
    assert case_url.rsplit("/", 1)[1] in page.locator("table.cases").inner_text()
    assert _axe(page) == []
    page.screenshot(path=str(ARTIFACTS / "cases-signed-in-laptop.png"), full_page=True)
    page.click("form[action='/cases/session/end'] button")
    assert page.locator("#key").count() == 1  # signed out
    page.goto(case_url)
    assert page.locator("#key").count() == 1
