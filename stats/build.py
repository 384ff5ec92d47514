"""Corpus statistics with DuckDB over the Parquet shards, published atomically with a manifest.

Every table but one is a DuckDB query over three views an auditor can recreate from the
published ``stats/manifest.json`` alone (`docs/statistics.md` shows how): ``docs`` (the
shards' documents), ``shards`` (shard id, source, sha256) and ``pii`` (the PII sidecars' spans,
with ``pii_shards``). The queries are `TABLES` below, run verbatim; a test runs the copies in
`docs/statistics.md` and compares. Near-duplicates are estimated with MinHash (datasketch)
with the parameters stated in the manifest and the table. Nothing loads a corpus into pandas:
DuckDB streams the Parquet files.

Every table is computed twice: as above (the auditor's, exact) and, for the public, by the same
query over the redacted view (`public_sql`): ``docs`` then carries the redacted view's words,
characters, UTF-8 bytes and text hash (``redacted``, one row per document, computed here with
`corpuscope.privacy.redact.redact` over the scan's spans, as the index does), so no public
size, share, rank, length bucket or duplicate group depends on the length or the value of
something hidden (docs/statistics.md, "One disclosure rule everywhere").
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import tempfile
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpuscope.artifacts import Made, compare, live_inputs
from corpuscope.errors import Damaged, NoStatistics
from corpuscope.models.documents import DOCUMENT_SCHEMA, PII_SCHEMA, PiiSpan, text_hash
from corpuscope.store import CorpusStore, parquet_problem, publish_bytes

# 2: pii_by_domain cuts ties at the 50th domain by name; 3: public tables; 4: PII spans
# counted at or above their entity's `stats_min_score` only; 5: the public tables' domain is
# its public view (an IP address is [IP])
STATS_VERSION = 5


@dataclass(frozen=True)
class TableSpec:
    """A statistics table: its query, what it says, and how small cells are protected."""

    name: str
    description: str
    sql: str | None  # None: computed in Python (near_duplicates)
    keys: tuple[str, ...] = ()  # columns naming a row (never suppressed)
    counts: tuple[str, ...] = ()  # count columns subject to small-cell suppression
    partition: bool = False  # rows partition the documents: hidden cells need a complement
    public: str | None = None  # the public query, when it is not `public_sql(sql)`


TABLES: list[TableSpec] = [
    TableSpec(
        "overview",
        "Documents, words, characters, UTF-8 bytes, shards, sources and the time span.",
        """select count(*) as documents, sum(n_words)::bigint as words, sum(n_chars)::bigint as characters,
       sum(strlen(text))::bigint as bytes, count(distinct shard) as shards,
       (select count(distinct source) from shards) as sources,
       min(timestamp) as first_timestamp, max(timestamp) as last_timestamp
from docs""",
        counts=("documents",),
    ),
    TableSpec(
        "by_source",
        "Per source (input file or stream): shards, documents, words, characters, bytes.",
        """select s.source, count(distinct d.shard) as shards, count(*) as documents,
       sum(d.n_words)::bigint as words, sum(d.n_chars)::bigint as characters, sum(strlen(d.text))::bigint as bytes
from docs d join shards s on d.shard = s.shard_id
group by s.source order by documents desc, s.source""",
        keys=("source",),
        counts=("documents",),
        partition=True,
    ),
    TableSpec(
        "by_shard",
        "Per shard: its source, documents, words, characters, bytes.",
        """select d.shard, s.source, count(*) as documents, sum(d.n_words)::bigint as words,
       sum(d.n_chars)::bigint as characters, sum(strlen(d.text))::bigint as bytes
from docs d join shards s on d.shard = s.shard_id
group by d.shard, s.source order by d.shard""",
        keys=("shard", "source"),
        counts=("documents",),
        partition=True,
    ),
    TableSpec(
        "by_domain",
        "Per registered domain ('(none)' without a URL): documents, words, bytes, share of the "
        "corpus's words, rank by words, first and last timestamp.",
        """select coalesce(domain, '(none)') as domain, count(*) as documents,
       sum(n_words)::bigint as words, sum(strlen(text))::bigint as bytes,
       sum(n_words) / sum(sum(n_words)) over () as share_of_words,
       rank() over (order by sum(n_words) desc) as rank,
       min(timestamp) as first_seen, max(timestamp) as last_seen
from docs group by 1 order by rank, domain""",
        keys=("domain",),
        counts=("documents",),
        partition=True,
    ),
    TableSpec(
        "by_tld",
        "Per top-level domain (the last label of the registered domain).",
        """select coalesce(regexp_extract(domain, '[^.]+$'), '(none)') as tld,
       count(*) as documents, sum(n_words)::bigint as words,
       sum(n_words) / sum(sum(n_words)) over () as share_of_words
from docs group by 1 order by words desc, tld""",
        keys=("tld",),
        counts=("documents",),
        partition=True,
    ),
    TableSpec(
        "by_language",
        "Per language (ISO 639 code from CLD2; 'und' when undetermined).",
        """select language, count(*) as documents, sum(n_words)::bigint as words,
       count(*) / sum(count(*)) over () as share_of_documents
from docs group by language order by documents desc, language""",
        keys=("language",),
        counts=("documents",),
        partition=True,
    ),
    TableSpec(
        "by_month",
        "Per month of the documents' timestamps (UTC; '(none)' without one).",
        """select coalesce(strftime(timestamp, '%Y-%m'), '(none)') as month,
       count(*) as documents, sum(n_words)::bigint as words
from docs group by 1 order by month""",
        keys=("month",),
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
        keys=("min_words", "max_words"),
        counts=("documents",),
        partition=True,
    ),
    TableSpec(
        "duplicates_exact",
        "Exact duplicates by text hash: groups, documents in them, and redundant copies.",
        """select count(*) as groups, coalesce(sum(n), 0)::bigint as documents_in_groups,
       coalesce(sum(n - 1), 0)::bigint as redundant_documents,
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
        keys=("example_doc_id",),  # one per group: its smallest doc_id
        counts=("documents",),
        # no text hash for the public: one of the raw text would confirm a guessed hidden
        # value offline (fill it into the redacted page, hash, compare)
        public="""select count(*) as documents, min(doc_id) as example_doc_id, min(n_words) as words
from docs group by text_hash having count(*) > 1
order by documents desc, example_doc_id limit 100""",
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
        "million words (of the scanned documents); spans below their entity's score threshold "
        "(stats_min_score, in the manifest's inputs) are not counted.",
        """select p.entity_type, count(distinct p.doc_id) as documents, count(*) as spans,
       count(*) * 1e6 / (select sum(n_words) from docs
                         where shard in (select shard_id from pii_shards)) as spans_per_million_words,
       (select count(*) from docs where shard in (select shard_id from pii_shards)) as documents_scanned
from pii p group by p.entity_type order by spans desc, p.entity_type""",
        keys=("entity_type",),
        counts=("documents", "spans"),
    ),
    TableSpec(
        "pii_by_domain",
        "Per entity type, the 50 domains with the most spans.",
        """select p.entity_type, coalesce(d.domain, '(none)') as domain,
       count(distinct p.doc_id) as documents, count(*) as spans
from pii p join docs d on p.doc_id = d.doc_id
group by 1, 2
qualify row_number() over (partition by p.entity_type order by count(*) desc, coalesce(d.domain, '(none)')) <= 50
order by p.entity_type, spans desc, domain""",
        keys=("entity_type", "domain"),
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
    """The folder of a corpus's statistics (`CorpusStore.stats_dir`)."""
    return cs.stats_dir


#: The counted spans: a sidecar span counts when its score reaches its entity's threshold
#: (`pii_min_score`, from `Settings.stats_min_score`; an entity not listed counts every span).
#: Display redaction, and so the public tables' sizes, use every span.
COUNTED_PII = """select p.* from pii_spans p
where p.score >= coalesce((select m.min_score from pii_min_score m
                           where m.entity_type = p.entity_type), 0)"""


def open_views(con: duckdb.DuckDBPyConnection, manifest: dict[str, Any], root: Path) -> None:
    """Create `docs`, `shards`, `pii` and `pii_shards` for the inputs a stats manifest names.
    Times are read in UTC (months, first and last seen), whatever the machine's zone."""
    con.execute("SET TimeZone = 'UTC'")
    con.register("shards", _rows(manifest["shards"], ["shard_id", "source", "sha256", "parquet"]))
    con.register("pii_shards", _rows(manifest["pii"], ["shard_id", "sha256", "path"]))
    from corpuscope.dsr.suppression import hidden_ids

    hidden = hidden_ids(root.parent.parent) if root else frozenset()  # never counted
    con.register("suppressed", pa.table({"doc_id": pa.array(sorted(hidden), pa.string())}))
    for view, files, schema in (
        ("docs", [root / s["parquet"] for s in manifest["shards"]], DOCUMENT_SCHEMA),
        ("pii", [root / p["path"] for p in manifest["pii"]], PII_SCHEMA),
    ):
        if files:
            con.read_parquet([str(f) for f in files]).create_view(f"all_{view}")
        else:
            con.register(f"all_{view}", schema.empty_table())
        con.execute(
            f"create view {view} as select * from all_{view} "
            "where doc_id not in (select doc_id from suppressed)"
        )
    # Only spans at or above their entity's threshold are counted (`COUNTED_PII`).
    thresholds = manifest.get("pii_min_score", [])
    con.register(
        "pii_min_score",
        pa.table(
            {
                "entity_type": pa.array([t["entity_type"] for t in thresholds], pa.string()),
                "min_score": pa.array([t["min_score"] for t in thresholds], pa.float64()),
            }
        ),
    )
    con.execute("alter view pii rename to pii_spans")
    con.execute(f"create view pii as {COUNTED_PII}")


#: The redacted view's `docs`: the shards' rows with the redacted text's words, characters
#: and hash, its UTF-8 bytes as `n_bytes` (`public_sql` reads `strlen(text)` as that), and
#: the domain as the public sees it (`public_domain`: an IP address is `[IP]`).
REDACTED_DOCS = """select d.* replace (r.n_words as n_words, r.n_chars as n_chars,
                          r.text_hash as text_hash, r.domain as domain), r.n_bytes as n_bytes
from raw_docs d join redacted r on d.doc_id = r.doc_id"""


def public_sql(spec: TableSpec) -> str | None:
    """A table's query as it runs for the public, over the redacted view's `docs`
    (`open_redacted_views`): the same query, with the text's UTF-8 bytes read from the
    redacted view (`n_bytes`); None for a table computed in Python."""
    if spec.sql is None:
        return None
    sql = spec.public or spec.sql
    return sql.replace("strlen(d.text)", "d.n_bytes").replace("strlen(text)", "n_bytes")


def _read_spans(path: Path | None) -> dict[str, list[PiiSpan]]:
    out: dict[str, list[PiiSpan]] = {}
    if path is None:
        return out
    for row in pq.read_table(path, columns=[f.name for f in PII_SCHEMA]).to_pylist():
        out.setdefault(row["doc_id"], []).append(PiiSpan(**row))
    return out


REDACTED_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("n_words", pa.int64(), nullable=False),
        pa.field("n_chars", pa.int64(), nullable=False),
        pa.field("n_bytes", pa.int64(), nullable=False),
        pa.field("text_hash", pa.string(), nullable=False),
        pa.field("domain", pa.string()),
    ]
)


def redacted_sizes(manifest: dict[str, Any], root: Path, out: Path) -> list[Path]:
    """Per document of the inputs, the redacted view's words, characters, UTF-8 bytes and
    text hash, and its public domain (`public_domain`), written as Parquet files under `out`
    (one per shard). The view is the index's (`index.build.public_text`): the scan's spans
    and the display pass; a shard not scanned yet gets the display pass only (the scan's
    detector is not run here)."""
    from corpuscope.ingest.normalise import public_domain
    from corpuscope.privacy.redact import redact
    from corpuscope.whitespace import word_counts

    sidecars = {p["shard_id"]: root / p["path"] for p in manifest["pii"]}
    files = []
    for n, shard in enumerate(manifest["shards"]):
        spans = _read_spans(sidecars.get(shard["shard_id"]))
        path = out / f"{n}.parquet"
        with pq.ParquetWriter(path, REDACTED_SCHEMA) as writer:
            pf = pq.ParquetFile(root / shard["parquet"])
            for batch in pf.iter_batches(batch_size=1024, columns=["doc_id", "text", "domain"]):
                ids = batch.column("doc_id").to_pylist()
                views = [
                    redact(t, spans.get(i, ()), runtime_pass=False)[0]
                    for i, t in zip(ids, batch.column("text").to_pylist(), strict=True)
                ]
                arr = pa.array(views, pa.string())
                offsets = np.frombuffer(arr.buffers()[1], np.int32)[: len(arr) + 1]
                data = arr.buffers()[2]
                words = word_counts(data if data is not None else b"", offsets)
                writer.write_table(
                    pa.table(
                        {
                            "doc_id": pa.array(ids, pa.string()),
                            "n_words": pa.array(words, pa.int64()),
                            "n_chars": pc.utf8_length(arr).cast(pa.int64()),
                            "n_bytes": pc.binary_length(arr).cast(pa.int64()),
                            "text_hash": pa.array([text_hash(v) for v in views], pa.string()),
                            "domain": pa.array(
                                [public_domain(d) for d in batch.column("domain").to_pylist()],
                                pa.string(),
                            ),
                        },
                        schema=REDACTED_SCHEMA,
                    )
                )
        files.append(path)
    return files


def open_redacted_views(con: duckdb.DuckDBPyConnection, files: list[Path]) -> None:
    """Turn the `docs` of `open_views` into the redacted view's (`REDACTED_DOCS`); the shards'
    own rows stay as `raw_docs`."""
    if files:
        con.read_parquet([str(f) for f in files]).create_view("redacted")
    else:
        con.register("redacted", REDACTED_SCHEMA.empty_table())
    con.execute("alter view docs rename to raw_docs")
    con.execute(f"create view docs as {REDACTED_DOCS}")


def _rows(items: list[dict[str, Any]], columns: list[str]) -> pa.Table:
    return pa.table({c: pa.array([i[c] for i in items], pa.string()) for c in columns})


def run_query(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    """A query's result as an Arrow table."""
    return con.sql(sql).to_arrow_table()


def _crc32(data: bytes) -> int:
    return zlib.crc32(data)


def near_duplicates(con: duckdb.DuckDBPyConnection, params: dict[str, Any] = MINHASH) -> pa.Table:
    """MinHash LSH over a fixed sample of documents (ordered by md5 of their id)."""
    from datasketch import MinHash, MinHashLSH

    total = con.execute("select count(*) from docs").fetchone()[0]
    rows = con.execute(
        "select doc_id, text from docs order by md5(doc_id) limit ?", [params["sample"]]
    ).fetchall()
    n, k = len(rows), params["shingle_words"]
    lsh = MinHashLSH(threshold=params["threshold"], num_perm=params["num_perm"])
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, (_doc_id, text) in enumerate(rows):
        words = text.lower().split()
        shingles = {" ".join(words[j : j + k]).encode() for j in range(max(1, len(words) - k + 1))}
        m = MinHash(num_perm=params["num_perm"], seed=params["seed"], hashfunc=_crc32)
        m.update_batch(list(shingles))
        for other in lsh.query(m):
            parent[find(i)] = find(other)
        lsh.insert(i, m)
    sizes: dict[int, int] = {}
    for i in range(n):
        r = find(i)
        sizes[r] = sizes.get(r, 0) + 1
    clustered = [s for s in sizes.values() if s > 1]
    in_clusters = sum(clustered)
    return pa.table(
        {
            "documents": [total],
            "sample_documents": [n],
            "clusters": [len(clustered)],
            "documents_in_clusters": [in_clusters],
            "estimated_share": [in_clusters / n if n else 0.0],
            "num_perm": [params["num_perm"]],
            "jaccard_threshold": [params["threshold"]],
            "shingle_words": [k],
            "method": ["datasketch MinHashLSH, word 5-gram shingles (lower-cased), crc32"],
        }
    )


def _inputs(cs: CorpusStore, min_score: Mapping[str, float]) -> dict[str, Any]:
    shards = sorted(cs.manifest().done(), key=lambda s: s.shard_id)
    live = cs.live_sidecars(shards)
    return {
        "pii_min_score": [
            {"entity_type": k, "min_score": float(v)} for k, v in sorted(min_score.items())
        ],
        "shards": [
            {"shard_id": s.shard_id, "source": s.source, "sha256": s.sha256, "parquet": s.parquet}
            for s in shards
        ],
        "pii": [
            {"shard_id": k, "sha256": e["sha256"], "path": e["path"]}
            for k, e in sorted(live.items())
        ],
    }


def read_manifest(cs: CorpusStore) -> dict[str, Any] | None:
    try:
        return orjson.loads(cs.stats_manifest_path.read_bytes())
    except FileNotFoundError:
        return None


def made(cs: CorpusStore, inputs: dict[str, Any] | None = None) -> Made:
    """What statistics computed now (or from `inputs`) are made from (`corpuscope.artifacts`)."""
    if inputs is None:
        return Made("stats", str(STATS_VERSION), live_inputs(cs))
    files = {s["parquet"]: s["sha256"] for s in inputs["shards"]}
    files.update({p["path"]: p["sha256"] for p in inputs["pii"]})
    return Made("stats", str(STATS_VERSION), files)


def is_current(cs: CorpusStore) -> bool:
    """Were the published statistics computed from the corpus as it is now?"""
    m = read_manifest(cs)
    recorded = Made.from_json(m.get("made")) if m else None
    if compare(cs.name, "stats", recorded, made(cs)).state != "current":
        return False
    from corpuscope.dsr.suppression import pending

    return not pending(cs.root.parent.parent, cs.name)  # stale until `dsr apply` rebuilds


def build_stats(
    cs: CorpusStore,
    threads: int = 2,
    memory_limit: str = "2GB",
    min_score: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Compute every table and publish them with the manifest (last). Returns the manifest.
    `min_score`: per entity, the least score of a counted PII span (default: the setting
    `stats_min_score`, from the environment). Two builds of one corpus run one after the
    other (each removes the files the manifest it replaces no longer names, which must not
    be the other's)."""
    if min_score is None:
        from corpuscope.config import Settings

        min_score = Settings().stats_min_score
    folder = stats_dir(cs)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        return _build_stats(cs, threads, memory_limit, min_score)


def _build_stats(
    cs: CorpusStore, threads: int, memory_limit: str, min_score: Mapping[str, float]
) -> dict[str, Any]:
    t0 = time.perf_counter()
    inputs = _inputs(cs, min_score)
    damaged = [
        f"{rel}: {problem}"
        for rel in [s["parquet"] for s in inputs["shards"]] + [p["path"] for p in inputs["pii"]]
        if (problem := parquet_problem(cs.root / rel))
    ]
    if damaged:
        raise Damaged(
            f"cannot compute the statistics of {cs.name} over damaged files ({'; '.join(damaged[:3])}): "
            "run `corpuscope verify --repair`"
        )
    provenance = made(cs, inputs)
    folder = stats_dir(cs)
    folder.mkdir(parents=True, exist_ok=True)
    tables: dict[str, Any] = {}
    computed: dict[str, pa.Table] = {}

    def publish(name: str, table: pa.Table) -> dict[str, Any]:
        data = _parquet(table)
        digest = hashlib.sha256(data).hexdigest()
        file = f"{name}-{digest[:12]}.parquet"
        publish_bytes(folder / file, data)
        return {"file": file, "sha256": digest, "rows": table.num_rows}

    with (
        duckdb.connect(config={"threads": threads, "memory_limit": memory_limit}) as con,
        tempfile.TemporaryDirectory(dir=folder, prefix=".redacted-") as tmp,
    ):
        open_views(con, inputs, cs.root)
        for spec in TABLES:
            t = time.perf_counter()
            table = near_duplicates(con) if spec.sql is None else run_query(con, spec.sql)
            computed[spec.name] = table
            tables[spec.name] = {
                **publish(spec.name, table),
                "columns": table.column_names,
                "description": spec.description,
                "counts": list(spec.counts),
                "partition": spec.partition,
                "query": spec.sql,
                "seconds": round(time.perf_counter() - t, 3),
            }
        # The public tables: the same queries over the redacted view.
        open_redacted_views(con, redacted_sizes(inputs, cs.root, Path(tmp)))
        for spec in TABLES:
            t = time.perf_counter()
            sql = public_sql(spec)
            # near_duplicates: MinHash of the raw text, as the auditor's (a known limit)
            table = computed[spec.name] if sql is None else run_query(con, sql)
            tables[spec.name]["public"] = {
                **publish(f"{spec.name}-public", table),
                "columns": table.column_names,
                "query": sql,
                "seconds": round(time.perf_counter() - t, 3),
            }
    manifest = {
        "version": STATS_VERSION,
        "corpus": cs.name,
        "computed_at": time.time(),
        "duckdb": duckdb.__version__,
        "inputs": inputs,
        "made": provenance.to_json(),
        "minhash": MINHASH,
        "tables": tables,
        "seconds": round(time.perf_counter() - t0, 3),
    }
    publish_bytes(cs.stats_manifest_path, orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    keep = {t["file"] for t in tables.values()} | {t["public"]["file"] for t in tables.values()}
    keep |= {cs.stats_manifest_path.name}
    for p in folder.iterdir():  # tables of earlier builds (readers go through the manifest)
        if p.name not in keep and not p.name.startswith("."):
            p.unlink(missing_ok=True)
    return manifest


def _parquet(table: pa.Table) -> bytes:
    """Parquet bytes of a table; time stamps in UTC as in the shards (DuckDB says Etc/UTC)."""
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type) and f.type.tz:
            table = table.set_column(i, f.name, table.column(i).cast(pa.timestamp("us", "UTC")))
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def load_table(cs: CorpusStore, name: str, public: bool = False) -> pa.Table:
    """A published table, checked against the manifest's sha256: the auditor's, or with
    `public` the one computed over the redacted view (small cells not yet suppressed:
    `disclosure.suppress`)."""
    m = read_manifest(cs)
    if m is None:
        raise NoStatistics(
            f"no statistics for {cs.name}: run `corpuscope stats --corpus {cs.name}`"
        )
    entry = m["tables"].get(name)
    if entry is None:
        raise NoStatistics(f"no statistics table {name!r} for {cs.name}")
    if public:
        entry = entry.get("public")
        if entry is None:  # computed before version 3, over the raw text only
            raise NoStatistics(
                f"the statistics of {cs.name} predate the public tables: "
                f"run `corpuscope stats --corpus {cs.name}`"
            )
    data = (stats_dir(cs) / entry["file"]).read_bytes()
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise Damaged(
            f"{entry['file']} does not match its sha256 in the manifest: run `corpuscope verify --repair`"
        )
    # One thread: pyarrow 26 can abort the interpreter at exit after a threaded read of a
    # small in-memory file with time-zone columns.
    return pq.read_table(pa.BufferReader(data), use_threads=False)
