"""PII scan speed benchmark: corpuscope's tiered pattern scan against Presidio's AnalyzerEngine.

Run it from the repository root (about ten minutes on a 2-core machine):

    .venv/bin/python bench/pii_speed.py                       # 200 MB corpus, 2 repeats
    .venv/bin/python bench/pii_speed.py --repeat 1 --baseline-docs 100 --out /tmp/pii.json
    .venv/bin/python bench/pii_speed.py --profile             # + cProfile of one shard
    .venv/bin/python bench/pii_speed.py --smoke               # 2 MB, 1 worker, 10-doc slice

It times the `corpuscope` next to the running Python. Use a venv installed as a user would
(`pip install -e '.[dev]'` and requirements-ner.txt): with the `bench` extra, Presidio also
imports `transformers` at start-up, about 0.9 s more per process.

Targets (pattern tier, NER off):

* the pattern scan at 1 worker >= 50 x the Presidio AnalyzerEngine baseline on one core (MB/s);
* the pattern scan >= 10 MB/s per core.

What it does:

1. Gets the `--mb` MB corpus of C4-layout JSON lines *resampled from the sentences of the real
   samples* (built by, and shared with, `bench/ingest.py` under `--workdir`) and ingests it
   once with `corpuscope ingest` into a data dir under `--workdir` (reused when present).
2. Times `corpuscope scan --corpus C --json --quiet --force` as a subprocess with
   `--workers 1` and `--workers 2`, `--repeat` times each (round robin), and reports the
   medians: MB/s of text scanned (the summary's `text_bytes` over the command's wall time,
   start-up included; the scan's own seconds are reported beside it), docs/s, spans found,
   and MB/s per core (MB/s / workers).
3. Baseline, on a slice of `--baseline-docs` documents read from the same Parquet shards
   (spread evenly over them): `AnalyzerEngine.analyze(text, language="en",
   entities=PATTERN_ENTITIES)` document by document, with the engine of
   `corpuscope.privacy.recognizers.analyzer_engine()` (it runs the installed spaCy model on
   every text), and again with the same engine built on a blank spaCy pipeline (by making
   `spacy_model()` return None in this process; nothing is uninstalled). On the same slice,
   in process: `Detector().detect_batch` (tiered) and `Detector().full_scan` per document
   (Presidio's recognizers on the whole text, no NLP engine), and the agreement of their
   spans (identical spans / all distinct spans found by either, per document).
4. The NER tier on its own: `_add_names` (spaCy `nlp.pipe`, the path `scan_shard` takes with
   `Settings(ner=True)`) on a slice of `--ner-docs` documents, model loaded beforehand.
5. Prints the table and whether each target is met, and writes every figure as JSON to
   `--out` (bench/out/ is ignored by git). With `--profile`, or when the pattern scan is
   below 10 MB/s per core, adds a cProfile of `scan_shard` on one shard (top 25 by tottime).

MB is 10^6 bytes of UTF-8 document text.

Without a spaCy model installed, `analyzer_engine()` is the blank-pipeline engine, so only
that one is timed (and the NER tier is not).

`--smoke` checks that the benchmark runs, in seconds: the 2 MB corpus of the other smoke
runs (`bench/prepared.py`, in a fresh temporary folder unless $CORPUSCOPE_BENCH_WORKDIR is set), one scan at 1 worker, a slice of 10 documents, and only the blank-pipeline engine as
the baseline (the spaCy-model engine and the NER tier take minutes per MB). Its figures are
dominated by start-up.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import importlib.util
import io
import json
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent
CORPUS = "bench"
TARGET_RATIO = 50.0
TARGET_MB_PER_CORE = 10.0


@functools.cache
def _bench_ingest() -> Any:
    """bench/ingest.py as a module (its corpus builder and sample names)."""
    spec = importlib.util.spec_from_file_location("bench_ingest", REPO / "bench" / "ingest.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _spacy_model() -> str | None:
    from corpuscope.privacy.recognizers import spacy_model

    return spacy_model()


def bench_workdir_of(smoke: bool, given: Path | None) -> Path:
    """`bench_workdir` of bench/ingest.py."""
    return _bench_ingest().bench_workdir(smoke, given)


def _cli() -> str:
    cli = Path(sys.executable).with_name("corpuscope")
    return str(cli if cli.exists() else "corpuscope")


# -- the corpus, ingested once -------------------------------------------------------------------
def ingest_once(files: list[Path], data_dir: Path) -> dict[str, Any]:
    """Ingest `files` into corpus CORPUS of `data_dir`, unless a previous run already did."""
    from corpuscope.store import Store

    marker = data_dir / "pii-bench-ingested.json"
    sources = sorted(str(p) for p in files)
    if marker.exists():
        recorded = json.loads(marker.read_text())
        totals = Store(data_dir).corpus(CORPUS).manifest().totals()
        if recorded.get("sources") == sources and totals == recorded.get("totals"):
            print(
                f"ingest: reusing {data_dir} ({totals['documents']} docs, {totals['shards']} shards)"
            )
            return totals
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    cmd = [_cli(), "ingest", *sources, "--corpus", CORPUS, "--data-dir", str(data_dir)]
    cmd += ["--quiet", "--json"]
    print(f"ingest: {' '.join(cmd[:2])} <{len(sources)} files> --data-dir {data_dir}")
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"ingest exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    totals = Store(data_dir).corpus(CORPUS).manifest().totals()
    print(
        f"ingest: {totals['documents']} docs in {totals['shards']} shards, "
        f"{time.perf_counter() - started:.1f} s"
    )
    marker.write_text(json.dumps({"sources": sources, "totals": totals}))
    return totals


# -- the scan as a subprocess --------------------------------------------------------------------
def run_scan(data_dir: Path, workers: int) -> tuple[float, dict[str, Any]]:
    """(wall seconds, --json summary) of one `corpuscope scan --force`; the summary gets
    `cpu_seconds`, the CPU time of the command's process tree (bench/ingest.py `measure`)."""
    cmd = [_cli(), "scan", "--corpus", CORPUS, "--data-dir", str(data_dir)]
    cmd += ["--workers", str(workers), "--json", "--quiet", "--force"]
    with tempfile.TemporaryDirectory() as tmp:
        out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
        code, seconds, _, cpu = _bench_ingest().measure(cmd, out, err)
        if code != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {code}:\n{err.read_text()[-3000:]}")
        summary = json.loads(out.read_text())
    if summary["shards_failed"] or summary["shards_scanned"] == 0:
        raise RuntimeError(f"scan did not scan every shard: {summary['failures']}")
    summary["cpu_seconds"] = cpu
    return seconds, summary


# -- the slices ----------------------------------------------------------------------------------
def read_slice(data_dir: Path, n: int) -> tuple[list[str], list[str]]:
    """`n` (text, language) pairs from the corpus's shards, the first n/shards of each."""
    from corpuscope.store import Store

    paths = Store(data_dir).corpus(CORPUS).shard_paths()
    per = -(-n // len(paths))
    texts: list[str] = []
    langs: list[str] = []
    for path in paths:
        if len(texts) >= n:
            break
        pf = pq.ParquetFile(path)
        batch = next(pf.iter_batches(batch_size=per, columns=["text", "language"]))
        take = min(per, n - len(texts))
        texts += batch.column("text").to_pylist()[:take]
        langs += batch.column("language").to_pylist()[:take]
    return texts, langs


def _nbytes(texts: list[str]) -> int:
    return sum(len(t.encode()) for t in texts)


def time_engine(texts: list[str], blank: bool) -> dict[str, Any]:
    """Presidio's AnalyzerEngine on every text, one at a time (pattern entities only)."""
    from corpuscope.privacy import recognizers
    from corpuscope.privacy.entities import PATTERN_ENTITIES

    entities = list(PATTERN_ENTITIES)
    original = recognizers.spacy_model
    try:
        if blank:
            recognizers.spacy_model = lambda: None  # analyzer_engine() falls back to spacy.blank
        t0 = time.perf_counter()
        engine = recognizers.analyzer_engine()
        build_s = time.perf_counter() - t0
        model = "spacy.blank('en')" if blank else recognizers.spacy_model()
    finally:
        recognizers.spacy_model = original
    engine.analyze("warm up: mail me at a@example.com", language="en", entities=entities)
    spans = 0
    cpu = time.process_time()
    started = time.perf_counter()
    try:
        for text in texts:
            spans += len(engine.analyze(text, language="en", entities=entities))
        error = None
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    return _rates(texts, seconds) | {
        "cpu_seconds": round(cpu, 3),
        "mb_per_cpu_second": round(_nbytes(texts) / 1e6 / cpu, 4),
        "nlp_model": model,
        "engine_build_seconds": round(build_s, 2),
        "spans": spans,
        "error": error,
    }


def _rates(texts: list[str], seconds: float) -> dict[str, Any]:
    return {
        "documents": len(texts),
        "text_mb": round(_nbytes(texts) / 1e6, 3),
        "seconds": round(seconds, 3),
        "mb_per_s": round(_nbytes(texts) / 1e6 / seconds, 4),
        "docs_per_s": round(len(texts) / seconds, 2),
    }


def time_detector(texts: list[str]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Tiered `detect_batch` and whole-text `full_scan` on the slice, and their agreement."""
    from corpuscope.privacy.detect import Detector, result_key

    column = pa.array(texts, pa.large_string())
    tiered_detector = Detector()
    started = time.perf_counter()
    tiered = tiered_detector.detect_batch(column)
    tiered_s = time.perf_counter() - started

    full_detector = Detector()
    started = time.perf_counter()
    full = [full_detector.full_scan(t) for t in texts]
    full_s = time.perf_counter() - started

    same = only_tiered = only_full = 0
    docs_differing = []
    for i, (a, b) in enumerate(zip(tiered, full, strict=True)):
        ka, kb = {result_key(r) for r in a}, {result_key(r) for r in b}
        same += len(ka & kb)
        only_tiered += len(ka - kb)
        only_full += len(kb - ka)
        if ka != kb:
            docs_differing.append(i)
    union = same + only_tiered + only_full
    agreement = {
        "spans_tiered": sum(map(len, tiered)),
        "spans_full_scan": sum(map(len, full)),
        "spans_identical": same,
        "spans_only_tiered": only_tiered,
        "spans_only_full_scan": only_full,
        "agreement_pct": round(100.0 * same / union, 3) if union else 100.0,
        "documents_differing": docs_differing[:20],
    }
    return (
        _rates(texts, tiered_s) | {"spans": agreement["spans_tiered"]},
        _rates(texts, full_s) | {"spans": agreement["spans_full_scan"]},
        agreement,
    )


def time_ner(texts: list[str], langs: list[str]) -> dict[str, Any]:
    """The NER tier alone: `_add_names` (spaCy nlp.pipe) on the slice, model loaded first."""
    from corpuscope.config import Settings
    from corpuscope.privacy.scan import NER_LANGUAGES, _add_names, _nlp, ner_model

    settings = Settings(ner=True)
    model = ner_model(settings)
    if model is None:
        return {"error": "no spaCy model installed"}
    t0 = time.perf_counter()
    _nlp(model)
    load_s = time.perf_counter() - t0
    found: list[list[Any]] = [[] for _ in texts]
    started = time.perf_counter()
    _add_names(found, texts, langs, model, settings.ner_max_chars)
    seconds = time.perf_counter() - started
    read = [t[: settings.ner_max_chars] for t, lang in zip(texts, langs, strict=True)]
    read = [t for t, lang in zip(read, langs, strict=True) if lang in NER_LANGUAGES]
    return _rates(texts, seconds) | {
        "model": model,
        "model_load_seconds": round(load_s, 2),
        "documents_read_by_ner": len(read),
        "mb_read_by_ner": round(_nbytes(read) / 1e6, 3),
        "mb_per_s_of_text_read": round(_nbytes(read) / 1e6 / seconds, 4),
        "spans": sum(map(len, found)),
    }


def profile_shard(data_dir: Path, top: int = 25) -> dict[str, Any]:
    """cProfile of `scan_shard` on the corpus's first shard, in process, pattern tier only."""
    from corpuscope.config import Settings
    from corpuscope.models.work import ScanTask
    from corpuscope.privacy.scan import scan_shard
    from corpuscope.store import Store

    shard = sorted(Store(data_dir).corpus(CORPUS).manifest().done(), key=lambda s: s.shard_id)[0]
    task = ScanTask(CORPUS, shard.shard_id, shard.parquet, shard.sha256, shard.parquet_bytes)
    settings = Settings(data=data_dir, ner=False)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    entry = scan_shard(task, str(data_dir), settings, force=True)
    profiler.disable()
    seconds = time.perf_counter() - started
    buf, cum = io.StringIO(), io.StringIO()
    pstats.Stats(profiler, stream=buf).sort_stats("tottime").print_stats(top)
    pstats.Stats(profiler, stream=cum).sort_stats("cumulative").print_stats(top)
    assert entry is not None
    return {
        "shard": shard.shard_id,
        "documents": entry.documents,
        "text_mb": round(entry.text_bytes / 1e6, 3),
        "seconds_under_profiler": round(seconds, 2),
        "mb_per_s_under_profiler": round(entry.text_bytes / 1e6 / seconds, 3),
        "top_by_tottime": buf.getvalue(),
        "top_by_cumtime": cum.getvalue(),
    }


# -- the run -------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=200, help="corpus size in MB (default 200)")
    parser.add_argument("--files", type=int, default=8, help="files to split it into")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each scan timing (median)")
    parser.add_argument("--baseline-docs", type=int, default=300, help="documents of the slice")
    parser.add_argument("--ner-docs", type=int, default=200, help="documents of the NER slice")
    parser.add_argument("--workdir", type=Path, help="default: /tmp/corpuscope-bench")
    parser.add_argument("--data-dir", type=Path, help="default: WORKDIR/pii-data-MBmb")
    parser.add_argument("--profile", action="store_true", help="always profile one shard")
    parser.add_argument("--out", type=Path, help="default: bench/out/pii_speed.json")
    parser.add_argument("--smoke", action="store_true", help="a tiny run that checks it works")
    args = parser.parse_args()
    workdir = bench_workdir_of(args.smoke, args.workdir)
    worker_counts = (1, 2)
    if args.smoke:
        args.repeat = 1
        args.baseline_docs = 10
        worker_counts = (1,)
        print(
            f"--smoke: the 2 MB corpus under {workdir}, one scan at 1 worker, a 10-document slice; "
            "the spaCy-model engine and the NER tier skipped"
        )
    model = None if args.smoke else _spacy_model()
    if model is None and not args.smoke:
        print(
            "no spaCy model installed (requirements-ner.txt): the AnalyzerEngine baseline runs "
            "on a blank pipeline, and the NER tier is not timed"
        )
    out = args.out or (
        workdir / "pii_speed-smoke.json"
        if args.smoke
        else REPO / "bench" / "out" / "pii_speed.json"
    )
    bench_ingest = _bench_ingest()
    corpus_note = (
        f"C4-layout JSON lines RESAMPLED (by sentence) from the real samples "
        f"{bench_ingest.C4_SAMPLE.name} and {bench_ingest.DOLMA_SAMPLE.name}, with their real "
        f"URLs and timestamps (seed {bench_ingest.SEED}); not a real crawl"
    )
    print(f"corpus: {corpus_note}")
    if args.smoke and not args.data_dir:
        # the small corpus bench/index.py, query.py and stats.py smoke on (built once per work
        # folder): one ingest fewer when the smoke runs share a work folder
        from prepared import prepared

        from corpuscope.store import Store

        data_dir, files = prepared(workdir, smoke=True)
        totals = Store(data_dir).corpus(CORPUS).manifest().totals()
    else:
        data_dir = args.data_dir or workdir / f"pii-data-{args.mb}mb-{args.files}files"
        files = bench_ingest.build_corpus(workdir, args.mb, args.files, by_language=False)
        totals = ingest_once(files, data_dir)

    # 2. the scan, as the user runs it
    runs: dict[int, list[tuple[float, dict[str, Any]]]] = {w: [] for w in worker_counts}
    for i in range(args.repeat):
        print(f"\nscan repeat {i + 1}/{args.repeat}")
        for workers in runs:
            seconds, summary = run_scan(data_dir, workers)
            runs[workers].append((seconds, summary))
            print(
                f"  --workers {workers}: {seconds:.1f} s wall ({summary['seconds']:.1f} s in scan, "
                f"{summary['cpu_seconds']:.1f} CPU s), "
                f"{summary['text_bytes'] / 1e6:.1f} MB, {summary['spans']} spans"
            )
    scans = {}
    for workers, results in runs.items():
        seconds = statistics.median(r[0] for r in results)
        inner = statistics.median(r[1]["seconds"] for r in results)
        cpu = statistics.median(r[1]["cpu_seconds"] for r in results)
        s = results[0][1]
        mbps = s["text_bytes"] / 1e6 / seconds
        scans[workers] = {
            "name": f"corpuscope scan, {workers} worker{'s' if workers > 1 else ''}",
            "workers": workers,
            "documents": s["documents"],
            "text_mb": round(s["text_bytes"] / 1e6, 2),
            "seconds": round(seconds, 2),
            "mb_per_s": round(mbps, 3),
            "mb_per_s_per_core": round(mbps / workers, 3),
            "docs_per_s": round(s["documents"] / seconds, 1),
            "spans": s["spans"],
            "documents_with_pii": s["documents_with_pii"],
            "by_entity": s["by_entity"],
            "scan_seconds": round(inner, 2),
            "mb_per_s_scan_seconds": round(s["text_bytes"] / 1e6 / inner, 3),
            "cpu_seconds": round(cpu, 2),
            "mb_per_cpu_second": round(s["text_bytes"] / 1e6 / cpu, 3),
            "all_cpu_seconds": [round(r[1]["cpu_seconds"], 2) for r in results],
            "all_seconds": [round(r[0], 2) for r in results],
            "all_scan_seconds": [round(r[1]["seconds"], 2) for r in results],
            "spans_stable": len({r[1]["spans"] for r in results}) == 1,
        }

    # 3. the baseline and the detector on a slice
    texts, _ = read_slice(data_dir, args.baseline_docs)
    print(f"\nslice: {len(texts)} docs, {_nbytes(texts) / 1e6:.2f} MB")
    engine_blank = time_engine(texts, blank=True)
    print(
        f"  AnalyzerEngine (blank pipeline): {engine_blank['seconds']:.1f} s, "
        f"{engine_blank['mb_per_s']:.4f} MB/s {engine_blank['error'] or ''}"
    )
    if model is None:  # the same engine: analyzer_engine() falls back to the blank pipeline
        engine = engine_blank
    else:
        engine = time_engine(texts, blank=False)
        print(
            f"  AnalyzerEngine ({engine['nlp_model']}): {engine['seconds']:.1f} s, "
            f"{engine['mb_per_s']:.4f} MB/s {engine['error'] or ''}"
        )
    tiered, full, agreement = time_detector(texts)
    print(f"  Detector.detect_batch: {tiered['seconds']:.2f} s, {tiered['mb_per_s']:.3f} MB/s")
    print(f"  Detector.full_scan: {full['seconds']:.2f} s, {full['mb_per_s']:.3f} MB/s")
    print(f"  agreement: {agreement['agreement_pct']}% of spans")

    # 4. the NER tier alone
    ner_texts, ner_langs = read_slice(data_dir, args.ner_docs)
    ner = time_ner(ner_texts, ner_langs) if model else {"error": "no spaCy model installed"}
    print(f"  NER tier ({ner.get('model')}): {ner.get('seconds')} s, {ner.get('mb_per_s')} MB/s")

    # 5. verdict
    one, two = scans[1], scans.get(2)
    ratio = one["mb_per_s"] / engine["mb_per_s"]
    ratio_blank = one["mb_per_s"] / engine_blank["mb_per_s"]
    verdict = {
        "scan_1_worker_over_engine_baseline": round(ratio, 1),
        "scan_1_worker_over_blank_engine": round(ratio_blank, 1),
        "ratio_target": TARGET_RATIO,
        "ratio_target_met": ratio >= TARGET_RATIO,
        "ratio_target_met_vs_blank_engine": ratio_blank >= TARGET_RATIO,
        "mb_per_s_per_core_1_worker": one["mb_per_s_per_core"],
        "mb_per_s_per_core_2_workers": two["mb_per_s_per_core"] if two else None,
        "per_core_target": TARGET_MB_PER_CORE,
        "per_core_target_met": one["mb_per_s_per_core"] >= TARGET_MB_PER_CORE,
        "per_core_target_met_2_workers": two["mb_per_s_per_core"] >= TARGET_MB_PER_CORE
        if two
        else None,
        "tiered_equals_full_scan": agreement["spans_only_tiered"] == 0
        and agreement["spans_only_full_scan"] == 0,
    }
    profile = None
    if args.profile or (not verdict["per_core_target_met"] and not args.smoke):
        print("\nprofiling scan_shard on one shard ...")
        profile = profile_shard(data_dir)

    rows = [
        *scans.values(),
        *(
            [{"name": f"AnalyzerEngine.analyze ({engine['nlp_model']}), 1 core"} | engine]
            if model
            else []
        ),
        {"name": "AnalyzerEngine.analyze (blank pipeline), 1 core"} | engine_blank,
        {"name": "Detector.detect_batch (tiered, in process)"} | tiered,
        {"name": "Detector.full_scan (whole texts, in process)"} | full,
        *([{"name": f"NER tier, _add_names ({ner.get('model')})"} | ner] if model else []),
    ]
    print(
        f"\nResults (scan: median of {args.repeat} runs over {one['text_mb']:.0f} MB; slices: "
        f"{len(texts)} and {len(ner_texts)} docs); corpus resampled from the real samples"
    )
    header = f"{'':52} {'MB':>7} {'s':>8} {'MB/s':>8} {'MB/s/core':>9} {'docs/s':>8} {'spans':>8}"
    print(header)
    for r in rows:
        per_core = r.get("mb_per_s_per_core", r.get("mb_per_s"))
        print(
            f"{r['name']:52} {r.get('text_mb', 0):7.2f} {r.get('seconds', 0):8.2f} "
            f"{r.get('mb_per_s', 0):8.3f} {per_core or 0:9.3f} {r.get('docs_per_s', 0):8.1f} "
            f"{r.get('spans', 0):>8}"
        )
    print(
        f"\nagreement detect_batch vs full_scan: {agreement['agreement_pct']}% of spans "
        f"({agreement['spans_identical']} identical, {agreement['spans_only_tiered']} only "
        f"tiered, {agreement['spans_only_full_scan']} only full_scan)"
    )
    print(
        f"ratio scan at 1 worker / AnalyzerEngine ({engine['nlp_model']}), MB/s per core: "
        f"{ratio:.1f}"
    )
    print(
        f"target 1: scan at 1 worker >= {TARGET_RATIO:.0f} x AnalyzerEngine per core: "
        f"{ratio:.1f} x -> {'met' if verdict['ratio_target_met'] else 'NOT met'} "
        f"(vs the blank-pipeline engine: {ratio_blank:.1f} x -> "
        f"{'met' if verdict['ratio_target_met_vs_blank_engine'] else 'NOT met'})"
    )
    at_two = (
        f"; {two['mb_per_s_per_core']:.2f} per core at 2 workers -> "
        f"{'met' if verdict['per_core_target_met_2_workers'] else 'NOT met'}"
        if two
        else ""
    )
    print(
        f"target 2: scan >= {TARGET_MB_PER_CORE:.0f} MB/s per core: "
        f"{one['mb_per_s_per_core']:.2f} at 1 worker -> "
        f"{'met' if verdict['per_core_target_met'] else 'NOT met'}{at_two}"
        + (" (--smoke: start-up dominates, not a throughput figure)" if args.smoke else "")
    )
    print(
        "CPU time (the command and its workers): "
        + "; ".join(
            f"{w} worker{'s' if w > 1 else ''} {r['cpu_seconds']:.1f} CPU s, "
            f"{r['mb_per_cpu_second']:.2f} MB per CPU second"
            for w, r in scans.items()
        )
        + f"; AnalyzerEngine ({engine['nlp_model']}) {engine['mb_per_cpu_second']:.4f} MB per "
        f"CPU second: ratio on CPU time {one['mb_per_cpu_second'] / engine['mb_per_cpu_second']:.1f}"
    )
    if profile:
        print(
            f"\ncProfile of scan_shard on shard {profile['shard']} ({profile['documents']} docs, "
            f"{profile['text_mb']} MB, {profile['seconds_under_profiler']} s under the profiler):"
        )
        print(profile["top_by_tottime"])

    import presidio_analyzer
    import spacy

    report = {
        "corpus": {
            "description": corpus_note,
            "files": [str(p) for p in files],
            "data_dir": str(data_dir),
            "totals": totals,
        },
        "repeat": args.repeat,
        "smoke": args.smoke,
        "machine": {
            "cpus": psutil.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 1e9, 1),
            "python": platform.python_version(),
            "pyarrow": pa.__version__,
            "presidio_analyzer": getattr(presidio_analyzer, "__version__", "?"),
            "spacy": spacy.__version__,
        },
        "scan": list(scans.values()),
        "baseline": {"engine": engine, "engine_blank_pipeline": engine_blank},
        "detector": {"detect_batch": tiered, "full_scan": full, "agreement": agreement},
        "ner": ner,
        "verdict": verdict,
        "profile": profile,
    }
    bench_ingest.write_report(out, report)


if __name__ == "__main__":
    main()
