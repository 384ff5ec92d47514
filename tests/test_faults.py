"""Broken inputs fail their shard clearly; reruns are idempotent; writers never interleave."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from corpuscope.store import Store
from tests.conftest import SAMPLES, corpuscope_cmd, documents, run_cmd

C4 = SAMPLES / "c4" / "c4-en-sample-449.jsonl.gz"
DOLMA = SAMPLES / "commoncrawl" / "cc-main-2019-30-dolma-697.jsonl.gz"
WARC = SAMPLES / "commoncrawl" / "cc-main-2020-34-excerpt.warc.gz"
PILE = SAMPLES / "pile" / "pile-00-excerpt.jsonl.zst"


def test_truncated_and_corrupt_archives_fail_their_shard_only(tmp_path: Path, cli, data_dir):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(C4, src / "good.jsonl.gz")
    data = DOLMA.read_bytes()
    (src / "truncated.jsonl.gz").write_bytes(data[: len(data) // 2])
    warc = bytearray(WARC.read_bytes())
    warc[len(warc) // 2 : len(warc) // 2 + 64] = b"\x00" * 64
    (src / "corrupt.warc.gz").write_bytes(bytes(warc))
    pile = PILE.read_bytes()
    (src / "cut.jsonl.zst").write_bytes(pile[: len(pile) - 100])

    result = cli("ingest", src, "--corpus", "f", "--json", "--shard-docs", 100, expect=1)
    summary = json.loads(result.stdout)
    assert not summary["ok"]
    failed = {f["source"]: f["error"] for f in summary["failures"]}
    assert set(failed) == {"src/truncated.jsonl.gz", "src/corrupt.warc.gz", "src/cut.jsonl.zst"}
    for source, error in failed.items():
        assert Path(source).name in error and "offset" in error, error
    assert "truncated or corrupt" in failed["src/truncated.jsonl.gz"]
    # the good file is complete, and the slices read before the break are kept
    table = documents(data_dir, "f")
    good = len(gzip.decompress(C4.read_bytes()).splitlines())
    c4_docs = [s for s in table.column("shard").to_pylist() if s.startswith("src_good")]
    assert len(c4_docs) == good
    m = Store(data_dir).corpus("f").manifest()
    assert {s.source for s in m.shards.values() if s.status == "failed"} == set(failed)
    # human output names the failure too, and the exit status is non-zero
    result = cli("ingest", src, "--corpus", "f", expect=1)
    assert "FAILED" in result.stdout and "truncated.jsonl.gz" in result.stdout


def test_rerun_skips_done_shards_and_force_redoes_them(tmp_path: Path, cli, data_dir):
    first = json.loads(cli("ingest", C4, "--corpus", "r", "--shard-docs", 100, "--json").stdout)
    assert first["shards_done"] == 5 and first["documents_written"] == 449
    before = documents(data_dir, "r")
    again = json.loads(cli("ingest", C4, "--corpus", "r", "--shard-docs", 100, "--json").stdout)
    assert again["shards_skipped"] == 5 and again["shards_done"] == 0
    forced = json.loads(
        cli("ingest", C4, "--corpus", "r", "--shard-docs", 100, "--json", "--force").stdout
    )
    assert forced["shards_done"] == 5
    assert documents(data_dir, "r").equals(before)
    # a different slicing is a different input: old shards are replaced, never duplicated
    resliced = json.loads(cli("ingest", C4, "--corpus", "r", "--shard-docs", 300, "--json").stdout)
    assert resliced["shards_done"] == 2
    after = documents(data_dir, "r")
    assert after.num_rows == 449
    assert after.column("doc_id").equals(before.column("doc_id"))  # ids are stable
    assert len(list((Store(data_dir).corpus("r").shards_dir).glob("*.parquet"))) == 2


def test_changed_input_replaces_its_shards(tmp_path: Path, cli, data_dir):
    path = tmp_path / "c4.jsonl"
    lines = gzip.decompress(C4.read_bytes()).splitlines()
    path.write_bytes(b"\n".join(lines[:100]) + b"\n")
    cli("ingest", path, "--corpus", "x")
    path.write_bytes(b"\n".join(lines[:150]) + b"\n")
    summary = json.loads(cli("ingest", path, "--corpus", "x", "--json").stdout)
    assert summary["documents_written"] == 150
    assert documents(data_dir, "x").num_rows == 150


def test_second_writer_refuses_clearly(data_dir: Path):
    cs = Store(data_dir).corpus("lock")
    with cs.write_lock():
        proc = run_cmd("ingest", C4, "--corpus", "lock", "--data-dir", data_dir)
        assert proc.returncode == 2
        assert "being written by another process" in proc.stderr
        assert "pid" in proc.stderr
        assert not cs.manifest().shards
    proc = run_cmd("ingest", C4, "--corpus", "lock", "--data-dir", data_dir, "--quiet")
    assert proc.returncode == 0, proc.stderr


def test_second_writer_waits_with_lock_timeout(data_dir: Path):
    cs = Store(data_dir).corpus("wait")
    with cs.write_lock():
        proc = subprocess.Popen(
            corpuscope_cmd(
                "ingest",
                C4,
                "--corpus",
                "wait",
                "--data-dir",
                data_dir,
                "--lock-timeout",
                60,
                "--quiet",
                "--json",
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(3)
        assert proc.poll() is None  # still waiting for the lock
    out, errout = proc.communicate(timeout=120)
    assert proc.returncode == 0, errout
    assert json.loads(out)["documents_written"] == 449


def test_leftover_temp_files_are_swept(data_dir: Path, cli):
    cli("ingest", C4, "--corpus", "s", "--quiet")
    cs = Store(data_dir).corpus("s")
    junk = [
        cs.shards_dir / ".x.parquet.tmp-123",
        cs.root / ".manifest.json.tmp-9",
        cs.shards_dir / "orphan-0000.parquet",
    ]
    for p in junk:
        p.write_bytes(b"partial")
    assert len(cs.shard_paths()) == 1  # readers list the manifest only: no partial visible
    cli("ingest", C4, "--corpus", "s", "--quiet")
    assert not any(p.exists() for p in junk)


@pytest.mark.parametrize("trial", range(4))
def test_kill_9_at_a_random_moment_then_rerun(tmp_path: Path, trial: int):
    """A real ingest process group is SIGKILLed mid-run; the store stays openable and a
    rerun gives exactly the documents of a clean run."""
    import os
    import random
    import signal

    src = tmp_path / "src"
    src.mkdir()
    for i in range(6):
        shutil.copy(C4, src / f"c4-{i}.jsonl.gz")
    shutil.copy(DOLMA, src / "dolma.jsonl.gz")
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    args = ("ingest", src, "--corpus", "k", "--shard-docs", 50, "--workers", 2, "--quiet")

    assert run_cmd(*args, "--data-dir", clean).returncode == 0
    rng = random.Random(trial)
    proc = subprocess.Popen(
        corpuscope_cmd(*args, "--data-dir", crashed),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(rng.uniform(1.0, 4.0))
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()

    # openable, and every shard the manifest names is whole (its sha256 matches)
    cs = Store(crashed).corpus("k")
    import hashlib

    for shard in cs.manifest().done():
        data = (cs.root / shard.parquet).read_bytes()
        assert hashlib.sha256(data).hexdigest() == shard.sha256
    partial = documents(crashed, "k")
    assert partial is None or partial.num_rows <= documents(clean, "k").num_rows

    proc = run_cmd(*args, "--data-dir", crashed, "--json")
    assert proc.returncode == 0, proc.stderr
    assert documents(crashed, "k").equals(documents(clean, "k"))
    assert not [p for p in cs.root.rglob(".*tmp-*")]
