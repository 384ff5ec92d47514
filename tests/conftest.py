"""Shared fixtures: the bundled real samples, a fresh data directory, and CLI runners."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from corpuscope import jobs
from corpuscope.cli import app
from corpuscope.config import Settings
from corpuscope.store import Store

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def to_document(rec, corpus: str, shard: str, source: str, lang_id_bytes: int) -> SimpleNamespace:
    """One record normalised alone: the row of DOCUMENT_SCHEMA it becomes, as attributes."""
    from corpuscope.ingest.normalise import normalise_batch

    (row,) = normalise_batch([rec], corpus, shard, source, lang_id_bytes).to_pylist()
    return SimpleNamespace(**row)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def cli(data_dir: Path):
    """Run `corpuscope ARGS --data-dir DATA` in this process; returns the click Result."""
    runner = CliRunner()

    def run(*args: str, expect: int | None = 0):
        result = runner.invoke(app, [*map(str, args), "--data-dir", str(data_dir)])
        if expect is not None:
            assert result.exit_code == expect, result.output + repr(result.exception)
        return result

    return run


def corpuscope_cmd(*args: str) -> list[str]:
    """The real `corpuscope` command line, for subprocess tests."""
    return [sys.executable, "-m", "corpuscope", *map(str, args)]


def run_cmd(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(corpuscope_cmd(*args), capture_output=True, text=True, timeout=timeout)


def build_corpus(settings: Settings, corpus: str, src: Path, records: list[dict]) -> None:
    """Write `records` as JSON lines to `src`, then ingest, scan, index and count them."""
    src.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert jobs.ingest(settings, corpus, [str(src)]).ok
    assert jobs.scan(settings, corpus).ok
    jobs.index(settings, corpus)
    jobs.stats(settings, corpus)


def documents(data_dir: Path, corpus: str):
    """All published documents of a corpus as an Arrow table sorted by doc_id."""
    import pyarrow as pa

    paths = Store(data_dir).corpus(corpus).shard_paths()
    tables = [pq.read_table(p) for p in paths]
    if not tables:
        return None
    return pa.concat_tables(tables).sort_by("doc_id")


#: Small documents written for the person and redaction tests (corpus "people").
PEOPLE = [
    {
        "id": "p1",
        "text": "Ada Lovelace wrote the first program. Write to ada.lovelace@example.org "
        "or call +44 20 7946 0958 for the notes.",
    },
    {"id": "p2", "text": "LOVELACE, ADA: notes on the analytical engine, with translations."},
    {"id": "p3", "text": "A. Lovelace and C. Babbage corresponded about the engine for years."},
    {
        "id": "p4",
        "text": "José Müller (jose.muller@example.com) leads the team; he posts as "
        "@jmuller on the forum at https://forum.example.net/u/jmuller today.",
    },
    {"id": "p5", "text": "Jose Muller was cited twice in the weaving report."},
    {"id": "p6", "text": "Unrelated text about engines and weaving looms; mail info@example.net."},
    {"id": "p7", "text": "Lovelace Ada is listed in the index by her last name first."},
    {"id": "p8", "text": "Someone wrote to ada.lovelace@example.org without naming anyone."},
]


def write_people(folder: Path) -> Path:
    import json

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "people.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in PEOPLE))
    return path


@pytest.fixture(scope="session")
def indexed(tmp_path_factory) -> Path:
    """A data directory with c4, commoncrawl (JSONL) and people ingested, scanned and indexed."""
    from corpuscope import jobs
    from corpuscope.config import Settings

    root = tmp_path_factory.mktemp("indexed")
    settings = Settings(data=root / "data")
    sources = {
        "c4": [SAMPLES / "c4"],
        "commoncrawl": [SAMPLES / "commoncrawl" / "cc-main-2019-30-dolma-697.jsonl.gz"],
        "people": [write_people(root / "people")],
    }
    for corpus, paths in sources.items():
        assert jobs.ingest(settings, corpus, [str(p) for p in paths]).ok
        assert jobs.scan(settings, corpus).ok
        jobs.index(settings, corpus)
        jobs.stats(settings, corpus)
    return settings.data


def free_port() -> int:
    """A port on the loopback that nothing listens on now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(base: str, tries: int = 200, pause: float = 0.05) -> None:
    """Wait for a server started in a thread to answer /v1/health."""
    import time

    import httpx

    for _ in range(tries):
        try:
            httpx.get(f"{base}/v1/health", timeout=5)
            return
        except httpx.HTTPError:
            time.sleep(pause)
