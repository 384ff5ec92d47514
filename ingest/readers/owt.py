"""OpenWebText: folders of .txt files, .tar / .tar.xz archives and its .xz subsets."""

from __future__ import annotations

import gzip
import io
import lzma
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from corpuscope.ingest.readers.files import (
    BROKEN,
    failure,
    open_decompressed,
)
from corpuscope.models.documents import Quarantined, SourceRecord
from corpuscope.models.work import SourceTask


def _txt_record(
    data: bytes, name: str, ordinal: int, max_doc_bytes: int
) -> SourceRecord | Quarantined:
    if len(data) > max_doc_bytes:
        return Quarantined(
            ordinal,
            f"oversized record: {len(data)} bytes > max_doc_bytes={max_doc_bytes} ({name})",
            data[:max_doc_bytes],
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Quarantined(ordinal, f"invalid UTF-8 at byte {exc.start} ({name})", data)
    if not text.strip():
        return Quarantined(ordinal, f"empty text ({name})", data)
    stem = os.path.basename(name)
    stem = stem[: -len(".txt")] if stem.endswith(".txt") else stem
    return SourceRecord(ordinal=ordinal, text=text, source_id=stem, metadata={"file": name})


def read_owt(task: SourceTask, max_doc_bytes: int) -> Iterator[SourceRecord | Quarantined]:
    """OpenWebText: one document per .txt file, in a folder or (nested) tar/xz archives."""
    path = Path(task.location)
    if path.is_dir():
        files = sorted(p for p in path.glob("*.txt") if p.is_file())  # one folder per task
        for ordinal, p in enumerate(files):
            yield _txt_record(
                p.read_bytes(), p.relative_to(path).as_posix(), ordinal, max_doc_bytes
            )
        return
    if path.name.endswith(".txt"):
        yield _txt_record(path.read_bytes(), path.name, 0, max_doc_bytes)
        return
    stream, raw = open_decompressed(path)
    counter = [0]
    try:
        with raw, stream:
            yield from _tar_members(stream, counter, max_doc_bytes)
    except BROKEN as exc:
        raise failure(task.location, raw, counter[0], exc) from exc


def _tar_members(
    stream: BinaryIO, counter: list[int], max_doc_bytes: int
) -> Iterator[SourceRecord | Quarantined]:
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            if not member.isfile():
                continue
            f = tar.extractfile(member)
            if f is None:
                continue
            name = member.name
            if name.endswith(".txt"):
                yield _txt_record(f.read(), name, counter[0], max_doc_bytes)
                counter[0] += 1
            elif name.endswith((".xz", ".tar", ".tar.gz", ".tgz")):
                # OpenWebText ships subset archives (tar.xz) inside the outer tar.
                data = f.read()
                inner: BinaryIO = io.BytesIO(data)
                if data[:6] == b"\xfd7zXZ\x00":
                    inner = lzma.LZMAFile(inner)  # type: ignore[assignment]  # noqa: SIM115
                elif data[:2] == b"\x1f\x8b":
                    inner = gzip.GzipFile(fileobj=inner)  # type: ignore[assignment]
                yield from _tar_members(inner, counter, max_doc_bytes)
