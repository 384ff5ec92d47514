"""infini-gram (byte-level suffix array, no tokenizer) as the exact-passage baseline.

    .venv/bin/python bench/infinigram_baseline.py    # self-check on the 449 C4 sample documents

Documents are indexed as raw UTF-8 bytes (`--token_dtype u8`), separated by byte 0xff, which
cannot occur in UTF-8, so no match can cross a document boundary. Needs `infini-gram` and
`transformers` (its indexer imports it even without a tokenizer).
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from infini_gram import cpp_engine

_DOC_SEP = 0xFF  # infini-gram's u8 document separator; its "eos" and one past the vocabulary
_HACK = 100_000  # infini_gram.indexing.HACK: each suffix-array part must be longer than this


def _ulimit() -> int:
    """The hard limit on open files: the indexer sets it, and its default exceeds it here."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return 1_048_576 if hard == resource.RLIM_INFINITY else hard


def _cpus(n_bytes: int) -> int:
    """Indexing processes (`--cpus`). The indexer cuts the text into one part per process, and
    parts shorter than its 100 KB overlap give a broken suffix array (finds nothing, or crashes
    the engine: e.g. 127 KB with 2 processes, 979 KB with 10), so keep parts >= 200 KB."""
    return max(1, min(os.cpu_count() or 1, n_bytes // (2 * _HACK)))


def _mem_gib() -> int:
    """Half the physical memory in GiB (at least 1), the indexer's `--mem` budget."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return max(1, total // 2**31)


class InfiniGram:
    """An infini-gram u8 index over a list of documents, opened with the compiled engine."""

    def __init__(self, index_dir: Path, n_docs: int, build_seconds: float) -> None:
        self.index_dir = index_dir
        self.n_docs = n_docs
        self.build_seconds = build_seconds
        self._engine: Any = cpp_engine.Engine_U8(
            [str(index_dir)], _DOC_SEP, _DOC_SEP, 4, False, 1, 3, 3, set(), 512, False, {}
        )
        found = self._engine.get_total_doc_cnt()
        if found != n_docs:
            raise RuntimeError(f"infini-gram indexed {found} documents, expected {n_docs}")

    @classmethod
    def build(cls, texts: Iterable[str], workdir: Path) -> InfiniGram:
        """Index `texts` under `workdir/index` with `python -m infini_gram.indexing`.

        Document i of the index is texts[i]: one JSON-lines file, one shard, one worker.
        Any previous `workdir/data` and `workdir/index` are replaced.
        """
        t0 = time.perf_counter()
        workdir = Path(workdir).resolve()
        data, index = workdir / "data", workdir / "index"
        for d in (data, index):
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
        n_docs = n_bytes = 0
        with (data / "docs.jsonl").open("w", encoding="ascii") as f:
            for text in texts:  # ensure_ascii: no raw newline or CR inside a line
                f.write(json.dumps({"text": text}) + "\n")
                n_docs, n_bytes = n_docs + 1, n_bytes + len(text.encode("utf-8")) + 1
        if n_docs == 0:
            raise ValueError("infini-gram cannot index an empty corpus")
        cmd = [
            sys.executable, "-m", "infini_gram.indexing",
            "--data_dir", str(data), "--save_dir", str(index),
            "--token_dtype", "u8", "--cpus", str(_cpus(n_bytes)),
            "--mem", str(_mem_gib()), "--ulimit", str(_ulimit()),
        ]  # fmt: skip
        env = {**os.environ, "TRANSFORMERS_VERBOSITY": "error", "HF_HUB_OFFLINE": "1"}
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        out = done.stdout + done.stderr
        if done.returncode != 0 or "went wrong" in out:
            raise RuntimeError(f"infini-gram indexing failed ({done.returncode}):\n{out[-3000:]}")
        shutil.rmtree(data)
        return cls(index, n_docs, time.perf_counter() - t0)

    @property
    def size_bytes(self) -> int:
        """Bytes on disk of everything in the index folder (its copy of the text included)."""
        return sum(p.stat().st_size for p in self.index_dir.rglob("*") if p.is_file())

    def count(self, passage: str) -> int:
        """Occurrences (overlapping included) of the passage's UTF-8 bytes in the corpus."""
        return int(self._engine.find(input_ids=list(passage.encode("utf-8"))).cnt)

    def documents(self, passage: str, limit: int = 10_000) -> set[int]:
        """Indexes (in build order) of the documents containing the passage byte for byte.

        At most `limit` occurrences are resolved to documents (the first in suffix order),
        one `get_doc_by_rank` each: ~20 us here, 3x faster than the batched call.
        """
        start, end = self._engine.find(input_ids=list(passage.encode("utf-8"))).segment_by_shard[0]
        doc = self._engine.get_doc_by_rank
        return {
            doc(s=0, rank=r, max_disp_len=1).doc_ix for r in range(start, min(end, start + limit))
        }


def _occurrences(hay: bytes, needle: bytes) -> int:
    """Overlapping occurrences of `needle` in `hay` (what a suffix array counts)."""
    n, i = 0, hay.find(needle)
    while i >= 0:
        n, i = n + 1, hay.find(needle, i + 1)
    return n


def _self_check(sample: Path, n: int = 50, seed: int = 4242) -> None:
    """Build on the C4 sample and compare 50 random passages with a brute-force scan."""
    with gzip.open(sample, "rt", encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f if line.strip()]
    rng = random.Random(seed)
    passages: list[tuple[int, str]] = []
    while len(passages) < n:
        i = rng.randrange(len(texts))
        spans = [m.span() for m in re.finditer(r"\S+", texts[i])]
        if len(spans) < 8:
            continue
        words = rng.randint(8, min(50, len(spans)))
        first = rng.randrange(len(spans) - words + 1)
        passages.append((i, texts[i][spans[first][0] : spans[first + words - 1][1]]))

    with tempfile.TemporaryDirectory(prefix="infinigram-") as tmp:
        ig = InfiniGram.build(texts, Path(tmp))
        raw = [t.encode("utf-8") for t in texts]
        find_ms, docs_ms = [], []
        for src, p in passages:
            t0 = time.perf_counter()
            cnt = ig.count(p)
            t1 = time.perf_counter()
            got = ig.documents(p)
            t2 = time.perf_counter()
            find_ms.append((t1 - t0) * 1000)
            docs_ms.append((t2 - t1) * 1000)
            want = {j for j, t in enumerate(texts) if p in t}
            assert src in got, (src, p)
            assert got == want, (p, got, want)
            assert cnt == sum(_occurrences(b, p.encode("utf-8")) for b in raw), p
        assert ig.documents("no such passage \u2603 in this corpus, surely") == set()
        text_bytes = sum(len(b) for b in raw)
        print(f"documents {len(texts)}, text {text_bytes:,} B, index {ig.size_bytes:,} B")
        print(f"size_bytes / text bytes: {ig.size_bytes / text_bytes:.2f}")
        print(f"build: {ig.build_seconds:.2f} s")
        print(f"find (count) median: {statistics.median(find_ms):.3f} ms")
        print(f"documents() median: {statistics.median(docs_ms):.3f} ms")
        print(f"OK: {n} passages match the brute-force scan (documents and counts)")


if __name__ == "__main__":
    _self_check(Path(__file__).resolve().parent.parent / "samples/c4/c4-en-sample-449.jsonl.gz")
