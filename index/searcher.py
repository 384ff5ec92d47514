"""Open corpus indexes for reading: partitions searched in parallel, results merged.

A `CorpusIndex` holds the tantivy partitions of the published generation of one corpus. It
notices a newer build (``CURRENT`` replaced, or a partition committed) and reloads, so a
long-running API always answers from the latest complete state: tantivy publishes a commit
atomically and a searcher is an immutable snapshot, so a query never sees half a build.
"""

from __future__ import annotations

import heapq
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import orjson
import tantivy

from corpuscope.index.build import Layout, index_root, read_layout
from corpuscope.index.schema import open_index
from corpuscope.models.documents import PiiSpan
from corpuscope.store import CorpusStore, Store


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
    timestamp: datetime | None
    spans: list[PiiSpan]

    @classmethod
    def from_tantivy(cls, doc: tantivy.Document) -> StoredDoc:
        d = doc.to_dict()

        def first(name: str):
            v = d.get(name)
            return v[0] if v else None

        raw = first("spans")
        spans = [
            PiiSpan(first("doc_id"), s, e, t, sc, "", h)
            for s, e, t, sc, h in (orjson.loads(bytes(raw)) if raw else [])
        ]
        return cls(
            doc_id=first("doc_id"),
            corpus=first("corpus"),
            shard=first("shard"),
            text=first("text") or "",
            url=first("url"),
            domain=first("domain"),
            language=first("language"),
            timestamp=first("timestamp"),
            spans=spans,
        )


_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="corpuscope-search")


class CorpusIndex:
    """The partitions of one corpus's current index generation."""

    def __init__(self, cs: CorpusStore):
        self.cs, self.name = cs, cs.name
        self._lock = threading.Lock()
        self._layout: Layout | None = None
        self._indexes: list[tantivy.Index] = []
        self._stamps: tuple = ()

    def _stamp(self, layout: Layout) -> tuple:
        out = []
        for p in layout.partition_paths():
            try:
                out.append((p / "meta.json").stat().st_mtime_ns)
            except FileNotFoundError:
                out.append(0)
        return (layout.generation, *out)

    def refresh(self) -> bool:
        """Pick up a newer build; False when the corpus has no index yet."""
        for attempt in range(3):
            try:
                return self._refresh()
            except ValueError:  # a newer build removed the generation just read: read again
                if attempt == 2:
                    raise
        return False

    def _refresh(self) -> bool:
        layout = read_layout(index_root(self.cs))
        if layout.generation is None:
            return False
        stamp = self._stamp(layout)
        if stamp != self._stamps:
            with self._lock:
                if self._layout is None or layout.generation != self._layout.generation:
                    self._indexes = [open_index(str(p)) for p in layout.partition_paths()]
                else:
                    for index in self._indexes:
                        index.reload()
                self._layout, self._stamps = layout, stamp
        return True

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


class Indexes:
    """Every corpus's index in a data directory, opened once and refreshed on use."""

    def __init__(self, store: Store):
        self.store = store
        self._open: dict[str, CorpusIndex] = {}
        self._lock = threading.Lock()

    def get(self, corpus: str) -> CorpusIndex | None:
        with self._lock:
            ci = self._open.get(corpus)
            if ci is None:
                ci = CorpusIndex(self.store.corpus(corpus))
                self._open[corpus] = ci
        return ci if ci.refresh() else None

    def indexed(self, corpora: list[str] | None = None) -> list[CorpusIndex]:
        names = corpora if corpora else self.store.corpora()
        return [ci for ci in (self.get(c) for c in names) if ci is not None]

    def search(
        self, targets: list[CorpusIndex], build, limit: int, count: bool = True
    ) -> tuple[int, list[Found]]:
        """Run `build(corpus_index)` -> Query on every partition in parallel; top `limit` merged."""
        jobs = []
        for ci in targets:
            query = build(ci)
            for searcher in ci.searchers():
                jobs.append((ci.name, searcher, query))

        def run(job):
            name, searcher, query = job
            res = searcher.search(query, limit, count=count)
            return res.count or 0, [Found(s, name, searcher, a) for s, a in res.hits]

        results = list(_POOL.map(run, jobs)) if len(jobs) > 1 else [run(j) for j in jobs]
        total = sum(c for c, _ in results)
        merged = heapq.nlargest(
            limit, (f for _, hits in results for f in hits), key=lambda f: f.score
        )
        return total, merged

    @staticmethod
    def fetch(found: Found) -> StoredDoc:
        return StoredDoc.from_tantivy(found.searcher.doc(found.address))

    def find_doc(self, doc_id: str) -> StoredDoc | None:
        """A document by id, in whichever corpus holds it."""
        for ci in self.indexed():
            q = tantivy.Query.term_query(ci.schema, "doc_id", doc_id)
            _, hits = self.search([ci], lambda _ci, q=q: q, 1, count=False)
            if hits:
                return self.fetch(hits[0])
        return None
