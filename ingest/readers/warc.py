"""Common Crawl WARC (HTML responses to main text) and WET (plain-text conversions)."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from corpuscope.ingest.readers.files import (
    BROKEN,
    failure,
    open_decompressed,
)
from corpuscope.models.documents import Quarantined, Skipped, SourceRecord
from corpuscope.models.work import SourceTask


def read_warc(
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
        except BROKEN as exc:
            raise failure(task.location, raw, ordinal, exc) from exc


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
