"""The service stays up: every credential is checked on every route (401 for a bad key or a
wrong scheme, public routes included), clients are rate-limited (429 with Retry-After, others
still served), a stalled request body is answered 408 (over a real uvicorn and a raw socket),
and the documentation pages load nothing from outside the server."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from corpuscope import jobs
from corpuscope.api.app import create_app
from corpuscope.api.limits import client_address
from corpuscope.config import Settings
from corpuscope.errors import UsageError
from corpuscope.state import State
from tests.conftest import free_port, wait_until_up

DOCS = [
    {"id": f"d{i}", "url": f"https://tiny.example.net/{i}", "text": f"The lighthouse {w} log."}
    for i, w in enumerate(["keeper", "lamp", "storm"])
]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """One corpus of three documents, indexed; keys `good` (auditor) and `gone` (revoked)."""
    root = tmp_path_factory.mktemp("hardening")
    settings = Settings(data=root / "data", workers=1, index_partitions=1)
    src = root / "tiny.jsonl"
    src.write_text("".join(json.dumps(d) + "\n" for d in DOCS))
    assert jobs.ingest(settings, "tiny", [str(src)]).ok
    assert jobs.scan(settings, "tiny").ok
    jobs.index(settings, "tiny")
    return settings.data


@pytest.fixture(scope="module")
def keys(data: Path) -> dict[str, str]:
    state = State(data)
    good = state.create_key("good", "auditor")
    gone = state.create_key("gone", "auditor")
    state.revoke_key("gone")
    return {"good": good, "gone": gone}


def _error(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["status"] == status
    assert set(body["error"]) == {"status", "code", "message", "details"}
    return body["error"]


ROUTES = [  # public routes included
    ("GET", "/v1/health", None),
    ("GET", "/v1/search?q=lighthouse", None),
    ("GET", "/v1/corpora", None),
    ("GET", "/v1/corpora/tiny/stats", None),
    ("POST", "/v1/exact", {"passage": "lighthouse keeper"}),
    ("GET", "/v1/nowhere", None),
    ("GET", "/docs", None),
]


def test_bad_credentials_get_401_on_every_route(data: Path, keys: dict[str, str]):
    c = TestClient(create_app(Settings(data=data, rate_limit="")))
    bogus = "cs_" + "x" * 43
    refused = {
        "bogus bearer": ({"Authorization": f"Bearer {bogus}"}, "unknown or revoked"),
        "revoked bearer": ({"Authorization": f"Bearer {keys['gone']}"}, "unknown or revoked"),
        "revoked x-api-key": ({"X-API-Key": keys["gone"]}, "unknown or revoked"),
        "bogus x-api-key": ({"X-API-Key": "not-a-key"}, "unknown or revoked"),
        "basic": ({"Authorization": "Basic dXNlcjpwYXNz"}, "Authorization: Bearer KEY"),
        "token": ({"Authorization": f"Token {keys['good']}"}, "Authorization: Bearer KEY"),
        "bare key": ({"Authorization": keys["good"]}, "Authorization: Bearer KEY"),
        "empty bearer": ({"Authorization": "Bearer "}, "Authorization: Bearer KEY"),
        "two keys": (
            {"Authorization": f"Bearer {keys['good']}", "X-API-Key": bogus},
            "one API key",
        ),
    }
    for method, path, body in ROUTES:
        for case, (headers, says) in refused.items():
            r = c.request(method, path, json=body, headers=headers)
            err = _error(r, 401)
            assert err["code"] == "unauthorized", case
            assert says in err["message"], (case, err["message"])
            assert r.headers["www-authenticate"].startswith("Bearer"), case
            for value in headers.values():  # the credentials are never echoed
                secret = value.split()[-1] if value.strip() else ""
                assert len(secret) < 8 or secret not in r.text, case
    for headers in ({"Authorization": f"bearer {keys['good']}"}, {"X-API-Key": keys["good"]}):
        for path in ("/v1/health", "/v1/corpora", "/v1/search?q=lighthouse", "/docs"):
            assert c.get(path, headers=headers).status_code == 200, path
        r = c.post("/v1/exact", json={"passage": "lighthouse lamp"}, headers=headers)
        assert r.status_code == 200 and r.json()["candidates"] == 1
    assert c.get("/v1/search", params={"q": "lighthouse"}).status_code == 200  # no key: public


def test_a_key_revoked_while_serving_is_refused_at_once(data: Path):
    state = State(data)
    token = state.create_key("brief", "auditor")
    c = TestClient(create_app(Settings(data=data, rate_limit="")))
    auth = {"Authorization": f"Bearer {token}"}
    assert c.get("/v1/corpora", headers=auth).status_code == 200
    state.revoke_key("brief")
    _error(c.get("/v1/corpora", headers=auth), 401)
    _error(c.get("/v1/health", headers=auth), 401)


@pytest.mark.parametrize("storage", ["memory://", "async+memory://"])  # the second: as Redis
def test_rate_limit_per_client(data: Path, keys: dict[str, str], storage: str):
    limits = {"rate_limit": "3/minute", "key_rate_limit": "5/minute"}
    app = create_app(Settings(data=data, rate_limit_storage=storage, **limits))
    a = TestClient(app, client=("10.0.0.1", 5000))
    b = TestClient(app, client=("10.0.0.2", 5000))
    for _ in range(3):
        assert a.get("/v1/search", params={"q": "lamp"}).status_code == 200
    r = a.get("/v1/corpora")
    err = _error(r, 429)
    assert err["code"] == "too_many_requests"
    assert 1 <= int(r.headers["retry-after"]) <= 60
    _error(a.post("/v1/exact", json={"passage": "lamp"}), 429)
    # Exempt: the health check and the documentation; other clients have their own budget.
    assert a.get("/v1/health").status_code == 200
    assert a.get("/docs").status_code == 200 and a.get("/openapi.json").status_code == 200
    assert b.get("/v1/search", params={"q": "lamp"}).status_code == 200
    # A key has its own budget (`key_rate_limit`), whatever address it comes from.
    auth = {"Authorization": f"Bearer {keys['good']}"}
    for _ in range(5):
        assert a.get("/v1/corpora", headers=auth).status_code == 200
    _error(a.get("/v1/corpora", headers=auth), 429)
    assert b.get("/v1/corpora", headers=auth).status_code == 429
    # Guessing keys spends the address's budget: 401 while it lasts, then 429.
    c = TestClient(app, client=("10.0.0.3", 5000))
    bogus = {"Authorization": "Bearer cs_guess"}
    assert [c.get("/v1/health", headers=bogus).status_code for _ in range(4)] == [401] * 3 + [429]
    # 429 is declared in the schema of the operations.
    assert "429" in app.openapi()["paths"]["/v1/search"]["get"]["responses"]


def test_client_addresses():
    def addr(host: str) -> str:
        return client_address({"client": (host, 1)})

    assert addr("2001:db8::1") == addr("2001:db8::ffff") != addr("2001:db8:0:1::1")
    assert addr("::ffff:10.0.0.1") == addr("10.0.0.1") != addr("10.0.0.2")
    assert client_address({"client": None}) == "addr:unknown"


def test_limit_settings_are_checked(data: Path):
    for bad in ({"rate_limit": "lots"}, {"key_rate_limit": "5 a fortnight"}):
        with pytest.raises(UsageError):
            create_app(Settings(data=data, **bad))
    with pytest.raises(UsageError, match="rate_limit_storage"):
        create_app(Settings(data=data, rate_limit_storage="nowhere://x"))


# -- a real uvicorn: a body that stops arriving ------------------------------------------------
@pytest.fixture(scope="module")
def server(data: Path):
    import uvicorn

    port = free_port()
    settings = Settings(data=data, body_read_timeout=1.0, rate_limit="")
    srv = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base)
    yield base, port
    srv.should_exit = True
    thread.join(10)


def _stall(port: int, head: bytes, first_bytes: bytes) -> tuple[str, float, bool]:
    """Send the headers and a few bytes, then nothing: the reply, when it came, and whether
    the server closed the connection."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head + first_bytes)
        reply = b""
        closed = False
        while True:
            try:
                chunk = s.recv(4096)
            except TimeoutError:
                break
            if not chunk:
                closed = True
                break
            reply += chunk
    return reply.decode(), time.monotonic() - start, closed


@pytest.mark.parametrize("framing", ["chunked", "content-length"])
def test_a_stalled_body_is_answered_408(server, framing: str):
    base, port = server
    head = b"POST /v1/exact HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    if framing == "chunked":
        head += b"Transfer-Encoding: chunked\r\n\r\n"
        first = b'9\r\n{"passage\r\n'
    else:
        head += b"Content-Length: 200\r\n\r\n"
        first = b'{"passage'
    reply, took, closed = _stall(port, head, first)
    assert reply.startswith("HTTP/1.1 408"), reply
    assert '"status":408' in reply and "within 1 s" in reply
    assert closed and took < 5, took
    # The server is still serving, and a body that arrives is read as before.
    r = httpx.post(f"{base}/v1/exact", json={"passage": "lighthouse keeper"}, timeout=10)
    assert r.status_code == 200 and r.json()["candidates"] == 1


# -- documentation pages that work offline ------------------------------------------------------
def test_docs_pages_are_served_from_local_assets(data: Path):
    c = TestClient(create_app(Settings(data=data)))
    for page in ("/docs", "/redoc"):
        r = c.get(page)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        html = r.text
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", html, re.I), page
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert any(a.endswith(".js") for a in assets), assets
        for asset in assets:
            assert asset.startswith("/"), asset
            got = c.get(asset)
            assert got.status_code == 200 and len(got.content) > 100, asset
    # The pages name the schema, which is served, and the assets' licences are served too.
    assert "/openapi.json" in c.get("/docs").text and c.get("/openapi.json").status_code == 200
    for licence in ("swagger-ui-dist/LICENSE", "redoc/LICENSE"):
        assert "License" in c.get(f"/static/docs/{licence}").text
