"""Shared fixtures: the bundled real samples, a fresh data directory, and CLI runners."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from corpuscope.cli import app
from corpuscope.store import Store

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


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


def documents(data_dir: Path, corpus: str):
    """All published documents of a corpus as an Arrow table sorted by doc_id."""
    import pyarrow as pa

    paths = Store(data_dir).corpus(corpus).shard_paths()
    tables = [pq.read_table(p) for p in paths]
    if not tables:
        return None
    return pa.concat_tables(tables).sort_by("doc_id")
