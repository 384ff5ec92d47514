"""`corpuscope export`: a training-ready copy of a corpus without any suppressed document.

The shards are copied with every document on the suppression list left out (applied or not),
and a manifest names the suppression list version it honours, with the sha256 and document
count of every file, so a training run can prove it respected every request up to then.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpuscope import jobs
from corpuscope.config import Settings
from corpuscope.dsr import db, suppression
from corpuscope.dsr.audit import cli_actor
from corpuscope.errors import UsageError
from corpuscope.store import publish_bytes


def export_corpus(
    settings: Settings, corpus: str, out: Path, actor: str | None = None
) -> dict[str, Any]:
    """Write the corpus's shards without suppressed documents to `out`; returns the manifest."""
    from corpuscope.ingest.pipeline import parquet_bytes

    cs = jobs.existing_corpus(settings, corpus)
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"{out} is not empty: export into a new folder")
    with db.reading(settings.data) as con:
        version = suppression.version(con)
        hidden = [r[0] for r in con.execute("select doc_id from dsr_suppressed")]
        hashes = [r[0] for r in con.execute("select text_hash from dsr_suppressed") if r[0]]
    ids, text_hashes = pa.array(sorted(hidden), pa.string()), pa.array(sorted(hashes), pa.string())
    files, documents, left_out = [], 0, 0
    for path in cs.shard_paths():
        table = pq.read_table(path)
        gone = pc.or_(pc.is_in(table["doc_id"], ids), pc.is_in(table["text_hash"], text_hashes))
        kept = table.filter(pc.invert(gone))
        left_out += table.num_rows - kept.num_rows
        data = parquet_bytes(kept, settings.parquet_compression)
        publish_bytes(out / "shards" / path.name, data)
        documents += kept.num_rows
        files.append(
            {
                "file": f"shards/{path.name}",
                "documents": kept.num_rows,
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    manifest = {
        "corpus": corpus,
        "exported_at": time.time(),
        "suppression_version": version,
        "suppressed_documents_left_out": left_out,
        "documents": documents,
        "files": files,
    }
    publish_bytes(out / "manifest.json", json.dumps(manifest, indent=1).encode())
    with db.writing(settings.data) as (st, con):
        st.append_audit(
            con,
            actor or cli_actor(),
            "export",
            corpus,
            {"suppression_version": version, "documents": documents, "left_out": left_out},
        )
    return manifest
