"""Format detection: from a file's name and, for WARC-like files, its first record."""

from __future__ import annotations

import zlib
from pathlib import Path

from corpuscope.errors import SourceRefused

FORMATS = ("jsonl", "parquet", "warc", "wet", "owt", "hf")
_JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")
_COMPRESSIONS = (".gz", ".zst", ".zstd", ".xz")


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
