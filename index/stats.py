"""Corpus statistics with DuckDB over the Parquet shards, published atomically with a manifest.

Every table but one is a DuckDB query over three views an auditor can recreate from the
published ``stats/manifest.json`` alone (`docs/statistics.md` shows how): ``docs`` (the
shards' documents), ``shards`` (shard id, source, sha256) and ``pii`` (the PII sidecars' spans,
with ``pii_shards``). The queries are `TABLES` below, run verbatim; a test runs the copies in
`docs/statistics.md` and compares. Near-duplicates are estimated with MinHash (datasketch)
with the parameters stated in the manifest and the table. Nothing loads a corpus into pandas:
DuckDB streams the Parquet files.
"""

from __future__ import annotations

import hashlib
import io
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from corpuscope.models import DOCUMENT_SCHEMA, PII_SCHEMA
from corpuscope.store import CorpusStore, publish_bytes

STATS_VERSION = 1


@dataclass(frozen=True)
class TableSpec:
    """A statistics table: its query, what it says, and how small cells are protected."""

    name: str
    description: str
    sql: str | None  # None: computed in Python (near_duplicates)
    counts: tuple[str, ...] = ()  # count columns subject to small-cell suppression
    partition: bool = False  # rows partition the documents: hidden cells need a complement


TABLES: list[TableSpec] = [
    TableSpec(
        "overview",
        "Documents, words, characters, UTF-8 bytes, shards, sources and the time span.",
        """select count(*) as documents, sum(n_words) as words, sum(n_chars) as characters,
       sum(strlen(text)) as bytes, count(distinct shard) as shards,
       (select count(distinct source) from shards) as sources,
       min(timestamp) as first_timestamp, max(timestamp) as last_timestamp
from docs""",
        counts=("documents",),
    ),
    TableSpec(
        "by_source",
        "Per source (input file or stream): shards, documents, words, characters, bytes.",
        """select s.source, count(distinct d.shard) as shards, count(*) as documents,
       sum(d.n_words) as words, sum(d.n_chars) as characters, sum(strlen(d.text)) as bytes
from docs d join shards s on d.shard = s.shard_id
group by s.source order by documents desc, s.source""",
        counts=("documents",),
        partition=True,
    ),
    TableSpec(
        "by_shard",
        "Per shard: its source, documents, words, characters, bytes.",
        """select d.shard, s.source, count(*) as documents, sum(d.n_words) as words,
       sum(d.n_chars) as characters, sum(strlen(d.text)) as bytes
from docs d join shards s on d.shard = s.shard_id
group by d.shard, s.source order by d.shard""",
        counts=("documents",),
        partition=True,
    ),
    TableSpec(
        "by_domain",
        "Per registered domain ('(none)' without a URL): documents, words, bytes, share of the "
        "corpus's words, rank by words, first and last timestamp.",
        """select coalesce(domain, '(none)') as domain, count(*) as documents,
       sum(n_words) as words, sum(strlen(text)) as bytes,
       sum(n_words) / sum(sum(n_words)) over () as share_of_words,
       rank() over (order by sum(n_words) desc) as rank,
       min(timestamp) as first_seen, max(timestamp) as last_seen
from docs group by 1 order by rank, domain""",
        counts=("documents",),
        partition=True,
    ),
    TableSpec(
        "by_tld",
        "Per top-level domain (the last label of the registered domain).",
        """select coalesce(regexp_extract(domain, '[^.]+$'), '(none)') as tld,
       count(*) as documents, sum(n_words) as words,
       sum(n_words) / sum(sum(n_words)) over () as share_of_words
from docs group by 1 order by words desc, tld""",
        counts=("documents",),
        partition=True,
    ),
    TableSpec(
        "by_language",
        "Per language (ISO 639 code from CLD2; 'und' when undetermined).",
        """select language, count(*) as documents, sum(n_words) as words,
       count(*) / sum(count(*)) over () as share_of_documents
from docs group by language order by documents desc, language""",
        counts=("documents",),
        partition=True,
    ),
    TableSpec(
        "by_month",
        "Per month of the documents' timestamps (UTC; '(none)' without one).",
        """select coalesce(strftime(timestamp, '%Y-%m'), '(none)') as month,
       count(*) as documents, sum(n_words) as words
from docs group by 1 order by month""",
        counts=("documents",),
        partition=True,
    ),
    TableSpec(
        "length_histogram",
        "Documents by length in words, in powers of two (1, 2-3, 4-7, 8-15 ...).",
        """select cast(pow(2, b) as bigint) as min_words, cast(pow(2, b + 1) - 1 as bigint) as max_words,
       count(*) as documents
from (select floor(log2(greatest(n_words, 1))) as b from docs)
group by b order by b""",
        counts=("documents",),
        partition=True,
    ),
    TableSpec(
        "duplicates_exact",
        "Exact duplicates by text hash: groups, documents in them, and redundant copies.",
        """select count(*) as groups, coalesce(sum(n), 0) as documents_in_groups,
       coalesce(sum(n - 1), 0) as redundant_documents,
       coalesce(sum(n - 1), 0) / (select count(*) from docs) as redundant_share
from (select count(*) as n from docs group by text_hash having count(*) > 1)""",
        counts=("groups", "documents_in_groups", "redundant_documents"),
    ),
    TableSpec(
        "duplicate_groups",
        "The 100 largest groups of exact duplicates: size, one example document.",
        """select text_hash, count(*) as documents, min(doc_id) as example_doc_id,
       min(n_words) as words
from docs group by text_hash having count(*) > 1
order by documents desc, text_hash limit 100""",
        counts=("documents",),
    ),
    TableSpec(
        "near_duplicates",
        "Near-duplicate documents estimated with MinHash LSH (datasketch) on a sample; the "
        "parameters are in the table.",
        None,
        counts=("documents_in_clusters", "clusters"),
    ),
    TableSpec(
        "pii",
        "Personal data per entity type: documents with at least one span, spans, spans per "
        "million words (of the scanned documents).",
        """select p.entity_type, count(distinct p.doc_id) as documents, count(*) as spans,
       count(*) * 1e6 / (select sum(n_words) from docs
                         where shard in (select shard_id from pii_shards)) as spans_per_million_words,
       (select count(*) from docs where shard in (select shard_id from pii_shards)) as documents_scanned
from pii p group by p.entity_type order by spans desc, p.entity_type""",
        counts=("documents", "spans"),
    ),
    TableSpec(
        "pii_by_domain",
        "Per entity type, the 50 domains with the most spans.",
        """select p.entity_type, coalesce(d.domain, '(none)') as domain,
       count(distinct p.doc_id) as documents, count(*) as spans
from pii p join docs d on p.doc_id = d.doc_id
group by 1, 2
qualify row_number() over (partition by p.entity_type order by count(*) desc, 2) <= 50
order by p.entity_type, spans desc, domain""",
        counts=("documents", "spans"),
    ),
    TableSpec(
        "quality",
        "Signals from the C4 documentation paper: lines that look like code, a curly brace "
        "(C4's code filter), 'lorem ipsum', cookie and JavaScript notices, very short documents.",
        """select count(*) as documents,
       count(*) filter (where regexp_matches(text, '(?m)^\\s*(def |class |import |#include|function\\s*\\(|var |const |public |return\\b)|[{};]\\s*$')) as code_lines,
       count(*) filter (where contains(text, '{')) as curly_brace,
       count(*) filter (where regexp_matches(text, '(?i)lorem ipsum')) as lorem_ipsum,
       count(*) filter (where regexp_matches(text, '(?i)(uses? cookies|cookie (policy|settings|consent)|accept (all )?cookies)')) as cookie_notice,
       count(*) filter (where regexp_matches(text, '(?i)(enable javascript|javascript is (disabled|required))')) as javascript_notice,
       count(*) filter (where n_words < 50) as under_50_words
from docs""",
        counts=(
            "code_lines",
            "curly_brace",
            "lorem_ipsum",
            "cookie_notice",
            "javascript_notice",
            "under_50_words",
        ),
    ),
]
SPECS = {t.name: t for t in TABLES}

# MinHash parameters (stated in the manifest and the table).
MINHASH = {"num_perm": 128, "threshold": 0.8, "shingle_words": 5, "sample": 20_000, "seed": 1}


def stats_dir(cs: CorpusStore) -> Path:
    return cs.root / "stats"


def open_views(con: duckdb.DuckDBPyConnection, manifest: dict[str, Any], root: Path) -> None:
    """Create `docs`, `shards`, `pii` and `pii_shards` for the inputs a stats manifest names."""
    con.register("shards", _rows(manifest["shards"], ["shard_id", "source", "sha256", "parquet"]))
    con.register("pii_shards", _rows(manifest["pii"], ["shard_id", "sha256", "path"]))
    for view, files, schema in (
        ("docs", [root / s["parquet"] for s in manifest["shards"]], DOCUMENT_SCHEMA),
        ("pii", [root / p["path"] for p in manifest["pii"]], PII_SCHEMA),
    ):
        if files:
            con.read_parquet([str(f) for f in files]).create_view(view)
        else:
            con.register(view, schema.empty_table())


def _rows(items: list[dict[str, Any]], columns: list[str]) -> pa.Table:
    return pa.table({c: pa.array([i[c] for i in items], pa.string()) for c in columns})
