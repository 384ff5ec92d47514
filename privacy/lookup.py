"""Identifier lookups through the keyed hashes: which documents hold this e-mail, phone …?

The query value is normalised and hashed exactly as the scan hashed what it found, and the
hash is looked up in the corpus's PII sidecars with DuckDB. The value itself is never
written anywhere, logs included.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from functools import lru_cache

import duckdb

from corpuscope.errors import UsageError
from corpuscope.privacy.entities import NER_ENTITIES, PATTERN_ENTITIES
from corpuscope.privacy.hashing import luhn_valid, store_key, value_hash
from corpuscope.store import Store

LOOKUP_ENTITIES = (*PATTERN_ENTITIES, *NER_ENTITIES)
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")


@dataclass
class LookupResult:
    """Where one identifier occurs in one corpus (document ids and spans, no values)."""

    corpus: str
    entity_type: str
    documents: list[str] = field(default_factory=list)
    occurrences: int = 0
    spans: list[tuple[str, int, int]] = field(default_factory=list)  # doc_id, start, end


def guess_entity(value: str) -> str:
    """The entity type an identifier most likely is (e-mail, IP, IBAN, card, phone)."""
    v = value.strip()
    if "@" in v:
        return "EMAIL_ADDRESS"
    try:
        ipaddress.ip_address(v)
        return "IP_ADDRESS"
    except ValueError:
        pass
    compact = re.sub(r"[\s-]", "", v).upper()
    if _IBAN.match(compact):
        return "IBAN_CODE"
    digits = re.sub(r"\D", "", v)
    if 13 <= len(digits) <= 19 and not v.startswith("+") and luhn_valid(digits):
        return "CREDIT_CARD"
    if re.fullmatch(r"[\d\s().+\-/]{4,}", v):
        return "PHONE_NUMBER"
    raise UsageError("cannot tell what kind of identifier this is; pass its entity type")


def find_identifier(
    store: Store,
    value: str,
    entity_type: str | None = None,
    corpora: list[str] | None = None,
    phone_region: str = "US",
    limit: int = 1000,
) -> list[LookupResult]:
    """Documents holding `value`, per corpus, found by its keyed hash."""
    entity = entity_type or guess_entity(value)
    if entity not in LOOKUP_ENTITIES:
        raise UsageError(f"unknown entity type {entity!r}; use one of {', '.join(LOOKUP_ENTITIES)}")
    h = value_hash(store_key(store.root), entity, value, phone_region)
    results = []
    for name in corpora or store.corpora():
        cs = store.corpus(name)
        live = cs.live_sidecars(cs.manifest().done())
        sidecars = tuple(sorted((str(cs.root / e["path"]), e["sha256"]) for e in live.values()))
        rows = _spans_by_value(sidecars).get((entity, h), [])[:limit]
        result = LookupResult(name, entity)
        result.spans = rows
        result.documents = sorted({d for d, _, _ in rows})
        result.occurrences = len(rows)
        results.append(result)
    return results


@lru_cache(maxsize=8)  # a few corpora's current sidecars
def _spans_by_value(sidecars: tuple[tuple[str, str], ...]) -> dict[tuple[str, str], list]:
    """Every span of these sidecars by (entity, value hash), read once per set of sidecar
    versions (keyed by their sha256s, so a rescan or new shard reads them again)."""
    out: dict[tuple[str, str], list] = {}
    if not sidecars:
        return out
    with duckdb.connect() as con:  # one connection per read: safe across threads
        rows = con.execute(
            'select entity_type, value_hash, doc_id, start, "end" from read_parquet(?) '
            "order by doc_id, start",
            [[p for p, _ in sidecars]],
        ).fetchall()
    for entity, h, d, start, end in rows:
        out.setdefault((entity, h), []).append((d, start, end))
    return out
