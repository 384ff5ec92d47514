"""Open corpus indexes for reading: partitions searched in parallel, results merged.

A `CorpusIndex` holds the tantivy partitions of the published generation of one corpus. It
notices a newer build (``CURRENT`` replaced, a partition committed, ``index.json`` rewritten)
and reloads, so a long-running API always answers from the latest complete state: tantivy
publishes a commit atomically and a searcher is an immutable snapshot, so a query never sees
half a build.

A damaged file never takes the process down. tantivy memory-maps its segment files, and a
mapped file that shrinks kills the process with SIGBUS at the next read of a page past its new
end. So a generation is checked when it is opened (every file ``index.json`` records has its
recorded size, and tantivy opens it), and before every query the segment files seen at open
are stat-ed (cheap): a file that shrank puts the corpus out of service before any of its pages
is read. A damaged new generation leaves the last good one in service (with a warning); with
none, the corpus is *degraded*: a question that only it could answer raises `Damaged` (503),
a question over several corpora is answered from the others and names it (the API's
``not_searched``). A repair publishes a new generation, which is checked and served again.
"""

from __future__ import annotations

import heapq
import logging
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import tantivy

from corpuscope.config import Settings
from corpuscope.errors import Damaged
from corpuscope.index.build import Layout, index_root, read_layout
from corpuscope.index.schema import open_index
from corpuscope.store import CorpusStore, Store

log = logging.getLogger("corpuscope.index")

#: Reads of a generation raced by a build (which changes what is read) before giving up.
_ATTEMPTS = 5
#: Files tantivy rewrites (by atomic rename) at every commit and reads whole, never maps.
_REWRITTEN = frozenset({"meta.json", ".managed.json"})


@dataclass(frozen=True)
class Found:
    """One matching document: where it is and how well it matched."""

    score: float
    corpus: str
    searcher: tantivy.Searcher  # the snapshot the address belongs to
    address: tantivy.DocAddress


@dataclass
class StoredDoc:
    """The stored fields of an indexed document."""

    doc_id: str
    corpus: str
    shard: str
    text: str
    url: str | None
    domain: str | None
    language: str | None
    timestamp: datetime | None  # `text` is the redacted view (index/build.py: public_text)

    @classmethod
    def from_tantivy(cls, doc: tantivy.Document) -> StoredDoc:
        d = doc.to_dict()

        def first(name: str):
            v = d.get(name)
            return v[0] if v else None

        return cls(
            doc_id=first("doc_id"),
            corpus=first("corpus"),
            shard=first("shard"),
            text=first("text") or "",
            url=first("url"),
            domain=first("domain"),
            language=first("language"),
            timestamp=first("timestamp"),
        )


@lru_cache(maxsize=4)
def _pool(threads: int) -> ThreadPoolExecutor:
    """The threads that search partitions in parallel (one pool per size, shared)."""
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="corpuscope-search")


def repair_hint(corpus: str) -> str:
    return f"run `corpuscope verify --repair --corpus {corpus}`"


class _Broken(Exception):
    """A generation that cannot be served (why, without any document's content)."""


def _size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return None


def check_files(layout: Layout) -> list[str]:
    """What is wrong with a generation's files, from stat calls alone: a partition without
    `meta.json`, or a file `index.json` records whose size is not the recorded one. A recorded
    file that is gone is left to tantivy (a later commit may have removed it legitimately;
    tantivy refuses to open a segment that lacks one of its files)."""
    problems = []
    for part in layout.partition_paths():
        if not (part / "meta.json").is_file():
            problems.append(f"{part.name}/meta.json: missing")
    for rel, (size, _digest) in sorted((layout.extra.get("files") or {}).items()):
        if rel.rsplit("/", 1)[-1] in _REWRITTEN:
            continue
        actual = _size(str(layout.folder / rel))
        if actual is not None and actual != size:
            problems.append(f"{rel}: {actual} bytes, {size} recorded")
    return problems


def _mapped(layout: Layout) -> list[tuple[str, int]]:
    """The files tantivy may map, with their sizes now (segment files never change once
    written: one that is smaller later was damaged)."""
    out = []
    for part in layout.partition_paths():
        try:
            entries = list(os.scandir(part))
        except FileNotFoundError:
            continue
        for e in entries:
            if e.name in _REWRITTEN or e.name.startswith(".tantivy-"):
                continue
            try:
                if e.is_file():
                    out.append((e.path, e.stat().st_size))
            except FileNotFoundError:
                continue
    return out


class CorpusIndex:
    """The partitions of one corpus's current index generation (or the last good one)."""

    def __init__(self, cs: CorpusStore):
        self.cs, self.name = cs, cs.name
        self._lock = threading.Lock()
        self._layout: Layout | None = None
        self._indexes: list[tantivy.Index] = []
        self._stamps: tuple = ()  # the state served
        self._mapped: list[tuple[str, int]] = []  # its files, stat-ed before each query
        self._bad: tuple | None = None  # a state found damaged: not tried again until it changes
        self._bad_sizes = False  # ... because of file sizes (tried again once they are right)
        #: Why the published generation is not served (None: it is, or there is none).
        self.problem: str | None = None

    @property
    def serving(self) -> str:
        """Which generation answers: `current`, `previous` (the published one is damaged) or
        `none` (no index, or a damaged one and nothing before it: the corpus is degraded)."""
        if not self._indexes:
            return "none"
        return "previous" if self.problem else "current"

    @property
    def degraded(self) -> bool:
        """The published index is damaged and no earlier generation can answer for it."""
        return self.problem is not None and not self._indexes

    def _stamp(self, layout: Layout) -> tuple:
        out = [layout.generation, _stat_key(layout.folder / "index.json")]
        out += [_stat_key(p / "meta.json") for p in layout.partition_paths()]
        return tuple(out)

    def refresh(self) -> bool:
        """Pick up a newer build and check the served files; False when there is nothing to
        serve (no index yet, or a damaged one: see `problem`)."""
        root = index_root(self.cs)
        with self._lock:
            for attempt in range(_ATTEMPTS):
                try:
                    layout = read_layout(root)
                except (OSError, ValueError, KeyError, TypeError) as exc:  # CURRENT, index.json
                    if attempt + 1 < _ATTEMPTS:
                        continue
                    self._fail(None, None, f"its index.json cannot be read ({type(exc).__name__})")
                    break
                if layout.generation is None:
                    return False
                stamp = self._stamp(layout)
                if stamp == self._stamps or (stamp == self._bad and self._still_bad(layout)):
                    break
                try:
                    self._open(layout, stamp)
                    break
                except _Broken as exc:
                    # A build that replaced or committed the generation meanwhile (and removed
                    # files of the state read) changes the stamp: read again. The same stamp
                    # is the same files: damaged.
                    if attempt + 1 < _ATTEMPTS and self._stamp_now(root) != stamp:
                        continue
                    self._fail(layout.generation, stamp, str(exc))
                    break
            self._guard()
            return bool(self._indexes)

    def _still_bad(self, layout: Layout) -> bool:
        """A state found damaged is tried again only once its files have their recorded sizes
        again (restored in place): a few stat calls; tantivy is not asked twice."""
        return not self._bad_sizes or bool(check_files(layout))

    def _stamp_now(self, root: Path) -> tuple | None:
        try:
            layout = read_layout(root)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return self._stamp(layout) if layout.generation else None

    def _open(self, layout: Layout, stamp: tuple) -> None:
        problems = check_files(layout)
        self._bad_sizes = bool(problems)
        if problems:
            raise _Broken("; ".join(problems[:3]))
        reuse = (
            self._indexes and self.problem is None and self._layout.generation == layout.generation
        )
        try:
            if reuse:
                for index in self._indexes:
                    index.reload()
                indexes = self._indexes
            else:
                indexes = [open_index(str(p)) for p in layout.partition_paths()]
            for index in indexes:
                index.searcher()
        except (OSError, ValueError) as exc:  # tantivy reports a damaged index as ValueError
            raise _Broken(f"tantivy cannot open it ({type(exc).__name__})") from None
        except BaseException as exc:  # a panic in tantivy (pyo3's PanicException)
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            raise _Broken(f"tantivy cannot open it ({type(exc).__name__})") from None
        mapped = _mapped(layout)
        if self.problem is not None:
            log.warning(
                "corpus %s: index generation %s passed its checks and is served",
                self.name,
                layout.generation,
            )
        self._layout, self._indexes, self._stamps = layout, indexes, stamp
        self._mapped, self._bad, self.problem = mapped, None, None

    def _fail(self, generation: str | None, stamp: tuple | None, why: str) -> None:
        """The published state cannot be served: keep what is served, if anything."""
        self._bad = stamp
        problem = f"the published index (generation {generation or '?'}) is damaged: {why}"
        if not self._indexes:
            self._drop(problem)
            return
        if self.problem != problem:
            log.warning(
                "corpus %s: %s; still serving what was opened before (generation %s); %s",
                self.name,
                problem,
                self._layout.generation,
                repair_hint(self.name),
            )
        self.problem = problem

    def _drop(self, why: str) -> None:
        """Put the corpus out of service: its tantivy objects are never touched again."""
        self._indexes, self._mapped = [], []
        self._bad = self._bad or self._stamps
        self._stamps = ()
        if self.problem != why:
            log.warning("corpus %s: %s; not served: %s", self.name, why, repair_hint(self.name))
        self.problem = why

    def _guard(self) -> None:
        """Stat the served files: one that shrank would kill the process at its next read."""
        for path, size in self._mapped:
            now = _size(path)
            if now is not None and now < size:
                rel = os.path.relpath(path, self.cs.index_dir)
                self._bad_sizes = True
                self._drop(f"index file {rel} shrank from {size} to {now} bytes")
                return

    def check(self) -> bool:
        """Before a query: False when the served files were damaged since the last refresh."""
        with self._lock:
            self._guard()
            return bool(self._indexes)

    @property
    def folder(self) -> Path:
        return self._layout.folder

    @property
    def partitions(self) -> list[tantivy.Index]:
        return self._indexes

    @property
    def schema(self) -> tantivy.Schema:
        return self._indexes[0].schema

    def parse(self, query: str) -> tuple[tantivy.Query, list[str]]:
        q, errors = self._indexes[0].parse_query_lenient(query, ["text"])
        return q, [str(e) for e in errors]

    def searchers(self) -> list[tantivy.Searcher]:
        return [i.searcher() for i in self._indexes]

    def num_docs(self) -> int:
        return sum(s.num_docs for s in self.searchers())


def _stat_key(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size)


def _damaged(names: list[str]) -> Damaged:
    which = ", ".join(sorted(names))
    one = len(names) == 1
    return Damaged(
        f"the index of {'corpus' if one else 'corpora'} {which} {'is' if one else 'are'} damaged "
        f"and cannot be searched: "
        + (repair_hint(names[0]) if one else "run `corpuscope verify --repair`")
    )


class Indexes:
    """Every corpus's index in a data directory, opened once and refreshed on use.

    A degraded corpus (see `CorpusIndex`) raises `Damaged` when a question asks for it, unless
    the question runs inside `tolerant()`: then it is left out, and its name collected so that
    the answer can say which corpora it does not cover.
    """

    def __init__(self, store: Store, threads: int | None = None):
        self.store = store
        self.threads = threads or Settings.model_fields["query_threads"].default
        self._open: dict[str, CorpusIndex] = {}
        self._lock = threading.Lock()
        self._local = threading.local()

    @contextmanager
    def tolerant(self) -> Iterator[set[str]]:
        """Within it (in this thread), degraded corpora are skipped and collected here."""
        outer = getattr(self._local, "skipped", None)
        mine: set[str] = set()
        self._local.skipped = mine
        try:
            yield mine
        finally:
            self._local.skipped = outer
            if outer is not None:
                outer |= mine

    def _unusable(self, names: list[str]) -> None:
        skipped = getattr(self._local, "skipped", None)
        if skipped is None:
            raise _damaged(names)
        skipped.update(names)

    def corpus_index(self, corpus: str) -> CorpusIndex:
        with self._lock:
            ci = self._open.get(corpus)
            if ci is None:
                ci = CorpusIndex(self.store.corpus(corpus))
                self._open[corpus] = ci
        return ci

    def get(self, corpus: str) -> CorpusIndex | None:
        """The corpus's index, refreshed and checked; None when it has none. A degraded one
        raises `Damaged` (inside `tolerant()`: None, and the name is collected)."""
        ci = self.corpus_index(corpus)
        if ci.refresh():
            return ci
        if ci.degraded:
            self._unusable([corpus])
        return None

    def state(self, corpus: str) -> CorpusIndex | None:
        """The corpus's index as last refreshed, without touching the disk (None: not opened)."""
        with self._lock:
            return self._open.get(corpus)

    def indexed(self, corpora: list[str] | None = None) -> list[CorpusIndex]:
        names = corpora if corpora else self.store.corpora()
        with self.tolerant() as skipped:
            out = [ci for ci in (self.get(c) for c in names) if ci is not None]
        if skipped and not out:
            raise _damaged(sorted(skipped))  # nothing left to answer from
        if skipped:
            self._unusable(sorted(skipped))
        return out

    def search(
        self, targets: list[CorpusIndex], build, limit: int, count: bool = True
    ) -> tuple[int, list[Found]]:
        """Run `build(corpus_index)` -> Query on every partition in parallel; top `limit` merged."""
        broken = [ci.name for ci in targets if not ci.check()]
        if broken:  # damaged since the question began: no answer rather than one without it
            raise _damaged(broken)
        from corpuscope.dsr.suppression import exclude, hidden_ids

        hidden = hidden_ids(self.store.root)  # erased or objected to: out of every answer now
        jobs = []
        for ci in targets:
            query = build(ci)
            if hidden:
                query = exclude(query, ci.schema, hidden)
            for searcher in ci.searchers():
                jobs.append((ci.name, searcher, query))

        def run(job):
            name, searcher, query = job
            res = searcher.search(query, limit, count=count)
            return res.count or 0, [Found(s, name, searcher, a) for s, a in res.hits]

        if len(jobs) > 1 and self.threads > 1:
            results = list(_pool(self.threads).map(run, jobs))
        else:
            results = [run(j) for j in jobs]
        total = sum(c for c, _ in results)
        merged = heapq.nlargest(
            limit, (f for _, hits in results for f in hits), key=lambda f: f.score
        )
        return total, merged

    @staticmethod
    def fetch(found: Found) -> StoredDoc:
        return StoredDoc.from_tantivy(found.searcher.doc(found.address))

    def find_doc(self, doc_id: str) -> StoredDoc | None:
        """A document by id, in whichever corpus holds it (`Damaged` when it is in none of the
        corpora that can be searched and some cannot)."""
        with self.tolerant() as skipped:
            cis = self.indexed()
        for ci in cis:
            q = tantivy.Query.term_query(ci.schema, "doc_id", doc_id)
            _, hits = self.search([ci], lambda _ci, q=q: q, 1, count=False)
            if hits:
                return self.fetch(hits[0])
        if skipped:
            raise _damaged(sorted(skipped))
        return None
