"""Edge cases found in review: each one once lost data, duplicated it or broke exactness."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from corpuscope.ingest.executors import LocalExecutor
from corpuscope.ingest.pipeline import plan_sources
from corpuscope.ingest.readers import SourceRefused
from corpuscope.privacy.detect import Detector
from corpuscope.privacy.scan import scan

from corpuscope.config import Settings
from corpuscope.models import SourceRecord
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
        cli("ingest", path, "--corpus", "b", "--max-doc-bytes", 1000, "--json").stdout
    )
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
    from corpuscope.cli import run_ingest

    data = tmp_path / "data"
    settings = Settings(data=data, workers=1)
    src = tmp_path / "s.jsonl"
    src.write_text(json.dumps({"text": "mail me at a.b@example.org"}) + "\n")
    run_ingest(settings, "r", [str(src)], quiet=True)
    scan(Store(data), "r", settings, LocalExecutor(1))
    cs = Store(data).corpus("r")
    assert len(cs.pii_paths()) == 1
    src.write_text(json.dumps({"text": "now there is nothing here at all"}) + "\n")
    run_ingest(settings, "r", [str(src)], quiet=True)  # new input: new shard, old sidecar stale
    assert cs.pii_paths() == []
    scan(Store(data), "r", settings, LocalExecutor(1))
    (path,) = cs.pii_paths()
    assert pq.read_table(path).num_rows == 0
