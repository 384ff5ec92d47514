"""Search quality: corpuscope's BM25 on the Cranfield collection, next to rank_bm25.

    .venv/bin/python bench/search_quality.py

The 1,400 Cranfield abstracts (`samples/ir/cranfield/`) are ingested and indexed as a corpus
with the `corpuscope` command line, and its 225 queries asked through
`corpuscope.index.query.search` (the API's search). The baseline is rank_bm25's `BM25Okapi`
on the same documents (title and abstract) with the same tokenisation
(`corpuscope.index.schema.tokenize`, the index's own analyser) and tantivy's k1 = 1.2,
b = 0.75; it is in the optional `bench` extra and skipped, with a note, when not installed.
A second baseline that is always there: BM25 in NumPy with Lucene's IDF (the formula tantivy
uses), same tokenisation and parameters. The collection, its judgements and the metrics (MAP,
nDCG@10 as trec_eval computes them) are `bench/cranfield.py`: queries numbered 1..225 in file
order, codes 1-4 relevant, gain 5 - code, -1 left out.

    .venv/bin/python bench/search_quality.py --smoke   # 50 queries, the top 10 of each

Most of corpuscope's time here is its snippets (each hit gets a redacted, highlighted
snippet, about 1 ms), so `--smoke` asks the first 50 queries only and ranks 10 documents for
each: every system gets the same queries and the same k, so the ratios still compare like
with like, but these are not the figures of the whole collection at k = 100.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
from cranfield import Cranfield, evaluate, load, lucene_bm25_run, rank_bm25_run, to_jsonl
from prepared import corpuscope

from corpuscope.config import Settings
from corpuscope.index.query import search
from corpuscope.index.schema import tokenize
from corpuscope.index.searcher import Indexes
from corpuscope.store import Store
from ingest import installed, write_report

REPO = Path(__file__).resolve().parent.parent


def corpuscope_run(collection: Cranfield, k: int) -> dict[str, list[str]]:
    """Top `k` per query from corpuscope's search over the ingested and indexed collection."""
    work = Path(tempfile.mkdtemp(prefix="cranfield-"))
    try:
        return _run(collection, k, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(collection: Cranfield, k: int, work: Path) -> dict[str, list[str]]:
    src = work / "cranfield.jsonl"
    to_jsonl(collection, src)
    data = work / "data"
    corpuscope("ingest", src, "--corpus", "cranfield", "--data-dir", data, "--quiet")
    corpuscope("index", "--corpus", "cranfield", "--partitions", "1", "--data-dir", data, "--quiet")
    settings = Settings(data=data, max_k=k, max_clauses=200)
    ix = Indexes(Store(data))
    source_id: dict[str, str] = {}  # doc_id -> Cranfield id
    for path in Store(data).corpus("cranfield").shard_paths():
        t = pq.read_table(path, columns=["doc_id", "source_id"])
        ids = zip(t.column("doc_id").to_pylist(), t.column("source_id").to_pylist(), strict=True)
        source_id.update(ids)
    run = {}
    for qid, query in collection.queries.items():
        # Words only: a Cranfield query is prose, not query syntax.
        answer = search(ix, " ".join(tokenize(query.text)), settings, k=k)
        run[qid] = [source_id[h.doc_id] for h in answer.hits]
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, default=100, help="documents ranked per query")
    parser.add_argument("--out", type=Path, help="default: bench/out/search_quality.json")
    parser.add_argument("--smoke", action="store_true", help="the top 10 per query only")
    args = parser.parse_args()
    out = args.out or (None if args.smoke else REPO / "bench" / "out" / "search_quality.json")
    collection = load()
    if args.smoke:
        args.k = 10
        keep = list(collection.queries)[:50]
        collection = dataclasses.replace(
            collection,
            queries={q: collection.queries[q] for q in keep},
            qrels={q: collection.qrels[q] for q in keep if q in collection.qrels},
        )
        print("--smoke: the first 50 queries, the top 10 documents of each, for every system")
    qrels = collection.qrels
    print(
        f"Cranfield: {len(collection.documents)} documents, {len(collection.queries)} queries, "
        f"{sum(len(v) for v in qrels.values())} relevant judgements (codes 1-4)"
    )
    systems = {
        "corpuscope (tantivy BM25)": lambda: corpuscope_run(collection, args.k),
        "BM25 in NumPy (Lucene IDF)": lambda: lucene_bm25_run(collection, tokenize, args.k),
    }
    if installed("rank_bm25"):
        systems["rank_bm25 BM25Okapi"] = lambda: rank_bm25_run(collection, tokenize, args.k)
    else:
        print("  rank_bm25 is not installed (the `bench` extra): its baseline is skipped")
    results = {}
    for name, ranked in systems.items():
        t0 = time.perf_counter()
        run = ranked()
        seconds = time.perf_counter() - t0
        results[name] = evaluate(run, qrels) | {"seconds": round(seconds, 2)}
    for name, r in results.items():
        print(
            f"  {name:<28} MAP {r['MAP']:.4f}  nDCG@10 {r['nDCG@10']:.4f} ({r['queries']} queries, "
            f"{r['seconds']:.1f} s)"
        )
    ours = results["corpuscope (tantivy BM25)"]["MAP"]
    ratios = {name: round(ours / r["MAP"], 3) for name, r in list(results.items())[1:]}
    for name, ratio in ratios.items():
        print(f"  ratio of MAP, corpuscope / {name}: {ratio}")
    if out is None:
        print("--smoke: no report written (give --out for one)")
    else:
        write_report(out, {**results, "k": args.k, "ratio_map": ratios})


if __name__ == "__main__":
    main()
