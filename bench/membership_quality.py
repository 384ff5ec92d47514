"""Membership calibration: the verdicts on passages known to be in a corpus and known not to be.

    .venv/bin/python bench/membership_quality.py            # the figures in docs/benchmarks.md
    .venv/bin/python bench/membership_quality.py --smoke    # seconds: a few passages, C4 only

The corpus: the bundled C4 sample (449 documents) and the Common Crawl 2019-30 sample (697),
ingested and indexed in-process (`corpuscope.jobs`). Passages *inside* are cut from its
documents (12-150 words, at white space) and then edited as people edit them (`EDITS`: case,
punctuation, white space, a few words replaced, dropped or inserted, truncated mid-word, all
of these together); passages *outside* are real text that was not ingested: the four
OpenWebText documents and the 1,400 Cranfield abstracts (`samples/`).

Each passage is asked with `corpuscope.index.membership.membership` under the settings'
thresholds, and the share of each verdict is printed for each kind. Two baselines are
measured on the same passages in the same run: `exact` (case-insensitive verbatim match, what
one would try without a membership check) and the thresholds before issue 13 (partial at
coverage 0.2 *or* a 13-word run). The scored candidates of every passage are kept, so the
sweep below prints the rates of other thresholds too (the verdict is a function of them).

The targets: fewer than 1% of outside passages get anything but `not-found`, and at least 95%
of edited copies are `verbatim` or `near-duplicate`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from cranfield import load

from corpuscope import jobs
from corpuscope.config import Settings
from corpuscope.index.membership import (
    VERDICTS,
    Thresholds,
    candidates,
    membership,
    verdict,
)
from corpuscope.index.query import Deadline, exact
from corpuscope.index.schema import tokenize
from corpuscope.index.searcher import Indexes
from corpuscope.models.answers import Filters
from corpuscope.store import Store
from ingest import bench_workdir, write_report

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
INSIDE = {
    "c4": SAMPLES / "c4" / "c4-en-sample-449.jsonl.gz",
    "commoncrawl": SAMPLES / "commoncrawl" / "cc-main-2019-30-dolma-697.jsonl.gz",
}
OWT = SAMPLES / "openwebtext" / "urlsf_subset00"
#: Web text from outside the corpus too: another Common Crawl extract and a Pile-CC page.
WEB = SAMPLES / "commoncrawl" / "cc-en-head-0091-dolma.jsonl.gz"
PILE = SAMPLES / "pile" / "pile-00-excerpt.jsonl.zst"
WORDS = (12, 150)  # passage lengths, in words (white-space separated)
QUOTE = (15, 40)  # words quoted from the corpus inside a Cranfield abstract
#: The thresholds before issue 13: partial at coverage 0.2 or a run of 13 words.
BEFORE = (0.5, 0.2, 13, "or")
GOOD = ("verbatim", "near-duplicate")


def _few(n: int) -> int:
    """Words replaced, dropped or inserted by an edit: about one in fifteen, at least one."""
    return max(1, round(n / 15))


def _replace(words: list[str], rng: random.Random, vocab: list[str]) -> list[str]:
    out = list(words)
    for i in rng.sample(range(len(out)), _few(len(out))):
        out[i] = rng.choice(vocab)
    return out


def _drop(words: list[str], rng: random.Random, vocab: list[str]) -> list[str]:
    gone = set(rng.sample(range(len(words)), _few(len(words))))
    return [w for i, w in enumerate(words) if i not in gone]


def _insert(words: list[str], rng: random.Random, vocab: list[str]) -> list[str]:
    out = list(words)
    for _ in range(_few(len(words))):
        out.insert(rng.randrange(len(out) + 1), rng.choice(vocab))
    return out


def _case(text: str, rng: random.Random) -> str:
    return rng.choice([str.upper, str.lower, str.title, str.swapcase])(text)


def _punctuation(text: str, rng: random.Random) -> str:
    """Punctuation removed, or typographic quotes and dashes as a word processor writes them."""
    if rng.random() < 0.5:
        return re.sub(r"[.,;:!?\"'()]", "", text)
    return text.replace("'", "\u2019").replace('"', "\u201c").replace(" - ", " \u2014 ")


def _white_space(text: str, rng: random.Random) -> str:
    return re.sub(r" ", lambda _: rng.choice([" ", "  ", "\n", " \t "]), text)


def _truncate(text: str, rng: random.Random) -> str:
    """Cut at both ends, mid-word: 2-15% of the characters at each end."""
    n = len(text)
    return text[int(n * rng.uniform(0.02, 0.15)) : n - int(n * rng.uniform(0.02, 0.15))]


def edits(passage: str, rng: random.Random, vocab: list[str]) -> dict[str, str]:
    """The passage as people edit it, one kind of edit at a time, then all together (case,
    punctuation, white space and truncation, with one of the three word edits)."""
    words = passage.split()
    out = {
        "unchanged": passage,
        "case": _case(passage, rng),
        "punctuation": _punctuation(passage, rng),
        "white space": _white_space(passage, rng),
        "words replaced": " ".join(_replace(words, rng, vocab)),
        "words dropped": " ".join(_drop(words, rng, vocab)),
        "words inserted": " ".join(_insert(words, rng, vocab)),
        "truncated": _truncate(passage, rng),
    }
    word_edit = rng.choice([_replace, _drop, _insert])
    every = " ".join(word_edit(words, rng, vocab))
    out["all of these"] = _truncate(_white_space(_punctuation(_case(every, rng), rng), rng), rng)
    return out


def cut(text: str, rng: random.Random, size: tuple[int, int] = WORDS) -> str | None:
    """A passage of WORDS words cut from `text` at white space, None if it is too short
    (or has fewer index words than that: a run of 40-letter tokens is not a passage)."""
    words = text.split()
    if len(words) < size[0]:
        return None
    n = rng.randint(size[0], min(size[1], len(words)))
    start = rng.randrange(len(words) - n + 1)
    passage = " ".join(words[start : start + n])
    return passage if len(tokenize(passage)) >= size[0] else None


def _texts(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def _zst_lines(path: Path) -> list[str]:
    import zstandard

    with path.open("rb") as f:
        return zstandard.ZstdDecompressor().stream_reader(f).read().decode().splitlines()


@dataclass
class Asked:
    """One passage asked: its kind, the verdict given, and what the sweep needs."""

    kind: str  # "inside: <edit>" or "outside: <source>"
    verdict: str
    exact: bool  # the exact (case-insensitive) baseline found it
    words: int
    scores: list[tuple[float, int]]  # (coverage, longest run) of every scored candidate
    ms: float
    evidence: int


def rule(t: tuple[float, float, int, str], cov: float, run: int, n_words: int) -> str:
    """The verdict of one candidate under thresholds `t` (near, coverage, run, and/or)."""
    near, min_cov, min_run, how = t
    if how == "and":
        return verdict(cov, run, n_words, Thresholds(near, min_cov, min_run))
    if cov >= 1.0 and run >= n_words:
        return "verbatim"
    if cov >= near:
        return "near-duplicate"
    if cov >= min_cov or run >= min(min_run, n_words):
        return "partial"
    return "not-found"


def best(t: tuple[float, float, int, str], a: Asked) -> str:
    """The passage's verdict under thresholds `t`: its strongest candidate's."""
    found = [rule(t, cov, run, a.words) for cov, run in a.scores]
    return min(found, key=VERDICTS.index) if found else "not-found"


def rates(asked: list[Asked], of=lambda a: a.verdict) -> dict[str, float]:
    counts = Counter(of(a) for a in asked)
    return {v: round(100 * counts[v] / len(asked), 2) for v in VERDICTS if counts[v]}


def ask(ix: Indexes, settings: Settings, kind: str, passage: str) -> Asked | None:
    if len(tokenize(passage)) < 3:
        return None
    t0 = time.perf_counter()
    ans = membership(ix, passage, settings, k=5)
    ms = (time.perf_counter() - t0) * 1000
    got = candidates(ix, passage, settings, Filters(), Deadline(settings.query_timeout))
    scores = [(c.coverage, c.longest_run) for c in got.candidates]
    found = exact(ix, passage, settings, k=1, case_sensitive=False).documents or 0
    return Asked(kind, ans.verdict, found > 0, got.words, scores, ms, len(ans.evidence))


def build(data: Path, smoke: bool) -> Settings:
    settings = Settings(data=data)
    for corpus, path in INSIDE.items():
        if smoke and corpus != "c4":
            continue
        if corpus not in Store(data).corpora():
            assert jobs.ingest(settings, corpus, [str(path)]).ok
            jobs.index(settings, corpus)
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="C4 only, a few passages")
    parser.add_argument("--inside", type=int, default=300, help="passages cut from the corpus")
    parser.add_argument("--outside", type=int, default=1000, help="passages from outside")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--out", type=Path, help="default: bench/out/membership_quality.json")
    args = parser.parse_args()
    if args.smoke:
        args.inside, args.outside = 8, 30
        print("--smoke: C4 only, 8 passages cut from it (9 versions each) and 30 from outside")
    out = args.out or (None if args.smoke else REPO / "bench" / "out" / "membership_quality.json")
    workdir = bench_workdir(args.smoke, args.workdir)
    started = time.perf_counter()
    settings = build(workdir / "membership-data", args.smoke)
    ix = Indexes(Store(settings.data))
    print(f"corpus: {', '.join(ix.store.corpora())} ({time.perf_counter() - started:.1f} s)")

    rng = random.Random(args.seed)
    corpus = [t for c, p in INSIDE.items() if c in ix.store.corpora() for t in _texts(p)]
    cran = [d.text for d in load().documents.values()]
    owt = [p.read_text(encoding="utf-8") for p in sorted(OWT.glob("*.txt"))]
    vocab = sorted({w for t in cran for w in re.findall(r"[a-z]{4,}", t)})
    asked: list[Asked] = []
    inside = 0
    while inside < args.inside:
        passage = cut(rng.choice(corpus), rng)
        if passage is None:
            continue
        inside += 1
        for edit, text in edits(passage, rng, vocab).items():
            if (a := ask(ix, settings, f"inside: {edit}", text)) is not None:
                asked.append(a)
    web = _texts(WEB) + [json.loads(line)["text"] for line in _zst_lines(PILE)]
    sources = [("Cranfield", cran), ("OpenWebText", owt), ("web pages not ingested", web)]
    quoted = 0  # a quote from the corpus inside new text: partial or better expected
    while quoted < args.inside:
        passage = cut(rng.choice(corpus), rng, QUOTE)
        if passage is None:
            continue
        quoted += 1
        words = rng.choice(cran).split()
        at = rng.randrange(len(words) + 1)
        text = " ".join([*words[:at], passage, *words[at:]])
        if (a := ask(ix, settings, "inside: quoted in other text", text)) is not None:
            asked.append(a)
    for i in range(args.outside):
        source, texts = sources[i % len(sources)]
        passage = None
        while passage is None:
            passage = cut(rng.choice(texts), rng)
        if (a := ask(ix, settings, f"outside: {source}", passage)) is not None:
            asked.append(a)

    t = Thresholds.of(settings)
    chosen = (t.near_coverage, t.min_coverage, t.min_run, "and")
    assert all(best(chosen, a) == a.verdict for a in asked), "the sweep disagrees with membership"
    edited = [a for a in asked if a.kind.startswith("inside") and "quoted" not in a.kind]
    quotes = [a for a in asked if "quoted" in a.kind]
    outside = [a for a in asked if a.kind.startswith("outside")]
    print(f"\n{len(edited)} edited copies, {len(quotes)} quotes, {len(outside)} outside passages")
    print(f"thresholds: {t.shown()} (partial needs both)")
    report: dict = {"thresholds": t.shown(), "kinds": {}}
    print(f"\n{'kind':<32} {'n':>5}  verdicts (% of the kind)            exact finds")
    for kind in sorted({a.kind for a in asked}):
        group = [a for a in asked if a.kind == kind]
        r = rates(group)
        shown = "  ".join(f"{v} {p:.1f}%" for v, p in r.items())
        found = 100 * sum(a.exact for a in group) / len(group)
        print(f"{kind:<32} {len(group):>5}  {shown:<36} {found:.1f}%")
        report["kinds"][kind] = {"n": len(group), "verdicts": r, "exact_finds": round(found, 2)}

    def summary(of) -> tuple[float, float]:
        good = 100 * sum(of(a) in GOOD for a in edited) / len(edited)
        wrong = 100 * sum(of(a) != "not-found" for a in outside) / len(outside)
        return good, wrong

    good, wrong = summary(lambda a: a.verdict)
    before_good, before_wrong = summary(lambda a: best(BEFORE, a))
    exact_good = 100 * sum(a.exact for a in edited) / len(edited)
    exact_wrong = 100 * sum(a.exact for a in outside) / len(outside)
    print(f"\nedited copies verbatim or near-duplicate: {good:.2f}% (target >= 95%)")
    print(f"outside passages not not-found:           {wrong:.2f}% (target < 1%)")
    print(f"  before issue 13 (coverage 0.2 or run 13): {before_good:.2f}% / {before_wrong:.2f}%")
    print(f"  exact (case-insensitive) baseline:        {exact_good:.2f}% / {exact_wrong:.2f}%")
    print(f"ratio of edited copies recognised, membership / exact: {good / exact_good:.2f}")
    found = 100 * sum(a.verdict != "not-found" for a in quotes) / len(quotes)
    print(f"quotes of 15-40 words inside new text found (partial or better): {found:.2f}%")
    report["quotes_found"] = round(found, 2)
    ev_out = sum(a.evidence for a in outside)
    print(f"evidence entries listed for outside passages: {ev_out}")
    for name, of in (("coverage", 0), ("longest run", 1)):
        top = sorted(max((c[of] for c in a.scores), default=0) for a in outside)
        p99 = top[min(len(top) - 1, int(0.99 * len(top)))]
        print(f"outside passages' best {name}: p99 {p99:.2f}, max {top[-1]:.2f}")
    ms = [a.ms for a in asked]
    print(f"membership p50 {statistics.median(ms):.1f} ms over {len(ms)} passages")

    print("\nsweep (near-duplicate coverage, partial: coverage and run): edited good / outside")
    sweep = []
    for near in (0.2, 0.3, 0.4, 0.5):
        for min_cov in (0.02, 0.05, 0.1, 0.2):
            for min_run in (4, 6, 8, 13):
                th = (near, min_cov, min_run, "and")
                g, w = summary(lambda a, th=th: best(th, a))
                sweep.append({"near": near, "cov": min_cov, "run": min_run, "good": g, "out": w})
                print(f"  near {near} cov {min_cov} run {min_run:>2}: {g:6.2f}% / {w:5.2f}%")
    report |= {
        "edited_good": round(good, 2),
        "outside_not_not_found": round(wrong, 2),
        "before": {"edited_good": round(before_good, 2), "outside": round(before_wrong, 2)},
        "exact": {"edited_good": round(exact_good, 2), "outside": round(exact_wrong, 2)},
        "outside_evidence": ev_out,
        "p50_ms": round(statistics.median(ms), 2),
        "sweep": sweep,
        "seed": args.seed,
    }
    if out is None:
        print("--smoke: no report written (give --out for one)")
    else:
        write_report(out, report)
    if not args.smoke and (good < 95 or wrong >= 1):
        raise SystemExit("the calibration targets are not met")


if __name__ == "__main__":
    main()
