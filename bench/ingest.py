"""Ingest throughput and memory benchmark: corpuscope against a plain pyarrow baseline.

Run it from the repository root (it takes a few minutes on a 2-core machine):

    .venv/bin/python bench/ingest.py                      # 1,000 MB corpus, 3 repeats
    .venv/bin/python bench/ingest.py --mb 200 --files 8 --out bench/out/ingest-200.json
    .venv/bin/python bench/ingest.py --smoke              # 2 MB, 2 workers only, seconds

Target: corpuscope at 2 workers >= 0.5 x the pyarrow baseline, and peak memory flat when the
corpus doubles.

What it does:

1. Builds a corpus of `--mb` MB of uncompressed JSON lines in the C4 layout
   (`{"url", "text", "timestamp"}`, about 8 KB of text per document), split into `--files`
   files of 25 MB. The text is *resampled from the sentences of the real samples* in
   `samples/` (C4/RedPajama and Common Crawl/Dolma), each document from the real documents of
   one language, with their real URLs and timestamps, under a fixed seed; it is built once
   under `--workdir` and reused. The default 1,000 MB keeps the fixed start-up (about 1 s of
   command and worker start) at a tenth of the run; `--mb 200 --files 8` shows it at 200 MB.
2. Baseline (the I/O limit): `pyarrow.json.read_json` + `pyarrow.parquet.write_table`
   (zstd, the codec corpuscope writes by default) on each file, with no processing.
3. `corpuscope ingest ... --json --quiet` as a subprocess, into a fresh data dir each time:
   local executor with 1 and 2 workers, and the Ray executor with 2 workers. Wall time of the
   whole command (start-up included) and peak RSS of its process tree (psutil, every 50 ms;
   the RSS of all processes is summed, so pages shared between them count more than once).
4. Memory flatness: the 2-worker local ingest again on the first half of the files; the
   ratio of peak RSS at full size to half size should be about 1.0.

Every timing is repeated `--repeat` times (round robin, to spread the machine's noise) and
the medians are reported. MB/s is uncompressed input MB (10^6 bytes) per wall second. The
results go to `--out` as JSON (bench/out/ is ignored by git). The Ray run is skipped when
Ray (the optional `ray` extra) is not installed.

`--smoke` checks that the benchmark runs, in seconds: a 2 MB corpus in a fresh temporary
folder, one repeat, the baseline and the 2-worker local ingest only. Its figures are
dominated by start-up and say nothing about throughput.

This module also holds what the other benchmarks share: `build_corpus`, `write_report`,
`installed` and `bench_workdir`.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gzip
import importlib.util
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import psutil
import pyarrow as pa
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from corpuscope.ingest.normalise import detect_language

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
C4_SAMPLE = SAMPLES / "c4" / "c4-en-sample-449.jsonl.gz"  # RedPajama layout
DOLMA_SAMPLE = SAMPLES / "commoncrawl" / "cc-main-2019-30-dolma-697.jsonl.gz"  # Dolma layout
SEED = 20240601
DOC_BYTES = (6_000, 10_000)  # text bytes per document: uniform, so about 8 KB on average
SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
POLL_S = 0.05
SMOKE_MB, SMOKE_FILES = 2, 2


# -- shared by the benchmarks ----------------------------------------------------------------
def installed(module: str) -> bool:
    """Whether `module` can be imported (optional baselines are in the `bench` extra)."""
    return importlib.util.find_spec(module) is not None


def bench_workdir(smoke: bool, given: Path | None = None) -> Path:
    """Where a benchmark builds its data: `given`, else $CORPUSCOPE_BENCH_WORKDIR, else
    /tmp/corpuscope-bench (kept and reused by later runs), or with `smoke` a fresh temporary
    folder removed when the process exits."""
    if given is not None:
        return given
    if os.environ.get("CORPUSCOPE_BENCH_WORKDIR"):
        return Path(os.environ["CORPUSCOPE_BENCH_WORKDIR"])
    if not smoke:
        return Path(tempfile.gettempdir()) / "corpuscope-bench"
    folder = Path(tempfile.mkdtemp(prefix="corpuscope-smoke-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


# -- the corpus ----------------------------------------------------------------------------------
def _load_samples(by_language: bool) -> dict[str, tuple[list[str], list[tuple[str, str]]]]:
    """Sentences of the real samples and their (url, timestamp) pairs, in record order: per
    language (CLD2 on the whole real document), or all in one group."""
    groups: dict[str, tuple[list[str], list[tuple[str, str]]]] = {}
    for path in (C4_SAMPLE, DOLMA_SAMPLE):
        with gzip.open(path, "rb") as f:
            for line in f:
                rec = orjson.loads(line)
                if "meta" in rec:  # RedPajama C4: text, meta (a JSON string) {url, timestamp}
                    meta = rec["meta"]
                    meta = orjson.loads(meta) if isinstance(meta, str) else meta
                    url, ts = meta.get("url"), meta.get("timestamp")
                else:  # Dolma: id, text, created, metadata{warc_url, url, warc_date, ...}
                    meta = rec.get("metadata", {})
                    url = meta.get("warc_url") or meta.get("url")
                    ts = meta.get("warc_date") or rec.get("created")
                group = detect_language(rec["text"]) if by_language else "all"
                sentences, origins = groups.setdefault(group, ([], []))
                sentences += [s.strip() for s in SENTENCE.split(rec["text"]) if len(s.strip()) > 20]
                if url and ts:
                    origins.append((url, ts))
    return {k: v for k, v in groups.items() if v[0] and v[1]}


def build_corpus(
    workdir: Path,
    mb: int,
    n_files: int,
    doc_bytes: tuple[int, int] = DOC_BYTES,
    by_language: bool = True,
) -> list[Path]:
    """`mb` MB of C4-layout JSON lines in `n_files` files, resampled from the real samples.

    With `by_language`, each document takes its sentences from the real documents of one
    language (drawn in proportion to its sentences in the samples), so documents are as
    monolingual as real ones and language identification works as hard as on a real crawl.
    Without it, sentences are drawn from all the samples at once (the corpus the PII, index
    and query benchmarks were measured on).
    """
    size = "" if doc_bytes == DOC_BYTES else f"-docs{doc_bytes[0]}-{doc_bytes[1]}b"
    kind = "-bylanguage" if by_language else ""
    folder = workdir / f"corpus-{mb}mb-{n_files}files{size}{kind}-seed{SEED}"
    width = max(2, len(str(n_files)))
    files = [
        folder / f"c4-resampled-{i:0{width}d}-of-{n_files:0{width}d}.jsonl" for i in range(n_files)
    ]
    if (folder / "DONE").exists() and all(p.exists() for p in files):
        print(f"corpus: reusing {folder}")
        return files
    how = "each document from the documents of one language; " if by_language else ""
    print(
        f"corpus: building {mb} MB of C4-layout JSON lines in {n_files} files under {folder},\n"
        f"        RESAMPLED from the sentences of the real samples {C4_SAMPLE.name} and "
        f"{DOLMA_SAMPLE.name}\n        ({how}real URLs and timestamps, seed {SEED})"
    )
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    groups = _load_samples(by_language)
    names = sorted(groups)
    weights = [len(groups[k][0]) for k in names]
    sizes = {k: [len(s.encode()) for s in groups[k][0]] for k in names}
    rng = random.Random(SEED)
    per_file = mb * 1_000_000 // n_files
    docs = 0
    for path in files:
        written = 0
        with open(path, "wb") as f:
            while written < per_file:
                group = rng.choices(names, weights)[0] if len(names) > 1 else names[0]
                sentences, origins = groups[group]
                target = rng.randint(*doc_bytes)
                parts: list[str] = []
                size = 0
                while size < target:
                    i = rng.randrange(len(sentences))
                    parts.append(sentences[i])
                    parts.append("\n\n" if rng.random() < 0.15 else " ")
                    size += sizes[group][i] + 1
                url, ts = rng.choice(origins)
                line = orjson.dumps({"url": url, "text": "".join(parts[:-1]), "timestamp": ts})
                f.write(line + b"\n")
                written += len(line) + 1
                docs += 1
    (folder / "DONE").write_text(json.dumps({"mb": mb, "files": n_files, "docs": docs}))
    print(f"corpus: {docs} documents, {sum(p.stat().st_size for p in files) / 1e6:.1f} MB")
    return files


# -- measuring -------------------------------------------------------------------------------
BASELINE_CPU_S: list[float] = []  # CPU seconds of each baseline run, all of Arrow's threads


def run_baseline(files: list[Path], out_dir: Path) -> float:
    """Seconds to read every file with pyarrow and write it back as Parquet, no processing
    (its CPU seconds are appended to BASELINE_CPU_S)."""
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    cpu = time.process_time()
    started = time.perf_counter()
    for path in files:
        table: pa.Table = pa_json.read_json(path)
        pq.write_table(table, out_dir / f"{path.stem}.parquet", compression="zstd")
    seconds = time.perf_counter() - started
    BASELINE_CPU_S.append(time.process_time() - cpu)
    shutil.rmtree(out_dir)
    return seconds


def _tree_rss(proc: psutil.Process, cpu: dict[tuple[int, float], float] | None = None) -> int:
    """RSS of the process tree now; with `cpu`, also records each process's CPU seconds so
    far (user + system, keyed by pid and start time)."""
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied), p.oneshot():
            total += p.memory_info().rss
            if cpu is not None:
                times = p.cpu_times()
                cpu[(p.pid, p.create_time())] = times.user + times.system
    return total


def measure(cmd: list[str], out: Path, err: Path) -> tuple[int, float, int, float]:
    """Run `cmd` with stdout and stderr to files: (exit status, wall seconds, peak RSS of its
    process tree, CPU seconds of its process tree). The tree is sampled every POLL_S, so a
    process's last POLL_S of CPU, and a process that lives less than that, can be missed; on a
    shared machine the wall time grows with the other load, the CPU time much less."""
    cpu: dict[tuple[int, float], float] = {}
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        started = time.perf_counter()
        popen = subprocess.Popen(cmd, stdout=stdout, stderr=stderr)
        proc = psutil.Process(popen.pid)
        peak = 0
        while popen.poll() is None:
            peak = max(peak, _tree_rss(proc, cpu))
            time.sleep(POLL_S)
        seconds = time.perf_counter() - started
    return popen.returncode, seconds, peak, sum(cpu.values())


def run_corpuscope(
    files: list[Path], data_dir: Path, executor: str, workers: int
) -> tuple[float, int, dict]:
    """(wall seconds, peak RSS bytes of the process tree, the --json summary) of one ingest.

    The summary gets `cpu_seconds` (`measure`), None for Ray, whose workers run under Ray's
    own daemons, outside the command's process tree."""
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    cli = Path(sys.executable).with_name("corpuscope")
    cmd = [
        str(cli if cli.exists() else "corpuscope"),
        "ingest",
        *map(str, files),
        "--corpus",
        "bench",
        "--data-dir",
        str(data_dir / "data"),
        "--workers",
        str(workers),
        "--executor",
        executor,
        "--json",
        "--quiet",
    ]
    out_path, err_path = data_dir / "stdout.json", data_dir / "stderr.txt"
    code, seconds, peak, cpu = measure(cmd, out_path, err_path)
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {code}:\n{err_path.read_text()[-3000:]}")
    summary = json.loads(out_path.read_text())
    summary["cpu_seconds"] = None if executor == "ray" else cpu
    shutil.rmtree(data_dir)
    return seconds, peak, summary


# -- the run -------------------------------------------------------------------------------------
CONFIGS = {  # name: (executor, workers, which files)
    "corpuscope local 1 worker": ("local", 1, "full"),
    "corpuscope local 2 workers": ("local", 2, "full"),
    "corpuscope ray 2 workers": ("ray", 2, "full"),
    "corpuscope local 2 workers, half corpus": ("local", 2, "half"),
}


def write_report(path: Path, report: dict) -> None:
    """A benchmark's figures as JSON (bench/out/ is ignored by git)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1) + "\n")
    print(f"\nwrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=1000, help="corpus size in MB (default 1000)")
    parser.add_argument("--files", type=int, default=40, help="files to split it into")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timing (median)")
    parser.add_argument("--workdir", type=Path, help="default: /tmp/corpuscope-bench")
    parser.add_argument("--out", type=Path, help="default: bench/out/ingest.json")
    parser.add_argument("--smoke", action="store_true", help="a tiny run that checks it works")
    args = parser.parse_args()
    workdir = bench_workdir(args.smoke, args.workdir)
    configs = dict(CONFIGS)
    if args.smoke:
        args.mb, args.files, args.repeat = SMOKE_MB, SMOKE_FILES, 1
        configs = {"corpuscope local 2 workers": CONFIGS["corpuscope local 2 workers"]}
        print(f"--smoke: {args.mb} MB in {args.files} files under {workdir}, one repeat, the")
        print("  2-worker local ingest only (Ray, 1 worker and the half corpus skipped)")
    elif not installed("ray"):
        del configs["corpuscope ray 2 workers"]
        print("Ray is not installed (the `ray` extra): its run is skipped")
    out = args.out or (
        workdir / "ingest-smoke.json" if args.smoke else REPO / "bench" / "out" / "ingest.json"
    )

    files = build_corpus(workdir, args.mb, args.files)
    sets = {"full": files, "half": files[: len(files) // 2]}
    size = {k: sum(p.stat().st_size for p in v) for k, v in sets.items()}

    baseline_s: list[float] = []
    runs: dict[str, list[tuple[float, int, dict]]] = {name: [] for name in configs}
    for i in range(args.repeat):
        print(f"\nrepeat {i + 1}/{args.repeat}")
        baseline_s.append(run_baseline(files, workdir / "baseline-out"))
        print(f"  pyarrow baseline: {baseline_s[-1]:.1f} s ({BASELINE_CPU_S[-1]:.1f} CPU s)")
        for name, (executor, workers, which) in configs.items():
            seconds, peak, summary = run_corpuscope(sets[which], workdir / "run", executor, workers)
            runs[name].append((seconds, peak, summary))
            cpu = summary["cpu_seconds"]
            print(
                f"  {name}: {seconds:.1f} s"
                + (f" ({cpu:.1f} CPU s)" if cpu is not None else "")
                + f", peak RSS {peak / 1e6:.0f} MB, {summary['documents_written']} docs"
            )

    base_s = statistics.median(baseline_s)
    base_mbps = size["full"] / 1e6 / base_s
    rows = [
        {
            "name": "pyarrow baseline (read_json + write_table)",
            "input_mb": round(size["full"] / 1e6, 1),
            "seconds": round(base_s, 2),
            "mb_per_s": round(base_mbps, 2),
            "docs_per_s": None,
            "vs_baseline": 1.0,
            "peak_rss_mb": None,
            "all_seconds": [round(s, 2) for s in baseline_s],
            "cpu_seconds": round(statistics.median(BASELINE_CPU_S), 2),
            "all_cpu_seconds": [round(s, 2) for s in BASELINE_CPU_S],
        }
    ]
    for name, results in runs.items():
        which = configs[name][2]
        seconds = statistics.median(r[0] for r in results)
        docs = results[0][2]["documents_written"]
        mbps = size[which] / 1e6 / seconds
        rows.append(
            {
                "name": name,
                "input_mb": round(size[which] / 1e6, 1),
                "seconds": round(seconds, 2),
                "mb_per_s": round(mbps, 2),
                "docs_per_s": round(docs / seconds, 1),
                "vs_baseline": round(mbps / base_mbps, 3),
                "peak_rss_mb": round(statistics.median(r[1] for r in results) / 1e6, 1),
                "documents": docs,
                "quarantined": results[0][2]["quarantined"],
                "all_seconds": [round(r[0], 2) for r in results],
                "all_peak_rss_mb": [round(r[1] / 1e6, 1) for r in results],
                "internal_seconds": [round(r[2]["seconds"], 2) for r in results],
                "cpu_seconds": None
                if results[0][2]["cpu_seconds"] is None
                else round(statistics.median(r[2]["cpu_seconds"] for r in results), 2),
                "all_cpu_seconds": [r[2]["cpu_seconds"] for r in results],
            }
        )
    by_name = {r["name"]: r for r in rows}
    rss_full = by_name["corpuscope local 2 workers"]["peak_rss_mb"]
    half = by_name.get("corpuscope local 2 workers, half corpus")
    rss_half = half["peak_rss_mb"] if half else None
    ratio_2w = by_name["corpuscope local 2 workers"]["vs_baseline"]
    verdict = {
        "throughput_2_workers_vs_baseline": ratio_2w,
        "throughput_target_met": ratio_2w >= 0.5,
        "peak_rss_mb_half": rss_half,
        "peak_rss_mb_full": rss_full,
        "peak_rss_full_over_half": round(rss_full / rss_half, 3) if rss_half else None,
    }

    print(f"\nResults: median of {args.repeat}; corpus resampled from real samples")
    print(f"{'':44} {'MB':>6} {'s':>7} {'MB/s':>7} {'docs/s':>8} {'x base':>7} {'RSS MB':>7}")
    for r in rows:
        docs_s = f"{r['docs_per_s']:.0f}" if r["docs_per_s"] else "-"
        rss = f"{r['peak_rss_mb']:.0f}" if r["peak_rss_mb"] else "-"
        print(
            f"{r['name']:44} {r['input_mb']:6.0f} {r['seconds']:7.2f} {r['mb_per_s']:7.2f} "
            f"{docs_s:>8} {r['vs_baseline']:7.3f} {rss:>7}"
        )
    print(f"\nratio corpuscope 2 workers / pyarrow baseline (MB/s): {ratio_2w:.3f}")
    base_cpu = rows[0]["cpu_seconds"]
    print(
        f"CPU seconds (median): pyarrow baseline {base_cpu:.1f}; "
        + "; ".join(
            f"{r['name']} {r['cpu_seconds']:.1f} (ratio baseline / corpuscope "
            f"{base_cpu / r['cpu_seconds'] * size[configs[r['name']][2]] / size['full']:.3f})"
            for r in rows[1:]
            if r["cpu_seconds"]
        )
    )
    print(
        f"target 1: corpuscope at 2 workers >= 0.5 x baseline: {ratio_2w:.3f} x -> "
        f"{'met' if verdict['throughput_target_met'] else 'NOT met'}"
        + (" (--smoke: start-up dominates, not a throughput figure)" if args.smoke else "")
    )
    if rss_half:
        print(
            f"target 2: peak RSS flat when the corpus doubles: {rss_half:.0f} MB at "
            f"{size['half'] / 1e6:.0f} MB, {rss_full:.0f} MB at {size['full'] / 1e6:.0f} MB "
            f"(ratio {verdict['peak_rss_full_over_half']:.2f})"
        )

    report = {
        "corpus": {
            "description": "C4-layout JSON lines resampled (by sentence, each document from "
            f"the documents of one language) from the real samples {C4_SAMPLE.name} and "
            f"{DOLMA_SAMPLE.name}, with their real URLs and timestamps",
            "seed": SEED,
            "files": [str(p) for p in files],
            "bytes_full": size["full"],
            "bytes_half": size["half"],
        },
        "repeat": args.repeat,
        "smoke": args.smoke,
        "machine": {
            "cpus": psutil.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 1e9, 1),
            "python": platform.python_version(),
            "pyarrow": pa.__version__,
        },
        "results": rows,
        "verdict": verdict,
    }
    write_report(out, report)


if __name__ == "__main__":
    main()
