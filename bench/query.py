"""Query latency: search, exact, membership and person, in-process and over HTTP, with an
infini-gram exact-substring baseline measured on the same corpus in the same run.

    .venv/bin/python bench/query.py            # >= 200,000 documents (bench/prepared.py)
    .venv/bin/python bench/query.py --no-baseline            # without infini-gram
    .venv/bin/python bench/query.py --smoke    # 2 MB corpus, 20 queries, 0.3 s of HTTP each

1. The prepared corpus (resampled from the real samples) is indexed: `build_index` brings the
   index up to date (builds it when there is none), and the run stops unless the index holds
   every document of the corpus.
2. In-process: `--n` queries of each kind, one after the other; p50/p95/p99 in ms. Next to
   search, a bare tantivy loop on the same index and queries (parse, search each partition,
   top 10 merged, stored documents fetched; no filters, redaction or snippets): the ratio of
   the p50s is corpuscope's overhead over tantivy.
   search: 1-3 words drawn from the documents; exact: passages of 8-50 words cut from random
   documents (the original text between two word boundaries); membership: 100-word passages;
   person: two capitalised words as a name plus an e-mail and a phone number.
3. Over HTTP: `corpuscope serve --workers W` (uvicorn) and `--clients` concurrent clients for
   `--seconds` per kind: requests per second and latency percentiles.
4. Baseline: infini-gram (byte-level suffix array, no tokenizer) over the same documents in
   the same order: index build time and size on disk, `find` latency for the same exact
   passages, and whether both find the same documents for each passage. It needs the
   `bench` extra (infini-gram, transformers): without it a full run stops before it starts
   (pass `--no-baseline`), a `--smoke` run skips it.

Targets (2-core machine): search p50 <= 15 ms and p99 <= 100 ms; exact p50 <= 30 ms;
membership p50 <= 150 ms; person p50 <= 50 ms; >= 100 req/s over HTTP for search;
corpuscope's index <= 0.3 x infini-gram's on disk.
"""

from __future__ import annotations

import argparse
import heapq
import os
import random
import re
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
from prepared import CORPUS, prepared, served

from corpuscope.config import Settings
from corpuscope.index.build import build_index, folder_bytes, index_root
from corpuscope.index.membership import membership
from corpuscope.index.person import person
from corpuscope.index.query import exact, search
from corpuscope.index.searcher import Indexes
from corpuscope.models.answers import Filters
from corpuscope.store import Store
from ingest import bench_workdir, installed, write_report

REPO = Path(__file__).resolve().parent.parent
SEED = 4242
_WORD_BOUNDARY = re.compile(r"\S+")


def pct(values: list[float]) -> dict[str, float]:
    s = sorted(values)

    def at(p: float) -> float:
        return round(s[min(len(s) - 1, int(p * len(s)))], 2)

    return {"p50": round(statistics.median(s), 2), "p95": at(0.95), "p99": at(0.99), "n": len(s)}


def load_texts(data: Path) -> tuple[list[str], list[str]]:
    """(doc ids, texts) of every document, in shard order."""
    ids: list[str] = []
    texts: list[str] = []
    for path in Store(data).corpus(CORPUS).shard_paths():
        t = pq.read_table(path, columns=["doc_id", "text"])
        ids += t.column("doc_id").to_pylist()
        texts += t.column("text").to_pylist()
    return ids, texts


def cut(text: str, words: int, rng: random.Random) -> str | None:
    """A passage of `words` words of `text`, cut at word boundaries, white space as it is."""
    spans = [(m.start(), m.end()) for m in _WORD_BOUNDARY.finditer(text)]
    if len(spans) < words:
        return None
    i = rng.randrange(len(spans) - words + 1)
    return text[spans[i][0] : spans[i + words - 1][1]]


def workload(texts: list[str], n: int, rng: random.Random) -> dict[str, list[Any]]:
    words = (w for t in rng.sample(texts, 500) for w in re.findall(r"[A-Za-z]{3,}", t))
    vocab = [w for w in words if w not in ("AND", "NOT")]  # operators of the query language
    names = [w for w in vocab if w[0].isupper()]
    out: dict[str, list[Any]] = {"search": [], "exact": [], "membership": [], "person": []}
    out["search"] = [" ".join(rng.sample(vocab, rng.randint(1, 3))) for _ in range(n)]
    while len(out["exact"]) < n:
        p = cut(rng.choice(texts), rng.randint(8, 50), rng)
        if p:
            out["exact"].append(p)
    while len(out["membership"]) < n:
        p = cut(rng.choice(texts), 100, rng)
        if p:
            out["membership"].append(p)
    for _ in range(n):
        name = f"{rng.choice(names)} {rng.choice(names)}"
        out["person"].append(
            {
                "name": name,
                "emails": [f"{name.split()[0].lower()}@example.com"],
                "phones": ["+1 415 555 0134"],
            }
        )
    return out


def in_process(ix: Indexes, settings: Settings, work: dict[str, list[Any]]) -> dict[str, Any]:
    asks = {
        "search": lambda q: search(ix, q, settings),
        "exact": lambda q: exact(ix, q, settings),
        "membership": lambda q: membership(ix, q, settings),
        "person": lambda q: person(ix, q["name"], settings, emails=q["emails"], phones=q["phones"]),
    }
    out = {}
    for kind, ask in asks.items():
        for q in work[kind][:5]:  # warm up
            ask(q)
        times = []
        for q in work[kind]:
            t0 = time.perf_counter()
            ask(q)
            times.append((time.perf_counter() - t0) * 1000)
        out[kind] = pct(times)
        print(f"  in-process {kind:<10} {out[kind]}")
    return out


def bare_search(ix: Indexes, queries: list[str], k: int = 10) -> dict[str, Any]:
    """The limit for search: tantivy alone on the same partitions (parse, search each, the
    top `k` merged, their stored documents fetched), no filters, redaction or snippets."""
    ci = ix.get(CORPUS)
    assert ci is not None

    def ask(q: str) -> list[Any]:
        query, _ = ci.parse(q)
        found = []
        for searcher in ci.searchers():
            found += [(score, searcher, addr) for score, addr in searcher.search(query, k).hits]
        return [s.doc(a) for _, s, a in heapq.nlargest(k, found, key=lambda f: f[0])]

    for q in queries[:5]:  # warm up
        ask(q)
    times = []
    for q in queries:
        t0 = time.perf_counter()
        ask(q)
        times.append((time.perf_counter() - t0) * 1000)
    out = pct(times)
    print(f"  in-process bare tantivy search {out}")
    return out


def over_http(
    data: Path, work: dict[str, list[Any]], clients: int, seconds: float, workers: int
) -> dict[str, Any]:
    with served(data, workers) as server:
        base = server.base
        requests = {
            "search": lambda h, q: h.get("/v1/search", params={"q": q}),
            "exact": lambda h, q: h.post("/v1/exact", json={"passage": q}),
            "membership": lambda h, q: h.post("/v1/membership", json={"passage": q}),
            "person": lambda h, q: h.post("/v1/person", json=q),
        }
        out = {}
        for kind, send in requests.items():
            times: list[float] = []
            errors = [0]
            warm = threading.Barrier(clients + 1)  # every client connected and warmed up
            go = threading.Event()  # then the timed part begins, for `seconds`
            stop = [0.0]

            def client(
                c: int,
                send=send,
                kind=kind,
                times=times,
                errors=errors,
                warm=warm,
                go=go,
                stop=stop,
            ) -> None:
                rng = random.Random(c)
                with httpx.Client(base_url=base, timeout=60) as h:
                    send(h, work[kind][0])
                    warm.wait()
                    go.wait()
                    while True:  # at least one timed request each
                        t0 = time.perf_counter()
                        r = send(h, rng.choice(work[kind]))
                        times.append((time.perf_counter() - t0) * 1000)
                        if r.status_code != 200:
                            errors[0] += 1
                        if time.perf_counter() >= stop[0]:
                            break

            threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
            for t in threads:
                t.start()
            warm.wait()
            cpu = (server.cpu_seconds(), time.process_time())
            started = time.perf_counter()
            stop[0] = started + seconds
            go.set()
            for t in threads:
                t.join()
            wall = time.perf_counter() - started
            n = max(1, len(times))
            out[kind] = {
                **pct(times),
                "req_per_s": round(len(times) / wall, 1),
                "errors": errors[0],
                "clients": clients,
                # CPU per request of the server (all its processes) and of the clients: on a
                # shared machine req/s falls with the other load, these much less.
                "server_cpu_ms": round((server.cpu_seconds() - cpu[0]) * 1000 / n, 2),
                "client_cpu_ms": round((time.process_time() - cpu[1]) * 1000 / n, 2),
                "load_avg_1m": round(os.getloadavg()[0], 2),
            }
            print(f"  http {kind:<10} {out[kind]}")
        return out


def baseline(
    ids: list[str],
    texts: list[str],
    passages: list[str],
    ix: Indexes,
    settings: Settings,
    workdir: Path,
) -> dict[str, Any]:
    """infini-gram on the same documents: build, size, find latency, agreement."""
    from infinigram_baseline import InfiniGram

    print("infini-gram: building its index over the same documents (once per run) ...")
    ig = InfiniGram.build(texts, workdir / "infinigram")
    big = settings.model_copy(update={"max_k": 1_000_000, "max_candidates": 1_000_000})
    times, agree, differ = [], 0, []
    for p in passages:
        t0 = time.perf_counter()
        found = ig.documents(p, limit=1_000_000)
        times.append((time.perf_counter() - t0) * 1000)
        ours = exact(ix, p, big, Filters(), k=1_000_000)
        mine = {h.doc_id for h in ours.hits}
        theirs = {ids[i] for i in found}
        if mine == theirs:
            agree += 1
        else:
            differ.append(
                {
                    "passage_words": len(p.split()),
                    "corpuscope": len(mine),
                    "infinigram": len(theirs),
                    "only_infinigram": len(theirs - mine),
                }
            )
    return {
        "build_seconds": round(ig.build_seconds, 1),
        "index_bytes": ig.size_bytes,
        "find_ms": pct(times),
        "agreement": {
            "passages": len(passages),
            "same_documents": agree,
            "differences": differ[:10],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="queries of each kind in-process")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--partitions", type=int, default=2, help="index partitions")
    parser.add_argument(
        "--agreement", type=int, default=100, help="passages checked against infini-gram"
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip infini-gram")
    parser.add_argument("--workdir", type=Path, help="default: /tmp/corpuscope-bench")
    parser.add_argument("--out", type=Path, help="default: bench/out/query.json")
    parser.add_argument("--smoke", action="store_true", help="a tiny run that checks it works")
    args = parser.parse_args()
    workdir = bench_workdir(args.smoke, args.workdir)
    missing = [m for m in ("infini_gram", "transformers") if not installed(m)]
    if args.smoke:
        args.n, args.clients, args.seconds, args.workers, args.agreement = 20, 2, 0.3, 1, 10
        print(f"--smoke: the 2 MB corpus under {workdir}, {args.n} queries of each kind,")
        print(f"  {args.seconds} s of HTTP per kind with {args.clients} clients")
        if missing and not args.no_baseline:
            print(f"  infini-gram baseline skipped: {', '.join(missing)} not installed")
            args.no_baseline = True
    elif missing and not args.no_baseline:
        raise SystemExit(
            f"the infini-gram baseline needs {', '.join(missing)} (pip install -e '.[bench]'); "
            "or pass --no-baseline"
        )
    out = args.out or (
        workdir / "query-smoke.json" if args.smoke else REPO / "bench" / "out" / "query.json"
    )

    data, _ = prepared(workdir, smoke=args.smoke)
    cs = Store(data).corpus(CORPUS)
    built = build_index(cs, args.partitions)
    print(
        f"index: {built.shards_added} shards added, {built.shards_kept} kept, "
        f"{built.documents_added:,} documents added in {built.seconds:.1f} s"
    )
    settings = Settings(data=data)
    ix = Indexes(Store(data))
    ids, texts = load_texts(data)
    ci = ix.get(CORPUS)
    indexed = ci.num_docs() if ci else 0
    assert ids and indexed == len(ids), (
        f"the index holds {indexed} documents, the corpus {len(ids)}"
    )
    index_bytes = folder_bytes(index_root(cs))
    print(f"{len(ids):,} documents, all indexed; index {index_bytes / 1e6:.1f} MB")
    rng = random.Random(SEED)
    work = workload(texts, args.n, rng)
    report: dict[str, Any] = {
        "machine": f"{os.uname().machine}, {os.cpu_count()} cores",
        "smoke": args.smoke,
        "documents": len(ids),
        "text_mb": round(sum(s.text_bytes for s in cs.manifest().done()) / 1e6, 1),
        "index_bytes": index_bytes,
        "in_process_ms": in_process(ix, settings, work),
        "bare_tantivy_search_ms": bare_search(ix, work["search"]),
        "http": over_http(data, work, args.clients, args.seconds, args.workers),
    }
    report["search_p50_over_bare_tantivy"] = round(
        report["in_process_ms"]["search"]["p50"] / report["bare_tantivy_search_ms"]["p50"], 2
    )
    if not args.no_baseline:
        ig = baseline(ids, texts, work["exact"][: args.agreement], ix, settings, workdir)
        report["infinigram"] = ig
        report["index_size_ratio"] = round(report["index_bytes"] / ig["index_bytes"], 3)
        print(f"  infini-gram {ig}")
    ms, http = report["in_process_ms"], report["http"]
    print(
        f"\nsearch p50 {ms['search']['p50']} ms (<= 15), p99 {ms['search']['p99']} ms (<= 100); "
        f"exact p50 {ms['exact']['p50']} ms (<= 30); membership p50 {ms['membership']['p50']} ms "
        f"(<= 150); person p50 {ms['person']['p50']} ms (<= 50)\n"
        f"HTTP search {http['search']['req_per_s']} req/s with {args.clients} clients (>= 100); "
        f"server CPU {http['search']['server_cpu_ms']} ms and client CPU "
        f"{http['search']['client_cpu_ms']} ms a request, load average "
        f"{http['search']['load_avg_1m']}\n"
        f"ratio corpuscope search p50 / bare tantivy p50: "
        f"{report['search_p50_over_bare_tantivy']} ({ms['search']['p50']} ms against "
        f"{report['bare_tantivy_search_ms']['p50']} ms)"
    )
    if "infinigram" in report:
        ig = report["infinigram"]
        print(
            f"index size: corpuscope {report['index_bytes'] / 1e6:.0f} MB, infini-gram "
            f"{ig['index_bytes'] / 1e6:.0f} MB, ratio {report['index_size_ratio']} (<= 0.3); "
            f"infini-gram find p50 {ig['find_ms']['p50']} ms; same documents for "
            f"{ig['agreement']['same_documents']}/{ig['agreement']['passages']} passages"
        )
    write_report(out, report)


if __name__ == "__main__":
    main()
