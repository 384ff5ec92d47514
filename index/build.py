"""Build a corpus's tantivy index from its Parquet shards, incrementally and atomically.

The index lives in ``corpora/<corpus>/index/``: a generation folder holding `partitions`
tantivy indexes (``p00``, ``p01`` …; a shard always goes to the same partition), named by the
``CURRENT`` file. Every document carries the *unit* of the shard version it came from (shard
id, shard sha256, PII sidecar sha256), and the set of units in a partition is read from the
index itself, so the index is its own manifest and can never disagree with one:

- a new shard (or a shard scanned since) is added; a replaced or removed one is deleted by
  its unit term, all in one tantivy commit per partition, so a searcher sees a partition
  from before or after a build, never half of one;
- a change of partition count or of index version builds a new generation beside the old
  one and publishes it by rewriting ``CURRENT`` (atomic rename); the old one is removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import tantivy

from corpuscope.artifacts import Made
from corpuscope.errors import CorpusLocked, Damaged
from corpuscope.index.schema import INDEX_VERSION, open_index
from corpuscope.ingest.normalise import public_domain
from corpuscope.models.documents import PII_SCHEMA, PiiSpan
from corpuscope.models.runs import IndexSummary
from corpuscope.models.work import Shard
from corpuscope.privacy.redact import redact
from corpuscope.store import CorpusStore, parquet_problem, publish_bytes, sha256_file

_COLUMNS = ["doc_id", "corpus", "shard", "url", "domain", "timestamp", "language", "text"]


@dataclass(frozen=True)
class Unit:
    """One shard version as the index knows it."""

    shard: Shard
    pii_path: Path | None
    key: str
    partition: int


@dataclass
class Layout:
    """Where a corpus's index lives and how it is cut."""

    root: Path  # corpora/<corpus>/index
    generation: str | None = None
    partitions: int = 0
    version: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.root / (self.generation or "none")

    def partition_paths(self) -> list[Path]:
        return [self.folder / f"p{i:02d}" for i in range(self.partitions)]


def index_root(cs: CorpusStore) -> Path:
    return cs.index_dir


def read_layout(root: Path) -> Layout:
    """The published generation of the index in `root` (generation None when there is none).

    Its `index.json` also records what the last build made it from (`made`) and the size and
    sha256 of every file of its partitions (`files`), which `verify` and the searcher check.
    """
    try:
        generation = (root / "CURRENT").read_text().strip()
        meta = orjson.loads((root / generation / "index.json").read_bytes())
    except FileNotFoundError:
        return Layout(root)
    return Layout(root, generation, meta["partitions"], meta["version"], meta)


def index_made(cs: CorpusStore) -> Made | None:
    """What the corpus's published index was made from (None: no index, or none recorded)."""
    return Made.from_json(read_layout(cs.index_dir).extra.get("made"))


def index_files(layout: Layout, known: dict[str, list] | None = None) -> dict[str, list]:
    """Every file of a generation's partitions: relative path -> [size, sha256]. tantivy's
    segment files never change once written, so a file `known` with the same size keeps its
    recorded hash (and a file damaged since still disagrees with it)."""
    known = known or {}
    files = {}
    for part in layout.partition_paths():
        for path in sorted(part.iterdir()):
            if not path.is_file() or path.name.startswith(".tantivy-"):  # lock files
                continue
            rel = path.relative_to(layout.folder).as_posix()
            size = path.stat().st_size
            old = known.get(rel)
            files[rel] = (
                old if old and old[0] == size and path.suffix else [size, sha256_file(path)]
            )
    return files


def partition_of(shard_id: str, partitions: int) -> int:
    """The partition a shard belongs to: stable across runs and machines."""
    digest = hashlib.blake2b(shard_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % partitions


def _units(cs: CorpusStore, partitions: int) -> tuple[dict[str, Unit], dict[str, str]]:
    """The units the index should hold, and the inputs they are read from (with sha256s)."""
    shards = cs.manifest().done()
    live = cs.live_sidecars(shards)
    units, inputs = {}, {}
    for s in shards:
        entry = live.get(s.shard_id)
        key = f"{s.shard_id}@{s.sha256[:16]}+{entry['sha256'][:16] if entry else '-'}"
        units[key] = Unit(
            s, cs.root / entry["path"] if entry else None, key, partition_of(s.shard_id, partitions)
        )
        inputs[s.parquet] = s.sha256
        if entry:
            inputs[entry["path"]] = entry["sha256"]
    return units, inputs


def present_units(index: tantivy.Index) -> set[str]:
    """The units a partition holds, read from the index itself."""
    searcher = index.searcher()
    if searcher.num_docs == 0:
        return set()
    agg = searcher.aggregate(
        tantivy.Query.all_query(), {"units": {"terms": {"field": "unit", "size": 1_000_000}}}
    )
    return {b["key"] for b in agg["units"]["buckets"]}


def _spans_by_doc(path: Path | None) -> dict[str, list[PiiSpan]]:
    if path is None:
        return {}
    table = pq.read_table(path, columns=[f.name for f in PII_SCHEMA])
    out: dict[str, list[PiiSpan]] = defaultdict(list)
    for row in table.to_pylist():
        out[row["doc_id"]].append(PiiSpan(**row))
    return out


def public_text(text: str, spans: list[PiiSpan] | None) -> str:
    """The redacted view of a document: every personal-data span replaced by its type.

    `spans` are the scan's (None for a shard not scanned yet: then the scan's own detector
    runs here). The display pass of `redact` always runs too, so what the index holds is what
    display shows, and no count, score or position can depend on a hidden value.
    """
    return redact(text, spans or (), runtime_pass=spans is None)[0]


def documents_of(cs: CorpusStore, unit: Unit) -> Iterator[tantivy.Document]:
    """The tantivy documents of one shard version: its Parquet rows, text redacted, domain as
    the public sees it (`public_domain`). The URL is stored raw: an officer's lookup matches
    it as stored, and answers show it through `query.public_url`."""
    spans = _spans_by_doc(unit.pii_path)
    scanned = unit.pii_path is not None
    pf = pq.ParquetFile(cs.root / unit.shard.parquet)
    for batch in pf.iter_batches(batch_size=1024, columns=_COLUMNS):
        cols = {name: batch.column(name).to_pylist() for name in _COLUMNS}
        for i, doc_id in enumerate(cols["doc_id"]):
            doc = tantivy.Document()
            doc.add_text("doc_id", doc_id)
            doc.add_text("corpus", cols["corpus"][i])
            doc.add_text("shard", cols["shard"][i])
            doc.add_text("unit", unit.key)
            doc.add_text("language", cols["language"][i])
            doc.add_text(
                "text", public_text(cols["text"][i], spans.get(doc_id, []) if scanned else None)
            )
            if cols["url"][i]:
                doc.add_text("url", cols["url"][i])
            if cols["domain"][i]:
                doc.add_text("domain", public_domain(cols["domain"][i]))
            if cols["timestamp"][i] is not None:
                doc.add_date("timestamp", cols["timestamp"][i])
            yield doc


def _refuse_damaged(cs: CorpusStore, units: list[Unit]) -> None:
    """Index nothing from a damaged shard or sidecar (a cheap size and footer check)."""
    damaged = [
        f"{path.relative_to(cs.root)}: {problem}"
        for u in units
        for path, size in ((cs.root / u.shard.parquet, u.shard.parquet_bytes), (u.pii_path, None))
        if path is not None and (problem := parquet_problem(path, size))
    ]
    if damaged:
        raise Damaged(
            f"cannot index {cs.name} over damaged files ({'; '.join(damaged[:3])}): "
            "run `corpuscope verify --repair`"
        )


@contextmanager
def _build_lock(root: Path, timeout: float) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "a+") as f:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise CorpusLocked(
                        f"another index build of {root.parent.name} is running; "
                        "wait for it or pass --lock-timeout"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def folder_bytes(path: Path) -> int:
    """Bytes of the files under `path`; files a running build removes meanwhile count 0."""
    total = 0
    for root, _dirs, files in os.walk(path):  # os.walk skips folders that vanish
        for name in files:
            with contextlib.suppress(FileNotFoundError):
                total += os.stat(os.path.join(root, name)).st_size
    return total


def build_index(
    cs: CorpusStore,
    partitions: int = 2,
    threads: int = 1,
    heap_mb: int = 256,
    rebuild: bool = False,
    lock_timeout: float = 0.0,
    on_shard: Callable[[Unit], None] | None = None,
) -> IndexSummary:
    """Bring a corpus's index up to date with its manifest and PII sidecars."""
    t0 = time.perf_counter()
    root = index_root(cs)
    with _build_lock(root, lock_timeout):
        layout = read_layout(root)
        fresh = (
            rebuild
            or layout.generation is None
            or layout.partitions != partitions
            or layout.version != INDEX_VERSION
        )
        if fresh:
            old = layout.folder if layout.generation else None
            layout = Layout(root, f"gen-{time.time_ns():x}", partitions, INDEX_VERSION)
            layout.folder.mkdir(parents=True)
        summary = IndexSummary(cs.name, partitions, layout.generation, rebuilt=fresh)
        wanted, inputs = _units(cs, partitions)
        for part, path in enumerate(layout.partition_paths()):
            path.mkdir(exist_ok=True)
            index = open_index(str(path))
            have = present_units(index)
            mine = {k: u for k, u in wanted.items() if u.partition == part}
            remove = have - mine.keys()
            add = [mine[k] for k in sorted(mine.keys() - have)]
            _refuse_damaged(cs, add)
            summary.shards_kept += len(have & mine.keys())
            if not remove and not add:
                continue
            writer = index.writer(heap_size=heap_mb * 1_000_000 * threads, num_threads=threads)
            for key in sorted(remove):
                writer.delete_documents_by_term("unit", key)
            for unit in add:
                for doc in documents_of(cs, unit):
                    writer.add_document(doc)
                summary.documents_added += unit.shard.documents
                summary.text_bytes += unit.shard.text_bytes
                if on_shard:
                    on_shard(unit)
            writer.commit()
            writer.wait_merging_threads()
            summary.shards_added += len(add)
            summary.shards_removed += len(remove)
        meta = {
            "partitions": partitions,
            "version": INDEX_VERSION,
            "made": Made("index", str(INDEX_VERSION), inputs).to_json(),
            "files": index_files(layout, None if fresh else layout.extra.get("files")),
        }
        publish_bytes(layout.folder / "index.json", orjson.dumps(meta))
        if fresh:
            publish_bytes(root / "CURRENT", layout.generation.encode())
            if old is not None and old.exists():
                shutil.rmtree(old, ignore_errors=True)
        _remove_stale_generations(root, layout.generation)
        summary.index_bytes = folder_bytes(layout.folder)
    summary.seconds = time.perf_counter() - t0
    return summary


def _remove_stale_generations(root: Path, current: str) -> None:
    """Generations left by a build that was killed before it published."""
    for p in root.glob("gen-*"):
        if p.name != current and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
    for p in root.glob(".CURRENT*"):
        if p.name != "CURRENT":
            with contextlib.suppress(OSError):
                os.unlink(p)
