"""The shard pipeline: plan source tasks, run each (read -> normalise -> write), publish.

`plan_sources` turns command-line sources into `SourceTask`s. `run_source` is the pure unit
of work an executor runs (in this process, a process pool or a Ray cluster): it reads one
source, cuts it into shards of at most `shard_docs` records, writes each shard's documents
and quarantine to Parquet and records the shard in the manifest. A shard already done with
the same input fingerprint is skipped, so a rerun after a crash finishes the job without
duplicates. `ingest` drives a whole run under the corpus's writer lock.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import functools
import hashlib
import json
import re
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpuscope.config import Settings
from corpuscope.errors import Damaged, ShardFailure, SourceRefused
from corpuscope.ingest.normalise import NORMALISER_VERSION, normalise_batch
from corpuscope.ingest.readers import FORMATS, detect_format, read_source
from corpuscope.models.documents import QUARANTINE_SCHEMA, Quarantined, Skipped, SourceRecord
from corpuscope.models.runs import IngestSummary
from corpuscope.models.work import Shard, ShardResult, SourceTask
from corpuscope.store import CorpusStore, Store, publish_bytes

_FINGERPRINT_SAMPLE = 1 << 20
_DICT_COLUMNS = ["corpus", "shard", "domain", "language"]


# -- planning ----------------------------------------------------------------------------------
def _file_fingerprint(path: Path) -> str:
    """Size plus the first and last MiB: cheap, and changes when the input does."""
    h = hashlib.blake2b(digest_size=16)
    size = path.stat().st_size
    h.update(str(size).encode())
    with open(path, "rb") as f:
        h.update(f.read(_FINGERPRINT_SAMPLE))
        if size > 2 * _FINGERPRINT_SAMPLE:
            f.seek(size - _FINGERPRINT_SAMPLE)
            h.update(f.read())
    return h.hexdigest()


def _folder_fingerprint(files: list[Path], root: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    for p in files:
        st = p.stat()
        h.update(f"{p.relative_to(root).as_posix()}\x00{st.st_size}\x00{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _task_fingerprint(content: str, fmt: str, settings: Settings, options: dict[str, Any]) -> str:
    """The input's fingerprint together with every setting that shapes its shards."""
    shaping = [
        settings.shard_docs,
        settings.max_doc_bytes,
        settings.lang_id_bytes,
        settings.parquet_compression,
        NORMALISER_VERSION,  # a new normalisation writes new shards, never over older ones
    ]
    key = orjson.dumps([content, fmt, shaping, options], option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(key, digest_size=16).hexdigest()


def _task(
    corpus: str,
    source: str,
    path: Path,
    fmt: str,
    content_fp: str,
    size: int,
    settings: Settings,
    options: dict[str, Any],
) -> SourceTask:
    return SourceTask(
        corpus=corpus,
        source=source,
        location=str(path),
        format=fmt,
        fingerprint=_task_fingerprint(content_fp, fmt, settings, options),
        shard_docs=settings.shard_docs,
        size_bytes=size,
        options=options,
    )


def plan_sources(
    sources: Iterable[str | Path],
    corpus: str,
    settings: Settings,
    fmt: str | None = None,
    options: dict[str, Any] | None = None,
) -> tuple[list[SourceTask], list[dict[str, str]]]:
    """Tasks for the given files and folders, and the files of folders that were ignored.

    A file named on the command line that cannot be read raises `SourceRefused`; inside a
    folder, files of no known format are ignored and reported.
    """
    options = {k: v for k, v in (options or {}).items() if v is not None}
    tasks: list[SourceTask] = []
    ignored: list[dict[str, str]] = []
    for arg in sources:
        path = Path(arg)
        if not path.exists():
            raise SourceRefused(f"{path}: no such file or folder")
        if path.is_file():
            f = fmt or detect_format(path)
            tasks.append(
                _task(
                    corpus,
                    path.name,
                    path,
                    f,
                    _file_fingerprint(path),
                    path.stat().st_size,
                    settings,
                    options,
                )
            )
            continue
        txt_folders: dict[Path, list[Path]] = {}
        data_dir = settings.data.resolve()
        for p in sorted(path.rglob("*")):
            inner = p.relative_to(path).parts
            if not p.is_file() or any(part.startswith(".") for part in inner):
                continue  # hidden files and folders
            if p.resolve().is_relative_to(data_dir):
                continue  # never ingest the data directory itself
            rel = f"{path.name}/{p.relative_to(path).as_posix()}"
            if p.suffix == ".txt" and fmt in (None, "owt"):
                txt_folders.setdefault(p.parent, []).append(p)
                continue
            try:
                f = fmt or detect_format(p)
            except SourceRefused as exc:
                ignored.append({"source": rel, "reason": str(exc)})
                continue
            tasks.append(
                _task(corpus, rel, p, f, _file_fingerprint(p), p.stat().st_size, settings, options)
            )
        for folder, files in sorted(txt_folders.items()):
            rel = f"{path.name}/{folder.relative_to(path).as_posix()}".rstrip("/.")
            tasks.append(
                _task(
                    corpus,
                    rel,
                    folder,
                    "owt",
                    _folder_fingerprint(files, folder),
                    sum(p.stat().st_size for p in files),
                    settings,
                    options,
                )
            )
    seen: dict[str, str] = {}
    for t in tasks:
        if t.source in seen:
            raise SourceRefused(
                f"two sources share the name {t.source!r} ({seen[t.source]} and {t.location}); "
                "a source is known by its name, so ingest them into different corpora or rename one"
            )
        seen[t.source] = t.location
    return tasks, ignored


#: `datasets`' packaged builders, which read local files (`data_files`), not a hub dataset.
LOCAL_BUILDERS = ("json", "csv", "parquet", "text", "arrow", "pandas", "xml", "webdataset")


def plan_hf(
    corpus: str,
    settings: Settings,
    name: str,
    config: str | None = None,
    split: str = "train",
    streaming: bool = True,
    limit: int | None = None,
    data_files: list[str] | None = None,
    revision: str | None = None,
    options: dict[str, Any] | None = None,
) -> SourceTask:
    """A task for a Hugging Face dataset (hub name, or a builder such as `json` + data_files).

    A builder of local files without `data_files` is refused: `datasets` would read the
    current folder instead."""
    options = {k: v for k, v in (options or {}).items() if v is not None}
    if name in LOCAL_BUILDERS and not data_files:
        raise SourceRefused(
            f"--hf {name} reads local files: name them with --hf-data-files FILE (repeat "
            "it for more), or ingest the files directly (`corpuscope ingest FILE`)"
        )
    for f in data_files or []:
        if not Path(f).is_file():
            raise SourceRefused(f"--hf-data-files {f}: no such file")
    files = [str(Path(f).resolve()) for f in data_files or []]
    spec = {
        "name": name,
        "config": config,
        "split": split,
        "streaming": streaming,
        "limit": limit,
        "data_files": files or None,
        "revision": revision,
    }
    content = orjson.dumps(
        [spec, [_file_fingerprint(Path(f)) for f in files]], option=orjson.OPT_SORT_KEYS
    ).decode()
    source = "hf:" + "/".join(x for x in (name, config, split) if x)
    if files:
        source += ":" + ",".join(Path(f).name for f in files)
    return SourceTask(
        corpus=corpus,
        source=source,
        location=orjson.dumps(spec).decode(),
        format="hf",
        fingerprint=_task_fingerprint(content, "hf", settings, options),
        shard_docs=settings.shard_docs,
        size_bytes=sum(Path(f).stat().st_size for f in files),
        options=options,
    )


# -- the unit of work --------------------------------------------------------------------------
def shard_id(task: SourceTask, part: int) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", task.source).strip("_")[-80:]
    return f"{slug}-{task.fingerprint[:10]}-{part:05d}"


def parquet_bytes(
    table: pa.Table, compression: str, dictionary: list[str] | bool = _DICT_COLUMNS
) -> memoryview:
    """A table as the bytes of a Parquet file (one row group per 4,096 rows), not copied."""
    sink = pa.BufferOutputStream()
    pq.write_table(
        table,
        sink,
        compression=None if compression == "none" else compression,
        use_dictionary=dictionary,
        row_group_size=4096,
    )
    return memoryview(sink.getvalue())


class _ShardWriter:
    """Accumulates one shard's records and quarantined records, then publishes them."""

    def __init__(self, task: SourceTask, store: CorpusStore, settings: Settings, part: int):
        self.task, self.store, self.settings, self.part = task, store, settings, part
        self.id = shard_id(task, part)
        self.first_ordinal = part * task.shard_docs
        self.pending: list[SourceRecord] = []
        self.quarantined: list[Quarantined] = []
        self.skipped = 0
        self.records = 0

    def add(self, item: SourceRecord | Quarantined) -> None:
        self.records += 1
        if isinstance(item, SourceRecord):
            self.pending.append(item)
        else:
            self.quarantined.append(item)

    def _batch(self, records: list[SourceRecord]) -> pa.Table:
        t = self.task
        return normalise_batch(records, t.corpus, self.id, t.source, self.settings.lang_id_bytes)

    def normalise(self) -> pa.Table:
        """The shard's documents; a record that cannot be normalised is quarantined instead."""
        try:
            table = self._batch(self.pending)
        except Exception:  # one bad record must not fail the shard: find it
            good = []
            for rec in self.pending:
                try:
                    self._batch([rec])
                    good.append(rec)
                except Exception as exc:
                    self.quarantined.append(
                        Quarantined(
                            rec.ordinal,
                            f"cannot normalise: {type(exc).__name__}: {exc}",
                            # json escapes what orjson refuses (half a surrogate pair)
                            json.dumps(rec.metadata | {"text": rec.text}, default=str).encode(),
                        )
                    )
            self.quarantined.sort(key=lambda q: q.ordinal)
            table = self._batch(good)
        self.pending = []
        return table

    def task_spec(self) -> dict[str, Any] | None:
        """What `verify --repair` needs to read the shard again (a hub stream cannot be)."""
        t = self.task
        if t.format == "hf":
            return None
        location = str(Path(t.location).resolve())  # a repair may run from another folder
        return {"location": location, "format": t.format, "options": t.options}

    def _shard(self, **kw: Any) -> Shard:
        base = dict(
            shard_id=self.id,
            source=self.task.source,
            fingerprint=self.task.fingerprint,
            part=self.part,
            first_ordinal=self.first_ordinal,
            records=self.records,
            documents=0,
            quarantined=len(self.quarantined),
            skipped=self.skipped,
            text_bytes=0,
            parquet=None,
            parquet_bytes=0,
            sha256=None,
            reasons=dict(Counter(_reason_kind(q.reason) for q in self.quarantined)),
            normaliser=NORMALISER_VERSION,
            task=self.task_spec(),
        )
        base.update(kw)
        return Shard(**base)

    def publish(self) -> Shard:
        """Quarantine file, then the shard file, then the manifest entry (last)."""
        from corpuscope.dsr.suppression import IngestFilter

        c = self.settings.parquet_compression
        documents = self.normalise()
        # Suppressed documents (erasure, objection, opt-out rules) are never stored again:
        # same stable id or text hash, or a rule's domain, URL prefix or identifier.
        data_dir = self.store.root.parent.parent
        documents, suppressed = IngestFilter(data_dir, self.task.corpus, self.settings).apply(
            documents
        )
        self.skipped += suppressed
        q_path = self.store.quarantine_dir / f"{self.id}.parquet"
        if self.quarantined:
            q = pa.Table.from_pydict(
                {
                    "corpus": [self.task.corpus] * len(self.quarantined),
                    "shard": [self.id] * len(self.quarantined),
                    "source": [self.task.source] * len(self.quarantined),
                    "ordinal": [r.ordinal for r in self.quarantined],
                    "reason": [r.reason for r in self.quarantined],
                    "raw": [r.raw for r in self.quarantined],
                },
                schema=QUARANTINE_SCHEMA,
            )
            publish_bytes(q_path, parquet_bytes(q, c, False))
        data = parquet_bytes(documents, c)
        rel = f"shards/{self.id}.parquet"
        publish_bytes(self.store.root / rel, data)
        shard = self._shard(
            documents=documents.num_rows,
            text_bytes=pc.sum(pc.binary_length(documents["text"])).as_py() or 0,
            parquet=rel,
            parquet_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        self.store.record([shard])
        if not self.quarantined and q_path.exists():  # left by an earlier run of this shard
            q_path.unlink()
        return shard

    def fail(self, error: str) -> Shard:
        shard = self._shard(status="failed", error=error)
        self.store.record([shard])
        return shard


@functools.cache
def keep_freed_memory() -> None:
    """Ask glibc's allocator to keep freed memory for reuse (once per process).

    A shard allocates the same large buffers over and over (its texts, Arrow arrays, the
    Parquet file); by default glibc gives them back to the kernel when freed and takes them
    again, zeroed, for the next shard: about a tenth of a worker's time went to the kernel.
    Peak memory is unchanged (the next shard reuses what the last one freed).
    """
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to tune
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)  # keep up to 1 GiB of freed heap
        libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)  # blocks below 32 MiB from the heap


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)


def run_source(
    task: SourceTask, data_root: str, settings: Settings, force: bool = False
) -> list[ShardResult]:
    """Ingest one source: a ShardResult per shard (written, skipped or failed; `unusable`
    when the source was read to its end and every record of it was quarantined)."""
    keep_freed_memory()
    store = Store(data_root).corpus(task.corpus)
    done = (
        set()
        if force
        else {
            s.shard_id
            for s in store.manifest().shards.values()
            if s.status == "done"
            and s.fingerprint == task.fingerprint
            and s.normaliser == NORMALISER_VERSION
            and store.shard_problem(s) is None  # a truncated or replaced file is redone
        }
    )
    results: list[ShardResult] = []
    writer = _ShardWriter(task, store, settings, 0)

    def finish(w: _ShardWriter) -> None:
        if w.id in done:
            results.append(ShardResult("skipped", store.manifest().shards.get(w.id), task.source))
        else:
            results.append(ShardResult("written", w.publish(), task.source))

    first_bad: Quarantined | None = None  # for the hint when nothing of a source is usable
    try:
        for item in read_source(task, settings.max_doc_bytes):
            if isinstance(item, Skipped):
                writer.skipped += 1
                continue
            if first_bad is None and isinstance(item, Quarantined):
                first_bad = item
            part = item.ordinal // task.shard_docs
            if part != writer.part:
                finish(writer)
                writer = _ShardWriter(task, store, settings, part)
            if writer.id in done:
                writer.records += 1  # already published: read past it without normalising
                continue
            writer.add(item)
        finish(writer)
        if problem := nothing_usable(task, results, first_bad):
            results = _fail_shards(store, task, results, problem)
    except (ShardFailure, SourceRefused) as exc:
        results.append(ShardResult("failed", writer.fail(str(exc)), task.source, str(exc)))
    except Exception as exc:  # a bug or a resource error: fail this shard, keep the others going
        msg = f"{task.source}: unexpected {type(exc).__name__}: {exc}"
        results.append(ShardResult("failed", writer.fail(msg), task.source, msg))
        if settings.debug:
            traceback.print_exc()
    return results


def nothing_usable(
    task: SourceTask, results: list[ShardResult], first_bad: Quarantined | None
) -> str | None:
    """Why a source that was read to its end gave no document at all, every record of it
    quarantined, with the likely fix; None when it gave some (or had no record)."""
    shards = [r.shard for r in results if r.outcome == "written" and r.shard]
    if len(shards) != len(results):
        return None
    quarantined = sum(s.quarantined for s in shards)
    if not quarantined or quarantined != sum(s.records for s in shards):
        return None
    reasons: Counter[str] = Counter()
    for s in shards:
        reasons.update(s.reasons)
    top = reasons.most_common(1)[0][0]
    if top.startswith(("missing text field", "wrong type", "empty text")):
        fix = (
            "pass --text-field with the field that holds the text (a dotted path such as "
            "meta.content)" + _field_names(first_bad)
        )
    elif top.startswith(("bad JSON", "invalid UTF-8")):
        fix = f"is it {task.format}? pass --format with its format ({', '.join(FORMATS)})"
    elif top.startswith("oversized record"):
        fix = "raise --max-doc-bytes"
    else:
        fix = "see the reasons of its quarantined records"
    every = "its one record was" if quarantined == 1 else f"all {quarantined:,} records were"
    return f"{task.source}: {every} quarantined (most: {top}), so nothing of it was added; {fix}"


_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,40}$")


def _field_names(record: Quarantined | None) -> str:
    """The top-level fields of a quarantined JSON record, for the hint: names only (never a
    value), and only names that look like field names (at most 12)."""
    try:
        obj = orjson.loads(record.raw) if record is not None and record.raw else None
    except orjson.JSONDecodeError:
        return ""
    if not isinstance(obj, dict):
        return ""
    names = [k for k in obj if _FIELD_NAME.match(k)][:12]
    strings = [k for k in names if isinstance(obj[k], str)]
    if not names:
        return ""
    return f"; its records have the fields {', '.join(names)}" + (
        f" (holding strings: {', '.join(strings)})" if strings else ""
    )


def _fail_shards(
    store: CorpusStore, task: SourceTask, results: list[ShardResult], problem: str
) -> list[ShardResult]:
    """Record a source's shards as failed with `problem` (their quarantine is kept to look
    at; their empty document files are removed): a rerun tries the source again. Their
    outcome is `unusable`: failed, with their records and quarantine counted."""
    failed = [
        dataclasses.replace(
            r.shard, status="failed", error=problem, parquet=None, parquet_bytes=0, sha256=None
        )
        for r in results
    ]
    store.record(failed)
    for r in results:
        with contextlib.suppress(FileNotFoundError):
            (store.root / r.shard.parquet).unlink()
    return [ShardResult("unusable", s, task.source, problem) for s in failed]


# -- a whole run -------------------------------------------------------------------------------
def ingest(
    store: Store,
    corpus: str,
    tasks: list[SourceTask],
    settings: Settings,
    executor: Any,
    force: bool = False,
    on_progress: Callable[[SourceTask, list[ShardResult]], None] | None = None,
    ignored: list[dict[str, str]] | None = None,
) -> IngestSummary:
    """Run every task under the corpus's writer lock and sum up what happened."""
    cs = store.corpus(corpus)
    summary = IngestSummary(corpus=corpus, ignored=list(ignored or []))
    reasons: Counter[str] = Counter()
    started = time.perf_counter()
    with cs.write_lock(settings.lock_timeout):
        for task in tasks:
            cs.forget_source(task.source, task.fingerprint)
        for task, results in executor.run(run_source, tasks, str(store.root), settings, force):
            if isinstance(results, Exception):  # the worker died
                msg = f"{task.source}: worker died: {results}"
                results = [ShardResult("failed", None, task.source, msg)]
            summary.input_bytes += task.size_bytes
            for r in results:
                _tally(summary, r)
                if r.outcome in ("written", "unusable"):
                    reasons.update(r.shard.reasons)
            if on_progress:
                on_progress(task, results)
    summary.seconds = time.perf_counter() - started
    summary.quarantine_reasons = dict(reasons.most_common())
    summary.outdated_sources = sorted(
        {s.source for s in cs.manifest().done() if s.normaliser != NORMALISER_VERSION}
    )
    return summary


def _reason_kind(reason: str) -> str:
    """A quarantine reason cut before any detail that varies record by record."""
    return re.split(r"[:(]| at byte", reason, maxsplit=1)[0].strip()


def _tally(summary: IngestSummary, r: ShardResult) -> None:
    if r.outcome == "skipped":
        summary.shards_skipped += 1
        return
    s = r.shard
    if r.outcome in ("failed", "unusable"):
        summary.shards_failed += 1
        summary.failures.append(
            {"source": r.source, "shard": s.shard_id if s else "", "error": r.error or ""}
        )
        if r.outcome == "unusable":  # read to its end, every record quarantined (and kept)
            summary.records_read += s.records
            summary.quarantined += s.quarantined
        return
    summary.shards_done += 1
    summary.records_read += s.records
    summary.documents_written += s.documents
    summary.quarantined += s.quarantined
    summary.skipped_records += s.skipped
    summary.text_bytes += s.text_bytes
    summary.parquet_bytes += s.parquet_bytes


def replan(shard: Shard, corpus: str, settings: Settings) -> SourceTask:
    """The task that wrote `shard`, planned again from its recorded source (for a repair).

    Refused (`Damaged`) when the source was not recorded (a hub stream), is gone, or has
    changed since (or the settings that shape shards have): then it must be ingested again.
    """
    spec = shard.task
    if spec is None:
        raise Damaged(
            f"{shard.parquet}: its source {shard.source!r} was not recorded; ingest it again"
        )
    path = Path(spec["location"])
    if not path.exists():
        raise Damaged(f"{shard.parquet}: its source {path} is gone; ingest it again")
    if path.is_dir():  # a folder of OpenWebText .txt files
        files = sorted(
            p
            for p in path.iterdir()
            if p.is_file() and p.suffix == ".txt" and not p.name.startswith(".")
        )
        content, size = _folder_fingerprint(files, path), sum(p.stat().st_size for p in files)
    else:
        content, size = _file_fingerprint(path), path.stat().st_size
    task = _task(
        corpus, shard.source, path, spec["format"], content, size, settings, spec["options"]
    )
    if task.fingerprint != shard.fingerprint:
        raise Damaged(
            f"{shard.parquet}: its source {path} has changed since it was ingested (or the "
            "settings that shape shards have); ingest it again"
        )
    return task
