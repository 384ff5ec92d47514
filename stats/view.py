"""Statistics as they are served and exported: per role, paged, as JSON, CSV or Parquet.

The public sees the public tables (computed over the redacted view, no text hashes) with
small cells suppressed (`disclosure`); the auditor role sees the full tables, and a full Parquet download is the published file itself, byte for byte, so its
sha256 can be checked against the manifest. Tables are read once per published manifest and
kept in memory.
"""

from __future__ import annotations

import csv
import io
import threading
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic_core import to_json

from corpuscope.errors import NoStatistics, UsageError
from corpuscope.models.answers import DomainAnswer
from corpuscope.stats.build import SPECS, is_current, load_table, read_manifest, stats_dir
from corpuscope.stats.disclosure import NOT_PUBLIC, suppress
from corpuscope.store import Store

MEDIA = {"json": "application/json", "csv": "text/csv", "parquet": "application/vnd.apache.parquet"}


class StatsView:
    """Published statistics of every corpus in a data directory."""

    def __init__(self, store: Store, threshold: int):
        self.store, self.threshold = store, threshold
        self._cache: dict[tuple, Any] = {}
        self._lock = threading.Lock()

    def _corpus(self, corpus: str):
        if corpus not in self.store.corpora():
            raise NoStatistics(f"no corpus named {corpus!r}")
        return self.store.corpus(corpus)

    def manifest(self, corpus: str) -> dict[str, Any]:
        m = read_manifest(self._corpus(corpus))
        if m is None:
            raise NoStatistics(
                f"no statistics for {corpus!r} yet: run `corpuscope stats --corpus {corpus}`"
            )
        return m

    def current(self, corpus: str) -> bool:
        return is_current(self._corpus(corpus))

    def _stamp(self, corpus: str) -> int:
        try:
            return self._corpus(corpus).stats_manifest_path.stat().st_mtime_ns
        except FileNotFoundError:
            raise NoStatistics(f"no statistics for {corpus!r} yet") from None

    def rows(self, corpus: str, table: str, public: bool) -> tuple[list[dict], int, int, dict]:
        """(rows, hidden rows, hidden cells, manifest entry) of a table as a role sees it."""
        key = (corpus, self._stamp(corpus), table, public)
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None:
            return hit
        m = self.manifest(corpus)
        entry = m["tables"].get(table)
        if entry is None or table not in SPECS:
            raise NoStatistics(f"no statistics table {table!r}; see /v1/corpora/{corpus}/stats")
        rows = load_table(self._corpus(corpus), table, public=public).to_pylist()
        hidden_rows = hidden_cells = 0
        if public:
            s = suppress(SPECS[table], rows, self.threshold)
            rows, hidden_rows, hidden_cells = s.rows, s.hidden_rows, s.hidden_cells
        result = (rows, hidden_rows, hidden_cells, entry)
        with self._lock:
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[key] = result
        return result

    @staticmethod
    def columns(entry: dict[str, Any], public: bool) -> list[str]:
        """A table's columns as a role sees them (the public: those of its public table)."""
        if not public:
            return entry["columns"]
        return [c for c in entry["public"]["columns"] if c not in NOT_PUBLIC]

    def download(self, corpus: str, table: str, fmt: str, public: bool) -> tuple[bytes, str]:
        """The whole table as a file: (bytes, media type)."""
        rows, _, _, entry = self.rows(corpus, table, public)
        if fmt == "parquet":
            if not public:  # the published file itself
                data = (stats_dir(self._corpus(corpus)) / entry["file"]).read_bytes()
            else:
                sink = io.BytesIO()
                pq.write_table(pa.Table.from_pylist(rows), sink, compression="zstd")
                data = sink.getvalue()
        elif fmt == "csv":
            buf = io.StringIO()
            columns = list(rows[0]) if rows else self.columns(entry, public)
            w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
            w.writeheader()
            for r in rows:
                w.writerow({k: _cell(v) for k, v in r.items()})
            data = buf.getvalue().encode()
        elif fmt == "json":
            data = to_json(rows)  # as the JSON API writes them (pydantic)
        else:
            raise UsageError("format must be csv, json or parquet")
        return data, MEDIA[fmt]

    def domain(self, corpus: str, query: str, public: bool) -> DomainAnswer:
        """Rank, documents, words, share and first/last seen of a website's domain."""
        from corpuscope.ingest.normalise import domain_of

        wanted = domain_of(query.strip().lower()) or query.strip().lower()
        rows, _, _, _ = self.rows(corpus, "by_domain", public)
        index = self._domain_index(corpus, public, rows)
        named = sum(1 for r in rows if r["domain"] != "(none)")
        row = index.get(wanted)
        if row is None:
            return DomainAnswer(
                corpus=corpus, query=query, domain=wanted, found=False, domains=named
            )
        return DomainAnswer(
            corpus=corpus,
            query=query,
            domain=wanted,
            found=True,
            suppressed=bool(row.get("suppressed")),
            rank=row["rank"],
            domains=named,
            documents=row["documents"],
            words=row["words"],
            bytes=row["bytes"],
            share_of_words=row["share_of_words"],
            first_seen=row["first_seen"],
            last_seen=row["last_seen"],
        )

    def _domain_index(self, corpus: str, public: bool, rows: list[dict]) -> dict[str, dict]:
        key = ("domains", corpus, self._stamp(corpus), public)
        with self._lock:
            index = self._cache.get(key)
            if index is None:
                index = {r["domain"]: r for r in rows}
                self._cache[key] = index
        return index


def _cell(v: Any) -> Any:
    return v.isoformat() if isinstance(v, datetime) else ("" if v is None else v)


def public_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """The statistics manifest as the public may see it: each table's entry is its public
    table's (file, sha256, rows, columns, query). The auditor's tables are computed over the
    raw text, so their checksums would let a guess at a small table be confirmed offline."""
    tables = {
        name: {
            "description": e["description"],
            "counts": e.get("counts", []),
            "partition": e.get("partition"),
            **e["public"],
        }
        for name, e in manifest["tables"].items()
    }
    return {**manifest, "tables": tables}
