"""Round-trip properties of the data model, the Parquet schema and the JSON-lines reader."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpuscope.config import Settings
from corpuscope.ingest.normalise import normalise_batch, normalise_text
from corpuscope.ingest.pipeline import plan_sources
from corpuscope.ingest.readers import read_source
from corpuscope.models.documents import DOCUMENT_SCHEMA, SourceRecord, make_doc_id
from tests.conftest import to_document

texts = st.text(min_size=1, max_size=300).filter(lambda t: t.strip())
urls = st.one_of(
    st.none(),
    st.from_regex(r"https?://[a-z]{1,10}\.(com|org|co\.uk)/[a-z0-9/]{0,20}", fullmatch=True),
)
stamps = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
)

records = st.builds(
    lambda text, url, ts, sid, extra: {
        "text": text,
        "url": url,
        "timestamp": ts.isoformat() if ts else None,
        **({"id": sid} if sid else {}),
        "extra": extra,
    },
    texts,
    urls,
    stamps,
    st.one_of(st.none(), st.text(alphabet="abcdef0123456789", min_size=1, max_size=12)),
    st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=10), max_size=3),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(records, min_size=1, max_size=20))
def test_jsonl_reader_round_trip(tmp_path_factory, objs):
    path = Path(tmp_path_factory.mktemp("rt")) / "x.jsonl"
    path.write_bytes(b"".join(json.dumps(o).encode() + b"\n" for o in objs))
    (task,), _ = plan_sources([path], "t", Settings())
    recs = list(read_source(task, Settings().max_doc_bytes))
    assert len(recs) == len(objs)
    for rec, obj in zip(recs, objs, strict=True):
        assert isinstance(rec, SourceRecord)
        assert rec.text == obj["text"] and rec.url == obj["url"]
        assert rec.source_id == obj.get("id")
        assert rec.metadata["extra"] == obj["extra"]  # nothing dropped
        doc = to_document(rec, "t", "s", task.source, 2000)
        assert doc.text == normalise_text(obj["text"])
        if obj["timestamp"]:
            assert doc.timestamp == datetime.fromisoformat(obj["timestamp"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(texts, urls, stamps), min_size=1, max_size=15))
def test_parquet_schema_round_trip(rows):
    """A batch normalised at once equals its records normalised one by one, through Parquet."""
    records = [SourceRecord(i, t, url=u, timestamp=ts) for i, (t, u, ts) in enumerate(rows)]
    docs = [to_document(rec, "c", "s", "src", 2000) for rec in records]
    sink = pa.BufferOutputStream()
    pq.write_table(normalise_batch(records, "c", "s", "src", 2000), sink)
    table = pq.read_table(pa.BufferReader(sink.getvalue()))
    assert table.schema.equals(DOCUMENT_SCHEMA)
    assert [SimpleNamespace(**row) for row in table.to_pylist()] == docs


def test_doc_id_rules():
    assert make_doc_id("abc", "f1", 0) == make_doc_id("abc", "f1", 9)  # the record's own id wins
    assert make_doc_id("0", "f1", 0) != make_doc_id("0", "f2", 0)  # ids numbered per file
    assert make_doc_id(None, "f1", 0) != make_doc_id(None, "f1", 1)
    assert make_doc_id(None, "f1", 0) != make_doc_id(None, "f2", 0)
    assert len(make_doc_id(None, "f", 0)) == 32


def test_integers_past_64_bits_are_kept_exactly(tmp_path):
    """Found by the round-trip property: orjson alone would turn them into floats."""
    path = tmp_path / "big.jsonl"
    path.write_text(
        '{"text": "x", "n": -9223372036854775809, "m": [123456789012345678901234]}\n'
        '{"text": "y", "meta": {"a": {"b": 18446744073709551616}}, "f": 1.5e300}\n'
        '{"text": "z", "u": 18446744073709551615, "f": 2.5}\n'
    )
    (task,), _ = plan_sources([path], "t", Settings())
    recs = list(read_source(task, Settings().max_doc_bytes))
    assert recs[0].metadata["n"] == -9223372036854775809
    doc = to_document(recs[0], "t", "s", task.source, 1000)
    assert json.loads(doc.metadata)["m"] == [123456789012345678901234]
    assert recs[1].metadata["meta"]["a"]["b"] == 2**64 and recs[1].metadata["f"] == 1.5e300
    assert recs[2].metadata == {"u": 2**64 - 1, "f": 2.5}


def test_a_batch_cut_into_pieces_normalises_alike(monkeypatch):
    """Batches past Arrow's 2 GiB string limit are cut: the pieces give the same table."""
    from corpuscope.ingest import normalise

    records = [SourceRecord(i, f"Document number {i}, with some words.") for i in range(50)]
    whole = normalise_batch(records, "c", "s", "src", 2000)
    monkeypatch.setattr(normalise, "_BATCH_BYTES", 100)
    pieces = normalise_batch(records, "c", "s", "src", 2000)
    assert pieces.equals(whole) and pieces["text"].num_chunks > 1
