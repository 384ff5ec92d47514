"""Every benchmark in bench/ still runs: its `--smoke` mode, as a subprocess, from this tree.

A smoke run builds a tiny corpus from the bundled samples, skips the optional baselines whose
packages (the `bench` extra) are missing, and prints corpuscope's figures and a ratio against
a baseline that is installed. No time is asserted: only that each benchmark exits 0 and prints
a figure and a ratio line. Every `*.py` in bench/ that is not a helper module is collected, so
a new benchmark without `--smoke` fails here (argparse exits 2 on an unknown option).

The runs share one work folder ($CORPUSCOPE_BENCH_WORKDIR), so the small prepared corpus that
bench/index.py, bench/query.py and bench/stats.py measure is built once, by the first of them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

BENCH = ROOT / "bench"
#: modules that other benchmarks import, not benchmarks themselves (also any `_*.py`)
HELPERS = {"prepared.py", "cranfield.py", "infinigram_baseline.py"}
BENCHMARKS = sorted(
    p.name for p in BENCH.glob("*.py") if p.name not in HELPERS and not p.name.startswith("_")
)
TIMEOUT_S = 180  # per benchmark; a smoke run takes seconds (on a busy 2-core machine, ~15)
#: a line that gives a ratio: the word, then a number on the same line
RATIO = re.compile(r"(?im)^.*\bratio\b.*?\d+(?:\.\d+)?")
#: a measured figure: a decimal (0.2651) or a number with its unit (12 ms, 4.5 s, 6.7 MB/s, 98%)
FIGURE = re.compile(r"\d+\.\d+|\d+\s?(?:ms|s|MB/s|MB|%)(?![A-Za-z])")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench")


def test_benchmarks_are_found():
    assert {"ingest.py", "index.py", "query.py", "stats.py", "pii_speed.py"} <= set(BENCHMARKS)
    assert "membership_quality.py" in BENCHMARKS  # issue 13: membership calibration
    assert not HELPERS & set(BENCHMARKS)


@pytest.mark.parametrize("name", BENCHMARKS)
def test_smoke(name: str, workdir: Path):
    env = {**os.environ, "CORPUSCOPE_BENCH_WORKDIR": str(workdir), "PYTHONUNBUFFERED": "1"}
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(BENCH / name), "--smoke"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    seconds = time.perf_counter() - started
    shown = f"{name} --smoke exited {proc.returncode} after {seconds:.1f} s\n"
    shown += f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"
    assert proc.returncode == 0, shown
    assert "--smoke" in proc.stdout or "smoke" in proc.stdout.lower(), shown
    assert FIGURE.search(proc.stdout), f"no figure printed\n{shown}"
    assert RATIO.search(proc.stdout), f"no ratio line printed\n{shown}"
    print(f"{name} --smoke: {seconds:.1f} s")


def test_cisi_loader(tmp_path: Path):
    """`cranfield.load_cisi` on files written here in CISI's format: the `.X` citation lines
    after the text are not text, authors are kept apart, every CISI.REL pair is relevant."""
    sys.path.insert(0, str(BENCH))
    try:
        from cranfield import evaluate, load_cisi
    finally:
        sys.path.remove(str(BENCH))
    (tmp_path / "CISI.ALL").write_text(
        ".I 1\n.T\nLibrary Use\n.A\nSlater, M.\n.W\nAn analysis of acts of use\nin libraries.\n"
        ".X\n1\t5\t1\n92\t1\t1\n.I 2\n.T \nCataloguing\n.A \nDoe, J.\n.A\nRoe, K.\n.W\n"
        "Rules for catalogues.\n.X\n2\t5\t2\n"
    )
    (tmp_path / "CISI.QRY").write_text(
        ".I 1\n.W\nHow are libraries used?\n.I 2\n.T\nCatalogues\n.A\nRoe, K.\n.W\nCatalogue rules\n"
        "for books.\n.B\n1970\n"
    )
    (tmp_path / "CISI.REL").write_text("     1     1 0 0.000000\n     2     2 0 0.000000\n")
    c = load_cisi(tmp_path)
    assert c.documents["1"].text == "An analysis of acts of use\nin libraries."
    assert (c.documents["1"].title, c.documents["1"].author) == ("Library Use", "Slater, M.")
    assert c.documents["2"].author == "Doe, J. Roe, K."
    assert c.queries["2"].text == "Catalogue rules for books."
    assert c.qrels == {"1": {"1": 1}, "2": {"2": 1}}
    assert evaluate({"1": ["1"], "2": ["1", "2"]}, c.qrels)["MAP"] == 0.75
