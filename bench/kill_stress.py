"""kill -9 stress loop: SIGKILL a real ingest at random moments, many times, then rerun.

Each trial starts `corpuscope ingest` on a copy of real samples (several shards per file),
kills its whole process group after a random delay, checks that the store opens and that
every shard the manifest names matches its sha256, then reruns to completion and compares
the documents with a clean run. The test suite does a handful of trials; this does more.

    .venv/bin/python bench/kill_stress.py --trials 30
    .venv/bin/python bench/kill_stress.py --smoke       # 1 trial on one sample file

Everything is built in a temporary folder, removed at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from corpuscope.store import Store

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


def cmd(src: Path, data: Path, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "corpuscope",
        "ingest",
        str(src),
        "--corpus",
        "k",
        "--shard-docs",
        "50",
        "--workers",
        str(workers),
        "--quiet",
        "--data-dir",
        str(data),
    ]


def docs(data: Path) -> pa.Table:
    paths = Store(data).corpus("k").shard_paths()
    return pa.concat_tables([pq.read_table(p) for p in paths]).sort_by("doc_id")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--smoke", action="store_true", help="1 trial on one sample file")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="corpuscope-kill-"))
    try:
        return run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> int:
    src = work / "src"
    src.mkdir()
    copies = 1 if args.smoke else 8
    if args.smoke:
        args.trials = 1
        print("--smoke: 1 trial on one copy of the C4 sample (449 records, 9 shards)")
    for i in range(copies):
        shutil.copy(SAMPLES / "c4" / "c4-en-sample-449.jsonl.gz", src / f"c4-{i}.jsonl.gz")
    if not args.smoke:
        shutil.copy(SAMPLES / "commoncrawl" / "cc-main-2019-30-dolma-697.jsonl.gz", src)
        shutil.copy(SAMPLES / "commoncrawl" / "cc-main-2020-34-excerpt.warc.gz", src)

    t0 = time.perf_counter()
    subprocess.run(cmd(src, work / "clean", args.workers), check=True, stdout=subprocess.DEVNULL)
    clean_s = time.perf_counter() - t0
    clean = docs(work / "clean")
    print(
        f"clean run: {clean.num_rows} documents in {clean_s:.1f} s "
        f"(resampled: no; real samples copied {len(list(src.iterdir()))} times)"
    )

    rng = random.Random(args.seed)
    failures, seen, rerun_s = 0, [], []
    for trial in range(args.trials):
        data = work / f"t{trial}"
        delay = rng.uniform(0.2, clean_s * (0.6 if args.smoke else 1.1))
        proc = subprocess.Popen(
            cmd(src, data, args.workers),
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        cs = Store(data).corpus("k")
        m = cs.manifest()  # must open
        bad = [
            s.shard_id
            for s in m.done()
            if hashlib.sha256((cs.root / s.parquet).read_bytes()).hexdigest() != s.sha256
        ]
        seen.append(len(m.done()))
        t0 = time.perf_counter()
        subprocess.run(cmd(src, data, args.workers), check=True, stdout=subprocess.DEVNULL)
        rerun_s.append(time.perf_counter() - t0)
        same = docs(data).equals(clean)
        ok = not bad and same
        failures += not ok
        print(
            f"trial {trial:3d}: killed after {delay:5.2f} s with {len(m.done()):3d} shards "
            f"published; sha256 {'ok' if not bad else f'BAD {bad}'}; rerun "
            f"{'identical' if same else 'DIFFERENT'} ({rerun_s[-1]:.1f} s)"
        )
        shutil.rmtree(data)
    print(
        f"\n{args.trials - failures}/{args.trials} trials recovered exactly; shards published "
        f"before the kill: median {statistics.median(seen)}, range {min(seen)}-{max(seen)}; "
        f"rerun median {statistics.median(rerun_s):.1f} s vs clean {clean_s:.1f} s"
    )
    print(
        f"ratio of trials recovered: {(args.trials - failures) / args.trials:.2f}; "
        f"ratio rerun median / clean run: {statistics.median(rerun_s) / clean_s:.2f}"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
