"""Edge cases found in review: each one once lost data, duplicated it or broke exactness."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpuscope.config import Settings
from corpuscope.errors import SourceRefused
from corpuscope.ingest.executors import LocalExecutor
from corpuscope.ingest.pipeline import plan_sources
from corpuscope.models.documents import SourceRecord
from corpuscope.privacy.detect import Detector
from corpuscope.privacy.scan import scan
from corpuscope.store import Store
from tests.conftest import SAMPLES, documents
from tests.test_readers import WGET, records


def test_parquet_timestamp_columns_are_read_not_quarantined(tmp_path: Path, cli, data_dir):
    table = pa.table(
        {
            "text": ["one", "two"],
            "timestamp": pa.array(
                [dt.datetime(2020, 1, 2, 3, 4, 5), None], type=pa.timestamp("us")
            ),
            "day": pa.array([dt.date(2020, 1, 2), dt.date(2021, 1, 1)]),
        }
    )
    pq.write_table(table, tmp_path / "t.parquet")
    summary = json.loads(cli("ingest", tmp_path / "t.parquet", "--corpus", "t", "--json").stdout)
    assert summary["documents_written"] == 2 and summary["quarantined"] == 0
    stamps = sorted(str(d["timestamp"]) for d in documents(data_dir, "t").to_pylist())
    assert stamps[0].startswith("2020-01-02 03:04:05")


def test_an_out_of_range_timestamp_does_not_fail_the_shard(tmp_path: Path, cli, data_dir):
    path = tmp_path / "x.jsonl"
    path.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"text": "before", "timestamp": "2020-01-01T00:00:00Z"},
                {"text": "odd", "timestamp": "0001-01-01T00:00:00+01:00"},
                {"text": "after", "timestamp": "2020-01-01T00:00:00Z"},
            ]
        )
        + "\n"
    )
    summary = json.loads(cli("ingest", path, "--corpus", "x", "--json").stdout)
    assert summary["ok"] and summary["documents_written"] == 3


def test_a_byte_order_mark_is_not_a_bad_record(tmp_path: Path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"text": "first"}\n{"text": "second"}\n')
    assert [r.text for r in records(path)] == ["first", "second"]
    path.write_bytes(b"\xef\xbb\xbf")  # a file that is only a byte order mark holds no record
    assert records(path) == []


def test_a_deeply_nested_record_does_not_fail_its_shard(tmp_path: Path, cli):
    """orjson reads 1,000 levels; looking for big integers in them must not recurse."""
    path = tmp_path / "deep.jsonl"
    deep = "[" * 900 + "12345678901234567890123" + "]" * 900
    path.write_text(
        '{"text": "first"}\n'
        f'{{"text": "deep", "m": {deep}}}\n'
        f'{{"text": "shallow", "m": {"[" * 900 + "1" + "]" * 900}}}\n'
        '{"text": "last"}\n'
    )
    summary = json.loads(cli("ingest", path, "--corpus", "deep", "--json").stdout)
    assert (summary["records_read"], summary["documents_written"]) == (4, 4)
    assert summary["shards_failed"] == 0
    (rec,) = [r for r in records(path) if r.text == "deep"]
    inner = rec.metadata["m"]
    while isinstance(inner, list):
        (inner,) = inner
    assert inner == 12345678901234567890123  # read exactly, not as a float


def test_shards_of_an_older_normaliser_are_flagged_then_redone(tmp_path: Path, cli, data_dir):
    """Languages and text hashes of an older normalisation are not comparable with today's."""
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text('{"text": "The same words."}\n')
    b.write_text('{"text": "The same words."}\n')
    cli("ingest", a, "--corpus", "old")
    cs = Store(data_dir).corpus("old")
    (shard,) = cs.manifest().shards.values()
    shard.normaliser = 1  # as if an earlier version had written it
    cs.record([shard])
    summary = json.loads(cli("ingest", b, "--corpus", "old", "--json").stdout)
    assert summary["outdated_sources"] == ["a.jsonl"]
    assert "outdated" in cli("ingest", b, "--corpus", "old").stdout
    summary = json.loads(cli("ingest", a, "--corpus", "old", "--json").stdout)
    assert summary["shards_done"] == 1 and summary["outdated_sources"] == []
    hashes = documents(data_dir, "old").column("text_hash").to_pylist()
    assert len(hashes) == 2 and hashes[0] == hashes[1]


def test_nested_text_folders_are_read_once(tmp_path: Path, cli, data_dir):
    root = tmp_path / "owt"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("first document")
    (root / "sub" / "b.txt").write_text("second document")
    (root / ".hidden").mkdir()
    (root / ".hidden" / "c.txt").write_text("never")
    summary = json.loads(cli("ingest", root, "--corpus", "o", "--json").stdout)
    assert summary["documents_written"] == 2
    assert sorted(d["text"] for d in documents(data_dir, "o").to_pylist()) == [
        "first document",
        "second document",
    ]


def test_sources_with_the_same_name_are_refused(tmp_path: Path):
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        shutil.copy(
            SAMPLES / "c4" / "c4-validation.00000-of-00008.dummy.json.gz",
            tmp_path / d / "data.json.gz",
        )
    with pytest.raises(SourceRefused, match="share the name"):
        plan_sources(
            [tmp_path / "a" / "data.json.gz", tmp_path / "b" / "data.json.gz"], "c", Settings()
        )


def test_ingesting_a_folder_skips_the_data_directory_inside_it(tmp_path: Path):
    shutil.copy(SAMPLES / "c4" / "c4-validation.00000-of-00008.dummy.json.gz", tmp_path)
    data = tmp_path / "corpuscope-data"
    (data / "corpora" / "x" / "shards").mkdir(parents=True)
    (data / "corpora" / "x" / "shards" / "s.parquet").write_bytes(b"PAR1")
    tasks, _ = plan_sources([tmp_path], "c", Settings(data=data))
    assert [t.format for t in tasks] == ["jsonl"]


def test_changing_max_doc_bytes_reprocesses_quarantined_records(tmp_path: Path, cli, data_dir):
    path = tmp_path / "big.jsonl"
    path.write_text(json.dumps({"text": "x" * 2000}) + "\n")
    first = json.loads(
        cli("ingest", path, "--corpus", "b", "--max-doc-bytes", 1000, "--json", expect=1).stdout
    )  # every record quarantined: the source fails, naming the fix
    assert first["quarantined"] == 1
    again = json.loads(
        cli("ingest", path, "--corpus", "b", "--max-doc-bytes", 5000, "--json").stdout
    )
    assert again["documents_written"] == 1 and documents(data_dir, "b").num_rows == 1


def test_chunked_http_bodies_are_decoded():
    texts = [r.text for r in records(WGET) if isinstance(r, SourceRecord)]
    assert texts[0].startswith("Meet Our Team")  # not the chunk size "925"


@pytest.mark.parametrize(
    "text",
    [
        "Call 212-555-1234 ext. 12 now",
        "tel + 33 1 42 68 53 00 ok",
        "x (+44) 20 7946 0018 y",
        "Fax:+49 30 18272-0, extension 4711.",
    ],
)
def test_phone_windows_reach_leading_plus_and_extensions(text):
    d = Detector()
    assert sorted(map(str, d.detect(text))) == sorted(map(str, d.full_scan(text)))


def test_sidecars_of_rewritten_shards_are_not_used(tmp_path: Path):
    from corpuscope import jobs

    data = tmp_path / "data"
    settings = Settings(data=data, workers=1)
    src = tmp_path / "s.jsonl"
    src.write_text(json.dumps({"text": "mail me at a.b@example.org"}) + "\n")
    jobs.ingest(settings, "r", [str(src)])
    scan(Store(data), "r", settings, LocalExecutor(1))
    cs = Store(data).corpus("r")
    assert len(cs.pii_paths()) == 1
    src.write_text(json.dumps({"text": "now there is nothing here at all"}) + "\n")
    jobs.ingest(settings, "r", [str(src)])  # new input: new shard, old sidecar stale
    assert cs.pii_paths() == []
    scan(Store(data), "r", settings, LocalExecutor(1))
    (path,) = cs.pii_paths()
    assert pq.read_table(path).num_rows == 0
