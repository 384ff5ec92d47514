"""Hugging Face `datasets` datasets (hub or local files), streamed."""

from __future__ import annotations

from collections.abc import Iterator

import orjson

from corpuscope.ingest.readers.fields import field_map, mapped
from corpuscope.models.documents import Quarantined, SourceRecord
from corpuscope.models.work import SourceTask


def read_hf(task: SourceTask, max_doc_bytes: int) -> Iterator[SourceRecord | Quarantined]:
    """A Hugging Face dataset, streamed (hub name, or a packaged builder with local files)."""
    import datasets

    spec = orjson.loads(task.location)
    fields = field_map(task)
    ds = datasets.load_dataset(
        spec["name"],
        spec.get("config"),
        split=spec.get("split") or "train",
        streaming=spec.get("streaming", True),
        data_files=spec.get("data_files"),
        revision=spec.get("revision"),
    )
    limit = spec.get("limit")
    for ordinal, obj in enumerate(ds):
        if limit is not None and ordinal >= limit:
            return
        yield mapped(fields, obj, ordinal, max_doc_bytes)
