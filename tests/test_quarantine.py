"""Bad records are quarantined with their reason; the rest of the shard goes on.

For every shard: records read = documents written + quarantined.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq

from corpuscope.store import Store
from tests.conftest import SAMPLES, documents

GOOD = {
    "url": "https://www.example.org/a",
    "text": "A good document.",
    "timestamp": "2019-04-25T12:57:54Z",
}


def bad_shard(path: Path, max_doc_bytes: int) -> list[tuple[bytes, str | None]]:
    """A JSONL file mixing good and bad records; returns (line, expected reason or None)."""
    lines: list[tuple[bytes, str | None]] = [
        (json.dumps(GOOD).encode(), None),
        (b'{"text": "unterminated', "bad JSON"),
        (b'{"text": "caf\xe9 au lait"}', "invalid UTF-8"),
        (json.dumps({"url": "https://x.org"}).encode(), "missing text field 'text'"),
        (json.dumps({"text": "   \n "}).encode(), "empty text"),
        (json.dumps({"text": 42}).encode(), "wrong type"),
        (json.dumps({"text": "ok", "url": ["a", "b"]}).encode(), "wrong type"),
        (json.dumps({"text": "ok", "timestamp": {"y": 2019}}).encode(), "wrong type"),
        (b"[1, 2, 3]", "wrong type"),
        (json.dumps({"text": "x" * (max_doc_bytes + 10)}).encode(), "oversized record"),
        (b'{"text": "half a pair \\ud800 here", "n": 99999999999999999999}', "bad JSON"),
        (
            json.dumps(
                {**GOOD, "text": "Unknown fields are kept.", "surprise": {"deep": [1]}}
            ).encode(),
            None,
        ),
        (
            json.dumps(
                {**GOOD, "text": "Unparsable time kept raw.", "timestamp": "yesterday"}
            ).encode(),
            None,
        ),
    ]
    with gzip.open(path, "wb") as f:
        for line, _ in lines:
            f.write(line + b"\n")
        f.write(b"\n")  # blank lines are not records
    return lines


def test_every_bad_record_is_quarantined_with_reason(tmp_path: Path, cli, data_dir: Path):
    path = tmp_path / "mixed.jsonl.gz"
    lines = bad_shard(path, max_doc_bytes=1000)
    result = cli("ingest", path, "--corpus", "q", "--max-doc-bytes", 1000, "--json")
    summary = json.loads(result.stdout)
    expected_bad = [r for _, r in lines if r]
    assert summary["records_read"] == len(lines)
    assert summary["quarantined"] == len(expected_bad)
    assert summary["documents_written"] == len(lines) - len(expected_bad)
    assert summary["records_read"] == summary["documents_written"] + summary["quarantined"]
    assert summary["ok"] and summary["shards_failed"] == 0
    assert summary["quarantine_reasons"]["wrong type"] == 4

    cs = Store(data_dir).corpus("q")
    (qpath,) = cs.quarantine_paths()
    q = pq.read_table(qpath).sort_by("ordinal").to_pylist()
    bad = [(i, line, r) for i, (line, r) in enumerate(lines) if r]
    assert [row["ordinal"] for row in q] == [i for i, _, _ in bad]
    for row, (_, line, reason) in zip(q, bad, strict=True):
        assert row["reason"].startswith(reason), (row["reason"], reason)
        assert row["source"] == "mixed.jsonl.gz"
        if reason == "oversized record":
            assert row["raw"] == line[:1000]
        else:
            assert row["raw"] == line  # nothing lost: the raw record is kept

    docs = documents(data_dir, "q").to_pylist()
    texts = {d["text"]: d for d in docs}
    assert json.loads(texts["Unknown fields are kept."]["metadata"])["surprise"] == {"deep": [1]}
    kept = texts["Unparsable time kept raw."]
    assert (
        kept["timestamp"] is None and json.loads(kept["metadata"])["timestamp_raw"] == "yesterday"
    )


def test_accounting_holds_for_every_shard_of_the_demo(cli, data_dir: Path):
    cli("demo", "--quiet", "--no-serve")
    store = Store(data_dir)
    assert set(store.corpora()) == {"c4", "commoncrawl", "openwebtext", "pile"}
    for name in store.corpora():
        cs = store.corpus(name)
        for shard in cs.manifest().shards.values():
            assert shard.status == "done"
            assert shard.records == shard.documents + shard.quarantined
            table = pq.read_table(cs.root / shard.parquet)
            assert table.num_rows == shard.documents
            qfile = cs.quarantine_dir / f"{shard.shard_id}.parquet"
            assert (pq.read_table(qfile).num_rows if qfile.exists() else 0) == shard.quarantined
    # the Dolma sample has 27 records with empty text: quarantined, not lost
    cc = store.corpus("commoncrawl").manifest().totals()
    assert cc["quarantined"] == 27
    dolma = SAMPLES / "commoncrawl" / "cc-main-2019-30-dolma-697.jsonl.gz"
    assert len(gzip.decompress(dolma.read_bytes()).splitlines()) == 697


def test_a_record_that_cannot_be_normalised_is_quarantined(tmp_path: Path):
    """A shard is normalised at once; a record that breaks that is found and quarantined."""
    from corpuscope.config import Settings
    from corpuscope.ingest.pipeline import _ShardWriter, plan_sources
    from corpuscope.models.documents import SourceRecord

    settings = Settings(data=tmp_path / "data")
    path = tmp_path / "x.jsonl"
    path.write_text('{"text": "a"}\n')
    (task,), _ = plan_sources([path], "c", settings)
    cs = Store(settings.data).corpus("c")
    writer = _ShardWriter(task, cs, settings, 0)
    for i, text in enumerate(["Fine.", "Half a surrogate pair: \ud800.", "Also fine."]):
        writer.add(SourceRecord(i, text, metadata={"n": i}))
    shard = writer.publish()
    assert (shard.records, shard.documents, shard.quarantined) == (3, 2, 1)
    (row,) = pq.read_table(cs.quarantine_dir / f"{shard.shard_id}.parquet").to_pylist()
    assert row["ordinal"] == 1 and row["reason"].startswith("cannot normalise")
    assert json.loads(row["raw"]) == {"n": 1, "text": "Half a surrogate pair: \ud800."}
    texts = sorted(d["text"] for d in documents(settings.data, "c").to_pylist())
    assert texts == ["Also fine.", "Fine."]
