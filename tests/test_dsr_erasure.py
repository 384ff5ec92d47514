"""A request from intake to closing on real samples plus planted documents: the access report,
erasure out of every answer at once, `dsr apply` across shards, sidecars, index and statistics,
export, re-ingest and opt-out rules."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from corpuscope import jobs
from corpuscope.api.app import create_app
from corpuscope.config import Settings
from corpuscope.state import State
from tests.conftest import PEOPLE, SAMPLES, documents, write_people

ADA = "ada.lovelace@example.org"
OTHER = "charles.babbage@example.com"
PLANTED = {"id": "q1", "text": f"Ada Lovelace met a friend at the club; write to {OTHER} or {ADA}."}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dsr")
    s = Settings(data=root / "data")
    src = write_people(root / "src")
    src.write_text(src.read_text() + json.dumps(PLANTED) + "\n")
    for corpus, paths in {"people": [src], "c4": [SAMPLES / "c4"]}.items():
        assert jobs.ingest(s, corpus, [str(p) for p in paths]).ok
        assert jobs.scan(s, corpus).ok
        jobs.index(s, corpus)
        jobs.stats(s, corpus)
    return root


@pytest.fixture
def world(template: Path, tmp_path: Path):
    root = tmp_path / "w"
    shutil.copytree(template, root)
    s = Settings(data=root / "data", rate_limit="", key_rate_limit="")
    st = State(s.data)
    keys = {r: {"Authorization": f"Bearer {st.create_key(r, r)}"} for r in ("officer", "admin")}
    return s, TestClient(create_app(s)), keys, root / "src" / "people.jsonl"


def _ids(s: Settings, corpus: str = "people") -> set[str]:
    return set(documents(s.data, corpus)["doc_id"].to_pylist())


def _doc_of(s: Settings, text_start: str) -> str:
    t = documents(s.data, "people")
    return next(
        i
        for i, x in zip(t["doc_id"].to_pylist(), t["text"].to_pylist(), strict=True)
        if x.startswith(text_start)
    )


def test_erasure_through_the_api_reaches_every_artifact(world):
    s, client, keys, src = world
    officer, admin = keys["officer"], keys["admin"]
    body = {
        "kind": "erasure",
        "name": "Ada Lovelace",
        "identifiers": {"email": [ADA]},
        "channel": "web_form",
    }
    case = client.post("/v1/dsr/cases", json=body, headers=officer).json()["case_id"]
    assert client.get(f"/v1/dsr/cases/{case}/report.json", headers=officer).status_code == 409
    r = client.post(
        f"/v1/dsr/cases/{case}/verify-identity", json={"method": "ID card"}, headers=officer
    )
    assert r.json()["state"] == "verified"
    found = client.post(f"/v1/dsr/cases/{case}/search", headers=officer).json()
    assert found["state"] == "searched"
    shown = client.get(f"/v1/dsr/cases/{case}", headers=officer).json()
    evidence = {e["doc_id"]: e for e in shown["evidence"]}
    p8, p6, q1 = (
        _doc_of(s, "Someone wrote"),
        _doc_of(s, "Unrelated"),
        _doc_of(s, "Ada Lovelace met"),
    )
    assert p8 in evidence and p6 not in evidence and q1 in evidence
    labels = {m["label"] for m in evidence[p8]["matches"]}
    assert labels == {"email 1"}
    (start, end), *_ = evidence[p8]["matches"][0]["offsets"]
    text = next(d["text"] for d in PEOPLE if d["id"] == "p8")
    assert text[start:end] == ADA  # offsets into the raw text
    assert shown["record"]["searches"][0]["corpora"] == ["c4", "people"]

    # The access report: the subject's own address visible, the other person's redacted.
    report = client.get(f"/v1/dsr/cases/{case}/report.json", headers=officer).json()
    passage = next(d for d in report["documents"] if d["doc_id"] == q1)["passages"][0]["text"]
    assert ADA in passage and OTHER not in passage and "[EMAIL]" in passage
    page = client.get(f"/v1/dsr/cases/{case}/report.html", headers=officer)
    assert page.headers["content-type"].startswith("text/html") and "Your rights" in page.text
    assert OTHER not in page.text

    # The officer drops one document by hand before deciding; it is kept.
    p5 = _doc_of(s, "Jose Muller")
    client.post(f"/v1/dsr/cases/{case}/evidence", json={"doc_id": p5}, headers=officer)
    client.delete(f"/v1/dsr/cases/{case}/evidence/{p5}", headers=officer)
    from corpuscope.index.query import corpora

    def sizes() -> tuple[int | None, int | None]:
        (info,) = [c for c in corpora(client.app.state.indexes) if c.name == "people"]
        return info.documents, info.indexed_documents

    before = sizes()
    decided = client.post(
        f"/v1/dsr/cases/{case}/decide", json={"outcome": "granted"}, headers=officer
    )
    erased = {e for e in evidence}
    assert decided.json()["suppressed"] == len(erased)
    assert sizes() == (before[0] - len(erased), before[1] - len(erased))  # not counted

    # At once, before any rebuild: absent from every answer.
    assert client.get(f"/v1/documents/{p8}").status_code == 404
    hits = client.get("/v1/search", params={"q": "Lovelace", "corpus": "people"}).json()
    assert not {h["doc_id"] for h in hits["hits"]} & erased
    exact = client.post("/v1/exact", json={"passage": "notes on the analytical engine"}).json()
    assert not exact.get("hits")
    people = client.post("/v1/person", json={"name": "Ada Lovelace", "emails": [ADA]}).json()
    counts = {c["corpus"]: c for c in people["corpora"]}["people"]
    assert not any(v for v in counts["identifier_documents"].values())
    assert client.get("/v1/corpora/people/stats").json()["current"] is False
    assert not jobs.verify(s, "people")[0].ok  # pending: run dsr apply

    applied = client.post("/v1/dsr/apply", headers=admin).json()
    assert applied[0]["corpus"] == "people" and applied[0]["verified"]
    assert not _ids(s) & erased and p5 in _ids(s)
    assert jobs.verify(s, "people")[0].ok
    from corpuscope.dsr.apply import check_erased
    from corpuscope.store import Store

    assert check_erased(Store(s.data).corpus("people"), erased, set()) == []
    assert client.get("/v1/corpora/people/stats").json()["current"] is True

    # Re-ingesting the same source (forced) does not bring them back.
    jobs.ingest(s, "people", [str(src)], force=True)
    assert not _ids(s) & erased

    # Export: a copy without them, naming the suppression list's version.
    from corpuscope.dsr.export import export_corpus

    m = export_corpus(s, "people", s.data.parent / "export")
    exported = pq.read_table(s.data.parent / "export" / m["files"][0]["file"])
    assert not set(exported["doc_id"].to_pylist()) & erased and m["suppression_version"] >= 1

    for step, payload in (
        ("fulfil", {"answer": "letter of 2 May", "models": "next training run"}),
        ("close", None),
    ):
        r = client.post(f"/v1/dsr/cases/{case}/{step}", json=payload, headers=officer)
        assert r.status_code == 200, r.text
    record = client.get(f"/v1/dsr/cases/{case}", headers=officer).json()["record"]
    assert record["answer"]["sent_at"] and record["identity"]["method"] == "ID card"
    from corpuscope.dsr.audit import verify_chain

    assert verify_chain(s.data / "state.sqlite").ok


def test_access_and_objection_through_the_cli(world, tmp_path: Path):
    from typer.testing import CliRunner

    from corpuscope.cli import app

    s, _client, _keys, _src = world

    def run(*args):
        out = CliRunner().invoke(app, [*args, "--data-dir", str(s.data)])
        assert out.exit_code == 0, out.output
        return out.output

    for kind in ("access", "objection"):
        case = run(
            "dsr", "open", "--kind", kind, "--name", "José Müller", "--username", "jmuller"
        ).strip()
        run("dsr", "verify-identity", case, "--method", "reply from the account")
        assert json.loads(run("dsr", "search", case))["documents"] >= 2
        html = run("dsr", "report", case, "--out", str(tmp_path / f"{kind}.html"))
        assert "Your data" in Path(html.strip()).read_text()
        run("dsr", "decide", case, "--outcome", "granted")
        run("dsr", "fulfil", case, "--answer", "sent by e-mail")
        run("dsr", "close", case)
    assert "closed" in run("dsr", "list")
    run("dsr", "apply")
    assert not any("Müller" in t for t in documents(s.data, "people")["text"].to_pylist())


def test_rules_suppress_what_is_stored_and_every_later_ingest(world):
    from corpuscope.dsr.rules import add_rule

    s, _client, _keys, src = world
    t = documents(s.data, "c4")
    domain = next(d for d in t["domain"].to_pylist() if d)
    n = sum(1 for d in t["domain"].to_pylist() if d == domain)
    got = add_rule(s, "domain", domain, "site owner's request")
    assert got["documents_added"] >= n
    ident = add_rule(s, "identifier", "info@example.net", "opt-out", identifier_kind="email")
    assert ident["documents_added"] == 1
    from corpuscope.dsr.apply import apply

    apply(s)
    assert domain not in documents(s.data, "c4")["domain"].to_pylist()
    jobs.ingest(s, "c4", [str(SAMPLES / "c4")], force=True)
    jobs.ingest(s, "people", [str(src)], force=True)
    assert domain not in documents(s.data, "c4")["domain"].to_pylist()
    assert not any("info@example.net" in x for x in documents(s.data, "people")["text"].to_pylist())


def test_apply_over_sidecars_of_an_older_scanner_erases_and_says_they_are_stale(world):
    """An upgrade leaves every sidecar stale (another scanner version): apply still erases,
    verifies that nothing suppressed is left and that nothing is damaged, and names the stale
    sidecars instead of failing."""
    from corpuscope.dsr.apply import apply
    from corpuscope.dsr.rules import add_rule
    from corpuscope.store import Store

    s, _client, _keys, _src = world
    cs = Store(s.data).corpus("people")
    pii = json.loads(cs.pii_manifest_path.read_text())
    for entry in pii["shards"].values():
        entry["scanner"] = "an-older-scanner"
        entry["made"]["version"] = "an-older-scanner"
    cs.pii_manifest_path.write_text(json.dumps(pii))
    assert add_rule(s, "identifier", ADA, "erasure", identifier_kind="email")["documents_added"]
    (summary,) = [x for x in apply(s) if x["corpus"] == "people"]
    assert summary["verified"] and summary["documents_removed"] >= 1
    assert summary["stale"] and all("pii/" in x for x in summary["stale"])
    assert not any(ADA in t for t in documents(s.data, "people")["text"].to_pylist())


def test_a_person_not_in_the_corpora_is_a_recorded_outcome(world):
    """ "We could not identify you in the corpora" is a valid outcome, recorded with what was
    searched (every corpus, the identifiers by label, the counts), then answered and closed."""
    from corpuscope.dsr import cases
    from corpuscope.dsr.search import search_case
    from corpuscope.index.searcher import Indexes
    from corpuscope.store import Store

    s, _client, _keys, _src = world
    case = cases.open_case(
        s, "access", "Zyxwv Qwertyuiop", {"email": ["nobody.here@example.invalid"]}, "email"
    )
    cases.verify_identity(s, case, "reply from the address")
    found = search_case(s, Indexes(Store(s.data)), case)
    assert found["documents"] == 0
    cases.decide(s, case, "not_identified")
    cases.fulfil(s, case, "we could not identify you in the corpora")
    cases.close(s, case)
    record = cases.show(s, case)
    (searched,) = record["record"]["searches"]
    assert set(searched["corpora"]) == {"people", "c4"}
    assert searched["identifiers"] == ["name", "email 1"] and searched["documents"] == 0
    assert record["record"]["decision"]["outcome"] == "not_identified"
    assert record["state"] == "closed"
    assert "nobody.here" not in json.dumps(record["record"])  # identifiers by label only


def test_a_url_prefix_rule_suppresses_what_is_stored_and_later_ingests(world):
    from corpuscope.dsr.apply import apply
    from corpuscope.dsr.rules import add_rule

    s, _client, _keys, _src = world
    urls = [u for u in documents(s.data, "c4")["url"].to_pylist() if u]
    prefix = urls[0].rsplit("/", 1)[0] + "/"
    held = [u for u in urls if u.startswith(prefix)]
    assert add_rule(s, "url_prefix", prefix, "site owner's request")["documents_added"] == len(held)
    apply(s)
    assert not [u for u in documents(s.data, "c4")["url"].to_pylist() if u and u.startswith(prefix)]
    jobs.ingest(s, "c4", [str(SAMPLES / "c4")], force=True)
    assert not [u for u in documents(s.data, "c4")["url"].to_pylist() if u and u.startswith(prefix)]


def test_case_search_finds_the_name_in_the_forms_public_person_search_finds(world, tmp_path):
    """The officer's search uses the public person search's name forms (middle names,
    "Last, F.", …), confirmed on the raw text, each labelled by its form, with raw offsets."""
    from corpuscope.dsr import cases
    from corpuscope.dsr.search import search_case
    from corpuscope.index.searcher import Indexes
    from corpuscope.store import Store

    s, _client, _keys, _src = world
    src = tmp_path / "forms.jsonl"
    texts = {
        "m": "In 1843 Augusta Ada King Lovelace published her notes on the engine.",
        "c": "The notes are signed Lovelace, A. in the printed edition of 1843.",
        "x": "Ada Smith and Tom Lovelace met at the fair; nobody else came.",
    }
    src.write_text("".join(json.dumps({"id": k, "text": t}) + "\n" for k, t in texts.items()))
    assert jobs.ingest(s, "forms", [str(src)]).ok and jobs.scan(s, "forms").ok
    jobs.index(s, "forms")
    case = cases.open_case(s, "access", "Ada Lovelace", {}, "email")
    cases.verify_identity(s, case, "signed letter")
    search_case(s, Indexes(Store(s.data)), case)
    got = {
        raw["text"][slice(*m["offsets"][0])]: m["label"]
        for e in cases.show(s, case)["evidence"]
        if e["corpus"] == "forms"
        for raw in [
            next(r for r in documents(s.data, "forms").to_pylist() if r["doc_id"] == e["doc_id"])
        ]
        for m in e["matches"]
    }
    assert set(got) == {"Ada King Lovelace", "Lovelace, A."}, got  # not "Ada Smith … Lovelace"
    assert all(label.startswith("name: ") for label in got.values())
