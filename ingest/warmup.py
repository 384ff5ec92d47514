"""Imported by the ingest workers' server (`executors.PRELOAD`): a tiny shard is normalised
and written to Parquet once there, so that every worker forked from the server starts warm
(the public suffix list loaded, CLD2's tables paged in, Arrow's compute kernels and Parquet
writer set up, pandas imported by pyarrow's first conversion) instead of paying for it on its
first shard."""

from __future__ import annotations

from corpuscope.ingest.normalise import normalise_batch
from corpuscope.ingest.pipeline import keep_freed_memory, parquet_bytes
from corpuscope.models.documents import SourceRecord


def warm_up() -> None:
    """Normalise one small record and write it as a shard would be written (then drop it)."""
    keep_freed_memory()
    record = SourceRecord(0, "A few words to warm up with.", url="https://www.example.com/")
    parquet_bytes(normalise_batch([record], "warm", "warm", "warm", 2000), "zstd")


warm_up()
