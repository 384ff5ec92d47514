"""Field mapping of JSON-like records (C4, RedPajama, Dolma, The Pile, or named fields)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from corpuscope.models.documents import Quarantined, SourceRecord
from corpuscope.models.work import SourceTask

_EMPTY: dict[str, Any] = {}
HUGE = 2.0**63  # orjson reads integers past 64 bits as floats at least this large


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


def has_huge_number(value: Any) -> bool:
    """Is there a float of at least 2**63 anywhere in a parsed record? (No recursion: orjson
    reads records nested 1,000 levels deep.)"""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if abs(item) >= HUGE:
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


def field_map(task: SourceTask) -> FieldMap:
    o = task.options
    return FieldMap(
        text_field=o.get("text_field") or "text",
        id_field=o.get("id_field"),
        url_field=o.get("url_field"),
        timestamp_field=o.get("timestamp_field"),
    )


def mapped(fields: FieldMap, obj: dict[str, Any], ordinal: int, max_doc_bytes: int):
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
