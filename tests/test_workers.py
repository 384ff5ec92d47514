"""Workers never outlive their parent: a `corpuscope ingest` or `scan` killed with SIGKILL
takes its worker processes (and their forkserver and resource tracker) with it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import corpuscope_cmd, run_cmd

psutil = pytest.importorskip("psutil")

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="parent-death handling is Linux only"
)

FILES, DOCS = 8, 4000  # in shards of 200: enough that two workers are busy for seconds
EXIT_WITHIN = 10.0  # seconds


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    words = "the quick brown fox jumps over the lazy dog; call 202-456-1111 or mail a@example.com"
    for f in range(FILES):
        with open(src / f"part-{f}.jsonl", "w") as out:
            for i in range(DOCS):
                text = f"Document {f}-{i}. " + " ".join([words] * (4 + i % 7))
                out.write(json.dumps({"id": f"{f}-{i}", "text": text}) + "\n")
    return src


def _alive(procs: list) -> list:
    alive = []
    for p in procs:
        try:
            if p.status() != psutil.STATUS_ZOMBIE:
                alive.append(p)
        except psutil.NoSuchProcess:
            pass
    return alive


def kill_and_time(*args: object) -> float:
    """Start `corpuscope ARGS`, wait for its pool workers, SIGKILL it alone; seconds until
    every process it had started is gone."""
    proc = subprocess.Popen(
        corpuscope_cmd(*args, "--workers", 2, "--quiet"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    parent = psutil.Process(proc.pid)
    descendants: list = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            descendants = parent.children(recursive=True)
            workers = [p for p in descendants if p.ppid() != proc.pid]  # the forkserver's
            if len(workers) >= 2:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the workers never started (or the command ended first)")
        time.sleep(0.5)  # the workers are busy with a shard
        descendants = parent.children(recursive=True)
        assert proc.poll() is None, "the command finished before the kill: give it more input"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        killed = time.monotonic()
        while _alive(descendants) and time.monotonic() - killed < EXIT_WITHIN:
            time.sleep(0.05)
        left = [(p.pid, " ".join(p.cmdline())[-60:]) for p in _alive(descendants)]
        assert not left, f"still running {EXIT_WITHIN} s after the parent's SIGKILL: {left}"
        return time.monotonic() - killed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for p in _alive(descendants):  # only what this test started
            p.kill()


def test_ingest_workers_die_with_the_cli(source: Path, tmp_path: Path):
    took = kill_and_time(
        "ingest", source, "--corpus", "x", "--shard-docs", 200, "--data-dir", tmp_path
    )
    print(f"ingest: every worker gone {took:.2f} s after the SIGKILL")


def test_scan_workers_die_with_the_cli(source: Path, tmp_path: Path):
    done = run_cmd(
        "ingest", source, "--corpus", "x", "--shard-docs", 200, "--data-dir", tmp_path, "--quiet"
    )
    assert done.returncode == 0, done.stderr
    took = kill_and_time("scan", "--corpus", "x", "--data-dir", tmp_path)
    print(f"scan: every worker gone {took:.2f} s after the SIGKILL")
