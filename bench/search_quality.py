"""Search quality: corpuscope's BM25 on the Cranfield collection, next to rank_bm25.

    .venv/bin/python bench/search_quality.py

The 1,400 Cranfield abstracts (`samples/ir/cranfield/`) are ingested and indexed as a corpus
with the `corpuscope` command line, and its 225 queries asked through `corpuscope.index.query.
search` (the API's search). The baseline is rank_bm25's `BM25Okapi` on the same documents
(title and abstract) with the same tokenisation (`corpuscope.index.schema.tokenize`: the
index's own analyser) and the same k1 = 1.2, b = 0.75 as tantivy. MAP and nDCG@10 are
computed as trec_eval does: AP over all relevant documents (those never retrieved count as
missed), nDCG with a log2 discount and the ideal ranking from the judgements.

Judgements (`cranqrel`): queries are numbered 1..225 in the order of `cran.qry` (its `.I`
numbers are not the judgement ids, a known quirk). Codes 1-4 are relevant (Cleverdon: 1
complete answer ... 4 minimum interest; -1 is not a grade and is left out); for nDCG the gain
is 5 - code, so a complete answer counts 4 and a reference of minimum interest 1.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import sys
import tempfile
from pathlib import Path

from corpuscope.index.query import search
from corpuscope.index.schema import tokenize
from corpuscope.index.searcher import Indexes
from prepared import corpuscope
from rank_bm25 import BM25Okapi

from corpuscope.config import Settings
from corpuscope.store import Store
from ingest import write_report

REPO = Path(__file__).resolve().parent.parent
FOLDER = REPO / "samples" / "ir" / "cranfield"
_FIELD = re.compile(r"^\.([A-Z])(?:\s+(\d+))?\s*$")


def _records(path: Path) -> list[dict[str, str]]:
    """SMART-format records: {'I': id, 'T': title, 'W': text, ...}."""
    out: list[dict[str, str]] = []
    field = None
    for line in path.read_text(errors="replace").splitlines():
        m = _FIELD.match(line)
        if m:
            field = m.group(1)
            if field == "I":
                out.append({"I": m.group(2)})
            else:
                out[-1].setdefault(field, "")
            continue
        if out and field:
            out[-1][field] = (out[-1].get(field, "") + " " + line).strip()
    return out


def load(folder: Path = FOLDER) -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, int]]]:
    """(documents by id: title + text, queries by judgement id 1..225, qrels: query -> doc -> code)."""
    docs = {
        r["I"]: (r.get("T", "") + "\n\n" + r.get("W", "")).strip()
        for r in _records(folder / "cran.all.1400")
    }
    queries = {str(i): r.get("W", "") for i, r in enumerate(_records(folder / "cran.qry"), start=1)}
    qrels: dict[str, dict[str, int]] = {}
    for line in (folder / "cranqrel").read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and 1 <= int(parts[2]) <= 4:
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return docs, queries, qrels


def average_precision(ranking: list[str], relevant: set[str]) -> float:
    hits, total = 0, 0.0
    for i, d in enumerate(ranking, start=1):
        if d in relevant:
            hits += 1
            total += hits / i
    return total / len(relevant) if relevant else 0.0


def ndcg(ranking: list[str], gains: dict[str, int], k: int = 10) -> float:
    dcg = sum(gains.get(d, 0) / math.log2(i + 1) for i, d in enumerate(ranking[:k], start=1))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 1) for i, g in enumerate(ideal, start=1))
    return dcg / idcg if idcg else 0.0


def evaluate(run: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    judged = [q for q in run if q in qrels]
    return {
        "MAP": round(statistics.mean(average_precision(run[q], set(qrels[q])) for q in judged), 4),
        "nDCG@10": round(
            statistics.mean(ndcg(run[q], {d: 5 - c for d, c in qrels[q].items()}) for q in judged),
            4,
        ),
        "queries": len(judged),
    }


def rank_bm25_run(docs: dict[str, str], queries: dict[str, str], k: int) -> dict[str, list[str]]:
    ids = list(docs)
    bm25 = BM25Okapi([tokenize(docs[i]) for i in ids], k1=1.2, b=0.75)
    run = {}
    for q, text in queries.items():
        scores = bm25.get_scores(tokenize(text))
        order = sorted(range(len(ids)), key=lambda i: -scores[i])[:k]
        run[q] = [ids[i] for i in order]
    return run


def corpuscope_run(docs: dict[str, str], queries: dict[str, str], k: int) -> dict[str, list[str]]:
    work = Path(tempfile.mkdtemp(prefix="cranfield-"))
    src = work / "cranfield.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in docs.items()))
    data = work / "data"
    corpuscope("ingest", src, "--corpus", "cranfield", "--data-dir", data, "--quiet")
    corpuscope("index", "--corpus", "cranfield", "--partitions", "1", "--data-dir", data, "--quiet")
    settings = Settings(data=data, max_k=k)
    ix = Indexes(Store(data))
    source_id = {}  # doc_id -> Cranfield id
    import pyarrow.parquet as pq

    for path in Store(data).corpus("cranfield").shard_paths():
        t = pq.read_table(path, columns=["doc_id", "source_id"])
        source_id.update(
            zip(t.column("doc_id").to_pylist(), t.column("source_id").to_pylist(), strict=True)
        )
    run = {}
    for q, text in queries.items():
        # Words only: the query text is not meant as query syntax (it has no operators).
        answer = search(
            ix, " ".join(tokenize(text)), settings.model_copy(update={"max_clauses": 200}), k=k
        )
        run[q] = [source_id[h.doc_id] for h in answer.hits]
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, default=100, help="documents ranked per query")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "search_quality.json")
    args = parser.parse_args()
    docs, queries, qrels = load()
    print(
        f"Cranfield: {len(docs)} documents, {len(queries)} queries, "
        f"{sum(len(v) for v in qrels.values())} judgements (codes 1-4)"
    )
    ours = evaluate(corpuscope_run(docs, queries, args.k), qrels)
    base = evaluate(rank_bm25_run(docs, queries, args.k), qrels)
    report = {
        "corpuscope (tantivy BM25)": ours,
        "rank_bm25 BM25Okapi": base,
        "k": args.k,
        "ratio_map": round(ours["MAP"] / base["MAP"], 3),
    }
    for name, r in report.items():
        if isinstance(r, dict):
            print(
                f"  {name:<28} MAP {r['MAP']:.4f}  nDCG@10 {r['nDCG@10']:.4f}  ({r['queries']} queries)"
            )
    print(f"  ratio of MAP: {report['ratio_map']}")
    write_report(args.out, report)


if __name__ == "__main__":
    sys.exit(main())
