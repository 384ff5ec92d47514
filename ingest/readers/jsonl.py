"""JSON lines, plain or compressed (.gz, .zst, .xz)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import orjson

from corpuscope.ingest.readers.fields import field_map, has_huge_number
from corpuscope.ingest.readers.files import (
    BROKEN,
    failure,
    open_decompressed,
    zstd_error,
)
from corpuscope.models.documents import Quarantined, SourceRecord
from corpuscope.models.work import SourceTask


def read_jsonl(task: SourceTask, max_doc_bytes: int) -> Iterator[SourceRecord | Quarantined]:
    fields = field_map(task)
    stream, raw = open_decompressed(Path(task.location))
    broken = BROKEN + zstd_error()
    ordinal = 0
    with raw, stream:
        while True:
            try:
                line = stream.readline(max_doc_bytes + 1)
            except broken as exc:
                raise failure(task.location, raw, ordinal, exc) from exc
            if not line:
                return
            if len(line) > max_doc_bytes and not line.endswith(b"\n"):
                # Oversized record: keep its first max_doc_bytes bytes, skip the rest of the line.
                head, total = line[:max_doc_bytes], len(line)
                try:
                    while line and not line.endswith(b"\n"):
                        line = stream.readline(1 << 20)
                        total += len(line)
                except broken as exc:
                    raise failure(task.location, raw, ordinal, exc) from exc
                yield Quarantined(
                    ordinal,
                    f"oversized record: {total} bytes > max_doc_bytes={max_doc_bytes} "
                    f"(first {max_doc_bytes} bytes kept)",
                    head,
                )
                ordinal += 1
                continue
            if ordinal == 0 and line.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark
                line = line[3:]
            if not line or line.isspace():  # a blank line (or a lone byte order mark) is no record
                continue
            try:
                obj = orjson.loads(line)
                if has_huge_number(obj):  # maybe an integer past 64 bits: read it exactly
                    obj = json.loads(line)
            except orjson.JSONDecodeError as exc:
                reason = "invalid UTF-8" if "utf-8" in str(exc).lower() else f"bad JSON: {exc}"
                yield Quarantined(ordinal, reason, line.rstrip(b"\r\n"))
                ordinal += 1
                continue
            rec = fields.to_record(obj, ordinal)
            if isinstance(rec, Quarantined):
                rec.raw = line.rstrip(b"\r\n")
            yield rec
            ordinal += 1
