"""Parquet files."""

from __future__ import annotations

from collections.abc import Iterator

from corpuscope.ingest.readers.fields import field_map, mapped
from corpuscope.ingest.readers.files import (
    failure,
)
from corpuscope.models.documents import Quarantined, SourceRecord
from corpuscope.models.work import SourceTask


def read_parquet(task: SourceTask, max_doc_bytes: int) -> Iterator[SourceRecord | Quarantined]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields = field_map(task)
    ordinal = 0
    try:
        pf = pq.ParquetFile(task.location)
        for batch in pf.iter_batches(batch_size=1024):
            for obj in batch.to_pylist():
                yield mapped(fields, obj, ordinal, max_doc_bytes)
                ordinal += 1
    except (OSError, pa.ArrowException) as exc:
        raise failure(task.location, None, ordinal, exc) from exc
