"""The index: incremental, atomically visible, partitioned, and searchable while it grows."""

from __future__ import annotations

import gzip
import json
import shutil
import threading
from pathlib import Path

import pytest

from corpuscope.config import Settings
from corpuscope.errors import CorpusLocked, NotScanned
from corpuscope.index.build import build_index, index_root, read_layout
from corpuscope.index.person import person
from corpuscope.index.query import exact, search
from corpuscope.index.searcher import Indexes
from corpuscope.models.answers import Filters
from corpuscope.store import Store
from tests.conftest import PEOPLE, SAMPLES, run_cmd, write_people

C4 = SAMPLES / "c4" / "c4-en-sample-449.jsonl.gz"
DOLMA = SAMPLES / "commoncrawl" / "cc-main-2019-30-dolma-697.jsonl.gz"


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in gzip.decompress(path.read_bytes()).splitlines()]


def _write(path: Path, docs: list[dict]) -> Path:
    path.write_bytes(gzip.compress("".join(json.dumps(d) + "\n" for d in docs).encode()))
    return path


def _indexed_docs(data: Path, corpus: str) -> int:
    ci = Indexes(Store(data)).get(corpus)
    return ci.num_docs() if ci else 0


def test_index_is_incremental(tmp_path: Path, cli, data_dir: Path):
    src = tmp_path / "src"
    src.mkdir()
    docs = _lines(C4)
    _write(src / "a.jsonl.gz", docs[:200])
    cli("ingest", src, "--corpus", "c", "--quiet", "--shard-docs", 100)
    first = json.loads(cli("index", "--corpus", "c", "--json").stdout)
    assert first["shards_added"] == 2 and first["documents_added"] == 200 and first["rebuilt"]
    again = json.loads(cli("index", "--corpus", "c", "--json").stdout)
    assert again["shards_added"] == 0 and again["shards_kept"] == 2
    assert again["generation"] == first["generation"]

    # a new source: only its shard is added
    _write(src / "b.jsonl.gz", docs[200:260])
    cli("ingest", src, "--corpus", "c", "--quiet", "--shard-docs", 100)
    more = json.loads(cli("index", "--corpus", "c", "--json").stdout)
    assert (more["shards_added"], more["shards_removed"], more["shards_kept"]) == (1, 0, 2)
    assert _indexed_docs(data_dir, "c") == 260

    # a changed source: its old shards leave the index, the new ones come in
    marker = "Zanzibarian quokkas juggle marmalade"
    changed = [dict(d) for d in docs[200:250]]
    changed[0]["text"] = marker + ". " + changed[0]["text"]
    _write(src / "b.jsonl.gz", changed)
    settings = Settings(data=data_dir)
    old_words = " ".join(docs[255]["text"].split()[:12])
    ix = Indexes(Store(data_dir))
    assert exact(ix, old_words, settings).documents >= 1
    cli("ingest", src, "--corpus", "c", "--quiet", "--shard-docs", 100)
    swap = json.loads(cli("index", "--corpus", "c", "--json").stdout)
    assert (swap["shards_added"], swap["shards_removed"]) == (1, 1)
    assert _indexed_docs(data_dir, "c") == 250
    assert exact(ix, marker, settings).documents == 1  # the open searcher sees the new state
    assert exact(ix, old_words, settings).documents == 0


def test_scanning_after_indexing_reindexes_with_the_hashes(tmp_path: Path, cli, data_dir: Path):
    cli("ingest", write_people(tmp_path / "p"), "--corpus", "people", "--quiet")
    cli("index", "--corpus", "people", "--quiet")
    settings = Settings(data=data_dir)
    ix = Indexes(Store(data_dir))
    ask = {"filters": Filters(corpora=["people"]), "emails": ["ada.lovelace@example.org"]}
    with pytest.raises(NotScanned, match="corpuscope scan --corpus people"):
        person(ix, "Ada Lovelace", settings, **ask)  # not scanned: an error, never a 0
    cli("scan", "--corpus", "people", "--quiet")
    out = json.loads(cli("index", "--corpus", "people", "--json").stdout)
    assert out["shards_added"] == 1 and out["shards_removed"] == 1
    after = person(ix, "Ada Lovelace", settings, **ask).corpora[0]
    assert after.identifier_documents == {"email 1": 2}
    assert _indexed_docs(data_dir, "people") == len(PEOPLE)


def test_changing_the_partitions_builds_a_new_generation(cli, data_dir: Path):
    cli("ingest", C4, "--corpus", "c", "--quiet", "--shard-docs", 50)
    one = json.loads(cli("index", "--corpus", "c", "--partitions", 1, "--json").stdout)
    settings = Settings(data=data_dir)
    ix = Indexes(Store(data_dir))
    before = search(ix, "privacy policy", settings, k=20)
    three = json.loads(cli("index", "--corpus", "c", "--partitions", 3, "--json").stdout)
    assert three["rebuilt"] and three["generation"] != one["generation"]
    root = index_root(Store(data_dir).corpus("c"))
    assert [p.name for p in root.glob("gen-*")] == [three["generation"]]
    layout = read_layout(root)
    assert layout.partitions == 3
    sizes = [len(list(p.iterdir())) for p in layout.partition_paths()]
    assert all(sizes)  # every partition got shards
    after = search(ix, "privacy policy", settings, k=20)
    assert after.total == before.total
    assert {h.doc_id for h in after.hits} == {h.doc_id for h in before.hits}
    assert _indexed_docs(data_dir, "c") == 449


def test_a_second_build_refuses_while_one_runs(cli, data_dir: Path):
    from corpuscope.index.build import _build_lock

    cli("ingest", C4, "--corpus", "c", "--quiet")
    cs = Store(data_dir).corpus("c")
    with _build_lock(index_root(cs), 0), pytest.raises(CorpusLocked):
        build_index(cs)
    result = cli("index", "--corpus", "c", expect=None)
    assert result.exit_code == 0


def test_search_stays_available_while_data_is_added(tmp_path: Path):
    """Queries in a loop while ingest, scan and index run in another process: no errors."""
    data = tmp_path / "data"
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(C4, src / "c4.jsonl.gz")
    assert run_cmd("ingest", src, "--corpus", "live", "--quiet", "--data-dir", data).returncode == 0
    assert run_cmd("index", "--corpus", "live", "--quiet", "--data-dir", data).returncode == 0
    settings = Settings(data=data)
    ix = Indexes(Store(data))
    errors: list[BaseException] = []
    totals: list[int] = []
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                totals.append(search(ix, "the", settings, k=5).total)
                exact(ix, "privacy policy", settings)
            except BaseException as exc:
                errors.append(exc)

    t = threading.Thread(target=loop)
    t.start()
    try:
        for i in range(3):
            shutil.copy(DOLMA, src / f"more-{i}.jsonl.gz")
            for step in (("ingest", src), ("scan",), ("index",)):
                proc = run_cmd(*step, "--corpus", "live", "--quiet", "--data-dir", data)
                assert proc.returncode == 0, proc.stderr
    finally:
        stop.set()
        t.join()
    assert not errors, errors[:3]
    assert len(totals) > 10
    assert totals == sorted(totals)  # each state seen is a whole build: counts only grow
