"""Coverage is part of every answer: never a confident answer over data that was not searched.

A small data directory with corpora in every state (written here, real ingest, scan and
tantivy index): `alpha` ingested, scanned and indexed; `mine` only ingested; `unscanned`
indexed but never scanned; `grown` indexed, then given a new shard (its index is stale);
`broken` indexed, then its index damaged. The questions are asked through the API (FastAPI's
TestClient over the real app), through the functions, and through the CLI.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from corpuscope import jobs
from corpuscope.api.app import create_app
from corpuscope.cli import app as cli_app
from corpuscope.config import Settings
from corpuscope.errors import NotIndexed, NotScanned
from corpuscope.index.membership import membership
from corpuscope.index.query import exact, search
from corpuscope.index.searcher import Indexes
from corpuscope.models.answers import Filters, MembershipRequest
from corpuscope.store import Store

WORDS = [
    "harbour",
    "keeper",
    "lantern",
    "engine",
    "weaving",
    "orchard",
    "meadow",
    "river",
    "signal",
    "ledger",
]


def _docs(prefix: str, n: int = 14) -> list[dict]:
    """Documents with words of their own, a shared sentence and an address in one."""
    out = []
    for i in range(n):
        words = " ".join(WORDS[(i + j) % len(WORDS)] for j in range(30))
        text = f"The {prefix} keeper of the harbour wrote entry {i} about the engine. {words}."
        if i == 0:
            text += " Write to ada.planted@example.org for the notes."
        out.append({"id": f"{prefix}-{i}", "text": text, "url": f"https://{prefix}.example/{i}"})
    return out


def _write(folder: Path, name: str, docs: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    return path


def _largest_index_file(data: Path, corpus: str) -> Path:
    files = [p for p in (data / "corpora" / corpus / "index").rglob("*") if p.is_file()]
    return max(files, key=lambda p: p.stat().st_size)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("coverage")
    settings = Settings(data=root / "data")
    src = root / "src"
    for corpus, steps in (
        ("alpha", ("scan", "index")),
        ("mine", ()),
        ("unscanned", ("index",)),
        ("grown", ("scan", "index")),
        ("broken", ("scan", "index")),
    ):
        assert jobs.ingest(settings, corpus, [str(_write(src, corpus, _docs(corpus)))]).ok
        if "scan" in steps:
            assert jobs.scan(settings, corpus).ok
        if "index" in steps:
            jobs.index(settings, corpus)
    # grown: a new shard after its index was built (the index is stale against the shards)
    more = _write(src, "grown-more", _docs("later", 3))
    assert jobs.ingest(settings, "grown", [str(more)]).ok
    # broken: its index damaged (a file shorter than recorded: out of service when opened)
    os.truncate(_largest_index_file(settings.data, "broken"), 10)
    return settings.data


@pytest.fixture(scope="module")
def settings(data) -> Settings:
    return Settings(data=data, rate_limit="", key_rate_limit="")


@pytest.fixture(scope="module")
def client(settings):
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
def ix(data) -> Indexes:
    return Indexes(Store(data))


PASSAGE = "The alpha keeper of the harbour wrote entry 3 about the engine."
ABSENT = "Completely unrelated prose about violins, glaciers and the price of saffron in Rome."


def _error(r, status: int) -> str:
    assert r.status_code == status, r.text
    body = r.json()["error"]
    assert body["status"] == status
    return body["message"]


# -- a corpus that exists but is not indexed: 409 with the command, never an empty success --
def test_questions_about_an_unindexed_corpus_are_refused_with_the_fix(client):
    fix = "corpuscope index --corpus mine"
    asks = [
        ("get", "/v1/search", {"params": {"q": "harbour", "corpus": "mine"}}),
        ("get", "/v1/search", {"params": {"q": "harbour", "corpus": "mine", "mode": "exact"}}),
        ("post", "/v1/exact", {"json": {"passage": "the harbour", "corpus": ["mine"]}}),
        ("post", "/v1/membership", {"json": {"passage": PASSAGE, "corpus": ["mine"]}}),
        ("post", "/v1/membership", {"json": {"passage": PASSAGE, "corpora": ["mine"]}}),
        ("post", "/v1/membership", {"json": {"passage": PASSAGE, "corpus": "mine"}}),
        ("post", "/v1/person", {"json": {"name": "Ada Planted", "corpus": ["mine"]}}),
        ("post", "/v1/person", {"json": {"emails": ["a@example.org"], "corpus": ["mine"]}}),
        # named next to a corpus that is indexed: still refused, not answered from the other
        ("post", "/v1/membership", {"json": {"passage": PASSAGE, "corpus": ["alpha", "mine"]}}),
    ]
    for method, path, kwargs in asks:
        message = _error(getattr(client, method)(path, **kwargs), 409)
        assert fix in message and "not indexed" in message, (path, message)


def test_an_unknown_corpus_is_404(client):
    for method, path, kwargs in [
        ("get", "/v1/search", {"params": {"q": "harbour", "corpus": "nosuch"}}),
        ("post", "/v1/exact", {"json": {"passage": "the harbour", "corpus": ["nosuch"]}}),
        ("post", "/v1/membership", {"json": {"passage": PASSAGE, "corpus": ["nosuch"]}}),
        ("post", "/v1/person", {"json": {"name": "Ada Planted", "corpus": ["nosuch"]}}),
    ]:
        assert "nosuch" in _error(getattr(client, method)(path, **kwargs), 404)


def test_an_identifier_lookup_in_a_corpus_never_scanned_is_refused(client):
    r = client.post(
        "/v1/person", json={"emails": ["ada.planted@example.org"], "corpus": ["unscanned"]}
    )
    message = _error(r, 409)
    assert "corpuscope scan --corpus unscanned" in message and "not scanned" in message
    # a name is searched in the index, which needs no scan: answered
    r = client.post("/v1/person", json={"name": "Ada Planted", "corpus": ["unscanned"]})
    assert r.status_code == 200, r.text
    (cov,) = r.json()["corpus_coverage"]
    assert cov["corpus"] == "unscanned" and cov["status"] == "complete" and cov["searched"]
    # over every corpus, an identifier lookup names what it could not read
    r = client.post("/v1/person", json={"emails": ["ada.planted@example.org"]})
    assert r.status_code == 200, r.text
    body = r.json()
    covs = {c["corpus"]: c for c in body["corpus_coverage"]}
    assert covs["unscanned"]["scanned"] == "missing" and covs["unscanned"]["status"] == "partial"
    assert any("corpuscope scan --corpus unscanned" in x for x in covs["unscanned"]["reasons"])
    assert covs["alpha"]["scanned"] in ("current", "stale")
    assert body["partial"] is True


def test_the_functions_raise_the_same_errors(ix, settings):
    with pytest.raises(NotIndexed, match="corpuscope index --corpus mine"):
        search(ix, "harbour", settings, Filters(corpora=["mine"]))
    with pytest.raises(NotIndexed, match="corpuscope index --corpus mine"):
        membership(ix, PASSAGE, settings, Filters(corpora=["mine"]))
    from corpuscope.index.person import person

    with pytest.raises(NotScanned, match="corpuscope scan --corpus unscanned"):
        person(
            ix,
            "",
            settings,
            emails=["ada.planted@example.org"],
            filters=Filters(corpora=["unscanned"]),
        )
    assert NotIndexed.status == NotScanned.status == 409


def test_the_cli_refuses_with_the_fix(data):
    runner = CliRunner()
    for args in (
        ["search", "harbour", "--corpus", "mine"],
        ["search", PASSAGE, "--mode", "membership", "--corpus", "mine"],
        ["search", "the harbour", "--mode", "exact", "--corpus", "mine"],
    ):
        result = runner.invoke(cli_app, [*args, "--data-dir", str(data)])
        said = " ".join(result.output.split())
        assert result.exit_code == NotIndexed.exit_code, said
        assert "corpuscope index --corpus mine" in said, said
    result = runner.invoke(
        cli_app, ["search", "harbour", "--corpus", "nosuch", "--data-dir", str(data)]
    )
    assert result.exit_code == 2 and "nosuch" in result.output


# -- over every corpus: answered from what can be searched, with each corpus's coverage --------
def _coverage(body: dict) -> dict[str, dict]:
    return {c["corpus"]: c for c in body["corpus_coverage"]}


def test_every_answer_says_what_it_searched(client):
    r = client.get("/v1/search", params={"q": "harbour keeper"})
    assert r.status_code == 200, r.text
    body = r.json()
    covs = _coverage(body)
    assert set(covs) == {"alpha", "mine", "unscanned", "grown", "broken"}
    assert covs["alpha"] == {
        "corpus": "alpha",
        "status": "complete",
        "searched": True,
        "indexed": "current",
        "scanned": None,
        "reasons": [],
    }
    mine = covs["mine"]
    assert (mine["status"], mine["searched"], mine["indexed"]) == ("not-searched", False, "missing")
    assert any("corpuscope index --corpus mine" in x for x in mine["reasons"])
    # the stale index is searched, and flagged: documents ingested since are not in it
    grown = covs["grown"]
    assert (grown["status"], grown["searched"], grown["indexed"]) == ("stale", True, "stale")
    assert any("corpuscope index --corpus grown" in x for x in grown["reasons"])
    # the damaged index is left out and named
    broken = covs["broken"]
    assert (broken["status"], broken["searched"], broken["indexed"]) == (
        "not-searched",
        False,
        "damaged",
    )
    assert any("verify --repair --corpus broken" in x for x in broken["reasons"])
    assert body["partial"] is True and body["not_searched"] == ["broken", "mine"]
    assert set(body["corpora"]) == {"alpha", "unscanned", "grown"}
    assert body["total"] > 0

    for path, payload in (
        ("/v1/exact", {"passage": "keeper of the harbour"}),
        ("/v1/membership", {"passage": PASSAGE}),
        ("/v1/person", {"name": "Ada Planted"}),
    ):
        r = client.post(path, json=payload)
        assert r.status_code == 200, (path, r.text)
        answer = r.json()
        assert _coverage(answer).keys() == covs.keys(), path
        assert answer["partial"] is True and answer["not_searched"] == ["broken", "mine"], path


def test_a_question_over_complete_corpora_is_not_partial(client):
    r = client.get("/v1/search", params={"q": "harbour keeper", "corpus": ["alpha", "unscanned"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [c["status"] for c in body["corpus_coverage"]] == ["complete", "complete"]
    assert body["partial"] is False and body["not_searched"] == []
    r = client.post("/v1/exact", json={"passage": "keeper of the harbour", "corpus": ["grown"]})
    assert r.status_code == 200 and r.json()["partial"] is True  # stale
    assert r.json()["corpus_coverage"][0]["status"] == "stale"


def test_a_damaged_corpus_asked_alone_is_unavailable(client):
    message = _error(client.get("/v1/search", params={"q": "harbour", "corpus": "broken"}), 503)
    assert "verify --repair" in message


def test_not_found_only_when_everything_asked_was_searched(client, ix, settings):
    # everything asked searched to the end: a confident "not-found"
    r = client.post("/v1/membership", json={"passage": ABSENT, "corpus": ["alpha", "unscanned"]})
    assert r.status_code == 200, r.text
    assert r.json()["verdict"] == "not-found" and r.json()["partial"] is False
    # over every corpus (mine not indexed, broken damaged, grown stale): inconclusive, said why
    r = client.post("/v1/membership", json={"passage": ABSENT})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["verdict"] == "inconclusive" and answer["partial"] is True
    assert "corpuscope index --corpus mine" in answer["explanation"]
    # ... and a stale index alone is enough to withhold the "not-found"
    answer = membership(ix, ABSENT, settings, Filters(corpora=["grown"]))
    assert answer.verdict == "inconclusive"
    # a passage that is there is found whatever else was not searched
    r = client.post("/v1/membership", json={"passage": PASSAGE})
    assert r.json()["verdict"] in ("verbatim", "near-duplicate"), r.text


def test_a_time_limit_makes_the_answer_partial(data, ix):
    tight = Settings(data=data, query_timeout=1e-9)
    answer = exact(ix, "keeper of the harbour", tight, Filters(corpora=["alpha"]))
    assert answer.partial
    (cov,) = answer.corpus_coverage
    assert cov.status == "partial" and any("query_timeout" in x for x in cov.reasons)
    verdict = membership(ix, ABSENT, tight, Filters(corpora=["alpha"])).verdict
    assert verdict in ("inconclusive", "not-found")  # not-found only when it finished in time
    loose = Settings(data=data, max_candidates=1)
    answer = exact(ix, "keeper of the harbour", loose, Filters(corpora=["alpha"]))
    assert answer.partial and "max_candidates" in " ".join(answer.corpus_coverage[0].reasons)


def test_a_document_in_a_corpus_not_indexed_is_not_a_confident_404(client):
    message = _error(client.get("/v1/documents/no-such-document"), 409)
    assert "corpuscope index --corpus mine" in message and "verify --repair" in message
    hit = client.get("/v1/search", params={"q": "harbour", "corpus": "alpha"}).json()["hits"][0]
    r = client.get(f"/v1/documents/{hit['doc_id']}")
    assert r.status_code == 200, r.text
    covs = _coverage(r.json())
    assert covs["alpha"]["status"] == "complete" and covs["mine"]["status"] == "not-searched"


def test_the_corpus_filter_is_spelt_alike_in_get_and_post(client):
    """`corpus` in the query string and in every body (a name or a list); `corpora` is still
    accepted in bodies; the schema names `corpus`."""
    get = client.get(
        "/v1/search", params={"q": "keeper of the harbour", "mode": "exact", "corpus": "alpha"}
    )
    bodies = [{"corpus": ["alpha"]}, {"corpus": "alpha"}, {"corpora": ["alpha"]}]
    answers = [
        client.post("/v1/exact", json={"passage": "keeper of the harbour", **b}) for b in bodies
    ]
    keep = {"documents", "occurrences", "corpus_coverage", "passage"}
    assert get.status_code == 200, get.text
    for r in answers:
        assert r.status_code == 200, r.text
        assert {k: r.json()[k] for k in keep} == {k: get.json()[k] for k in keep}
    schema = MembershipRequest.model_json_schema(by_alias=True)
    assert "corpus" in schema["properties"] and "corpora" not in schema["properties"]


def test_coverage_says_states_never_counts(client):
    """Coverage comes from the manifests and the searcher: states and commands, no count or
    size of anything a corpus holds."""
    r = client.post("/v1/person", json={"emails": ["ada.planted@example.org"]})
    for cov in r.json()["corpus_coverage"]:
        assert set(cov) == {"corpus", "status", "searched", "indexed", "scanned", "reasons"}
        assert not any(ch.isdigit() for x in cov["reasons"] for ch in x), cov
