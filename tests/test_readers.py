"""Every reader on the real samples, with counts computed independently of corpuscope."""

from __future__ import annotations

import gzip
import io
import json
import lzma
import re
import shutil
import tarfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from corpuscope.config import Settings
from corpuscope.errors import SourceRefused
from corpuscope.ingest.pipeline import plan_hf, plan_sources
from corpuscope.ingest.readers import detect_format, read_source
from corpuscope.models.documents import Quarantined, SourceRecord
from tests.conftest import SAMPLES, documents

C4 = SAMPLES / "c4" / "c4-en-sample-449.jsonl.gz"
C4_ORIG = SAMPLES / "c4" / "c4-validation.00000-of-00008.dummy.json.gz"
DOLMA = SAMPLES / "commoncrawl" / "cc-main-2019-30-dolma-697.jsonl.gz"
DOLMA_HEAD = SAMPLES / "commoncrawl" / "cc-en-head-0091-dolma.jsonl.gz"
WARC = SAMPLES / "commoncrawl" / "cc-main-2020-34-excerpt.warc.gz"
WGET = SAMPLES / "commoncrawl" / "wget-crawl-sample-0000.warc.gz"
ONE_WARC = SAMPLES / "commoncrawl" / "cc-main-2024-22-one-page.warc.gz"
ONE_WET = SAMPLES / "commoncrawl" / "cc-main-2024-22-one-page.warc.wet.gz"
ONE_WAT = SAMPLES / "commoncrawl" / "cc-main-2024-22-one-page.warc.wat.gz"
OWT = SAMPLES / "openwebtext" / "urlsf_subset00"
PILE = SAMPLES / "pile" / "pile-00-excerpt.jsonl.zst"


def records(path: Path, fmt: str | None = None, **options):
    tasks, _ = plan_sources([path], "t", Settings(), fmt, options)
    assert len(tasks) == 1
    return list(read_source(tasks[0], Settings().max_doc_bytes))


def json_lines(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        return [json.loads(line) for line in f if line.strip()]


def meta(e: dict) -> dict:
    """RedPajama's `meta` is an object in some releases and a JSON string in others."""
    m = e["meta"]
    return json.loads(m) if isinstance(m, str) else m


def test_c4_redpajama_layout_maps_meta_fields():
    expected = json_lines(C4)
    recs = records(C4)
    assert len(recs) == len(expected) == 449
    assert all(isinstance(r, SourceRecord) for r in recs)
    assert [r.text for r in recs] == [e["text"] for e in expected]
    assert [r.url for r in recs] == [meta(e)["url"] for e in expected]
    assert recs[0].timestamp == meta(expected[0])["timestamp"]
    assert recs[0].language == meta(expected[0])["language"]
    assert "meta" in recs[0].metadata and "text" not in recs[0].metadata


def test_c4_original_layout():
    expected = json_lines(C4_ORIG)
    recs = records(C4_ORIG)
    assert [(r.url, r.timestamp) for r in recs] == [(e["url"], e["timestamp"]) for e in expected]


def test_dolma_layout_uses_id_and_warc_url():
    expected = json_lines(DOLMA)
    recs = records(DOLMA)
    assert len(recs) == len(expected) == 697
    docs = [r for r in recs if isinstance(r, SourceRecord)]
    empty = [e for e in expected if not e["text"].strip()]
    assert len(docs) == len(expected) - len(empty)
    assert all(r.reason == "empty text" for r in recs if isinstance(r, Quarantined))
    first = next(e for e in expected if e["text"].strip())
    assert docs[0].source_id == first["id"]
    assert docs[0].url == first["metadata"]["warc_url"]
    assert docs[0].timestamp == first["created"]
    head = records(DOLMA_HEAD)
    assert [r.source_id for r in head] == [e["id"] for e in json_lines(DOLMA_HEAD)]


def test_pile_zstd():
    raw = zstandard.ZstdDecompressor().stream_reader(PILE.open("rb")).read()
    expected = [json.loads(line) for line in raw.splitlines() if line.strip()]
    recs = records(PILE)
    assert [r.text for r in recs] == [e["text"] for e in expected]
    assert recs[0].metadata["meta"] == expected[0]["meta"]


def _warc_responses(path: Path) -> int:
    data = gzip.decompress(path.read_bytes())
    return len(re.findall(rb"WARC-Type: response\r\n", data))


@pytest.mark.parametrize("path", [WARC, WGET, ONE_WARC])
def test_warc_html_responses_become_main_text(path: Path):
    recs = records(path)
    assert detect_format(path) == "warc"
    docs = [r for r in recs if isinstance(r, SourceRecord)]
    # every response is counted: a document, quarantined, or skipped (non-HTML / non-200)
    from corpuscope.models.documents import Skipped

    assert len(recs) == _warc_responses(path)
    assert docs and all("<html" not in r.text.lower() for r in docs)
    assert all(r.url and not r.url.startswith("<") for r in docs)
    assert all(r.source_id.startswith("<urn:uuid:") for r in docs)
    assert len(docs) + sum(isinstance(r, (Quarantined, Skipped)) for r in recs) == len(recs)


def test_wet_plain_text_and_same_page_as_warc():
    assert detect_format(ONE_WET) == "wet"
    (wet,) = records(ONE_WET)
    (warc,) = records(ONE_WARC)
    assert wet.url == warc.url == "https://an.wikipedia.org/wiki/Escopete"
    assert "Escopete" in wet.text and "Escopete" in warc.text


def test_wat_is_refused_clearly(tmp_path: Path):
    with pytest.raises(SourceRefused, match="WAT"):
        detect_format(ONE_WAT)
    renamed = tmp_path / "crawl.warc.gz"  # sniffed by content, not only by name
    shutil.copy(ONE_WAT, renamed)
    with pytest.raises(SourceRefused, match="WAT"):
        detect_format(renamed)


def test_openwebtext_folder():
    files = sorted(OWT.glob("*.txt"))
    recs = records(OWT)
    assert [r.source_id for r in recs] == [p.stem for p in files]
    assert [r.text for r in recs] == [p.read_text() for p in files]


def _owt_archives(tmp_path: Path) -> tuple[Path, Path]:
    """The real OpenWebText shape: an outer tar of subset .xz archives (tar.xz of .txt)."""
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:xz") as tar:
        for p in sorted(OWT.glob("*.txt")):
            tar.add(p, arcname=p.name)
    outer = tmp_path / "openwebtext.tar"
    with tarfile.open(outer, "w") as tar:
        info = tarfile.TarInfo("openwebtext/urlsf_subset00-1_data.xz")
        info.size = len(inner.getvalue())
        tar.addfile(info, io.BytesIO(inner.getvalue()))
    plain_xz = tmp_path / "urlsf_subset00-1_data.xz"
    plain_xz.write_bytes(inner.getvalue())
    return outer, plain_xz


def test_openwebtext_archives(tmp_path: Path):
    folder = [(r.source_id, r.text) for r in records(OWT)]
    outer, plain_xz = _owt_archives(tmp_path)
    assert [(r.source_id, r.text) for r in records(outer)] == folder
    assert [(r.source_id, r.text) for r in records(plain_xz)] == folder


def test_parquet_file_and_folder(tmp_path: Path):
    expected = json_lines(C4_ORIG)
    table = pa.Table.from_pylist(expected)
    folder = tmp_path / "pq"
    folder.mkdir()
    pq.write_table(table, folder / "part-0.parquet")
    pq.write_table(table, folder / "part-1.parquet")
    recs = records(folder / "part-0.parquet")
    assert [r.text for r in recs] == [e["text"] for e in expected]
    tasks, _ = plan_sources([folder], "t", Settings())
    assert [t.format for t in tasks] == ["parquet", "parquet"]


def test_custom_fields(tmp_path: Path):
    path = tmp_path / "custom.jsonl"
    path.write_text(
        json.dumps(
            {
                "body": "hello there",
                "key": 7,
                "link": "https://a.example.org/x",
                "info": {"when": "2021-05-01T10:00:00+02:00"},
            }
        )
        + "\n"
    )
    (rec,) = records(
        path, text_field="body", id_field="key", url_field="link", timestamp_field="info.when"
    )
    assert (rec.text, rec.source_id, rec.url) == ("hello there", "7", "https://a.example.org/x")
    assert rec.timestamp == "2021-05-01T10:00:00+02:00"
    assert "body" not in rec.metadata and rec.metadata["key"] == 7


def test_hf_datasets_local_files(data_dir: Path):
    """`datasets` streams local files the same way it streams the hub (no network here)."""
    from corpuscope import jobs

    settings = Settings(data=data_dir)
    summary = jobs.ingest(
        settings,
        "hf",
        [],
        hf={"name": "json", "data_files": [str(C4)], "split": "train", "limit": 100},
    )
    assert summary.ok and summary.documents_written == 100
    table = documents(data_dir, "hf")
    expected = json_lines(C4)[:100]
    assert sorted(table.column("url").to_pylist()) == sorted(meta(e)["url"] for e in expected)
    task = plan_hf("hf", settings, "json", data_files=[str(C4)], limit=100)
    assert task.source == "hf:json/train:c4-en-sample-449.jsonl.gz"


def test_detect_format_by_name(tmp_path: Path):
    cases = {
        "a.jsonl": "jsonl",
        "a.json.gz": "jsonl",
        "a.jsonl.zst": "jsonl",
        "b.parquet": "parquet",
        "c.txt": "owt",
        "d.tar": "owt",
        "e.tar.xz": "owt",
    }
    for name, fmt in cases.items():
        (tmp_path / name).write_bytes(b"")
        assert detect_format(tmp_path / name) == fmt
    (tmp_path / "x.bin").write_bytes(b"")
    with pytest.raises(SourceRefused, match="--format"):
        detect_format(tmp_path / "x.bin")


def test_xz_compressed_jsonl(tmp_path: Path):
    path = tmp_path / "c4.jsonl.xz"
    path.write_bytes(lzma.compress(gzip.decompress(C4_ORIG.read_bytes())))
    assert [r.text for r in records(path)] == [e["text"] for e in json_lines(C4_ORIG)]


def _warc(records: list[tuple[str, str, bytes]]) -> bytes:
    """A gzipped WARC, one gzip member per record: (WARC-Type, target URI, block)."""
    out = b""
    for i, (wtype, uri, block) in enumerate(records):
        msg = "request" if wtype == "request" else "response"
        head = (
            f"WARC/1.0\r\nWARC-Type: {wtype}\r\n"
            f"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-{i:012d}>\r\n"
            f"WARC-Date: 2024-01-0{i + 1}T00:00:00Z\r\nWARC-Target-URI: {uri}\r\n"
            f"Content-Type: application/http; msgtype={msg}\r\n"
            f"Content-Length: {len(block)}\r\n\r\n"
        ).encode()
        out += gzip.compress(head + block + b"\r\n\r\n")
    return out


def test_warc_skips_and_counts_non_html_and_non_200(tmp_path: Path, cli, data_dir):
    page = (
        b"<html><body><article><p>"
        + b"A real paragraph of text. " * 20
        + b"</p></article></body></html>"
    )
    path = tmp_path / "crawl.warc.gz"
    path.write_bytes(
        _warc(
            [
                ("request", "https://a.example/", b"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"),
                (
                    "response",
                    "https://a.example/",
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + page,
                ),
                (
                    "response",
                    "https://a.example/gone",
                    b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\r\n" + page,
                ),
                (
                    "response",
                    "https://a.example/x.png",
                    b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\n\x89PNG",
                ),
                (
                    "response",
                    "https://a.example/empty",
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html></html>",
                ),
            ]
        )
    )
    summary = json.loads(cli("ingest", path, "--corpus", "w", "--json").stdout)
    assert summary["documents_written"] == 1
    assert summary["skipped_records"] == 2  # the 404 and the PNG
    assert summary["quarantined"] == 1 and summary["quarantine_reasons"] == {"no text extracted": 1}
    assert summary["records_read"] == summary["documents_written"] + summary["quarantined"]
    (doc,) = documents(data_dir, "w").to_pylist()
    assert doc["url"] == "https://a.example/" and "A real paragraph" in doc["text"]
    assert doc["domain"] == "a.example" and doc["timestamp"].year == 2024
