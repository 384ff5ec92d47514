"""The benchmark corpus of at least 200,000 documents, ingested and scanned, built once.

`bench/index.py`, `bench/query.py` and `bench/stats.py` share it. The text is resampled from
the sentences of the real samples by `bench/ingest.py` (C4 layout, 400-1,800 bytes of text per
document, about the size of a C4 document), then ingested and scanned with the `corpuscope`
command line; everything is kept under `--workdir` and reused by later runs.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ingest import build_corpus

WORKDIR = Path("/tmp/corpuscope-bench")
DOC_BYTES = (400, 1800)
MB = 290  # about 213,000 documents
MIN_DOCS = 200_000
CORPUS = "bench"


def corpuscope(*args: str) -> str:
    """Run the corpuscope command line; its stdout."""
    cli = Path(sys.executable).with_name("corpuscope")
    cmd = [str(cli if cli.exists() else "corpuscope"), *map(str, args)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return done.stdout


def prepared(workdir: Path = WORKDIR) -> tuple[Path, list[Path]]:
    """(data dir with the corpus ingested and scanned, the JSON-lines files it came from)."""
    files = build_corpus(workdir, MB, 8, DOC_BYTES, by_language=False)
    data = workdir / f"data-{MB}mb-docs{DOC_BYTES[0]}-{DOC_BYTES[1]}b"
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
    if docs < MIN_DOCS:
        raise SystemExit(f"the corpus has {docs} documents; the benchmarks need {MIN_DOCS}")
    corpuscope("scan", "--corpus", CORPUS, "--data-dir", data, "--quiet")
    marker.write_text(json.dumps({"documents": docs}))
    print(f"data: {docs:,} documents")
    return data, files


@contextmanager
def served(data: Path, workers: int = 1) -> Iterator[str]:
    """`corpuscope serve` on a free port until the block ends; yields its base URL."""
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cli = Path(sys.executable).with_name("corpuscope")
    server = subprocess.Popen(
        [
            str(cli),
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--data-dir",
            str(data),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/v1/corpora", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(20)
