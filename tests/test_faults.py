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


# -- kill -9 on progress ------------------------------------------------------------------------
# Each trial kills a real process group with SIGKILL once the data directory shows that part of
# the work is published (never after a fixed sleep: a run that already ended proves nothing),
# checks that the process died of the signal with work left, and only then that a rerun ends
# where a clean run ends.

SHARD_DOCS = 25  # small shards: many publish points, and work left at every kill point
FILES, PER_FILE = 4, 750  # 3,000 documents, 120 shards


def write_many(folder: Path, files: int = FILES, per_file: int = PER_FILE) -> Path:
    """`files` JSONL files of `per_file` short documents cut from the real C4 sample."""
    import random

    folder.mkdir(parents=True, exist_ok=True)
    words = " ".join(
        json.loads(line)["text"] for line in gzip.decompress(C4.read_bytes()).splitlines()
    ).split()
    rng = random.Random(0)
    for f in range(files):
        with open(folder / f"part-{f}.jsonl", "w") as out:
            for i in range(per_file):
                n = rng.randint(20, 80)
                at = rng.randrange(len(words) - n)
                doc = {
                    "id": f"{f}-{i}",
                    "text": " ".join(words[at : at + n]),
                    "url": f"https://site{rng.randrange(40)}.example.com/{f}/{i}",
                }
                out.write(json.dumps(doc) + "\n")
    return folder


def small_shards_env() -> dict[str, str]:
    import os

    return {**os.environ, "CORPUSCOPE_SHARD_DOCS": str(SHARD_DOCS), "CORPUSCOPE_WORKERS": "2"}


def run_env(*args) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        corpuscope_cmd(*args),
        env=small_shards_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def kill_when(args: tuple, ready, timeout: float = 120) -> None:
    """Start `corpuscope ARGS` in its own process group, SIGKILL the group as soon as
    `ready()` is true, and fail unless the process died of that signal (not finished)."""
    import os
    import signal

    proc = subprocess.Popen(
        corpuscope_cmd(*args),
        env=small_shards_env(),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            assert proc.poll() is None, f"finished ({proc.returncode}) before the kill point"
            assert time.monotonic() < deadline, "the kill point was never reached"
            time.sleep(0.005)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:  # a failed assertion above: leave nothing running
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.returncode


def published_shards(cs) -> int:
    """Done shards in the corpus manifest as a reader sees it now."""
    try:
        data = json.loads(cs.manifest_path.read_bytes())
    except FileNotFoundError:
        return 0
    return sum(1 for s in data["shards"] if s["status"] == "done")


@pytest.fixture(scope="module")
def many(tmp_path_factory) -> tuple[Path, Path]:
    """The generated input, and a data directory with a clean ingest of it."""
    root = tmp_path_factory.mktemp("many")
    src = write_many(root / "src")
    clean = root / "clean"
    run_env("ingest", src, "--corpus", "k", "--data-dir", clean, "--quiet")
    assert published_shards(Store(clean).corpus("k")) == FILES * PER_FILE // SHARD_DOCS
    return src, clean


@pytest.mark.parametrize("after", [1, 12, 40, 75])
def test_ingest_killed_after_n_shards_then_rerun(tmp_path: Path, many, after: int):
    """SIGKILL once `after` shards are published: the store opens, every shard it names is
    whole, work is left, and a rerun keeps what was published and ends as a clean run."""
    import hashlib

    src, clean = many
    total = FILES * PER_FILE // SHARD_DOCS
    crashed = tmp_path / "crashed"
    cs = Store(crashed).corpus("k")
    args = ("ingest", src, "--corpus", "k", "--data-dir", crashed)
    kill_when((*args, "--quiet"), lambda: published_shards(cs) >= after)

    done = cs.manifest().done()
    assert after <= len(done) < total  # killed mid-run: published work, and work left
    for shard in done:  # every shard the manifest names is whole
        data = (cs.root / shard.parquet).read_bytes()
        assert hashlib.sha256(data).hexdigest() == shard.sha256
    partial = documents(crashed, "k")
    assert partial.num_rows == sum(s.documents for s in done) < FILES * PER_FILE

    summary = json.loads(run_env(*args, "--json").stdout)
    assert (summary["shards_skipped"], summary["shards_done"]) == (len(done), total - len(done))
    assert documents(crashed, "k").equals(documents(clean, "k"))
    assert {p.name for p in cs.shards_dir.iterdir()} == {
        p.name for p in Store(clean).corpus("k").shards_dir.iterdir()
    }  # no orphan or temporary file left
    assert not [p for p in cs.root.rglob(".*tmp-*")]


def _units(data: Path) -> tuple[int, set[str]]:
    """Documents in the published index, and the shard versions (units) it holds."""
    from corpuscope.index.build import present_units
    from corpuscope.index.searcher import Indexes

    ci = Indexes(Store(data)).get("k")
    return ci.num_docs(), set().union(*(present_units(p) for p in ci.partitions))


@pytest.mark.parametrize("case", ["fresh", "repartition", "incremental"])
def test_index_killed_mid_build_then_rerun(tmp_path: Path, many, case: str):
    """SIGKILL once the first of three partitions has committed. A new generation (a first
    build, or a change of partition count) is not published: no index, or the old one whole;
    an incremental build leaves the published index searchable, its later partitions as
    before. A rerun ends with the index of a clean build."""
    src, clean_ingest = many
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    index = ("index", "--corpus", "k", "--partitions", 3, "--quiet")
    total = FILES * PER_FILE
    if case == "incremental":  # half the input indexed, then the other half ingested
        half = tmp_path / "half"
        half.mkdir()
        for f in range(FILES // 2):
            shutil.copy(src / f"part-{f}.jsonl", half / f"part-{f}.jsonl")
        run_env("ingest", half, "--corpus", "k", "--data-dir", crashed, "--quiet")
        run_env(*index, "--data-dir", crashed)
        for f in range(FILES // 2, FILES):
            shutil.copy(src / f"part-{f}.jsonl", half / f"part-{f}.jsonl")
        run_env("ingest", half, "--corpus", "k", "--data-dir", crashed, "--quiet")
    else:
        shutil.copytree(clean_ingest, crashed)
        if case == "repartition":  # published with two partitions; the build makes three
            run_env("index", "--corpus", "k", "--partitions", 2, "--data-dir", crashed, "--quiet")
    before = _units(crashed)[0] if case != "fresh" else 0
    shutil.copytree(crashed, clean)
    run_env(*index, "--data-dir", clean)
    root = Store(crashed).corpus("k").root / "index"
    published = (root / "CURRENT").read_text() if case != "fresh" else None

    def metas() -> list[bytes | None]:
        """Each partition's tantivy meta.json (rewritten by each commit) in the newest gen."""
        gens = sorted(root.glob("gen-*"))
        out = []
        for i in range(3):
            try:
                out.append((gens[-1] / f"p{i:02d}" / "meta.json").read_bytes() if gens else None)
            except (FileNotFoundError, IndexError):
                out.append(None)
        return out

    start = metas()
    if case == "incremental":
        kill_when((*index, "--data-dir", crashed), lambda: metas()[0] != start[0])
    else:  # a new generation's p01 is made after its p00's commit returned

        def ready() -> bool:
            return any(p.parent.name != published for p in root.glob("gen-*/p01"))

        kill_when((*index, "--data-dir", crashed), ready)
    after = metas()
    if case == "fresh":
        assert not (root / "CURRENT").exists()  # nothing published: a reader sees no index
        assert after[2] is None  # the last partition was never started
    elif case == "repartition":
        assert (root / "CURRENT").read_text() == published  # the old generation, whole
        assert after[2] is None and len(list(root.glob("gen-*"))) == 2
        assert _units(crashed)[0] == total
    else:
        assert after[0] != start[0] and after[2] == start[2]  # killed between commits
        docs, _ = _units(crashed)  # the published index opens, partitions before or after
        assert before < docs < total

    run_env(*index, "--data-dir", crashed, "--json")
    assert _units(crashed) == _units(clean)
    assert _units(crashed)[0] == total
    assert len(list(root.glob("gen-*"))) == 1
