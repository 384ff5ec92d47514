"""Normalisation: a `SourceRecord` becomes a `Document`.

Text: line endings to ``\\n`` and surrounding white space stripped, otherwise verbatim. Registered
domain from the URL with the public suffix list bundled in `tldextract` (no download), cached
per host. Timestamps to UTC. Language with CLD2 (its model ships inside `pycld2`) on the first
`lang_id_chars` characters. Word and character counts, and a hash for exact duplicates.
"""

from __future__ import annotations

import email.utils
import json
import re
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import orjson
import pycld2

from corpuscope.models import Document, SourceRecord, make_doc_id, text_hash
from corpuscope.whitespace import word_count

_HOST = re.compile(r"^[a-z0-9_.\-\[\]:]+$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


@lru_cache(maxsize=1)
def _extractor():
    import tldextract

    # suffix_list_urls=(): the snapshot bundled in the package, never the network. Private
    # suffixes count, so each site on blogspot.com or github.io is a domain of its own.
    return tldextract.TLDExtract(
        suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
    )


@lru_cache(maxsize=200_000)
def domain_of_host(host: str) -> str | None:
    """Registered domain of a host name (``news.bbc.co.uk`` -> ``bbc.co.uk``)."""
    if not host:
        return None
    parts = _extractor()(host)
    if hasattr(parts, "top_domain_under_public_suffix"):
        registered = parts.top_domain_under_public_suffix
    else:  # tldextract < 5.3
        registered = parts.registered_domain
    return registered or host  # IP addresses and hosts with no public suffix stay as they are


def domain_of(url: str | None) -> str | None:
    """Registered domain of a URL; URLs without a scheme (``example.com/x``) are accepted."""
    if not url:
        return None
    try:
        parts = urlsplit(url if "//" in url else f"//{url}")
        host = (parts.hostname or "").rstrip(".")
    except ValueError:
        return None
    return domain_of_host(host) if _HOST.match(host) else None


def to_utc(value: Any) -> datetime | None:
    """A timestamp (ISO 8601, RFC 2822, epoch seconds or milliseconds) in UTC, else None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if abs(value) > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    elif isinstance(value, str):
        s = value.strip()
        try:
            dt = datetime.fromisoformat(s)
        except ValueError:
            try:
                dt = email.utils.parsedate_to_datetime(s)
            except (TypeError, ValueError, IndexError):
                return None
    else:
        return None
    try:
        return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    except (OverflowError, ValueError):  # e.g. year 1 with a positive offset
        return None


def detect_language(text: str, declared: str | None = None) -> str:
    """ISO 639 code from CLD2, or the source's declared language when CLD2 is unsure."""
    try:
        reliable, _, details = pycld2.detect(text)
    except pycld2.error:
        try:
            reliable, _, details = pycld2.detect(_CONTROL.sub(" ", text))
        except pycld2.error:
            return declared or "und"
    code = details[0][1]
    if code in ("un", "xxx") or not reliable:
        return declared or (code if code not in ("un", "xxx") else "und")
    return code


def normalise_text(text: str) -> str:
    """Line endings to ``\\n`` and surrounding white space stripped; nothing else changes.

    The text is otherwise kept as the corpus has it (no Unicode normalisation), so that
    "is this exact text in the corpus?" is answered about the corpus, not about a rewrite.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.strip()


def metadata_json(metadata: dict[str, Any]) -> str:
    """Metadata as canonical JSON (sorted keys); integers past 64 bits kept exactly."""
    try:
        return orjson.dumps(
            metadata, default=str, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
        ).decode()
    except TypeError:  # orjson refuses integers past 64 bits
        return json.dumps(metadata, default=str, sort_keys=True, ensure_ascii=False)


def to_document(
    rec: SourceRecord, corpus: str, shard: str, source: str, lang_id_chars: int
) -> Document:
    """Normalise one record into a Document."""
    text = normalise_text(rec.text)
    metadata = rec.metadata
    timestamp = to_utc(rec.timestamp)
    if timestamp is None and rec.timestamp not in (None, ""):
        metadata = {**metadata, "timestamp_raw": rec.timestamp}  # kept, never lost
    return Document(
        doc_id=make_doc_id(rec.source_id, source, rec.ordinal),
        corpus=corpus,
        shard=shard,
        source_id=rec.source_id,
        url=rec.url,
        domain=domain_of(rec.url),
        timestamp=timestamp,
        language=detect_language(text[:lang_id_chars], rec.language),
        text=text,
        n_chars=len(text),
        n_words=word_count(text),
        text_hash=text_hash(text),
        metadata=metadata_json(metadata),
    )
