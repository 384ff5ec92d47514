"""`corpuscope dsr apply`: remove suppressed documents from every stored artifact, and prove it.

For each corpus with suppressed documents still stored, under the corpus's writer lock: each
affected shard is rewritten without them (a new Parquet file published atomically, then its
manifest entry), its PII sidecar keeps the spans of the documents left (the offsets of a
document do not move), the index is rebuilt as a new generation (the old one, whose segments
may still hold the text of deleted documents, is removed), the statistics are recomputed, and
`check_erased` with `verify` must then find no suppressed id or text hash in any shard, index
segment or statistics table. The entries are marked applied only once that holds.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections import Counter, defaultdict
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpuscope.config import Settings
from corpuscope.dsr import db, suppression
from corpuscope.dsr.audit import cli_actor
from corpuscope.errors import Damaged
from corpuscope.models.documents import PII_SCHEMA
from corpuscope.store import CorpusStore, Store, publish_bytes


def _rewrite(cs: CorpusStore, settings: Settings, ids: pa.Array, hashes: pa.Array) -> int:
    """Rewrite the shards (and sidecars) holding any of `ids`, or a text of one of `hashes`
    (the same text is the same personal data); returns the documents removed."""
    from corpuscope.ingest.pipeline import parquet_bytes

    manifest = cs.manifest()
    sidecars = cs.live_sidecars(manifest.done())
    shards, entries, removed = [], {}, 0
    for shard in sorted(manifest.done(), key=lambda s: s.shard_id):
        path = cs.root / shard.parquet
        table = pq.read_table(path)
        gone = pc.or_(pc.is_in(table["doc_id"], ids), pc.is_in(table["text_hash"], hashes))
        if not pc.any(gone).as_py():
            continue
        kept = table.filter(pc.invert(gone))
        data = parquet_bytes(kept, settings.parquet_compression)
        publish_bytes(path, data)
        removed += table.num_rows - kept.num_rows
        new = dataclasses.replace(
            shard,
            documents=kept.num_rows,
            text_bytes=pc.sum(pc.binary_length(kept["text"])).as_py() or 0,
            parquet_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        shards.append(new)
        entry = sidecars.get(shard.shard_id)
        if entry:
            entries[shard.shard_id] = _sidecar(cs, entry, new, kept, table.filter(gone)["doc_id"])
    if shards:
        cs.record(shards)
        cs.record_pii(entries)
    return removed


def _sidecar(cs: CorpusStore, entry: dict[str, Any], shard, kept: pa.Table, ids: pa.Array) -> dict:
    """The sidecar of a rewritten shard: the spans of the documents left, its counts again."""
    spans = pq.read_table(cs.root / entry["path"])
    spans = spans.filter(pc.invert(pc.is_in(spans["doc_id"], ids))).cast(PII_SCHEMA)
    sink = pa.BufferOutputStream()
    pq.write_table(spans, sink, compression="zstd")
    data = sink.getvalue().to_pybytes()
    publish_bytes(cs.root / entry["path"], data)
    lang = dict(zip(kept["doc_id"].to_pylist(), kept["language"].to_pylist(), strict=True))
    by_language: dict[str, Counter] = defaultdict(Counter)
    for language in lang.values():
        by_language[language]["documents"] += 1
    with_pii = set(spans["doc_id"].to_pylist())
    for d in with_pii:
        by_language[lang[d]]["documents_with_pii"] += 1
    for d, entity in zip(
        spans["doc_id"].to_pylist(), spans["entity_type"].to_pylist(), strict=True
    ):
        by_language[lang[d]][entity] += 1
    made = dict(entry.get("made") or {"step": "scan", "version": entry["scanner"]})
    made["inputs"] = {shard.parquet: shard.sha256}
    return {
        **entry,
        "source_sha256": shard.sha256,
        "sha256": hashlib.sha256(data).hexdigest(),
        "documents": kept.num_rows,
        "documents_with_pii": len(with_pii),
        "spans": spans.num_rows,
        "text_bytes": shard.text_bytes,
        "by_entity": dict(Counter(spans["entity_type"].to_pylist())),
        "by_language": {k: dict(v) for k, v in sorted(by_language.items())},
        "made": made,
    }


def check_erased(cs: CorpusStore, ids: set[str], hashes: set[str]) -> list[str]:
    """Where any of these documents (by id or text hash) is still stored: shards, sidecars,
    index segments (deleted-but-unmerged copies included: tantivy's document frequency counts
    them) and statistics tables. Empty when erased everywhere."""
    from corpuscope.index.build import read_layout
    from corpuscope.index.schema import open_index
    from corpuscope.stats.build import read_manifest

    problems = []
    if not ids:
        return problems
    id_list, hash_list = sorted(ids), sorted(hashes)
    with duckdb.connect() as con:
        for path in cs.shard_paths():
            n = con.execute(
                "select count(*) from read_parquet(?) where list_contains(?, doc_id) "
                "or list_contains(?, text_hash)",
                [str(path), id_list, hash_list],
            ).fetchone()[0]
            if n:
                problems.append(f"{path.relative_to(cs.root)}: {n} suppressed document(s)")
        for path in cs.pii_paths():
            n = con.execute(
                "select count(*) from read_parquet(?) where list_contains(?, doc_id)",
                [str(path), id_list],
            ).fetchone()[0]
            if n:
                problems.append(f"{path.relative_to(cs.root)}: spans of suppressed documents")
        manifest = read_manifest(cs) or {"tables": {}}
        files = [e["file"] for e in manifest["tables"].values()]
        files += [e["public"]["file"] for e in manifest["tables"].values() if "public" in e]
        for file in files:
            path = cs.stats_dir / file
            cols = [f.name for f in pq.read_schema(path) if pa.types.is_string(f.type)]
            for col in cols:
                n = con.execute(
                    f'select count(*) from read_parquet(?) where list_contains(?, "{col}") '
                    f'or list_contains(?, "{col}")',
                    [str(path), id_list, hash_list],
                ).fetchone()[0]
                if n:
                    problems.append(f"stats/{file}: suppressed ids or hashes in column {col}")
    layout = read_layout(cs.index_dir)
    for part in layout.partition_paths() if layout.generation else []:
        searcher = open_index(str(part)).searcher()
        left = sum(1 for d in id_list if searcher.doc_freq("doc_id", d))
        if left:
            problems.append(f"index/{layout.generation}/{part.name}: {left} suppressed document(s)")
    return problems


def apply(settings: Settings, corpus: str | None = None, actor: str | None = None) -> list[dict]:
    """Apply the suppression list to every corpus (or one); a summary per corpus touched."""
    from corpuscope import jobs
    from corpuscope.verify import verify_corpus

    store = Store(settings.data)
    names = [jobs.existing_corpus(settings, corpus).name] if corpus else store.corpora()
    out = []
    for name in names:
        todo = suppression.pending(settings.data, name)
        if not todo:
            continue
        t0 = time.perf_counter()
        cs = store.corpus(name)
        ids = {e["doc_id"] for e in todo}
        hashes = {e["text_hash"] for e in todo if e["text_hash"]}
        with cs.write_lock(settings.lock_timeout):
            removed = _rewrite(
                cs,
                settings,
                pa.array(sorted(ids), pa.string()),
                pa.array(sorted(hashes), pa.string()),
            )
        jobs.index(settings, name, rebuild=True)  # a new generation: no unmerged copies
        if cs.stats_manifest_path.exists():
            jobs.stats(settings, name)
        problems = check_erased(cs, ids, hashes)
        if problems:
            raise Damaged(
                f"apply on {name}: suppressed documents are still stored ({'; '.join(problems[:3])}); "
                "run `corpuscope verify --repair` then `corpuscope dsr apply` again"
            )
        now = time.time()
        summary = {"corpus": name, "documents_removed": removed, "suppressed": len(ids)}
        with db.writing(settings.data) as (st, con):
            con.executemany(
                "update dsr_suppressed set applied = ? where doc_id = ?", [(now, d) for d in ids]
            )
            st.append_audit(con, actor or cli_actor(), "dsr.apply", name, summary)
        report = verify_corpus(cs, settings, deep=True)
        damaged = [s for s in report.found if s.state == "damaged"]
        if damaged or report.unrepaired:
            raise Damaged(
                f"apply on {name}: the suppressed documents are gone, but verify found "
                + "; ".join(f"{s.artifact}: {s.reason}" for s in damaged[:3])
                + ": run `corpuscope verify --repair`"
            )
        # Stale is not damaged: sidecars of an older scanner stay as they were (their spans
        # of the documents left are kept), and say so; `corpuscope scan` renews them.
        stale = [f"{s.artifact}: {s.reason}" for s in report.found if s.state == "stale"]
        summary |= {
            "verified": True,
            "stale": stale,
            "seconds": round(time.perf_counter() - t0, 3),
        }
        suppression.export(settings.data)
        out.append(summary)
    return out
