"""A damaged file never takes the server down: a real uvicorn process keeps serving the healthy
corpora, refuses (503) or names (`not_searched`) the damaged one, reports it in `/v1/health`,
and serves it again once `verify --repair` published a new index generation. A 500 never
writes a request's values to the logs."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from corpuscope import jobs
from corpuscope.config import Settings
from corpuscope.index.build import read_layout
from corpuscope.store import Store
from tests.conftest import corpuscope_cmd, free_port, wait_until_up

#: Written into requests; must never show up in a server's logs.
PLANTED = "zq-planted-7731 ada.planted@example.org"


def _documents(topic: str, n: int = 40) -> list[dict]:
    words = ["harbour", "storm", "ledger", "orchard", "engine", "river", "quarry", "meadow"]
    return [
        {
            "id": f"{topic}-{i}",
            "url": f"https://{topic}.example.net/page/{i}",
            "text": f"The {topic} keeper of the {words[i % 8]} wrote entry {i} about the "
            f"{words[(i + 3) % 8]} and the {topic} at dawn. " * (3 + i % 5),
        }
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """Two small corpora, `alpha` and `beta`, ingested, scanned and indexed (one partition,
    so that every file of the index is in p00)."""
    root = tmp_path_factory.mktemp("resilience")
    settings = Settings(data=root / "data", workers=1, index_partitions=1)
    for corpus in ("alpha", "beta"):
        src = root / f"{corpus}.jsonl"
        src.write_text("".join(json.dumps(d) + "\n" for d in _documents(corpus)))
        assert jobs.ingest(settings, corpus, [str(src)]).ok
        assert jobs.scan(settings, corpus).ok
        jobs.index(settings, corpus)
    return settings.data


@pytest.fixture
def data(built: Path, tmp_path: Path) -> Path:
    """A copy of the built data directory for one test to damage."""
    copy = tmp_path / "data"
    shutil.copytree(built, copy)
    return copy


def _settings(data: Path) -> Settings:
    return Settings(data=data, workers=1, index_partitions=1)


def _largest_index_file(data: Path, corpus: str) -> Path:
    """The largest file of the corpus's published generation (recorded in index.json)."""
    layout = read_layout(Store(data).corpus(corpus).index_dir)
    files = layout.extra["files"]
    rel = max(files, key=lambda r: files[r][0])
    assert rel.startswith("p00/") and files[rel][0] > 1000
    return layout.folder / rel


class Server:
    """`corpuscope serve` in a subprocess, its output in a file."""

    def __init__(self, data: Path, log: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._out = open(log, "wb")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            corpuscope_cmd("serve", "--port", self.port, "--data-dir", data),
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )
        for _ in range(300):
            assert self.proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{self.base}/v1/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            self.stop()
            pytest.fail(log.read_text())
        self.http = httpx.Client(base_url=self.base, timeout=60)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        self._out.flush()
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._out.close()


@pytest.fixture
def serve(tmp_path: Path):
    servers: list[Server] = []

    def start(data: Path) -> Server:
        servers.append(Server(data, tmp_path / f"server-{len(servers)}.log"))
        return servers[-1]

    yield start
    for s in servers:
        s.stop()


def _search(server: Server, corpus: str | None, q: str = "keeper harbour") -> httpx.Response:
    params: dict = {"q": q, "k": 5}
    if corpus:
        params["corpus"] = corpus
    return server.http.get("/v1/search", params=params)


def _serves(server: Server, corpus: str) -> None:
    r = _search(server, corpus)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["corpora"] == [corpus] and body["total"] > 0 and body["hits"]
    assert body["not_searched"] == [] and body["partial"] is False
    assert all(h["corpus"] == corpus for h in body["hits"])


def _refused(server: Server, corpus: str) -> None:
    r = _search(server, corpus)
    assert r.status_code == 503, r.text
    error = r.json()["error"]
    assert error["code"] == "unavailable"
    assert corpus in error["message"] and "corpuscope verify --repair" in error["message"]


def _health(server: Server) -> tuple[str, dict[str, dict]]:
    r = server.http.get("/v1/health")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"status", "version", "corpora"}
    for c in body["corpora"]:  # states only: no counts of any kind
        assert set(c) == {"corpus", "status", "serving", "indexed", "scanned", "stats"}
        assert all(isinstance(v, str) and not v.isdigit() for v in c.values())
    return body["status"], {c["corpus"]: c for c in body["corpora"]}


def _healthy(server: Server) -> None:
    status, corpora = _health(server)
    assert status == "ok"
    for name in ("alpha", "beta"):
        c = corpora[name]
        assert (c["status"], c["serving"], c["indexed"], c["scanned"]) == (
            "ok",
            "current",
            "current",
            "current",
        )


def _degraded(server: Server, serving: str = "none") -> None:
    status, corpora = _health(server)
    assert status == "degraded"
    assert corpora["alpha"]["status"] == "degraded"
    assert corpora["alpha"]["indexed"] == "damaged"
    assert corpora["alpha"]["serving"] == serving
    assert corpora["beta"]["status"] == "ok" and corpora["beta"]["serving"] == "current"


def _repair(data: Path, server: Server) -> None:
    (report,) = jobs.verify(_settings(data), "alpha", repair=True)
    assert report.ok, report.to_json()
    assert any("rebuilt the index" in r for r in report.repaired)
    _serves(server, "alpha")
    _serves(server, "beta")
    _healthy(server)
    r = server.http.get("/v1/corpora")
    assert r.status_code == 200 and not any(c["degraded"] for c in r.json())


def test_a_file_truncated_under_the_running_server(data: Path, serve):
    """The largest file of alpha's index shrinks while the server has it mapped (reading it
    would be SIGBUS): alpha is put out of service before it is read, beta is served."""
    server = serve(data)
    _healthy(server)
    _serves(server, "alpha")
    _serves(server, "beta")
    alpha_doc = _search(server, "alpha").json()["hits"][0]["doc_id"]
    beta_doc = _search(server, "beta").json()["hits"][0]["doc_id"]

    os.truncate(_largest_index_file(data, "alpha"), 0)

    _refused(server, "alpha")
    assert server.alive
    _serves(server, "beta")

    # Over every corpus: answered from beta, alpha named as not searched, never confidently.
    r = _search(server, None)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["corpora"] == ["beta"] and body["hits"]
    assert body["not_searched"] == ["alpha"] and body["partial"] is True
    passage = "The beta keeper of the harbour wrote entry 0 about the engine and the beta at dawn."
    for path, payload in (
        ("/v1/exact", {"passage": "keeper of the harbour"}),
        ("/v1/membership", {"passage": passage}),
        ("/v1/person", {"name": PLANTED, "emails": ["ada.planted@example.org"]}),
    ):
        r = server.http.post(path, json=payload)
        assert r.status_code == 200, (path, r.text)
        assert r.json()["not_searched"] == ["alpha"] and r.json()["partial"] is True, path
    assert server.http.post("/v1/membership", json={"passage": passage}).json()["verdict"] in (
        "verbatim",
        "near-duplicate",
    )
    assert (
        server.http.post(
            "/v1/exact", json={"passage": "keeper of the harbour", "corpora": ["alpha"]}
        ).status_code
        == 503
    )
    assert server.http.get(f"/v1/documents/{beta_doc}").status_code == 200
    r = server.http.get(f"/v1/documents/{alpha_doc}")
    assert r.status_code == 503 and "verify --repair" in r.json()["error"]["message"]

    r = server.http.get("/v1/corpora")
    assert r.status_code == 200, r.text
    corpora = {c["name"]: c for c in r.json()}
    assert corpora["alpha"]["degraded"] is True and corpora["alpha"]["documents"] == 40
    assert corpora["beta"]["degraded"] is False and corpora["beta"]["indexed_documents"] == 40
    _degraded(server)
    assert server.alive

    _repair(data, server)
    r = server.http.get(f"/v1/documents/{alpha_doc}")
    assert r.status_code == 200 and r.json()["doc_id"] == alpha_doc
    assert server.alive
    log = server.output()
    assert "alpha" in log and "shrank" in log  # the warning names the corpus and the file
    assert "zq-planted" not in log and "ada.planted" not in log
    assert "keeper" not in log  # no document text


def test_damaged_before_the_server_starts(data: Path, serve):
    """A published generation already damaged at start is reported degraded, not a crash; once
    the file is restored in place (no new generation), the corpus is served again."""
    victim = _largest_index_file(data, "alpha")
    original = victim.read_bytes()
    os.truncate(victim, len(original) // 2)
    server = serve(data)
    _degraded(server)
    _refused(server, "alpha")
    _serves(server, "beta")
    r = server.http.get("/v1/corpora")
    assert r.status_code == 200 and {c["name"]: c["degraded"] for c in r.json()} == {
        "alpha": True,
        "beta": False,
    }
    assert server.alive
    with open(victim, "r+b") as f:  # a backup copied back over it
        f.write(original)
    _serves(server, "alpha")
    _healthy(server)


def test_a_damaged_new_generation_leaves_the_last_good_one_served(data: Path, serve):
    """A rebuild publishes a generation with a damaged file: the server keeps answering from
    the generation it had open, and says so in /v1/health."""
    server = serve(data)
    before = _search(server, "alpha").json()
    jobs.index(_settings(data), "alpha", rebuild=True)
    os.truncate(_largest_index_file(data, "alpha"), 0)

    r = _search(server, "alpha")
    assert r.status_code == 200, r.text
    after = r.json()
    assert (after["total"], [h["doc_id"] for h in after["hits"]]) == (
        before["total"],
        [h["doc_id"] for h in before["hits"]],
    )
    assert after["not_searched"] == []
    _degraded(server, serving="previous")
    assert server.alive
    _repair(data, server)
    assert "still serving" in server.output()


# -- a 500 logs the exception's type and the request id, never a request's values -------------
def test_an_unexpected_error_logs_no_request_value(data: Path, monkeypatch, caplog):
    """A real uvicorn (in a thread, so that the failure can be planted): the exception quotes
    the request's values, the logs must not."""
    import uvicorn

    from corpuscope.api.app import create_app
    from corpuscope.api.routes import questions

    def boom(*args, **kwargs):
        raise RuntimeError(f"cannot answer {args!r} {kwargs!r}")

    monkeypatch.setattr(questions, "search", boom)
    monkeypatch.setattr(questions, "person", boom)
    caplog.set_level(logging.DEBUG)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(_settings(data)),
            host="127.0.0.1",
            port=port,
            log_level="warning",  # as `corpuscope serve` runs it
            log_config=None,  # uvicorn's loggers propagate to caplog
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base)
        with httpx.Client(base_url=base, timeout=30) as h:
            r1 = h.get("/v1/search", params={"q": PLANTED})
            r2 = h.post("/v1/person", json={"name": PLANTED, "emails": ["ada.planted@example.org"]})
    finally:
        server.should_exit = True
        thread.join(10)
    for r in (r1, r2):
        assert r.status_code == 500
        error = r.json()["error"]
        assert error["code"] == "internal_error" and "zq-planted" not in r.text
        request_id = error["message"].split("request ")[-1].rstrip(")")
        assert request_id in caplog.text
        assert "zq-planted" not in r.text and "ada.planted" not in r.text
    # What the server logged (the test's own HTTP client logs the URLs it asks for).
    logged = "\n".join(
        caplog.handler.format(r)
        for r in caplog.records
        if not r.name.startswith(("httpx", "httpcore"))
    )
    assert "RuntimeError" in logged
    assert "/search" in logged and "/person" in logged  # the route templates
    assert "zq-planted" not in logged and "ada.planted" not in logged
    assert "Traceback" not in logged
