"""Readers, one module per format: turn a source in its native format into `SourceRecord`s (or `Quarantined`).

Formats (auto-detected from the name and the first bytes, overridable with `--format`):

- ``jsonl``: JSON lines, plain or compressed (.gz, .zst, .xz); C4, RedPajama, Dolma and The
  Pile layouts are mapped by `FieldMap`, other layouts with ``--text-field`` and friends.
- ``parquet``: a Parquet file.
- ``warc``: Common Crawl WARC; HTML 200 responses become their main text (resiliparse).
- ``wet``: Common Crawl WET plain-text records.
- ``owt``: OpenWebText, a folder of .txt files or its .tar / .tar.xz / .xz archives.
- ``hf``: a Hugging Face `datasets` dataset (hub or local files), streamed.

WAT files are recognised and refused: they hold metadata, not page text.

A reader raises `ShardFailure` (naming the file and the compressed byte offset) when the input
itself is broken (truncated or corrupt archive); a bad *record* is yielded as `Quarantined` and
reading goes on.
"""

from __future__ import annotations

from collections.abc import Iterator

from corpuscope.errors import SourceRefused
from corpuscope.ingest.readers.detect import FORMATS, detect_format
from corpuscope.ingest.readers.hf import read_hf
from corpuscope.ingest.readers.jsonl import read_jsonl
from corpuscope.ingest.readers.owt import read_owt
from corpuscope.ingest.readers.parquet import read_parquet
from corpuscope.ingest.readers.warc import read_warc
from corpuscope.models.documents import Quarantined, Skipped, SourceRecord
from corpuscope.models.work import SourceTask

__all__ = ["FORMATS", "detect_format", "read_source"]

_READERS = {
    "jsonl": read_jsonl,
    "parquet": read_parquet,
    "warc": read_warc,
    "wet": read_warc,
    "owt": read_owt,
    "hf": read_hf,
}


def read_source(
    task: SourceTask, max_doc_bytes: int
) -> Iterator[SourceRecord | Quarantined | Skipped]:
    """Records of one source task, in a deterministic order."""
    if task.format not in _READERS:
        raise SourceRefused(f"unknown format {task.format!r}; use one of {', '.join(FORMATS)}")
    yield from _READERS[task.format](task, max_doc_bytes)
