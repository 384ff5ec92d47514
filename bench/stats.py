"""Statistics speed: building every table with DuckDB, and serving them, against pandas.

    .venv/bin/python bench/stats.py             # >= 200,000 documents (bench/prepared.py)
    .venv/bin/python bench/stats.py --smoke     # 2 MB corpus, one repeat, 5 requests each

1. `corpuscope stats` as a subprocess on the prepared corpus (resampled from the real samples,
   ingested and scanned): wall time of the whole build (every table, MinHash included) and the
   peak RSS of the process, median of `--repeat` runs.
2. Baseline, same run: the same aggregations in pandas on the loaded data (the shards' columns
   read into one DataFrame, then overview, by source, by domain, by TLD, by language, by
   month, length histogram, exact duplicates, PII per entity and per domain, the quality
   regexes), with its peak RSS. MinHash is left out of the baseline (it is not an
   aggregation), which favours pandas. pandas is in the optional `bench` extra: without it a
   full run stops before it starts (pass `--baseline pyarrow`), a `--smoke` run falls back to
   the same aggregations in pyarrow.compute (a core dependency).
3. Serving: `corpuscope serve` and sequential HTTP requests for tables (JSON pages, CSV and
   Parquet downloads, a domain lookup): p50/p95 latency per request.

Targets on this 2-core machine: build <= 60 s; serving p50 <= 20 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
from prepared import CORPUS, prepared, served

from ingest import _tree_rss, bench_workdir, installed, write_report

REPO = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).with_name("corpuscope")
PANDAS = r"""
import re, sys, time, json
import pandas as pd, pyarrow.parquet as pq, pyarrow as pa
data, corpus = sys.argv[1], sys.argv[2]
m = json.load(open(f"{data}/corpora/{corpus}/manifest.json"))
root = f"{data}/corpora/{corpus}"
t0 = time.perf_counter()
df = pd.concat([pq.read_table(f"{root}/{s['parquet']}").to_pandas() for s in m["shards"]], ignore_index=True)
pii_m = json.load(open(f"{root}/pii/manifest.json"))["shards"]
pii = pd.concat([pq.read_table(f"{root}/{e['path']}").to_pandas() for e in pii_m.values()], ignore_index=True)
src = pd.DataFrame([(s["shard_id"], s["source"]) for s in m["shards"]], columns=["shard", "source"])
loaded = time.perf_counter() - t0
df["bytes"] = df["text"].str.encode("utf-8").str.len()
out = {}
out["overview"] = dict(documents=len(df), words=int(df.n_words.sum()), chars=int(df.n_chars.sum()),
    bytes=int(df.bytes.sum()), first=str(df.timestamp.min()), last=str(df.timestamp.max()))
d = df.merge(src, on="shard")
out["by_source"] = d.groupby("source").agg(documents=("doc_id", "size"), words=("n_words", "sum")).shape
out["by_shard"] = d.groupby(["shard", "source"]).agg(documents=("doc_id", "size")).shape
dom = df.assign(domain=df.domain.fillna("(none)")).groupby("domain").agg(
    documents=("doc_id", "size"), words=("n_words", "sum"), bytes=("bytes", "sum"),
    first_seen=("timestamp", "min"), last_seen=("timestamp", "max"))
dom["share_of_words"] = dom.words / dom.words.sum()
dom["rank"] = dom.words.rank(method="min", ascending=False)
out["by_domain"] = dom.shape
out["by_tld"] = df.domain.str.extract(r"([^.]+)$")[0].fillna("(none)").value_counts().shape
out["by_language"] = df.groupby("language").agg(documents=("doc_id", "size"), words=("n_words", "sum")).shape
out["by_month"] = df.timestamp.dt.strftime("%Y-%m").fillna("(none)").value_counts().shape
import numpy as np
out["length_histogram"] = np.floor(np.log2(df.n_words.clip(lower=1))).value_counts().shape
g = df.groupby("text_hash").size()
out["duplicates"] = int((g[g > 1] - 1).sum())
out["pii"] = pii.groupby("entity_type").agg(documents=("doc_id", "nunique"), spans=("doc_id", "size")).shape
pd_ = pii.merge(df[["doc_id", "domain"]], on="doc_id").groupby(["entity_type", "domain"]).size()
out["pii_by_domain"] = pd_.shape
code = re.compile(r"(?m)^\s*(def |class |import |#include|function\s*\(|var |const |public |return\b)|[{};]\s*$")
out["quality"] = dict(code=int(df.text.str.contains(code).sum()), brace=int(df.text.str.contains("{", regex=False).sum()),
    lorem=int(df.text.str.contains("(?i)lorem ipsum").sum()),
    cookie=int(df.text.str.contains(r"(?i)(uses? cookies|cookie (policy|settings|consent)|accept (all )?cookies)").sum()))
print(json.dumps({"seconds": time.perf_counter() - t0, "load_seconds": loaded}))
"""
PYARROW = r"""
import json, sys, time
import pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq
data, corpus = sys.argv[1], sys.argv[2]
root = f"{data}/corpora/{corpus}"
m = json.load(open(f"{root}/manifest.json"))
t0 = time.perf_counter()
df = pa.concat_tables([pq.read_table(f"{root}/{s['parquet']}") for s in m["shards"]])
pii_m = json.load(open(f"{root}/pii/manifest.json"))["shards"]
pii = pa.concat_tables([pq.read_table(f"{root}/{e['path']}") for e in pii_m.values()])
src = pa.table({"shard": [s["shard_id"] for s in m["shards"]], "source": [s["source"] for s in m["shards"]]})
loaded = time.perf_counter() - t0
df = df.append_column("bytes", pc.binary_length(df["text"]))
out = {}
ts = df["timestamp"]
out["overview"] = dict(documents=df.num_rows, words=pc.sum(df["n_words"]).as_py(), chars=pc.sum(df["n_chars"]).as_py(),
    bytes=pc.sum(df["bytes"]).as_py(), first=str(pc.min(ts)), last=str(pc.max(ts)))
d = df.select(["shard", "doc_id", "n_words"]).join(src, "shard")
out["by_source"] = d.group_by("source").aggregate([("doc_id", "count"), ("n_words", "sum")]).shape
out["by_shard"] = d.group_by(["shard", "source"]).aggregate([("doc_id", "count")]).shape
dom = df.select(["domain", "doc_id", "n_words", "bytes", "timestamp"])
dom = dom.set_column(0, "domain", pc.fill_null(dom["domain"], "(none)"))
dom = dom.group_by("domain").aggregate([("doc_id", "count"), ("n_words", "sum"), ("bytes", "sum"),
    ("timestamp", "min"), ("timestamp", "max")])
dom = dom.append_column("share_of_words", pc.divide(pc.cast(dom["n_words_sum"], pa.float64()), pc.sum(dom["n_words_sum"])))
dom = dom.append_column("rank", pc.rank(dom["n_words_sum"], sort_keys="descending", tiebreaker="min"))
out["by_domain"] = dom.shape
tld = pc.fill_null(pc.struct_field(pc.extract_regex(df["domain"], r"(?P<tld>[^.]+)$"), [0]), "(none)")
out["by_tld"] = len(pc.value_counts(tld))
out["by_language"] = df.group_by("language").aggregate([("doc_id", "count"), ("n_words", "sum")]).shape
out["by_month"] = len(pc.value_counts(pc.fill_null(pc.strftime(ts, "%Y-%m"), "(none)")))
lengths = pc.floor(pc.log2(pc.cast(pc.max_element_wise(df["n_words"], 1), pa.float64())))
out["length_histogram"] = len(pc.value_counts(lengths))
g = df.group_by("text_hash").aggregate([("doc_id", "count")])["doc_id_count"]
out["duplicates"] = pc.sum(pc.subtract(pc.filter(g, pc.greater(g, 1)), 1)).as_py() or 0
out["pii"] = pii.group_by("entity_type").aggregate([("doc_id", "count_distinct"), ("doc_id", "count")]).shape
pd_ = pii.select(["doc_id", "entity_type"]).join(df.select(["doc_id", "domain"]), "doc_id")
out["pii_by_domain"] = pd_.group_by(["entity_type", "domain"]).aggregate([("doc_id", "count")]).shape
code = r"(?m)^\s*(def |class |import |#include|function\s*\(|var |const |public |return\b)|[{};]\s*$"
text = df["text"]
count = lambda mask: pc.sum(pc.cast(mask, pa.int64())).as_py()
out["quality"] = dict(code=count(pc.match_substring_regex(text, code)),
    brace=count(pc.match_substring(text, "{")),
    lorem=count(pc.match_substring(text, "lorem ipsum", ignore_case=True)),
    cookie=count(pc.match_substring_regex(text, r"(uses? cookies|cookie (policy|settings|consent)|accept (all )?cookies)", ignore_case=True)))
print(json.dumps({"seconds": time.perf_counter() - t0, "load_seconds": loaded}))
"""
BASELINES = {"pandas": PANDAS, "pyarrow": PYARROW}


def measured(cmd: list[str]) -> tuple[float, int, str]:
    """(wall seconds, peak RSS of the process tree, stdout) of a command."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(ps))
        time.sleep(0.05)
    seconds = time.perf_counter() - t0
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {err[-2000:]}")
    return seconds, peak, out


def serving(data: Path, n: int) -> dict[str, Any]:
    with served(data) as server:
        base = f"{server.base}/v1/corpora/{CORPUS}"
        domains = [
            r["domain"] for r in httpx.get(f"{base}/stats/by_domain.json", timeout=60).json()
        ]
        rng = random.Random(7)
        requests = {
            "index (/stats)": lambda: "/stats",
            "overview (JSON)": lambda: "/stats/overview",
            "by_language (JSON)": lambda: "/stats/by_language",
            "by_domain page of 1000 (JSON)": lambda: "/stats/by_domain",
            "by_domain (CSV)": lambda: "/stats/by_domain.csv",
            "pii (Parquet)": lambda: "/stats/pii.parquet",
            "domain lookup": lambda: f"/domains/{rng.choice(domains)}",
        }
        out = {}
        with httpx.Client(base_url=base, timeout=60) as h:
            for name, path in requests.items():
                h.get(path())  # warm the cache
                times = []
                for _ in range(n):
                    t0 = time.perf_counter()
                    r = h.get(path())
                    times.append((time.perf_counter() - t0) * 1000)
                    assert r.status_code == 200, r.text
                times.sort()
                out[name] = {
                    "p50_ms": round(statistics.median(times), 2),
                    "p95_ms": round(times[int(0.95 * len(times))], 2),
                    "bytes": len(r.content),
                }
                print(f"  serve {name:<32} {out[name]}")
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument(
        "--baseline",
        choices=sorted(BASELINES),
        help="the same aggregations in pandas (default) or pyarrow.compute",
    )
    parser.add_argument("--workdir", type=Path, help="default: /tmp/corpuscope-bench")
    parser.add_argument("--out", type=Path, help="default: bench/out/stats.json")
    parser.add_argument("--smoke", action="store_true", help="a tiny run that checks it works")
    args = parser.parse_args()
    workdir = bench_workdir(args.smoke, args.workdir)
    if args.smoke:
        args.repeat, args.requests = 1, 5
        print(f"--smoke: the 2 MB corpus under {workdir}, one repeat, {args.requests} requests")
    if args.baseline is None:
        args.baseline = "pandas" if installed("pandas") or not args.smoke else "pyarrow"
        if args.baseline == "pyarrow":
            print("  pandas is not installed: the baseline is the same aggregations in pyarrow")
    if args.baseline == "pandas" and not installed("pandas"):
        raise SystemExit(
            "the pandas baseline needs pandas (pip install -e '.[bench]'); "
            "or pass --baseline pyarrow"
        )
    out = args.out or (
        workdir / "stats-smoke.json" if args.smoke else REPO / "bench" / "out" / "stats.json"
    )
    base = args.baseline
    data, _ = prepared(workdir, smoke=args.smoke)
    docs = json.loads((data / "PREPARED").read_text())["documents"]
    print(f"{docs:,} documents")
    runs: dict[str, list[tuple[float, int]]] = {"corpuscope": [], base: []}
    for r in range(args.repeat):
        s, peak, _ = measured([str(CLI), "stats", "--corpus", CORPUS, "--data-dir", str(data)])
        runs["corpuscope"].append((s, peak))
        s, peak, stdout = measured([sys.executable, "-c", BASELINES[base], str(data), CORPUS])
        runs[base].append((json.loads(stdout.strip().splitlines()[-1])["seconds"], peak))
        print(
            f"  repeat {r + 1}: corpuscope {runs['corpuscope'][-1][0]:.1f} s, "
            f"{base} {runs[base][-1][0]:.1f} s"
        )
    manifest = json.loads((data / "corpora" / CORPUS / "stats" / "manifest.json").read_text())
    med = {k: statistics.median(s for s, _ in v) for k, v in runs.items()}
    peak = {k: max(p for _, p in v) for k, v in runs.items()}
    report = {
        "machine": f"{os.uname().machine}, {os.cpu_count()} cores",
        "smoke": args.smoke,
        "documents": docs,
        "baseline": base,
        "build_seconds_median": {k: round(v, 2) for k, v in med.items()},
        "peak_rss_mb": {k: round(v / 1e6) for k, v in peak.items()},
        "speedup_over_baseline": round(med[base] / med["corpuscope"], 2),
        "table_seconds": {k: v["seconds"] for k, v in manifest["tables"].items()},
        "in_process_build_seconds": manifest["seconds"],
        "aggregations_seconds": round(
            manifest["seconds"] - manifest["tables"]["near_duplicates"]["seconds"], 2
        ),
        "serving": serving(data, args.requests),
        "targets": "build <= 60 s, serving p50 <= 20 ms",
    }
    aggregations = report["aggregations_seconds"]
    print(
        f"\nbuild: corpuscope {med['corpuscope']:.1f} s (peak {peak['corpuscope'] / 1e6:.0f} MB), "
        f"{base} {med[base]:.1f} s (peak {peak[base] / 1e6:.0f} MB); target <= 60 s\n"
        f"ratio {base} / corpuscope (whole build, MinHash and start-up included): "
        f"{report['speedup_over_baseline']}\n"
        f"the same aggregations without MinHash, in-process: corpuscope {aggregations} s against "
        f"{base} {med[base]:.1f} s (ratio {med[base] / max(aggregations, 1e-3):.1f})"
    )
    write_report(out, report)


if __name__ == "__main__":
    main()
