"""Search quality: corpuscope's BM25 on the Cranfield collection, next to rank_bm25.

    .venv/bin/python bench/search_quality.py

The 1,400 Cranfield abstracts (`samples/ir/cranfield/`) are ingested and indexed as a corpus
with the `corpuscope` command line, and its 225 queries asked through
`corpuscope.index.query.search` (the API's search). The baseline is rank_bm25's `BM25Okapi`
on the same documents (title and abstract) with the same tokenisation
(`corpuscope.index.schema.tokenize`, the index's own analyser) and tantivy's k1 = 1.2,
b = 0.75. The collection, its judgements and the metrics (MAP, nDCG@10 as trec_eval computes
them) are `bench/cranfield.py`: queries numbered 1..225 in file order, codes 1-4 relevant,
gain 5 - code, -1 left out.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
from cranfield import Cranfield, evaluate, load, rank_bm25_run, to_jsonl
from prepared import corpuscope

from corpuscope.config import Settings
from corpuscope.index.query import search
from corpuscope.index.schema import tokenize
from corpuscope.index.searcher import Indexes
from corpuscope.store import Store
from ingest import write_report

REPO = Path(__file__).resolve().parent.parent


def corpuscope_run(collection: Cranfield, k: int) -> dict[str, list[str]]:
    """Top `k` per query from corpuscope's search over the ingested and indexed collection."""
    work = Path(tempfile.mkdtemp(prefix="cranfield-"))
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
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "search_quality.json")
    args = parser.parse_args()
    collection = load()
    qrels = collection.qrels
    print(
        f"Cranfield: {len(collection.documents)} documents, {len(collection.queries)} queries, "
        f"{sum(len(v) for v in qrels.values())} relevant judgements (codes 1-4)"
    )
    results = {
        "corpuscope (tantivy BM25)": evaluate(corpuscope_run(collection, args.k), qrels),
        "rank_bm25 BM25Okapi": evaluate(rank_bm25_run(collection, tokenize, args.k), qrels),
    }
    for name, r in results.items():
        print(
            f"  {name:<28} MAP {r['MAP']:.4f}  nDCG@10 {r['nDCG@10']:.4f} ({r['queries']} queries)"
        )
    ours, base = results.values()
    ratio = round(ours["MAP"] / base["MAP"], 3)
    print(f"  ratio of MAP: {ratio}")
    write_report(args.out, {**results, "k": args.k, "ratio_map": ratio})


if __name__ == "__main__":
    main()
