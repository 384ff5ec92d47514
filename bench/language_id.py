"""Language identification at ingest: how often reading a document's start agrees with CLD2
reading the whole document, and how many bytes it reads.

    .venv/bin/python bench/language_id.py
    .venv/bin/python bench/language_id.py --smoke    # the same run: it takes about a second

Documents: every JSON-lines document of the real samples in `samples/` (C4, Common Crawl in
the Dolma layout, in many languages). Reference: CLD2 on the whole text. Compared: what
ingest does (`identify_language`: the first 256 bytes, up to `lang_id_bytes` when CLD2 is
unsure of those), and fixed prefixes, the 1,000 characters ingest read before among them.
"""

from __future__ import annotations

import argparse
import gzip
import time
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa

from corpuscope.config import Settings
from corpuscope.ingest import normalise
from corpuscope.ingest.normalise import (
    _utf8_prefix,
    detect_language,
    identify_language,
    normalise_text,
)

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--smoke", action="store_true", help="accepted for the test suite: the run is the same"
    )
    if parser.parse_args().smoke:
        print("--smoke: the same run as without it (it takes about a second)")
    texts = []
    for path in sorted(SAMPLES.glob("*/*.jsonl.gz")):
        with gzip.open(path) as f:
            texts += [normalise_text(orjson.loads(line).get("text") or "") for line in f]
    texts = [t for t in texts if t]
    array = pa.array(texts)
    _, offsets, data = array.buffers()
    bounds = np.frombuffer(offsets, np.int32, len(array) + 1).tolist()
    view = memoryview(data)
    whole = [detect_language(t.encode()) for t in texts]
    most = Settings().lang_id_bytes

    def agreement(found: list[str]) -> float:
        return sum(a == b for a, b in zip(found, whole, strict=True)) / len(whole)

    read = [0]
    cld2 = normalise._cld2

    def counting(text: str | bytes) -> tuple[bool, str, int]:
        read[0] += len(text if isinstance(text, bytes) else text.encode())
        return cld2(text)

    normalise._cld2 = counting  # counts the bytes CLD2 is given
    rows = []
    started = time.perf_counter()
    ours = [
        identify_language(view, bounds[i], bounds[i + 1], None, most) for i in range(len(texts))
    ]
    label = f"ingest: first 256 bytes, up to {most} when unsure"
    rows.append((label, agreement(ours), read[0], time.perf_counter() - started))
    for label, cut in (
        ("first 1,000 characters (before)", lambda i: texts[i][:1000]),
        ("first 1,000 bytes", lambda i: _utf8_prefix(view, bounds[i], bounds[i + 1], 1000)),
        ("first 256 bytes", lambda i: _utf8_prefix(view, bounds[i], bounds[i + 1], 256)),
        ("first 2,000 bytes", lambda i: _utf8_prefix(view, bounds[i], bounds[i + 1], 2000)),
    ):
        read[0] = 0
        started = time.perf_counter()
        found = [detect_language(cut(i)) for i in range(len(texts))]
        rows.append((label, agreement(found), read[0], time.perf_counter() - started))
    print(f"{len(texts)} real documents; reference: CLD2 on the whole text")
    print(f"{'':52} {'agrees':>8} {'MB read':>8} {'seconds':>8}")
    for label, share, size, seconds in rows:
        print(f"{label:52} {share:8.2%} {size / 1e6:8.2f} {seconds:8.3f}")
    total = sum(len(t.encode()) for t in texts)
    print(
        f"ratio of bytes read, ingest / whole texts (the reference, {total / 1e6:.2f} MB): "
        f"{rows[0][2] / total:.3f}; ingest / the 1,000 characters read before: "
        f"{rows[0][2] / rows[1][2]:.3f}"
    )


if __name__ == "__main__":
    main()
