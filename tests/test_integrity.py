"""Integrity: `verify` finds each kind of damage, `verify --repair` restores a clean run's
result, a plain ingest rerun redoes a truncated shard, and data directories are private."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from corpuscope import jobs
from corpuscope.artifacts import statuses, summarise
from corpuscope.cli import app
from corpuscope.config import Settings
from corpuscope.index.build import read_layout
from corpuscope.stats.build import load_table, read_manifest
from corpuscope.store import Store, sha256_file
from tests.conftest import SAMPLES


def _cli(*args) -> Result:
    """`corpuscope ARGS` in this process (stdout and stderr apart)."""
    return CliRunner().invoke(app, [str(a) for a in args])


def _settings(data: Path) -> Settings:
    return Settings(data=data, workers=1)


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    """c4 ingested, scanned, indexed and with statistics: the clean run to compare with."""
    data = tmp_path_factory.mktemp("clean") / "data"
    settings = _settings(data)
    assert jobs.ingest(settings, "c4", [str(SAMPLES / "c4")]).ok
    assert jobs.scan(settings, "c4").ok
    jobs.index(settings, "c4")
    jobs.stats(settings, "c4")
    return data


def _state(data: Path) -> dict:
    """Everything a repair must bring back: shard and sidecar bytes, statistics rows, the
    index's documents and an answer."""
    from corpuscope.index.query import search
    from corpuscope.index.searcher import Indexes

    cs = Store(data).corpus("c4")
    settings = _settings(data)
    tables = {
        name: sorted(map(repr, load_table(cs, name).to_pylist()))
        for name in read_manifest(cs)["tables"]
    }
    answer = search(Indexes(Store(data)), "privacy policy", settings, k=20)
    return {
        "shards": {s.parquet: s.sha256 for s in cs.manifest().done()},
        "sidecars": {e["path"]: e["sha256"] for e in cs.pii_manifest()["shards"].values()},
        "stats": tables,
        "documents": sum(s.documents for s in cs.manifest().done()),
        "search": (answer.total, sorted(h.doc_id for h in answer.hits)),
    }


def _victim(cs, kind: str) -> Path:
    if kind == "shard":
        return cs.root / sorted(cs.manifest().done(), key=lambda s: s.shard_id)[0].parquet
    if kind == "sidecar":
        return sorted(cs.pii_dir.glob("*.parquet"))[-1]
    if kind == "stats":
        return cs.stats_dir / read_manifest(cs)["tables"]["by_domain"]["file"]
    layout = read_layout(cs.index_dir)
    files = layout.extra["files"]
    largest = max(files, key=lambda rel: files[rel][0])
    return layout.folder / largest


@pytest.mark.parametrize("kind", ["shard", "sidecar", "stats", "index"])
def test_verify_finds_truncation_and_repair_restores_the_clean_run(clean, tmp_path, kind):
    data = tmp_path / "data"
    shutil.copytree(clean, data)
    expected = _state(data)
    cs = Store(data).corpus("c4")
    assert all(r.ok for r in jobs.verify(_settings(data)))  # a clean copy verifies
    victim = _victim(cs, kind)
    os.truncate(victim, victim.stat().st_size // 2)

    (report,) = jobs.verify(_settings(data), "c4")
    assert not report.ok
    named = [s for s in report.found if s.state == "damaged"]
    assert named, report.to_json()
    rel = victim.relative_to(cs.root).as_posix()
    step = {"shard": "ingest", "sidecar": "scan", "stats": "stats", "index": "index"}[kind]
    assert any(s.step == step and (s.artifact == rel or s.artifact in rel) for s in named), (
        report.to_json()
    )
    if kind == "index":  # the damaged file itself is named in the reason
        assert victim.name in named[0].reason

    (fixed,) = jobs.verify(_settings(data), "c4", repair=True)
    assert fixed.ok, fixed.to_json()
    assert fixed.before and fixed.repaired and not fixed.unrepaired
    assert _state(data) == expected
    assert summarise(statuses(cs, _settings(data))) == {
        "scanned": "current",
        "indexed": "current",
        "stats": "current",
    }


def test_verify_cli_names_the_file_and_exits_non_zero(clean, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(clean, data)
    cs = Store(data).corpus("c4")
    victim = _victim(cs, "shard")
    raw = bytearray(victim.read_bytes())
    raw[len(raw) // 3] ^= 0xFF  # same size, same footer, other bytes
    victim.write_bytes(bytes(raw))
    quick = _cli("verify", "--quick", "--json", "--data-dir", data)
    assert quick.exit_code == 0  # sizes and footers are fine: only the sha256 tells
    deep = _cli("verify", "--json", "--data-dir", data)
    assert deep.exit_code == 1
    (report,) = json.loads(deep.stdout)
    assert [p["artifact"] for p in report["problems"]] == [victim.relative_to(cs.root).as_posix()]
    assert "sha256" in report["problems"][0]["reason"]
    human = _cli("verify", "--repair", "--data-dir", data)
    assert human.exit_code == 0, human.output
    assert "repaired" in human.output


def test_a_changed_source_is_not_repaired_silently(clean, tmp_path):
    """A shard whose source has changed since cannot be rebuilt as it was: said, exit 1."""
    src = tmp_path / "src.jsonl"
    src.write_text(json.dumps({"text": "one document about the weather in spring"}) + "\n")
    data = tmp_path / "data"
    settings = _settings(data)
    assert jobs.ingest(settings, "s", [str(src)]).ok
    cs = Store(data).corpus("s")
    (shard,) = cs.manifest().done()
    os.truncate(cs.root / shard.parquet, 10)
    src.write_text(json.dumps({"text": "another document entirely"}) + "\n")
    (report,) = jobs.verify(settings, "s", repair=True)
    assert not report.ok
    assert any("changed since" in line for line in report.unrepaired)


def test_ingest_rerun_redoes_a_truncated_shard(clean, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(clean, data)
    cs = Store(data).corpus("c4")
    shard = sorted(cs.manifest().done(), key=lambda s: s.shard_id)[0]
    path = cs.root / shard.parquet
    os.truncate(path, 100)
    summary = jobs.ingest(_settings(data), "c4", [str(SAMPLES / "c4")])
    assert summary.ok and summary.shards_done == 1 and summary.shards_skipped == 1
    assert sha256_file(path) == shard.sha256  # the same bytes as the clean run


def test_damaged_inputs_are_refused_by_index_and_stats(clean, tmp_path):
    from corpuscope.errors import Damaged

    data = tmp_path / "data"
    shutil.copytree(clean, data)
    settings = _settings(data)
    cs = Store(data).corpus("c4")
    path = _victim(cs, "shard")
    os.truncate(path, 100)
    with pytest.raises(Damaged, match="verify --repair"):
        jobs.stats(settings, "c4")
    with pytest.raises(Damaged, match="verify --repair"):
        jobs.index(settings, "c4", rebuild=True)


def test_new_data_directories_are_private(clean, tmp_path):
    for root, dirs, files in os.walk(clean):
        for d in dirs:
            assert stat.S_IMODE(os.stat(os.path.join(root, d)).st_mode) == 0o700, d
        for f in files:
            assert stat.S_IMODE(os.stat(os.path.join(root, f)).st_mode) == 0o600, f
    assert stat.S_IMODE(clean.stat().st_mode) == 0o700

    exposed = tmp_path / "exposed"
    shutil.copytree(clean, exposed)
    exposed.chmod(0o755)
    result = _cli("corpora", "--data-dir", exposed)
    assert "readable by other users" in result.stderr
    quiet = _cli("corpora", "--data-dir", clean)
    assert "readable by other users" not in quiet.stderr
