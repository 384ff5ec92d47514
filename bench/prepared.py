"""The benchmark corpus of at least 200,000 documents, ingested and scanned, built once.

`bench/index.py`, `bench/query.py` and `bench/stats.py` share it. The text is resampled from
the sentences of the real samples by `bench/ingest.py` (C4 layout, 400-1,800 bytes of text per
document, about the size of a C4 document), then ingested and scanned with the `corpuscope`
command line; everything is kept under the work folder and reused by later runs.

`prepared(workdir, smoke=True)` is the same corpus at 2 MB (about 1,450 documents), for the
benchmarks' `--smoke` runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ingest import bench_workdir, build_corpus

DOC_BYTES = (400, 1800)
MB = 290  # about 213,000 documents
MIN_DOCS = 200_000
SMOKE_MB, SMOKE_FILES, SMOKE_MIN_DOCS = 2, 2, 1_000
CORPUS = "bench"


def corpuscope(*args: str) -> str:
    """Run the corpuscope command line; its stdout."""
    cli = Path(sys.executable).with_name("corpuscope")
    cmd = [str(cli if cli.exists() else "corpuscope"), *map(str, args)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return done.stdout


def prepared(workdir: Path | None = None, smoke: bool = False) -> tuple[Path, list[Path]]:
    """(data dir with the corpus ingested and scanned, the JSON-lines files it came from),
    under `workdir` (default: `bench_workdir(smoke)`)."""
    workdir = workdir or bench_workdir(smoke)
    mb, n_files, min_docs = (SMOKE_MB, SMOKE_FILES, SMOKE_MIN_DOCS) if smoke else (MB, 8, MIN_DOCS)
    files = build_corpus(workdir, mb, n_files, DOC_BYTES, by_language=False)
    data = workdir / f"data-{mb}mb-docs{DOC_BYTES[0]}-{DOC_BYTES[1]}b"
    marker = data / "PREPARED"
    if marker.exists():
        print(f"data: reusing {data}")
        return data, files
    shutil.rmtree(data, ignore_errors=True)
    print(f"data: ingesting and scanning {len(files)} files into {data} (once)")
    summary = json.loads(
        corpuscope("ingest", *files, "--corpus", CORPUS, "--data-dir", data, "--json", "--quiet")
    )
    docs = summary["documents_written"]
    if docs < min_docs:
        raise SystemExit(f"the corpus has {docs} documents; the benchmarks need {min_docs}")
    corpuscope("scan", "--corpus", CORPUS, "--data-dir", data, "--quiet")
    marker.write_text(json.dumps({"documents": docs}))
    print(f"data: {docs:,} documents")
    return data, files


@dataclass(frozen=True)
class Served:
    """A running `corpuscope serve`: its base URL and its process tree's CPU time."""

    base: str
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the server and its workers so far (those alive)."""
        import psutil

        total = 0.0
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return total
        for p in procs:
            with contextlib.suppress(psutil.Error):
                times = p.cpu_times()
                total += times.user + times.system
        return total


@contextmanager
def served(data: Path, workers: int = 1, wait_s: float = 120) -> Iterator[Served]:
    """`corpuscope serve` on a free port until the block ends; yields it once it answers
    (an error, with the server's output, when it exits or does not answer in time).
    Rate limits are off: the benchmarks measure the answers, not the limiter."""
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cli = Path(sys.executable).with_name("corpuscope")
    cmd = [str(cli if cli.exists() else "corpuscope"), "serve", "--port", str(port)]
    cmd += ["--workers", str(workers), "--data-dir", str(data)]
    env = {**os.environ, "CORPUSCOPE_RATE_LIMIT": "", "CORPUSCOPE_KEY_RATE_LIMIT": ""}
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        base = f"http://127.0.0.1:{port}"

        def output() -> str:
            log.seek(0)
            return log.read().decode(errors="replace")[-3000:]

        try:
            started = time.perf_counter()
            while True:
                try:
                    if httpx.get(f"{base}/v1/corpora", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if server.poll() is not None:
                    raise RuntimeError(f"{' '.join(cmd)} exited {server.returncode}:\n{output()}")
                if time.perf_counter() - started > wait_s:
                    raise RuntimeError(f"{' '.join(cmd)} did not answer in {wait_s} s:\n{output()}")
                time.sleep(0.1)
            print(f"  server up in {time.perf_counter() - started:.1f} s")
            yield Served(base, server.pid)
        finally:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
