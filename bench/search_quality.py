"""Search quality: corpuscope's BM25 on Cranfield (and CISI when present), next to rank_bm25.

    .venv/bin/python bench/search_quality.py [--cisi FOLDER]

A second collection, CISI (1,460 library-science abstracts, 76 judged queries of up to ~60
words, binary judgements: `cranfield.load_cisi`), is measured the same way when its three files
(`CISI.ALL`, `CISI.QRY`, `CISI.REL`) are in `--cisi`, `bench/data/cisi/` or `samples/ir/cisi/`;
otherwise it is skipped with a note (it is not bundled: no package on the registries this
project reaches carries it). Queries are asked with the default `max_clauses`, so a long query
is shortened as a user's would be (`SearchAnswer.dropped`).

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
from cranfield import (
    Cranfield,
    evaluate,
    load,
    load_cisi,
    lucene_bm25_run,
    rank_bm25_run,
    to_jsonl,
)
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
    settings = Settings(data=data, max_k=k)  # the default max_clauses: long queries shortened
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


def cisi_folder(given: Path | None) -> Path | None:
    """Where CISI's files are, if anywhere."""
    for folder in (
        [given] if given else [REPO / "bench" / "data" / "cisi", REPO / "samples" / "ir" / "cisi"]
    ):
        if all((folder / f).is_file() for f in ("CISI.ALL", "CISI.QRY", "CISI.REL")):
            return folder
    return None


def smoke(collection: Cranfield, n: int = 50) -> Cranfield:
    """The first `n` queries only (and their judgements)."""
    keep = list(collection.queries)[:n]
    return dataclasses.replace(
        collection,
        queries={q: collection.queries[q] for q in keep},
        qrels={q: collection.qrels[q] for q in keep if q in collection.qrels},
    )


def measure(name: str, collection: Cranfield, k: int) -> dict:
    """Every system on one collection: MAP, nDCG@10, seconds, and the ratios of MAP."""
    qrels = collection.qrels
    words = [len(q.text.split()) for q in collection.queries.values()]
    print(
        f"{name}: {len(collection.documents)} documents, {len(collection.queries)} queries "
        f"({sum(words) / len(words):.1f} words on average, at most {max(words)}), "
        f"{sum(len(v) for v in qrels.values())} relevant judgements"
    )
    systems = {
        "corpuscope (tantivy BM25)": lambda: corpuscope_run(collection, k),
        "BM25 in NumPy (Lucene IDF)": lambda: lucene_bm25_run(collection, tokenize, k),
    }
    if installed("rank_bm25"):
        systems["rank_bm25 BM25Okapi"] = lambda: rank_bm25_run(collection, tokenize, k)
    else:
        print("  rank_bm25 is not installed (the `bench` extra): its baseline is skipped")
    results = {}
    for system, ranked in systems.items():
        t0 = time.perf_counter()
        run = ranked()
        seconds = time.perf_counter() - t0
        results[system] = evaluate(run, qrels) | {"seconds": round(seconds, 2)}
    for system, r in results.items():
        print(
            f"  {system:<28} MAP {r['MAP']:.4f}  nDCG@10 {r['nDCG@10']:.4f} "
            f"({r['queries']} queries, {r['seconds']:.1f} s)"
        )
    ours = results["corpuscope (tantivy BM25)"]
    ratios = {
        system: {
            "MAP": round(ours["MAP"] / r["MAP"], 3),
            "nDCG@10": round(ours["nDCG@10"] / r["nDCG@10"], 3),
        }
        for system, r in list(results.items())[1:]
    }
    for system, ratio in ratios.items():
        print(f"  ratio, corpuscope / {system}: MAP {ratio['MAP']}, nDCG@10 {ratio['nDCG@10']}")
    return {**results, "ratio": ratios}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, default=100, help="documents ranked per query")
    parser.add_argument("--out", type=Path, help="default: bench/out/search_quality.json")
    parser.add_argument("--cisi", type=Path, help="folder of CISI.ALL, CISI.QRY, CISI.REL")
    parser.add_argument("--smoke", action="store_true", help="the top 10 per query only")
    args = parser.parse_args()
    out = args.out or (None if args.smoke else REPO / "bench" / "out" / "search_quality.json")
    collections = {"Cranfield": load}
    folder = cisi_folder(args.cisi)
    if folder:
        collections["CISI"] = lambda: load_cisi(folder)
    else:
        print(
            "CISI is not here (CISI.ALL, CISI.QRY, CISI.REL in bench/data/cisi/, "
            "samples/ir/cisi/ or --cisi): only Cranfield is measured"
        )
    if args.smoke:
        args.k = 10
        print("--smoke: the first 50 queries, the top 10 documents of each, for every system")
    report = {}
    for name, loader in collections.items():
        collection = smoke(loader()) if args.smoke else loader()
        report[name] = measure(name, collection, args.k)
    if out is None:
        print("--smoke: no report written (give --out for one)")
    else:
        write_report(out, {**report, "k": args.k})


if __name__ == "__main__":
    main()
