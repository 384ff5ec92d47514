"""The suppression list: documents taken out of every answer, every rebuild and every ingest.

Documents are added by a granted erasure or objection (`cases.decide`) or by an opt-out rule
(`rules`); each entry keeps the document's stable id, corpus, shard and text hash, the case or
rule it came from, its reason, when it was added and when `apply` removed it from the stored
files. The list lives in `state.sqlite`; every change raises its version and exports it as
``<data>/suppression/suppressed.parquet`` (doc_id, corpus, shard, text_hash, case_id, rule_id,
added, applied, version) for DuckDB.

Readers: `hidden_ids` (the index's questions leave these documents out at once, before any
rebuild: `index/searcher.py`), `pending` (documents still in a corpus's stored files: its
statistics are stale and `verify` says so), and `IngestFilter` (a later ingest never stores a
suppressed document again: same stable id or same text hash, or a rule's domain, URL prefix
or identifier).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpuscope.dsr import db
from corpuscope.store import publish_bytes

EXPORT = Path("suppression") / "suppressed.parquet"
_EXPORT_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        ("corpus", pa.string()),
        ("shard", pa.string()),
        ("text_hash", pa.string()),
        ("case_id", pa.string()),
        ("rule_id", pa.string()),
        ("added", pa.float64()),
        ("applied", pa.float64()),
        ("version", pa.int64()),
    ]
)


@dataclass(frozen=True)
class Doc:
    """A stored document to suppress."""

    doc_id: str
    corpus: str
    shard: str | None
    text_hash: str | None


def add(
    con: sqlite3.Connection,
    docs: list[Doc],
    reason: str,
    case_id: str | None = None,
    rule_id: str | None = None,
) -> int:
    """Add documents in the caller's transaction (one already listed keeps its first entry);
    returns how many are new. The caller exports after commit (`export`)."""
    before = con.total_changes
    con.executemany(
        "insert or ignore into dsr_suppressed (doc_id, corpus, shard, text_hash, case_id, "
        "rule_id, reason, added) values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (d.doc_id, d.corpus, d.shard, d.text_hash, case_id, rule_id, reason, time.time())
            for d in docs
        ],
    )
    added = con.total_changes - before
    if added:
        db.bump_version(con)
    return added


def version(con: sqlite3.Connection) -> int:
    row = con.execute("select value from dsr_meta where key = 'suppression'").fetchone()
    return row[0] if row else 0


def export(data_dir: Path) -> Path:
    """Write the list as Parquet for DuckDB (atomically); returns its path."""
    with db.reading(data_dir) as con:
        v = version(con)
        rows = con.execute(
            "select doc_id, corpus, shard, text_hash, case_id, rule_id, added, applied "
            "from dsr_suppressed order by doc_id"
        ).fetchall()
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in range(8)]
    table = pa.table(
        {name: list(col) for name, col in zip(_EXPORT_SCHEMA.names[:-1], cols, strict=True)}
        | {"version": [v] * len(rows)},
        schema=_EXPORT_SCHEMA,
    )
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    path = Path(data_dir) / EXPORT
    publish_bytes(path, sink.getvalue().to_pybytes())
    return path


def entries(data_dir: Path, corpus: str | None = None) -> list[dict[str, Any]]:
    """The list (for officers and auditors): ids, hashes, reasons, cases, dates."""
    with db.reading(data_dir) as con:
        rows = con.execute(
            "select doc_id, corpus, shard, text_hash, case_id, rule_id, reason, added, applied "
            "from dsr_suppressed where ? is null or corpus = ? order by added, doc_id",
            (corpus, corpus),
        ).fetchall()
    keys = (
        "doc_id",
        "corpus",
        "shard",
        "text_hash",
        "case_id",
        "rule_id",
        "reason",
        "added",
        "applied",
    )
    return [dict(zip(keys, r, strict=True)) for r in rows]


def pending(data_dir: Path, corpus: str) -> list[dict[str, Any]]:
    """Suppressed documents of `corpus` that `apply` has not yet removed from its files."""
    if not (Path(data_dir) / "state.sqlite").exists():
        return []
    return [e for e in entries(data_dir, corpus) if e["applied"] is None]


# -- the query-time hook ------------------------------------------------------------------------
_local = threading.local()
_cache: dict[str, tuple[int, frozenset[str]]] = {}
_cache_lock = threading.Lock()


def _connection(path: Path) -> sqlite3.Connection | None:
    """This thread's read connection to `state.sqlite` (None while there is none)."""
    cons = getattr(_local, "cons", None)
    if cons is None:
        cons = _local.cons = {}
    key = str(path)
    con = cons.get(key)
    if con is None:
        if not path.exists():
            return None
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        cons[key] = con
    return con


def hidden_ids(data_dir: Path) -> frozenset[str]:
    """Every suppressed document id (applied or not: a rebuild never needs waiting for). One
    small read per call (the list's version); the ids are read again only when it changed."""
    path = Path(data_dir) / "state.sqlite"
    con = _connection(path)
    if con is None:
        return frozenset()
    try:
        v = version(con)
    except sqlite3.OperationalError:  # no DSR tables yet
        return frozenset()
    key = str(path)
    cached = _cache.get(key)
    if cached and cached[0] == v:
        return cached[1]
    ids = frozenset(r[0] for r in con.execute("select doc_id from dsr_suppressed"))
    with _cache_lock:
        _cache[key] = (v, ids)
    return ids


def exclude(query, schema, hidden: frozenset[str]):
    """`query` without the hidden documents (a tantivy must-not clause on their ids)."""
    import tantivy

    return tantivy.Query.boolean_query(
        [
            (tantivy.Occur.Must, query),
            (tantivy.Occur.MustNot, tantivy.Query.term_set_query(schema, "doc_id", sorted(hidden))),
        ]
    )


# -- ingest -------------------------------------------------------------------------------------
def _host(url: str | None) -> str:
    if not url:
        return ""
    try:
        return (urlsplit(url if "://" in url else f"//{url}").hostname or "").lower()
    except ValueError:
        return ""


def _bare(url: str) -> str:
    """A URL without its scheme, lower-cased, for prefix comparison."""
    u = url.strip()
    if "://" in u:
        u = u.split("://", 1)[1]
    return u.lower().removeprefix("www.")


def domain_matches(url: str | None, domain: str) -> bool:
    host = _host(url).removeprefix("www.")
    d = domain.lower().removeprefix("www.")
    return host == d or host.endswith("." + d)


def prefix_matches(url: str | None, prefix: str) -> bool:
    return bool(url) and _bare(url).startswith(_bare(prefix))


class IngestFilter:
    """What a new shard must not hold: suppressed ids and text hashes, and the rules."""

    def __init__(self, data_dir: Path, corpus: str, settings):
        from corpuscope.dsr import rules as rules_mod

        self.ids: set[str] = set()
        self.hashes: set[str] = set()
        self.rules = []
        if not (Path(data_dir) / "state.sqlite").exists():
            return
        with db.reading(data_dir) as con:
            for doc_id, h in con.execute("select doc_id, text_hash from dsr_suppressed"):
                self.ids.add(doc_id)
                if h:
                    self.hashes.add(h)
        self.rules = rules_mod.active(data_dir, corpus, settings)

    @property
    def empty(self) -> bool:
        return not (self.ids or self.hashes or self.rules)

    def apply(self, documents: pa.Table) -> tuple[pa.Table, int]:
        """The documents left once the suppressed ones are dropped, and how many were."""
        if self.empty or documents.num_rows == 0:
            return documents, 0
        drop = pc.or_(
            pc.is_in(documents["doc_id"], pa.array(sorted(self.ids), pa.string())),
            pc.is_in(documents["text_hash"], pa.array(sorted(self.hashes), pa.string())),
        )
        for rule in self.rules:
            drop = pc.or_(drop, rule.mask(documents))
        drop = pc.fill_null(drop, False)
        kept = documents.filter(pc.invert(drop))
        return kept, documents.num_rows - kept.num_rows
