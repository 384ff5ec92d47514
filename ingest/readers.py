"""Readers: turn a source in its native format into `SourceRecord`s (or `Quarantined`).

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

import gzip
import io
import json
import lzma
import os
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from corpuscope.models import Quarantined, ShardFailure, SourceRecord, SourceTask

FORMATS = ("jsonl", "parquet", "warc", "wet", "owt", "hf")

_EMPTY: dict[str, Any] = {}
_HUGE = 2.0**63  # orjson reads integers past 64 bits as floats at least this large
_JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")
_COMPRESSIONS = (".gz", ".zst", ".zstd", ".xz")


class SourceRefused(Exception):
    """The input is of a kind corpuscope does not ingest (for example a WAT file)."""


@dataclass(slots=True)
class Skipped:
    """A record a reader passed over on purpose (a non-HTML or non-200 WARC response)."""

    reason: str


# -- format detection ------------------------------------------------------------------------
def _strip_compression(name: str) -> str:
    for ext in _COMPRESSIONS:
        if name.endswith(ext):
            return name[: -len(ext)]
    return name


def detect_format(path: Path) -> str:
    """The format of a file or folder, from its name and, for WARC-like files, its content."""
    if path.is_dir():
        return "owt"
    name = path.name.lower()
    base = _strip_compression(name)
    if base.endswith(".wat") or ".wat." in name:
        raise SourceRefused(_wat_message(path))
    if base.endswith(".wet") or ".wet." in name:
        return "wet"
    if base.endswith(".warc") or base.endswith(".arc"):
        return _sniff_warc(path)
    if base.endswith(_JSON_SUFFIXES):
        return "jsonl"
    if name.endswith(".parquet"):
        return "parquet"
    if base.endswith(".txt") or base.endswith(".tar") or name.endswith((".tar.xz", ".tgz", ".xz")):
        return "owt"
    raise SourceRefused(
        f"{path}: cannot tell the format from the name; pass --format with one of {', '.join(FORMATS)}"
    )


def _wat_message(path: Path) -> str:
    return (
        f"{path}: this is a Common Crawl WAT file (JSON metadata about pages, no page text); "
        "ingest the matching WET (plain text) or WARC (HTML) file instead"
    )


def _sniff_warc(path: Path) -> str:
    """WARC, WET or WAT, from the first non-warcinfo record's type."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    try:
        with open(path, "rb") as f:
            for rec in ArchiveIterator(f, parse_http=False):
                if rec.record_type == WarcRecordType.warcinfo:
                    continue
                if rec.record_type == WarcRecordType.conversion:
                    return "wet"
                if rec.record_type == WarcRecordType.metadata and "json" in (
                    rec.headers.get("Content-Type") or ""
                ):
                    raise SourceRefused(_wat_message(path))
                return "warc"
    except (OSError, EOFError, zlib.error):
        pass
    return "warc"


# -- opening compressed files, with offsets for error messages ----------------------------------
class _CountingFile(io.RawIOBase):
    """A raw file that knows how many bytes were read from it (the compressed offset)."""

    def __init__(self, f: BinaryIO):
        self._f = f
        self.offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = self._f.readinto(b)
        self.offset += n or 0
        return n

    def close(self) -> None:
        self._f.close()
        super().close()


class _ZstdReader(io.RawIOBase):
    """Zstandard frames one after another; raises EOFError when the input ends mid-frame
    (zstandard's own stream reader returns a short read instead)."""

    def __init__(self, f: BinaryIO):
        import zstandard

        self._f = f
        self._dctx = zstandard.ZstdDecompressor(max_window_size=2**31)
        self._obj = self._dctx.decompressobj()
        self._in_frame = False
        self._buf = b""
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buf:
            chunk = self._f.read(1 << 20)
            if not chunk:
                if self._in_frame:
                    raise EOFError("zstd stream ended in the middle of a frame")
                return 0
            while chunk:
                self._in_frame = True
                self._buf += self._obj.decompress(chunk)
                if not self._obj.eof:
                    break
                chunk = self._obj.unused_data
                self._obj = self._dctx.decompressobj()
                self._in_frame = False
        n = min(len(b), len(self._buf) - self._pos)
        b[:n] = self._buf[self._pos : self._pos + n]
        self._pos += n
        if self._pos == len(self._buf):
            self._buf, self._pos = b"", 0
        return n


def _magic(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(6)


def open_decompressed(path: Path) -> tuple[BinaryIO, _CountingFile]:
    """Open a file, decompressing gzip, zstd or xz by its magic bytes."""
    raw = _CountingFile(open(path, "rb"))  # noqa: SIM115 - closed by the caller via the stream
    buffered = io.BufferedReader(raw, 1 << 20)
    magic = _magic(path)
    if magic[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=buffered), raw  # type: ignore[return-value]
    if magic[:4] == b"\x28\xb5\x2f\xfd":
        return io.BufferedReader(_ZstdReader(buffered), 1 << 20), raw  # type: ignore[return-value]
    if magic[:6] == b"\xfd7zXZ\x00":
        return lzma.LZMAFile(buffered), raw  # type: ignore[return-value]
    return buffered, raw  # type: ignore[return-value]


_BROKEN = (EOFError, OSError, zlib.error, lzma.LZMAError, tarfile.TarError)


def _failure(
    path: str, raw: _CountingFile | None, ordinal: int, exc: BaseException
) -> ShardFailure:
    where = f" at compressed byte offset {raw.offset}" if raw is not None else ""
    return ShardFailure(
        f"{path}: {type(exc).__name__}: {exc}{where}, after {ordinal} records; "
        "the file is truncated or corrupt"
    )


def _zstd_error() -> tuple[type[BaseException], ...]:
    try:
        import zstandard

        return (zstandard.ZstdError,)
    except ImportError:  # pragma: no cover - zstandard is a dependency
        return ()


# -- field mapping for JSON-like records ---------------------------------------------------------
@dataclass(slots=True)
class FieldMap:
    """Where a record keeps its text, id, url and timestamp.

    With no overrides, the C4 (`url, text, timestamp`), RedPajama (`text, meta{...}`), Dolma
    (`id, text, source, created, added, metadata{...}`) and Pile (`text, meta`) layouts are
    recognised record by record. Overrides are dotted paths (``meta.url``). Every field not
    used as text is kept in the document's metadata, so nothing is dropped.
    """

    text_field: str = "text"
    id_field: str | None = None
    url_field: str | None = None
    timestamp_field: str | None = None

    def to_record(self, obj: Any, ordinal: int) -> SourceRecord | Quarantined:
        if not isinstance(obj, dict):
            return Quarantined(
                ordinal, f"wrong type: record is a JSON {type(obj).__name__}, expected an object"
            )
        text = _get(obj, self.text_field)
        if text is None:
            return Quarantined(ordinal, f"missing text field {self.text_field!r}")
        if not isinstance(text, str):
            return Quarantined(
                ordinal,
                f"wrong type: text field {self.text_field!r} is {type(text).__name__}, expected string",
            )
        if not text.strip():
            return Quarantined(ordinal, "empty text")
        meta = _nested(obj, "meta")
        dmeta = _nested(obj, "metadata")
        source_id = _get(obj, self.id_field) if self.id_field else obj.get("id")
        url = (
            _get(obj, self.url_field)
            if self.url_field
            else _first(obj.get("url"), meta.get("url"), dmeta.get("warc_url"), dmeta.get("url"))
        )
        timestamp = (
            _get(obj, self.timestamp_field)
            if self.timestamp_field
            else _first(
                obj.get("timestamp"),
                meta.get("timestamp"),
                obj.get("created"),
                dmeta.get("warc_date"),
                dmeta.get("date_download"),
            )
        )
        language = _first(meta.get("language"), dmeta.get("language"), obj.get("language"))
        if source_id is not None and not isinstance(source_id, (str, int)):
            return Quarantined(
                ordinal, f"wrong type: id is {type(source_id).__name__}, expected string"
            )
        if url is not None and not isinstance(url, str):
            return Quarantined(ordinal, f"wrong type: url is {type(url).__name__}, expected string")
        if timestamp is not None and not isinstance(timestamp, (str, int, float, date)):
            return Quarantined(
                ordinal,
                f"wrong type: timestamp is {type(timestamp).__name__}, expected string or number",
            )
        rest = {k: v for k, v in obj.items() if k != self.text_field}
        return SourceRecord(
            ordinal=ordinal,
            text=text,
            source_id=str(source_id) if source_id is not None and source_id != "" else None,
            url=url or None,
            timestamp=timestamp,
            metadata=rest,
            language=language if isinstance(language, str) else None,
        )


def _has_huge_number(value: Any) -> bool:
    """Is there a float of at least 2**63 anywhere in a parsed record? (No recursion: orjson
    reads records nested 1,000 levels deep.)"""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if abs(item) >= _HUGE:
                return True
        elif isinstance(item, dict):
            stack.extend(v for v in item.values() if not isinstance(v, str))
        elif isinstance(item, list):
            stack.extend(v for v in item if not isinstance(v, str))
    return False


def _first(*values: Any) -> Any:
    for v in values:
        if v is not None and v != "":
            return v
    return None


def _nested(obj: dict[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    if value is None:
        return _EMPTY
    if isinstance(value, str) and value.startswith("{"):  # some RedPajama dumps store meta as text
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return {}
    return value if isinstance(value, dict) else {}


def _get(obj: dict[str, Any], path: str) -> Any:
    if "." not in path:
        return obj.get(path)
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


# -- the readers -------------------------------------------------------------------------------
def read_source(
    task: SourceTask, max_doc_bytes: int
) -> Iterator[SourceRecord | Quarantined | Skipped]:
    """Records of one source task, in a deterministic order."""
    readers = {
        "jsonl": _read_jsonl,
        "parquet": _read_parquet,
        "warc": _read_warc,
        "wet": _read_warc,
        "owt": _read_owt,
        "hf": _read_hf,
    }
    if task.format not in readers:
        raise SourceRefused(f"unknown format {task.format!r}; use one of {', '.join(FORMATS)}")
    yield from readers[task.format](task, max_doc_bytes)


def _field_map(task: SourceTask) -> FieldMap:
    o = task.options
    return FieldMap(
        text_field=o.get("text_field") or "text",
        id_field=o.get("id_field"),
        url_field=o.get("url_field"),
        timestamp_field=o.get("timestamp_field"),
    )


def _read_jsonl(task: SourceTask, max_doc_bytes: int) -> Iterator[SourceRecord | Quarantined]:
    fields = _field_map(task)
    stream, raw = open_decompressed(Path(task.location))
    broken = _BROKEN + _zstd_error()
    ordinal = 0
    with raw, stream:
        while True:
            try:
                line = stream.readline(max_doc_bytes + 1)
            except broken as exc:
                raise _failure(task.location, raw, ordinal, exc) from exc
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
                    raise _failure(task.location, raw, ordinal, exc) from exc
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
                if _has_huge_number(obj):  # maybe an integer past 64 bits: read it exactly
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


def _read_parquet(task: SourceTask, max_doc_bytes: int) -> Iterator[SourceRecord | Quarantined]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields = _field_map(task)
    ordinal = 0
    try:
        pf = pq.ParquetFile(task.location)
        for batch in pf.iter_batches(batch_size=1024):
            for obj in batch.to_pylist():
                yield _mapped(fields, obj, ordinal, max_doc_bytes)
                ordinal += 1
    except (OSError, pa.ArrowException) as exc:
        raise _failure(task.location, None, ordinal, exc) from exc


def _read_hf(task: SourceTask, max_doc_bytes: int) -> Iterator[SourceRecord | Quarantined]:
    """A Hugging Face dataset, streamed (hub name, or a packaged builder with local files)."""
    import datasets

    spec = orjson.loads(task.location)
    fields = _field_map(task)
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
        yield _mapped(fields, obj, ordinal, max_doc_bytes)


def _mapped(fields: FieldMap, obj: dict[str, Any], ordinal: int, max_doc_bytes: int):
    """Map a decoded record, enforcing the size limit and JSON-safe metadata."""
    rec = fields.to_record(obj, ordinal)
    raw = orjson.dumps(obj, default=str)
    if isinstance(rec, Quarantined):
        rec.raw = raw
    elif len(raw) > max_doc_bytes:
        return Quarantined(
            ordinal,
            f"oversized record: {len(raw)} bytes > max_doc_bytes={max_doc_bytes}",
            raw[:max_doc_bytes],
        )
    return rec


def _read_warc(
    task: SourceTask, max_doc_bytes: int
) -> Iterator[SourceRecord | Quarantined | Skipped]:
    from fastwarc.warc import ArchiveIterator, WarcRecordType
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    wet = task.format == "wet"
    wanted = WarcRecordType.conversion if wet else WarcRecordType.response
    stream, raw = open_decompressed(Path(task.location))
    ordinal = 0
    with raw, stream:
        try:
            for rec in ArchiveIterator(stream, record_types=wanted, parse_http=not wet):
                url = (rec.headers.get("WARC-Target-URI") or "").strip().strip("<>") or None
                meta = {
                    "warc_record_id": rec.record_id,
                    "warc_date": rec.headers.get("WARC-Date"),
                    "warc_type": rec.headers.get("WARC-Type"),
                }
                if not wet:
                    status = rec.http_headers.status_code if rec.http_headers else None
                    ctype = (rec.http_content_type or "").lower()
                    if status != 200:
                        rec.reader.consume()
                        yield Skipped(f"HTTP status {status}")
                        continue
                    if "html" not in ctype:
                        rec.reader.consume()
                        yield Skipped(f"not HTML ({ctype or 'no content type'})")
                        continue
                    meta["content_type"] = ctype
                payload = rec.reader.read()
                if len(payload) > max_doc_bytes:
                    yield Quarantined(
                        ordinal,
                        f"oversized record: {len(payload)} bytes > max_doc_bytes={max_doc_bytes}",
                        payload[:max_doc_bytes],
                    )
                    ordinal += 1
                    continue
                if wet:
                    try:
                        text = payload.decode("utf-8")
                    except UnicodeDecodeError:
                        yield Quarantined(ordinal, "invalid UTF-8", payload)
                        ordinal += 1
                        continue
                else:
                    try:
                        payload = _http_body(payload, rec.http_headers)
                    except (ValueError, OSError, zlib.error, ImportError) as exc:
                        yield Quarantined(ordinal, f"undecodable HTTP body: {exc}", payload)
                        ordinal += 1
                        continue
                    html = bytes_to_str(payload, rec.http_charset or detect_encoding(payload))
                    text = extract_plain_text(html, main_content=True)
                if not text.strip():
                    yield Quarantined(
                        ordinal, "no text extracted" if not wet else "empty text", payload
                    )
                    ordinal += 1
                    continue
                yield SourceRecord(
                    ordinal=ordinal,
                    text=text,
                    source_id=rec.record_id,
                    url=url,
                    timestamp=rec.headers.get("WARC-Date"),
                    metadata=meta,
                )
                ordinal += 1
        except _BROKEN as exc:
            raise _failure(task.location, raw, ordinal, exc) from exc


def _dechunk(data: bytes) -> bytes:
    """Undo HTTP/1.1 chunked transfer encoding (wget writes bodies as sent)."""
    out, pos = [], 0
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            raise ValueError("truncated chunked body")
        size = int(data[pos:eol].split(b";")[0].strip() or b"0", 16)
        if size == 0:
            return b"".join(out)
        out.append(data[eol + 2 : eol + 2 + size])
        pos = eol + 2 + size + 2


def _http_body(payload: bytes, headers: Any) -> bytes:
    """The body as the page's author wrote it: de-chunked and decompressed."""
    if headers is None:
        return payload
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        payload = _dechunk(payload)
    encoding = (headers.get("Content-Encoding") or "").lower().strip()
    if encoding in ("gzip", "x-gzip"):
        return gzip.decompress(payload)
    if encoding == "deflate":
        try:
            return zlib.decompress(payload)
        except zlib.error:
            return zlib.decompress(payload, -zlib.MAX_WBITS)  # raw deflate, as some servers send
    if encoding == "br":
        import brotli  # optional; a page we cannot decode is quarantined, not lost

        return brotli.decompress(payload)
    return payload


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


def _read_owt(task: SourceTask, max_doc_bytes: int) -> Iterator[SourceRecord | Quarantined]:
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
    except _BROKEN as exc:
        raise _failure(task.location, raw, counter[0], exc) from exc


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
