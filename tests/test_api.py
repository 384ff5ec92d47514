"""The HTTP API: the four questions end to end, limits, one error shape, schemathesis, uvicorn."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from corpuscope.api.app import create_app
from corpuscope.config import Settings
from corpuscope.state import State
from tests.conftest import corpuscope_cmd, free_port


@pytest.fixture(scope="module")
def client(indexed: Path) -> TestClient:
    return TestClient(create_app(Settings(data=indexed)))


def _is_error(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"status", "code", "message", "details"}
    assert body["error"]["status"] == status
    return body["error"]


def test_the_four_questions_over_http(indexed: Path):
    # The people corpus is smaller than the small-cell threshold: its counts would be
    # withheld (tests/test_privacy_surface.py); here the questions themselves are tested.
    client = TestClient(create_app(Settings(data=indexed, small_cell_threshold=1)))
    r = client.get("/v1/search", params={"q": "ada lovelace", "corpus": "people", "k": 3})
    assert r.status_code == 200
    body = r.json()
    assert body["total"] >= 3 and len(body["hits"]) == 3
    assert all("@example.org" not in h["snippet"]["text"] for h in body["hits"])

    r = client.post("/v1/exact", json={"passage": "notes on the analytical engine"})
    assert r.status_code == 200 and r.json()["documents"] == 1
    r = client.get("/v1/search", params={"q": "notes on the analytical engine", "mode": "exact"})
    assert r.status_code == 200 and r.json()["documents"] == 1

    passage = "Ada Lovelace wrote the first program. Write to her for the notes."
    r = client.post("/v1/membership", json={"passage": passage, "corpora": ["people"]})
    assert r.status_code == 200
    m = r.json()
    assert m["verdict"] in ("partial", "near-duplicate") and m["thresholds"]
    assert m["evidence"][0]["passage_spans"]

    r = client.post(
        "/v1/person",
        json={
            "name": "Lovelace, Ada",
            "emails": ["ada.lovelace@example.org"],
            "corpora": ["people"],
        },
    )
    assert r.status_code == 200
    p = r.json()
    assert p["corpora"][0]["identifier_documents"] == {"email 1": 2}  # p1, p8
    assert "ada.lovelace@example.org" not in r.text

    r = TestClient(create_app(Settings(data=indexed))).get("/v1/corpora")  # threshold 10
    assert {c["name"] for c in r.json()} == {"c4", "commoncrawl", "people"}
    assert all(c["indexed_documents"] == c["documents"] for c in r.json())
    # people (8 documents) is a small cell: the public sees none of its figures
    assert {c["name"] for c in r.json() if c["documents"] is None} == {"people"}

    doc_id = body["hits"][0]["doc_id"]
    r = client.get(f"/v1/documents/{doc_id}")
    assert r.status_code == 200 and r.json()["doc_id"] == doc_id
    assert "@example.org" not in r.json()["window"]["text"]


def test_one_error_shape_everywhere(client: TestClient):
    _is_error(client.get("/v1/nowhere"), 404)
    _is_error(client.delete("/v1/corpora"), 405)
    _is_error(client.get("/v1/documents/not-a-document"), 404)
    _is_error(client.get("/v1/search", params={"q": "x", "corpus": "nope"}), 404)
    err = _is_error(client.post("/v1/exact", json={"passage": "x", "unknown": 1}), 422)
    assert err["details"][0]["loc"] == ["body", "unknown"]
    assert "input" not in err["details"][0]  # the request's values are not echoed
    _is_error(
        client.post(
            "/v1/exact", content=b"{not json", headers={"content-type": "application/json"}
        ),
        422,
    )
    _is_error(client.get("/v1/search"), 422)
    # A corpus name past the limit is the request's fault in GET as in POST (it was a 500).
    for mode in ("bm25", "exact"):
        params = {"q": "x", "mode": mode, "corpus": ["c4", "x" * 65]}
        err = _is_error(client.get("/v1/search", params=params), 422)
        assert err["details"][0]["loc"] == ["query", "corpus", "1"]


def test_limits(indexed: Path):
    s = Settings(data=indexed, max_query_chars=50, max_k=5, max_clauses=4, max_body_bytes=2048)
    c = TestClient(create_app(s))
    assert (
        "longer than 50" in _is_error(c.get("/v1/search", params={"q": "a" * 51}), 422)["message"]
    )
    _is_error(c.get("/v1/search", params={"q": "privacy", "k": 6}), 422)
    _is_error(c.get("/v1/search", params={"q": "a b c d e"}), 422)
    assert c.get("/v1/search", params={"q": "a b c d", "k": 5}).status_code == 200
    err = _is_error(c.post("/v1/membership", json={"passage": "word " * 1000}), 413)
    assert "2048" in err["message"]
    _is_error(c.post("/v1/person", json={"name": "x", "emails": ["a@b.c"] * 30}), 422)

    def chunked(body: bytes):  # no Content-Length: the body arrives in pieces
        for i in range(0, len(body), 500):
            yield body[i : i + 500]

    big = json.dumps({"passage": "word " * 1000}).encode()
    headers = {"content-type": "application/json"}
    _is_error(c.post("/v1/membership", content=chunked(big), headers=headers), 413)
    small = json.dumps({"passage": "weaving of engines", "k": 5}).encode()
    r = c.post("/v1/exact", content=chunked(small), headers=headers)
    assert r.status_code == 200, r.text


def test_time_limit_answers_partially_or_503(indexed: Path):
    c = TestClient(create_app(Settings(data=indexed, query_timeout=0.000001)))
    r = c.post("/v1/exact", json={"passage": "the"})
    assert r.status_code in (200, 503)
    if r.status_code == 200:
        assert r.json()["partial"] is True
    else:
        _is_error(r, 503)


# -- schemathesis: every operation, generated inputs: no 5xx, responses match the schema -----
PUBLIC_PATHS = {
    "/v1/search",
    "/v1/exact",
    "/v1/membership",
    "/v1/person",
    "/v1/corpora",
    "/v1/corpora/{corpus}",
    "/v1/documents/{doc_id}",
    "/v1/corpora/{corpus}/stats",
    "/v1/corpora/{corpus}/stats/{table}",
    "/v1/corpora/{corpus}/domains/{domain}",
    "/v1/corpora/{corpus}/summary.{fmt}",
    "/v1/health",
}


def _fuzz(app, paths: set[str], headers: dict[str, str] | None = None) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if op.path in paths]
    assert {op.path for op in operations} == paths
    for op in operations:

        @given(case=op.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case) -> None:
            # Schema-valid input may still be refused with 422: the configured limits are
            # tighter than the schema's hard ceilings, and some rules (clauses per query, a
            # passage needs words) are not expressible in JSON Schema. Everything else is
            # checked: no 5xx, documented status codes, responses that match the schema.
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        check()


def test_schemathesis_every_operation(indexed: Path, tmp_path: Path):
    # Without a rate limit: hundreds of generated requests from one client would all get 429.
    app = create_app(Settings(data=indexed, rate_limit=""))
    every = {path for path in app.openapi()["paths"]}
    dsr = {path for path in every if path.startswith("/v1/dsr/")}
    assert every == PUBLIC_PATHS | dsr and dsr
    _fuzz(app, PUBLIC_PATHS)
    # The data-subject routes with an officer's key, on a copy: generated cases, decisions
    # and applies change its state, never the corpus the other tests read.
    data = tmp_path / "data"
    shutil.copytree(indexed, data)
    officer = State(data).create_key("fuzz", "officer")
    app = create_app(Settings(data=data, rate_limit="", key_rate_limit=""))
    _fuzz(app, dsr, {"Authorization": f"Bearer {officer}"})


# -- a real uvicorn ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(indexed: Path):
    port = free_port()
    proc = subprocess.Popen(
        corpuscope_cmd("serve", "--port", port, "--data-dir", indexed),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if httpx.get(f"{base}/v1/corpora", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail(proc.stderr.read().decode())
    yield base, port
    proc.terminate()
    proc.wait(10)


def test_uvicorn_serves_the_questions(server):
    base, _ = server
    with httpx.Client(base_url=base, timeout=30) as h:
        assert h.get("/docs").status_code == 200
        assert "/v1/membership" in h.get("/openapi.json").json()["paths"]
        r = h.get("/v1/search", params={"q": "privacy policy", "k": 2})
        assert r.status_code == 200 and len(r.json()["hits"]) == 2
        r = h.post("/v1/person", json={"name": "José Müller", "corpora": ["people"]})
        assert r.json()["corpora"][0]["name_documents"] is None  # 8 documents: a small cell


def test_body_over_the_limit_is_refused_before_it_is_sent(server):
    """413 comes back on the headers alone: the server does not wait for (or buffer) the body."""
    _, port = server
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(
            b"POST /v1/membership HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 500000000\r\n\r\n"
        )
        reply = b""
        while b'"body_too_large"' not in reply and (chunk := s.recv(4096)):
            reply += chunk
    reply = reply.decode()
    assert reply.startswith("HTTP/1.1 413"), reply
    assert '"body_too_large"' in reply


def test_concurrent_clients(server):
    from concurrent.futures import ThreadPoolExecutor

    base, _ = server

    def ask(i: int) -> int:
        return httpx.get(f"{base}/v1/search", params={"q": f"engine {i}"}, timeout=30).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(ask, range(40))) == {200}


def test_serve_help_runs():
    out = subprocess.run(corpuscope_cmd("serve", "--help"), capture_output=True, text=True)
    assert out.returncode == 0 and "uvicorn" in out.stdout
    assert sys.executable


def test_demo_ingests_indexes_and_serves(tmp_path: Path):
    """The README's main command: the bundled samples end up searchable over HTTP."""
    import os

    port = free_port()
    env = {**os.environ, "CORPUSCOPE_PORT": str(port)}
    proc = subprocess.Popen(
        corpuscope_cmd("demo", "--quiet", "--data-dir", tmp_path / "data"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                r = httpx.get(f"{base}/v1/corpora", timeout=2)
                break
            except httpx.HTTPError:
                assert proc.poll() is None, proc.stdout.read().decode()
                time.sleep(0.5)
        corpora = {c["name"]: c for c in r.json()}
        assert set(corpora) == {"c4", "commoncrawl", "openwebtext", "pile"}
        for c in corpora.values():  # fewer than 10 documents: a small cell, withheld
            assert c["indexed_documents"] == c["documents"]
            assert "documents" in c["withheld"] or c["documents"] > 0
        hits = httpx.get(f"{base}/v1/search", params={"q": "the", "corpus": "c4"}).json()
        assert hits["total"] >= 1
        small = httpx.get(f"{base}/v1/search", params={"q": "the", "corpus": "pile"}).json()
        assert small["withheld"] and small["total"] is None  # one document: a small cell
    finally:
        proc.terminate()
        proc.wait(20)
