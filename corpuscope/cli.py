"""The `corpuscope` command line: one command per job.

Run `corpuscope --help` or `corpuscope COMMAND --help`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console, ConsoleDimensions
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from typer.core import TyperGroup

from corpuscope import jobs
from corpuscope.config import Settings
from corpuscope.errors import CorpuscopeError, UsageError
from corpuscope.models.runs import IngestSummary, ScanSummary
from corpuscope.store import Store


class _Guarded(TyperGroup):
    """Turns a `CorpuscopeError` of any command into its message and exit code.

    Any other exception is a bug: it keeps its traceback and exits 1.
    """

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CorpuscopeError as exc:
            err.print(f"[red]error:[/] {escape(str(exc))}")
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(
    cls=_Guarded,
    help="corpuscope: what is in a training corpus, was this text or person in it, "
    "and data-subject requests.",
    no_args_is_help=True,
    add_completion=False,
)


class _Console(Console):
    """A console that wraps to the terminal's width only when it writes to a terminal: into a
    file or a pipe, no line is cut or wrapped (Rich would use the terminal's width, or 80)."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        return size if self.is_terminal else ConsoleDimensions(_UNBOUNDED, size.height)


_UNBOUNDED = 1 << 20  # columns of a console that is not a terminal
err = _Console(stderr=True)
out = _Console()


def _json(value) -> str:
    """A value as one line of JSON (never a Python repr), for the human-readable output."""
    return json.dumps(value, ensure_ascii=False, default=str)


def _text(value) -> str:
    """A string as itself; anything else as JSON (`false`, `null`, `{"a": 1}`)."""
    return value if isinstance(value, str) else _json(value)


def _default(name: str, text: str) -> str:
    """An option's help with the setting's default and environment variable, read from
    `Settings`, so the help never repeats a default by hand."""
    default = Settings.model_fields[name].default
    return f"{text} (default {default}; env CORPUSCOPE_{name.upper()})"


DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="CORPUSCOPE_DATA",
        help=_default("data", "Data directory."),
        show_default=False,
    ),
]


def _settings(data_dir: Path | None, **overrides) -> Settings:
    """Settings from the environment and the command line; a bad value is a usage error."""
    from pydantic import ValidationError

    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data"] = data_dir
    try:
        settings = Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        err.print(f"[red]error:[/] invalid setting: {problems}")
        raise typer.Exit(2) from None
    if warning := Store(settings.data).exposure():
        err.print(f"[yellow]warning:[/] {escape(warning)}")
    return settings


class _Bar:
    """A progress bar (a `jobs.Progress` sink): units done (sources, shards), bytes, docs."""

    def __init__(self, quiet: bool, unit: str = "sources"):
        self.unit = unit
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[units]} " + unit),
            DownloadColumn(),
            TransferSpeedColumn(),
            TextColumn("{task.fields[docs]:,} docs"),
            TimeElapsedColumn(),
            console=err,
            disable=quiet,
            transient=False,
        )
        self.bar = None
        self.done = self.docs = 0
        self.units: int | None = None

    def __enter__(self) -> _Bar:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def _label(self) -> str:
        return f"{self.done}/{self.units}" if self.units is not None else str(self.done)

    def start(self, description: str, total_bytes: int | None, units: int | None) -> None:
        self.units = units
        self.bar = self.progress.add_task(
            description, total=total_bytes, docs=0, units=self._label()
        )

    def advance(self, nbytes: int, docs: int) -> None:
        self.done += 1
        self.docs += docs
        self.progress.update(self.bar, advance=nbytes, docs=self.docs, units=self._label())


def _table(title: str, **options) -> Table:
    """A table at least as wide as its title (Rich would wrap a longer title)."""
    return Table(title=escape(title), min_width=len(title) + 4, **options)


def _counts_table(title: str, data: dict, keys: tuple[str, ...]) -> Table:
    """A two-column table of the named counts of a summary."""
    t = _table(title, show_header=False)
    t.add_column(style="bold")
    t.add_column(justify="right")
    for key in keys:
        t.add_row(key.replace("_", " "), f"{data[key]:,}")
    return t


def _print_summary(summary: IngestSummary) -> None:
    data = summary.to_json()
    keys = (
        "shards_done",
        "shards_skipped",
        "shards_failed",
        "records_read",
        "documents_written",
        "quarantined",
        "skipped_records",
        "input_bytes",
        "text_bytes",
        "parquet_bytes",
    )
    t = _counts_table(f"ingest summary: corpus {summary.corpus}", data, keys)
    t.add_row("seconds", f"{summary.seconds:.2f}")
    t.add_row("MB/s (input)", f"{data['mb_per_s']:.2f}")
    out.print(t)
    for reason, n in summary.quarantine_reasons.items():
        out.print(f"  quarantined [yellow]{n}[/]: {escape(reason)}")
    for item in summary.ignored:
        out.print(f"  [dim]ignored {escape(item['source'])}: {escape(item['reason'])}[/]")
    for f in summary.failures:
        out.print(f"  [red]FAILED[/] {escape(f['source'])}: {escape(f['error'])}")
    if summary.outdated_sources:
        out.print(
            f"  [yellow]outdated[/]: {len(summary.outdated_sources)} source(s) of this corpus were "
            "ingested by an older version (other language rules and text hashes); ingest them "
            f"again to make the corpus comparable: {', '.join(summary.outdated_sources[:5])}"
            + (" …" if len(summary.outdated_sources) > 5 else "")
        )


@app.command("ingest")
def ingest_cmd(
    sources: Annotated[
        list[str] | None,
        typer.Argument(
            help="Files or folders: JSON lines (.jsonl/.json, .gz/.zst/.xz), Parquet, WARC, WET, "
            "OpenWebText .txt folders or .tar/.xz archives.",
            show_default=False,
        ),
    ] = None,
    corpus: Annotated[str, typer.Option(help="Corpus to add the documents to.")] = ...,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", help="Force a format: jsonl, parquet, warc, wet, owt (default: detect)."
        ),
    ] = None,
    text_field: Annotated[
        str | None, typer.Option(help="Field holding the text (dotted path).")
    ] = None,
    id_field: Annotated[str | None, typer.Option(help="Field holding the source's own id.")] = None,
    url_field: Annotated[str | None, typer.Option(help="Field holding the URL.")] = None,
    timestamp_field: Annotated[
        str | None, typer.Option(help="Field holding the timestamp.")
    ] = None,
    hf: Annotated[
        str | None,
        typer.Option(
            help="A Hugging Face dataset to stream, e.g. allenai/c4 (needs network), or a builder "
            "such as json with --hf-data-files."
        ),
    ] = None,
    hf_config: Annotated[str | None, typer.Option(help="Dataset config, e.g. en.")] = None,
    split: Annotated[str, typer.Option(help="Dataset split.")] = "train",
    streaming: Annotated[
        bool, typer.Option(help="Stream instead of downloading the dataset.")
    ] = True,
    limit: Annotated[int | None, typer.Option(help="Stop after this many records of --hf.")] = None,
    hf_data_files: Annotated[list[str] | None, typer.Option(help="Local files for --hf.")] = None,
    shard_docs: Annotated[
        int | None, typer.Option(help=_default("shard_docs", "Most records per shard."))
    ] = None,
    max_doc_bytes: Annotated[
        int | None,
        typer.Option(help=_default("max_doc_bytes", "Quarantine larger records (bytes).")),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help=_default("workers", "Worker processes."))
    ] = None,
    executor: Annotated[str, typer.Option(help="local (process pool) or ray.")] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option(help="Address of an existing Ray cluster (default: start a local Ray)."),
    ] = None,
    lock_timeout: Annotated[
        float | None,
        typer.Option(
            help=_default(
                "lock_timeout", "Seconds to wait for another ingest of this corpus before refusing."
            )
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Redo shards that are already done.")] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Ingest SOURCES into a corpus: read, normalise, write Parquet shards with a manifest.

    Done shards are skipped on a rerun; bad records are quarantined with their reason; a
    truncated or corrupt file fails its shard and the command exits with status 1.
    """
    settings = _settings(
        data_dir,
        shard_docs=shard_docs,
        max_doc_bytes=max_doc_bytes,
        workers=workers,
        lock_timeout=lock_timeout,
    )
    options = {
        "text_field": text_field,
        "id_field": id_field,
        "url_field": url_field,
        "timestamp_field": timestamp_field,
    }
    hf_spec = None
    if hf:
        hf_spec = {
            "name": hf,
            "config": hf_config,
            "split": split,
            "streaming": streaming,
            "limit": limit,
            "data_files": hf_data_files,
        }
    with _Bar(quiet or as_json) as bar:
        summary = jobs.ingest(
            settings,
            corpus,
            list(sources or []),
            fmt,
            options,
            hf_spec,
            executor,
            ray_address,
            force,
            progress=bar,
        )
    if as_json:
        print(json.dumps(summary.to_json(), indent=1))
    else:
        _print_summary(summary)
    raise typer.Exit(0 if summary.ok else 1)


def _print_scan(summary: ScanSummary) -> None:
    data = summary.to_json()
    keys = (
        "shards_scanned",
        "shards_skipped",
        "shards_failed",
        "documents",
        "documents_with_pii",
        "spans",
    )
    t = _counts_table(f"PII scan: corpus {summary.corpus}", data, keys)
    for entity, n in sorted(summary.by_entity.items()):
        t.add_row(f"  {entity}", f"{n:,}")
    t.add_row("MB/s", f"{data['mb_per_s']:.2f}")
    t.add_row("NER model", summary.ner_model or "off")
    out.print(t)
    for lang, v in list(summary.by_language.items())[:10]:
        spans = ", ".join(f"{k} {n}" for k, n in v["spans"].items()) or "none"
        out.print(f"  {lang}: {v['documents']} docs, {v['documents_with_pii']} with PII ({spans})")
    for f in summary.failures:
        out.print(f"  [red]FAILED[/] {escape(f['shard'])}: {escape(f['error'])}")


@app.command("scan")
def scan_cmd(
    corpus: Annotated[str, typer.Option(help="Corpus to scan.")] = ...,
    ner: Annotated[
        bool | None,
        typer.Option(
            help=_default(
                "ner", "Also find PERSON and LOCATION with an installed spaCy model (slow)."
            )
        ),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help=_default("workers", "Worker processes."))
    ] = None,
    executor: Annotated[str, typer.Option(help="local (process pool) or ray.")] = "local",
    ray_address: Annotated[
        str | None, typer.Option(help="Address of an existing Ray cluster.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Rescan shards that are already scanned.")] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Scan a corpus for personal data: e-mails, phones, IPs, cards, IBANs, SSNs, crypto
    addresses and secret keys (Presidio's recognizers), names and places with --ner.

    Writes a sidecar of spans per shard (offsets, entity, score, keyed hash of the value; never
    the value itself). Scanned shards are skipped on a rerun; a new scanner version rescans.
    """
    settings = _settings(data_dir, workers=workers, ner=ner)
    with _Bar(quiet or as_json, "shards") as bar:
        summary = jobs.scan(settings, corpus, executor, ray_address, force, progress=bar)
    if as_json:
        print(json.dumps(summary.to_json(), indent=1))
    else:
        _print_scan(summary)
    raise typer.Exit(0 if summary.ok else 1)


corpora_app = typer.Typer(
    help="List the corpora with their counts and whether each is scanned, indexed and its "
    "statistics current; `corpuscope corpora delete NAME` removes one.",
    invoke_without_command=True,
    no_args_is_help=False,
)
app.add_typer(corpora_app, name="corpora")


@corpora_app.callback()
def corpora_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    data_dir: DataDir = None,
) -> None:
    """List the corpora with their shard and document counts, and whether each is scanned,
    indexed and its statistics current (current, stale or missing; `verify` checks files)."""
    if ctx.invoked_subcommand is not None:
        return
    settings = _settings(data_dir)
    rows = jobs.corpora(settings)
    if as_json:
        print(json.dumps(rows, indent=1))
        return
    if not rows:
        out.print(
            f"no corpora in {settings.data} yet: run `corpuscope ingest` or `corpuscope demo`"
        )
        return
    t = _table(f"corpora in {settings.data}")
    cols = ("corpus", "shards", "failed", "documents", "quarantined", "text MB", "parquet MB")
    for col in (*cols, "scanned", "indexed", "stats"):
        t.add_column(
            col, justify="left" if col in ("corpus", "scanned", "indexed", "stats") else "right"
        )
    for r in rows:
        t.add_row(
            r["corpus"],
            f"{r['shards']:,}",
            f"{r['failed']:,}",
            f"{r['documents']:,}",
            f"{r['quarantined']:,}",
            f"{r['text_bytes'] / 1e6:.2f}",
            f"{r['parquet_bytes'] / 1e6:.2f}",
            *(_state(r[k]) for k in ("scanned", "indexed", "stats")),
        )
    out.print(t)


@corpora_app.command("delete")
def corpora_delete_cmd(
    name: Annotated[str, typer.Argument(help="The corpus to delete.", show_default=False)],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    lock_timeout: Annotated[
        float | None,
        typer.Option(help=_default("lock_timeout", "Seconds to wait for a writer of the corpus.")),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print what was removed as JSON.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Delete a corpus and everything derived from it: shards, quarantine, personal-data
    sidecars, index, statistics and provider file. Asks first (--yes does not); refused
    while another process writes the corpus; recorded in the audit log."""
    settings = _settings(data_dir, lock_timeout=lock_timeout)
    totals = jobs.existing_corpus(settings, name).manifest().totals()
    if not yes:
        typer.confirm(
            f"Delete corpus {name} ({totals['documents']:,} documents in {totals['shards']:,} "
            f"shards, {totals['parquet_bytes'] / 1e6:.2f} MB) and everything derived from it "
            "(personal-data sidecars, index, statistics)?",
            abort=True,
            err=True,
        )
    removed = jobs.delete_corpus(settings, name)
    if as_json:
        print(json.dumps(removed, indent=1))
        return
    out.print(
        f"deleted corpus {escape(name)}: {removed['documents']:,} documents in "
        f"{removed['shards']:,} shards, and everything derived from them"
    )


def _state(state: str) -> str:
    colour = {"current": "green", "stale": "yellow", "missing": "dim", "damaged": "red"}[state]
    return f"[{colour}]{state}[/]"


@app.command("verify")
def verify_cmd(
    corpus: Annotated[str | None, typer.Option(help="Corpus to check (default all).")] = None,
    repair: Annotated[
        bool, typer.Option(help="Redo exactly what is damaged or stale, then check again.")
    ] = False,
    quick: Annotated[
        bool, typer.Option(help="Sizes and footers only, no sha256 of every file.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reports as JSON.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Check shards, PII sidecars, the index and the statistics against what was recorded
    (sizes, sha256, Parquet footers, the inputs each was made from); name every damaged or
    stale file and exit 1 if there is one. --repair re-ingests damaged shards from their
    source, rescans, reindexes and recomputes the statistics as needed, then checks again.
    """
    settings = _settings(data_dir)
    reports = jobs.verify(settings, corpus, repair=repair, deep=not quick)
    ok = all(r.ok for r in reports)
    if as_json:
        print(json.dumps([r.to_json() for r in reports], indent=1))
        raise typer.Exit(0 if ok else 1)
    for r in reports:
        checked = ", ".join(f"{n} {step}" for step, n in r.checked.items())
        head = "[green]ok[/]" if r.ok else "[red]problems[/]"
        out.print(f"[bold]{r.corpus}[/]: {head} (files checked: {checked})")
        if r.before:
            out.print(f"  found {len(r.before)} before the repair:")
            for s in r.before:
                out.print(
                    f"    {_state(s.state)} {s.step} {escape(s.artifact)}: {escape(s.reason)}"
                )
        for line in r.repaired:
            out.print(f"  [green]repaired[/]: {escape(line)}")
        for line in r.unrepaired:
            out.print(f"  [red]not repaired[/]: {escape(line)}")
        for s in r.found:
            out.print(f"  {_state(s.state)} {s.step} {escape(s.artifact)}: {escape(s.reason)}")
    if not reports:
        out.print(f"no corpora in {settings.data}")
    raise typer.Exit(0 if ok else 1)


@app.command("index")
def index_cmd(
    corpus: Annotated[str, typer.Option(help="Corpus to index.")] = ...,
    partitions: Annotated[
        int | None,
        typer.Option(help=_default("index_partitions", "Index partitions; a change rebuilds.")),
    ] = None,
    threads: Annotated[
        int | None, typer.Option(help=_default("index_threads", "Indexing threads per partition."))
    ] = None,
    rebuild: Annotated[bool, typer.Option(help="Build a new index from scratch.")] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Build or update a corpus's full-text index (tantivy) from its shards and PII sidecars.

    Incremental: new shards are added, replaced or removed ones replaced or removed; a
    searcher sees the index from before or after a build, never half of one.
    """
    settings = _settings(data_dir, index_partitions=partitions, index_threads=threads)
    with _Bar(quiet or as_json, "shards indexed") as bar:
        summary = jobs.index(settings, corpus, rebuild, progress=bar)
    if as_json:
        print(json.dumps(summary.to_json(), indent=1))
        return
    data = summary.to_json()
    keys = ("partitions", "shards_added", "shards_removed", "shards_kept", "documents_added")
    t = _counts_table(f"index: corpus {summary.corpus}", data, keys)
    t.add_row("index MB", f"{summary.index_bytes / 1e6:.2f}")
    t.add_row("seconds", f"{summary.seconds:.2f}")
    t.add_row("MB/s (text)", f"{data['mb_per_s']:.2f}")
    out.print(t)


Mode = typer.Option(help="bm25 (ranked search), exact (verbatim passage), membership or person.")


@app.command("search")
def search_cmd(
    query: Annotated[str, typer.Argument(help="Query, passage, or a person's name.")],
    mode: Annotated[str, Mode] = "bm25",
    corpus: Annotated[list[str] | None, typer.Option(help="Corpus (repeat; default all).")] = None,
    domain: Annotated[str | None, typer.Option(help="Only this registered domain.")] = None,
    language: Annotated[str | None, typer.Option(help="Only this language code.")] = None,
    k: Annotated[int, typer.Option(help="Results to show.")] = 10,
    offset: Annotated[int, typer.Option(help="Results to skip (bm25).")] = 0,
    email: Annotated[list[str] | None, typer.Option(help="Person: an e-mail (repeat).")] = None,
    phone: Annotated[list[str] | None, typer.Option(help="Person: a phone number.")] = None,
    username: Annotated[list[str] | None, typer.Option(help="Person: a user name.")] = None,
    url: Annotated[list[str] | None, typer.Option(help="Person: a URL of theirs.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Ask the index: ranked search, an exact passage, "was this trained on?" or a person.

    Snippets are redacted as in the public API. Run `corpuscope index` first.
    """
    from corpuscope.index.membership import membership
    from corpuscope.index.person import person
    from corpuscope.index.query import exact, search
    from corpuscope.index.searcher import Indexes
    from corpuscope.models.answers import Filters

    settings = _settings(data_dir)
    indexes = Indexes(Store(settings.data), settings.query_threads)
    filters = Filters(corpora=corpus or [], domain=domain, language=language)
    asks = {
        "bm25": lambda: search(indexes, query, settings, filters, k=k, offset=offset),
        "exact": lambda: exact(indexes, query, settings, filters, k=k),
        "membership": lambda: membership(indexes, query, settings, filters, k=k),
        "person": lambda: person(
            indexes,
            query,
            settings,
            emails=email or [],
            phones=phone or [],
            usernames=username or [],
            urls=url or [],
            filters=filters,
            k=k,
        ),
    }
    if mode not in asks:
        err.print(f"[red]error:[/] --mode must be one of {', '.join(asks)}")
        raise typer.Exit(2)
    answer = asks[mode]()  # a corpus not indexed: NotIndexed (exit 2) with the command to run
    if as_json:
        print(answer.model_dump_json(indent=1))
        return
    _print_answer(answer)


def _print_answer(answer) -> None:
    """The headline of an answer, then its evidence with snippets."""
    data = answer.model_dump()
    head = {
        k: v
        for k, v in data.items()
        if k not in ("hits", "evidence", "corpora", "thresholds") and not isinstance(v, list)
    }
    out.print(" · ".join(f"[bold]{k}[/] {escape(_text(v))}" for k, v in head.items()))
    for c in data.get("corpora") or []:
        if isinstance(c, dict):
            out.print("  " + " · ".join(f"{k} {_text(v)}" for k, v in c.items()), markup=False)
    for item in data.get("hits") or data.get("evidence") or []:
        label = item.get("url") or item["doc_id"]
        extra = " · ".join(
            f"{k} {_text(item[k])}"
            for k in ("score", "coverage", "occurrences", "identifiers")
            if k in item
        )
        out.print(f"\n[bold cyan]{escape(item['corpus'])}[/] {escape(label)} {escape(extra)}")
        out.print("  " + item["snippet"]["text"][:600].replace("\n", " "), markup=False)


@app.command("serve")
def serve_cmd(
    host: Annotated[
        str | None, typer.Option(help=_default("host", "Address to listen on."))
    ] = None,
    port: Annotated[int | None, typer.Option(help=_default("port", "Port."))] = None,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
    data_dir: DataDir = None,
) -> None:
    """Serve the API (and its docs at /docs) over the data directory with uvicorn."""
    import os

    import uvicorn

    from corpuscope.api.app import create_app

    settings = _settings(data_dir, host=host, port=port)
    check_port(settings.host, settings.port)
    base = f"http://{settings.host}:{settings.port}"
    out.print(f"corpuscope web UI on {base}/  API docs on {base}/docs  (Ctrl-C stops)")
    if workers > 1:  # worker processes build the app from the environment
        from corpuscope.api.serve import serve_workers

        os.environ["CORPUSCOPE_DATA"] = str(settings.data.resolve())
        serve_workers(settings.host, settings.port, workers)
        return
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")


stats_app = typer.Typer(
    help="Corpus statistics (DuckDB over the shards): build them, or export them.",
    invoke_without_command=True,
    no_args_is_help=False,
)
app.add_typer(stats_app, name="stats")


@stats_app.callback()
def stats_cmd(
    ctx: typer.Context,
    corpus: Annotated[str | None, typer.Option(help="Corpus to compute statistics for.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Compute a corpus's statistics: overview, sources, shards, domains, TLDs, languages,
    months, lengths, exact and near duplicates, personal data, quality signals.

    Each table is a Parquet file under the corpus's stats/, published with a manifest of
    sha256s and the shards it was computed from. `corpuscope stats export` writes them out.
    """
    if ctx.invoked_subcommand is not None:
        return
    if corpus is None:
        err.print("[red]error:[/] --corpus is required (or `corpuscope stats export --help`)")
        raise typer.Exit(2)
    manifest = jobs.stats(_settings(data_dir), corpus)
    if as_json:
        print(json.dumps(manifest, indent=1, default=str))
        return
    t = _table(f"statistics of {corpus} ({manifest['seconds']:.1f} s)")
    for col in ("table", "rows", "description"):
        t.add_column(col, justify="right" if col == "rows" else "left")
    for name, entry in manifest["tables"].items():
        t.add_row(name, f"{entry['rows']:,}", entry["description"][:70])
    out.print(t)


@stats_app.command("export")
def stats_export_cmd(
    corpus: Annotated[str, typer.Option(help="Corpus whose statistics to export.")] = ...,
    fmt: Annotated[str, typer.Option("--format", help="csv, json or parquet.")] = "csv",
    table: Annotated[
        list[str] | None, typer.Option(help="Table to export (repeat; default all).")
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write into.")] = Path("."),
    public: Annotated[
        bool, typer.Option(help="Export what the public sees (small cells suppressed).")
    ] = False,
    threshold: Annotated[
        int | None, typer.Option(help=_default("small_cell_threshold", "Small-cell threshold."))
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Write statistics tables as CSV, JSON or Parquet files (full tables unless --public)."""
    from corpuscope.stats.view import StatsView

    settings = _settings(data_dir, small_cell_threshold=threshold)
    if fmt not in ("csv", "json", "parquet"):
        err.print("[red]error:[/] --format must be csv, json or parquet")
        raise typer.Exit(2)
    view = StatsView(Store(settings.data), settings.small_cell_threshold)
    names = table or list(view.manifest(corpus)["tables"])
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        data, _ = view.download(corpus, name, fmt, public)
        path = out_dir / f"{corpus}-{name}.{fmt}"
        path.write_bytes(data)
        out.print(f"wrote {path}")


@app.command("summary")
def summary_cmd(
    corpus: Annotated[str, typer.Option(help="Corpus to summarise.")] = ...,
    provider_file: Annotated[
        Path | None,
        typer.Option(
            help="TOML file of the provider's declarations (default: the corpus's "
            "provider.toml, if any)."
        ),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="md or json.")] = "md",
    out_file: Annotated[Path | None, typer.Option("--out", help="Write to this file.")] = None,
    data_dir: DataDir = None,
) -> None:
    """The EU AI Act public summary of training content (Art. 53(1)(d), AI Office template of
    July 2025) for a corpus: figures from its statistics, declarations from the provider file;
    what is not declared is marked as missing."""
    from corpuscope.stats.summary import to_markdown

    summary = jobs.summary(_settings(data_dir), corpus, provider_file)
    text = to_markdown(summary) if fmt == "md" else json.dumps(summary, indent=1, default=str)
    if out_file:
        out_file.write_text(text + "\n")
        out.print(f"wrote {out_file} ({len(summary['missing_declarations'])} declarations missing)")
    else:
        print(text)


keys_app = typer.Typer(help="API keys for the auditor, officer and admin roles.")
app.add_typer(keys_app, name="keys")

from corpuscope.dsr.cli import audit_app, dsr_app, export_cmd  # noqa: E402 - data-subject requests

app.add_typer(dsr_app, name="dsr")
app.add_typer(audit_app, name="audit")
app.command("export")(export_cmd)


@keys_app.command("create")
def keys_create_cmd(
    name: Annotated[str, typer.Argument(help="A name for the key (who holds it).")],
    role: Annotated[str, typer.Option(help="auditor, officer or admin.")] = "auditor",
    data_dir: DataDir = None,
) -> None:
    """Create an API key; it is printed once (only its hash is kept)."""
    from corpuscope.state import State

    settings = _settings(data_dir)
    token = State(settings.data).create_key(name, role)
    err.print(f"key {escape(name)} ({role}); send it as 'Authorization: Bearer KEY'. Shown once:")
    print(token)


@keys_app.command("list")
def keys_list_cmd(data_dir: DataDir = None) -> None:
    """List the API keys (names, roles, dates; never the keys)."""
    from corpuscope.state import State

    settings = _settings(data_dir)
    t = _table("API keys")
    for col in ("name", "role", "created", "revoked"):
        t.add_column(col)
    for k in State(settings.data).api_keys():
        t.add_row(k.name, k.role, _when(k.created), _when(k.revoked) if k.revoked else "")
    out.print(t)


@keys_app.command("revoke")
def keys_revoke_cmd(
    name: Annotated[str, typer.Argument(help="The key's name.")], data_dir: DataDir = None
) -> None:
    """Revoke an API key at once."""
    from corpuscope.state import State

    settings = _settings(data_dir)
    State(settings.data).revoke_key(name)
    out.print(f"revoked {escape(name)}")


def _when(ts: float) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts))


@app.command("demo")
def demo_cmd(
    samples: Annotated[Path | None, typer.Option(help="Folder of bundled samples.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summaries as JSON.")] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
    serve: Annotated[
        bool, typer.Option(help="Serve the API on localhost when done (Ctrl-C stops).")
    ] = True,
    host: Annotated[str | None, typer.Option(help=_default("host", "Address to serve on."))] = None,
    port: Annotated[int | None, typer.Option(help=_default("port", "Port to serve on."))] = None,
    data_dir: DataDir = None,
) -> None:
    """The main job on the bundled real samples: ingest C4, Common Crawl (JSONL, WARC, WET),
    OpenWebText and The Pile into one corpus each, scan them for personal data, index them,
    print what was done, then serve the API on localhost (--no-serve to stop there).

    The port is checked before any work starts; a rerun skips what is done and reports each
    corpus as it stands."""
    settings = _settings(data_dir, host=host, port=port)
    if serve:
        check_port(settings.host, settings.port)
    bars: list[_Bar] = []

    def bar() -> _Bar:  # one bar per stage; the previous one is finished
        if bars:
            bars[-1].__exit__(None, None, None)
        bars.append(_Bar(quiet or as_json).__enter__())
        return bars[-1]

    try:
        run = jobs.demo(settings, samples, progress=bar)
    finally:
        if bars:
            bars[-1].__exit__(None, None, None)
    if as_json:
        print(json.dumps(run.to_json(), indent=1))
    else:
        _print_demo(run)
        out.print(f"data directory: {escape(str(settings.data.resolve()))}")
    if run.ok and serve:
        import time

        from corpuscope.state import State

        name = f"demo-officer-{int(time.time())}"  # a fresh key each run (admin: it may erase)
        key = State(settings.data).create_key(name, "admin", actor="demo")
        out.print(f"officer key for the web UI's Cases page ({name}, admin role): {key}")
        serve_cmd(host=settings.host, port=settings.port, data_dir=settings.data)
    raise typer.Exit(0 if run.ok else 1)


def check_port(host: str, port: int) -> None:
    """Refuse (`UsageError`) when `host:port` cannot be listened on: in use, or no such
    address. Binds as uvicorn does (SO_REUSEADDR), then lets go at once."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as exc:
        raise UsageError(f"cannot serve on {host}:{port}: {exc}; pass --host") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            raise UsageError(
                f"cannot serve on {host}:{port}: {exc.strerror or exc} (is another server "
                "running there?); pass --port N (or --host), or --no-serve"
            ) from None


def _print_demo(run: jobs.DemoRun) -> None:
    """One line per corpus as it stands (documents, quarantined, text) with what personal
    data the scan found and the index's size."""
    from corpuscope.privacy.recognizers import LABELS

    t = _table("corpuscope demo: the bundled real samples")
    cols = (
        "corpus",
        "docs",
        "quarantined",
        "failed",
        "text MB",
        "with PII",
        "spans redacted",
        "index MB",
    )
    for col in cols:
        t.add_column(col, justify="left" if col in ("corpus", "spans redacted") else "right")
    for c, sc, ix in zip(run.corpora, run.scanned, run.indexed, strict=True):
        top = sorted(sc.by_entity.items(), key=lambda kv: -kv[1])[:4]
        spans = " ".join(f"{LABELS.get(k, k)}{v}" for k, v in top)
        t.add_row(
            c["corpus"],
            f"{c['documents']:,}",
            f"{c['quarantined']:,}",
            f"{c['failed'] + sc.shards_failed}",
            f"{c['text_bytes'] / 1e6:.2f}",
            f"{sc.documents_with_pii:,}",
            escape(spans) or "-",
            f"{ix.index_bytes / 1e6:.2f}",
        )
    out.print(t)
    out.print(
        "  spans redacted: every span the scan found, each shown as its type; the statistics"
        " count only those at or above their entity's score (stats_min_score; the pii table)"
    )
    for c in run.corpora:
        for reason, n in c["quarantine_reasons"].items():
            out.print(f"  {c['corpus']}: quarantined {n} ({escape(reason)})")
    for s in run.ingested:
        for f in s.failures:
            out.print(f"  [red]FAILED[/] {s.corpus} {escape(f['source'])}: {escape(f['error'])}")


def main() -> None:  # pragma: no cover - console entry
    app(prog_name="corpuscope")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
