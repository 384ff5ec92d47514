"""Statistics speed: building every table with DuckDB, and serving them, against pandas.

    .venv/bin/python bench/stats.py             # >= 200,000 documents (bench/prepared.py)

1. `corpuscope stats` as a subprocess on the prepared corpus (resampled from the real samples,
   ingested and scanned): wall time of the whole build (every table, MinHash included) and the
   peak RSS of the process, median of `--repeat` runs.
2. Baseline, same run: the same aggregations in pandas on the loaded data (the shards' columns
   read into one DataFrame, then overview, by source, by domain, by TLD, by language, by
   month, length histogram, exact duplicates, PII per entity and per domain, the quality
   regexes), with its peak RSS. MinHash is left out of the baseline (it is not an
   aggregation), which favours pandas.
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
from prepared import CORPUS, WORKDIR, prepared, served

from ingest import _tree_rss, write_report

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
    with served(data) as root:
        base = f"{root}/v1/corpora/{CORPUS}"
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
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "stats.json")
    args = parser.parse_args()
    data, _ = prepared(WORKDIR)
    docs = json.loads((data / "PREPARED").read_text())["documents"]
    print(f"{docs:,} documents")
    runs: dict[str, list[tuple[float, int]]] = {"corpuscope": [], "pandas": []}
    for r in range(args.repeat):
        s, peak, _ = measured([str(CLI), "stats", "--corpus", CORPUS, "--data-dir", str(data)])
        runs["corpuscope"].append((s, peak))
        s, peak, out = measured([sys.executable, "-c", PANDAS, str(data), CORPUS])
        runs["pandas"].append((json.loads(out.strip().splitlines()[-1])["seconds"], peak))
        print(
            f"  repeat {r + 1}: corpuscope {runs['corpuscope'][-1][0]:.1f} s, "
            f"pandas {runs['pandas'][-1][0]:.1f} s"
        )
    manifest = json.loads((data / "corpora" / CORPUS / "stats" / "manifest.json").read_text())
    med = {k: statistics.median(s for s, _ in v) for k, v in runs.items()}
    peak = {k: max(p for _, p in v) for k, v in runs.items()}
    report = {
        "machine": f"{os.uname().machine}, {os.cpu_count()} cores",
        "documents": docs,
        "build_seconds_median": {k: round(v, 2) for k, v in med.items()},
        "peak_rss_mb": {k: round(v / 1e6) for k, v in peak.items()},
        "speedup_over_pandas": round(med["pandas"] / med["corpuscope"], 2),
        "table_seconds": {k: v["seconds"] for k, v in manifest["tables"].items()},
        "in_process_build_seconds": manifest["seconds"],
        "aggregations_seconds": round(
            manifest["seconds"] - manifest["tables"]["near_duplicates"]["seconds"], 2
        ),
        "serving": serving(data, args.requests),
        "targets": "build <= 60 s, serving p50 <= 20 ms",
    }
    print(
        f"\nbuild: corpuscope {med['corpuscope']:.1f} s (peak {peak['corpuscope'] / 1e6:.0f} MB), "
        f"pandas {med['pandas']:.1f} s (peak {peak['pandas'] / 1e6:.0f} MB): "
        f"{report['speedup_over_pandas']}x; target <= 60 s\n"
        f"the same aggregations without MinHash, in-process: corpuscope "
        f"{report['aggregations_seconds']} s against pandas {med['pandas']:.1f} s "
        f"({med['pandas'] / report['aggregations_seconds']:.1f}x)"
    )
    write_report(args.out, report)


if __name__ == "__main__":
    main()
