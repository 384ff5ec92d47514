"""Index build speed: corpuscope's incremental, partitioned build against a bare tantivy loop.

    .venv/bin/python bench/index.py                 # >= 200,000 documents, 3 repeats
    .venv/bin/python bench/index.py --smoke         # 2 MB corpus in a temporary folder, once

Both read the same Parquet shards and add the same documents with the same schema, analyser
and writer threads; the bare loop is the limit: one writer, no units, no PII spans, no
partitions, one commit. Target: corpuscope >= 0.7 of the bare loop. Also reported: the index
size per byte of text, and an incremental run that has nothing to do.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import tantivy
from prepared import CORPUS, prepared

from corpuscope.index.build import build_index, folder_bytes, index_root, read_layout
from corpuscope.index.schema import open_index
from corpuscope.store import Store
from ingest import bench_workdir, write_report

REPO = Path(__file__).resolve().parent.parent
COLUMNS = ["doc_id", "corpus", "shard", "url", "domain", "timestamp", "language", "text"]


def bare_loop(shards: list[Path], out: Path, threads: int, heap_mb: int) -> float:
    """Seconds to add every document of `shards` to one fresh index and commit."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    started = time.perf_counter()
    index = open_index(str(out))
    writer = index.writer(heap_size=heap_mb * 1_000_000 * threads, num_threads=threads)
    for path in shards:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=1024, columns=COLUMNS):
            cols = {name: batch.column(name).to_pylist() for name in COLUMNS}
            for i in range(batch.num_rows):
                doc = tantivy.Document()
                for name in ("doc_id", "corpus", "shard", "language", "text"):
                    doc.add_text(name, cols[name][i])
                for name in ("url", "domain"):
                    if cols[name][i]:
                        doc.add_text(name, cols[name][i])
                if cols["timestamp"][i] is not None:
                    doc.add_date("timestamp", cols["timestamp"][i])
                writer.add_document(doc)
    writer.commit()
    writer.wait_merging_threads()
    return time.perf_counter() - started


def _partitions(cs) -> list[Path]:
    """The partition folders of the corpus's published index."""
    return read_layout(index_root(cs)).partition_paths()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="writer threads per partition")
    parser.add_argument("--heap-mb", type=int, default=256)
    parser.add_argument("--workdir", type=Path, help="default: /tmp/corpuscope-bench")
    parser.add_argument("--out", type=Path, help="default: bench/out/index.json")
    parser.add_argument("--smoke", action="store_true", help="a tiny run that checks it works")
    args = parser.parse_args()
    workdir = bench_workdir(args.smoke, args.workdir)
    if args.smoke:
        args.repeat = 1
        print(f"--smoke: the 2 MB corpus under {workdir}, one repeat")
    out = args.out or (
        workdir / "index-smoke.json" if args.smoke else REPO / "bench" / "out" / "index.json"
    )

    data, _ = prepared(workdir, smoke=args.smoke)
    cs = Store(data).corpus(CORPUS)
    shards = cs.shard_paths()
    done = cs.manifest().done()
    text_bytes = sum(s.text_bytes for s in done)
    docs = sum(s.documents for s in done)
    print(f"{docs:,} documents, {text_bytes / 1e6:.1f} MB of text in {len(shards)} shards")
    bare_dir = Path(tempfile.mkdtemp(prefix="bare-index-", dir=workdir))
    times: dict[str, list[float]] = {"bare": [], "corpuscope": []}
    sizes: dict[str, int] = {}
    for r in range(args.repeat):  # round robin, to spread the machine's noise
        times["bare"].append(bare_loop(shards, bare_dir, args.threads, args.heap_mb))
        sizes["bare"] = folder_bytes(bare_dir)
        s = build_index(cs, args.partitions, args.threads, args.heap_mb, rebuild=True)
        times["corpuscope"].append(s.seconds)
        sizes["corpuscope"] = s.index_bytes
        print(f"  repeat {r + 1}: bare {times['bare'][-1]:.1f} s, corpuscope {s.seconds:.1f} s")
    shutil.rmtree(bare_dir, ignore_errors=True)
    t0 = time.perf_counter()
    noop = build_index(cs, args.partitions, args.threads, args.heap_mb)
    noop_s = time.perf_counter() - t0
    assert noop.shards_added == 0
    indexed = sum(i.searcher().num_docs for i in map(open_index, map(str, _partitions(cs))))
    assert indexed == docs, f"the index holds {indexed} documents, the corpus {docs}"

    med = {k: statistics.median(v) for k, v in times.items()}
    mbps = {k: text_bytes / 1e6 / v for k, v in med.items()}
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "smoke": args.smoke,
        "documents": docs,
        "text_mb": round(text_bytes / 1e6, 1),
        "shards": len(shards),
        "partitions": args.partitions,
        "threads_per_writer": args.threads,
        "seconds_median": {k: round(v, 2) for k, v in med.items()},
        "mb_per_s": {k: round(v, 2) for k, v in mbps.items()},
        "docs_per_s": {k: round(docs / v) for k, v in med.items()},
        "ratio_corpuscope_to_bare": round(med["bare"] / med["corpuscope"], 3),
        "index_bytes": sizes,
        "index_bytes_per_text_byte": {k: round(v / text_bytes, 3) for k, v in sizes.items()},
        "incremental_noop_seconds": round(noop_s, 3),
        "target": "corpuscope >= 0.7 x bare loop",
    }
    print(
        f"\nbare tantivy loop : {mbps['bare']:.1f} MB/s ({med['bare']:.1f} s)\n"
        f"corpuscope index  : {mbps['corpuscope']:.1f} MB/s ({med['corpuscope']:.1f} s), "
        f"{args.partitions} partitions\n"
        f"ratio             : {report['ratio_corpuscope_to_bare']:.2f} (target >= 0.7; "
        f"corpuscope MB/s / bare loop MB/s)\n"
        f"index size        : {report['index_bytes_per_text_byte']['corpuscope']:.2f} bytes per "
        f"text byte (bare {report['index_bytes_per_text_byte']['bare']:.2f})\n"
        f"no-op rerun       : {noop_s:.2f} s"
    )
    write_report(out, report)


if __name__ == "__main__":
    main()
