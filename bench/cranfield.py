"""The Cranfield test collection: loader, trec_eval-style metrics and two BM25 baselines:
rank_bm25's `BM25Okapi` (the optional `bench` extra, imported only when used) and
`lucene_bm25_run`, BM25 in NumPy with Lucene's IDF, the formula tantivy uses (always there).

    .venv/bin/python bench/cranfield.py [FOLDER]    # default samples/ir/cranfield

Files (SMART format, `samples/ir/cranfield/`): `cran.all.1400` (1,400 abstracts: `.I` id, `.T`
title, `.A` author, `.B` bibliography, `.W` text), `cran.qry` (225 queries: `.I`, `.W`) and
`cranqrel` (query, document, relevance code).

Relevance (`cranqrel.readme`, Cleverdon's scale): 1 complete answer, 2 high relevance, 3 useful
background, 4 minimum interest, 5 no interest (never present). Codes 1-4 count as relevant, with
nDCG gain 5 - code (1 -> 4, ..., 4 -> 1). The file also holds exactly one code -1 pair per query,
a code the readme does not define: it is not a grade and is left out (neither relevant nor
counted in the ideal ranking). Those -1 documents are very close to their query (BM25 puts
them at median rank 2); counting them relevant would raise MAP by about 0.12.

Oddities kept as they are: documents 471 and 995 are empty (995 is judged relevant to query 125),
and the text of 576 and 578 runs into fragments of other abstracts.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FOLDER = Path(__file__).resolve().parent.parent / "samples" / "ir" / "cranfield"

#: nDCG gain of each relevance code counted as relevant; other codes (-1) are not judgements.
GAIN: dict[int, int] = {1: 4, 2: 3, 3: 2, 4: 1}

_MARKER = re.compile(r"^\.([A-Z])(?:\s+(\S+))?\s*$")

Run = dict[str, list[str]]
Qrels = dict[str, dict[str, int]]


@dataclass(frozen=True)
class Document:
    """One abstract; `text` keeps its line breaks (it repeats the title as its first line)."""

    id: str
    title: str
    author: str
    bib: str
    text: str


@dataclass(frozen=True)
class Query:
    """A query: `id` is its position 1..225 (the qrels' id), `number` its `.I` in cran.qry."""

    id: str
    number: str
    text: str


@dataclass(frozen=True)
class Cranfield:
    """The collection: documents and queries by id, raw judgements and graded qrels."""

    documents: dict[str, Document]
    queries: dict[str, Query]
    #: every line of cranqrel as (query id, document id, code), -1 codes included.
    judgements: list[tuple[str, str, int]]
    #: query id -> document id -> gain (GAIN), relevant documents only.
    qrels: Qrels


def _records(
    path: Path, after_text: frozenset[str] = frozenset()
) -> list[tuple[str, dict[str, list[str]]]]:
    """(`.I` value, field letter -> lines) for each record of a SMART file. After `.W`, only
    `.I` and the letters in `after_text` start something new (CISI's `.X` does)."""
    records: list[tuple[str, dict[str, list[str]]]] = []
    field: str | None = None
    for line in path.read_text(encoding="ascii", errors="replace").splitlines():  # CRLF too
        m = _MARKER.match(line)
        if m and m.group(1) == "I":
            records.append((m.group(2) or "", {}))
            field = None
        elif m and records and ("W" not in records[-1][1] or m.group(1) in after_text):
            field = m.group(1)
            records[-1][1].setdefault(field, [])
        elif m:
            # After `.W` only `.I` starts something new: doc 240 has stray `.A`/`.B` lines and
            # doc 578 a second `.W` inside its text; the lines after them are still text.
            continue
        elif records and field:
            records[-1][1][field].append(line.rstrip())
    return records


def _line(lines: list[str]) -> str:
    """Wrapped lines as one line."""
    return " ".join(s.strip() for s in lines if s.strip())


def load(folder: Path = FOLDER) -> Cranfield:
    """Parse cran.all.1400, cran.qry and cranqrel in `folder`."""
    documents: dict[str, Document] = {}
    for number, f in _records(folder / "cran.all.1400"):
        documents[number] = Document(
            id=number,
            title=_line(f.get("T", [])),
            author=_line(f.get("A", [])),
            bib=_line(f.get("B", [])),
            text="\n".join(f.get("W", [])).strip(),
        )
    # Well-known quirk: the `.I` numbers in cran.qry run 001..365 with gaps, but cranqrel numbers
    # the queries 1..225 by their position in the file; the position is the query id here.
    queries = {
        str(i): Query(id=str(i), number=number, text=_line(f.get("W", [])))
        for i, (number, f) in enumerate(_records(folder / "cran.qry"), start=1)
    }
    judgements: list[tuple[str, str, int]] = []
    qrels: Qrels = {}
    for line in (folder / "cranqrel").read_text(encoding="ascii").splitlines():
        if not line.strip():
            continue
        qid, did, code = line.split()
        judgements.append((qid, did, int(code)))
        if int(code) in GAIN:
            qrels.setdefault(qid, {})[did] = GAIN[int(code)]
    return Cranfield(documents, queries, judgements, qrels)


def load_cisi(folder: Path) -> Cranfield:
    """The CISI collection (1,460 library-science abstracts, 112 queries, 76 of them judged) in
    `folder`: `CISI.ALL` (`.I`, `.T`, `.A`, `.W`, then `.X` citation links, left out),
    `CISI.QRY` (`.I`, `.W`, some with `.T`/`.A` before it and `.B` after: the text is `.W`) and `CISI.REL`
    (query, document, 0, 0.0: binary judgements, gain 1). Query ids are their `.I` numbers."""
    documents = {
        number: Document(
            id=number,
            title=_line(f.get("T", [])),
            author=_line(f.get("A", [])),
            bib="",
            text="\n".join(f.get("W", [])).strip(),
        )
        for number, f in _records(folder / "CISI.ALL", frozenset("X"))
    }
    queries = {
        number: Query(id=number, number=number, text=_line(f.get("W", [])))
        for number, f in _records(folder / "CISI.QRY", frozenset("B"))
    }
    judgements: list[tuple[str, str, int]] = []
    qrels: Qrels = {}
    for line in (folder / "CISI.REL").read_text(encoding="ascii").splitlines():
        if not line.strip():
            continue
        qid, did = line.split()[:2]
        judgements.append((qid, did, 1))
        qrels.setdefault(qid, {})[did] = 1
    return Cranfield(documents, queries, judgements, qrels)


def average_precision(ranking: Sequence[str], relevant: Collection[str]) -> float:
    """AP as trec_eval: precision at each relevant hit, summed, over all relevant documents."""
    if not relevant:
        return 0.0
    seen: set[str] = set()
    hits, total = 0, 0.0
    for doc in ranking:
        if doc in seen:
            continue
        seen.add(doc)
        if doc in relevant:
            hits += 1
            total += hits / len(seen)
    return total / len(relevant)


def ndcg_at(ranking: Sequence[str], gains: Mapping[str, float], k: int = 10) -> float:
    """nDCG@k as trec_eval's ndcg_cut: linear gains, 1/log2(rank + 1), ideal from `gains`."""
    top = list(dict.fromkeys(ranking))[:k]
    dcg = sum(gains.get(d, 0) / math.log2(i + 1) for i, d in enumerate(top, start=1))
    ideal = sorted((g for g in gains.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 1) for i, g in enumerate(ideal, start=1))
    return dcg / idcg if idcg > 0 else 0.0


def evaluate(run: Mapping[str, Sequence[str]], qrels: Qrels) -> dict[str, float]:
    """MAP and nDCG@10 over every query with a relevant document (missing from `run`: 0)."""
    qids = [q for q, g in qrels.items() if any(v > 0 for v in g.values())]
    if not qids:
        return {"MAP": 0.0, "nDCG@10": 0.0, "queries": 0}
    ap = [
        average_precision(run.get(q, []), {d for d, g in qrels[q].items() if g > 0}) for q in qids
    ]
    nd = [ndcg_at(run.get(q, []), qrels[q], 10) for q in qids]
    return {"MAP": sum(ap) / len(qids), "nDCG@10": sum(nd) / len(qids), "queries": len(qids)}


def rank_bm25_run(
    collection: Cranfield,
    tokenize: Callable[[str], list[str]],
    k: int = 100,
    k1: float = 1.2,
    b: float = 0.75,
) -> Run:
    """Top `k` documents per query by rank_bm25's BM25Okapi over title + text.

    Documents sharing no term with the query (score 0) are not retrieved; ties keep collection
    order.
    """
    from rank_bm25 import BM25Okapi

    ids = list(collection.documents)
    docs = collection.documents.values()
    bm25 = BM25Okapi([tokenize(f"{d.title}\n\n{d.text}") for d in docs], k1=k1, b=b)
    run: Run = {}
    for qid, query in collection.queries.items():
        scores = bm25.get_scores(tokenize(query.text))
        order = np.argsort(-scores, kind="stable")[:k]
        run[qid] = [ids[i] for i in order if scores[i] > 0]
    return run


def lucene_bm25_run(
    collection: Cranfield,
    tokenize: Callable[[str], list[str]],
    k: int = 100,
    k1: float = 1.2,
    b: float = 0.75,
) -> Run:
    """Top `k` documents per query by BM25 over title + text, with Lucene's (and tantivy's)
    always-positive IDF, ln(1 + (N - n + 0.5) / (n + 0.5)), and exact document lengths
    (tantivy stores them in one byte, so its scores differ slightly). A query term counts once
    per occurrence in the query, as in rank_bm25; score-0 documents are not retrieved."""
    ids = list(collection.documents)
    postings: dict[str, dict[int, int]] = {}
    lengths = np.zeros(len(ids))
    for i, d in enumerate(collection.documents.values()):
        words = tokenize(f"{d.title}\n\n{d.text}")
        lengths[i] = len(words)
        for w in words:
            tf = postings.setdefault(w, {})
            tf[i] = tf.get(i, 0) + 1
    arrays = {
        w: (np.fromiter(p.keys(), int, len(p)), np.fromiter(p.values(), float, len(p)))
        for w, p in postings.items()
    }
    norm = k1 * (1 - b + b * lengths / lengths.mean())
    run: Run = {}
    for qid, query in collection.queries.items():
        scores = np.zeros(len(ids))
        for w in tokenize(query.text):
            if w not in arrays:
                continue
            docs, tf = arrays[w]
            idf = math.log(1 + (len(ids) - len(docs) + 0.5) / (len(docs) + 0.5))
            scores[docs] += idf * tf * (k1 + 1) / (tf + norm[docs])
        order = np.argsort(-scores, kind="stable")[:k]
        run[qid] = [ids[i] for i in order if scores[i] > 0]
    return run


def to_jsonl(collection: Cranfield, path: Path) -> None:
    """One JSON line per document: {"id": Cranfield id, "text": title, blank line, text}."""
    with path.open("w", encoding="utf-8") as out:
        for d in collection.documents.values():
            text = f"{d.title}\n\n{d.text}".strip()
            out.write(json.dumps({"id": d.id, "text": text}, ensure_ascii=False) + "\n")


def _words(text: str) -> list[str]:
    """Plain tokenizer: lowercase `\\w+` runs."""
    return re.findall(r"\w+", text.lower())


if __name__ == "__main__":
    from corpuscope.index.schema import tokenize

    c = load(Path(sys.argv[1]) if len(sys.argv) > 1 else FOLDER)
    relevant = sum(len(g) for g in c.qrels.values())
    print(
        f"documents {len(c.documents)}, queries {len(c.queries)}, "
        f"qrels {len(c.judgements)} lines ({relevant} relevant, codes 1-4)"
    )
    for name, tok in [("corpuscope.index.schema.tokenize", tokenize), (r"lowercase \w+", _words)]:
        m = evaluate(rank_bm25_run(c, tok), c.qrels)
        print(f"rank_bm25 BM25Okapi, {name}: MAP {m['MAP']:.4f}  nDCG@10 {m['nDCG@10']:.4f}")
