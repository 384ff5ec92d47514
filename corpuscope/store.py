"""The data directory: corpora, their manifests, and atomic publishing.

Layout (DESIGN.md, "The data directory")::

    <data>/corpora/<corpus>/manifest.json       shards, their source, fingerprint, counts, sha256
    <data>/corpora/<corpus>/shards/*.parquet    documents
    <data>/corpora/<corpus>/quarantine/*.parquet  records that could not be read, with reasons
    <data>/corpora/<corpus>/pii/*.parquet       PII span sidecars, one per shard
    <data>/corpora/<corpus>/pii/manifest.json   which shards were scanned, by which scanner
    <data>/corpora/<corpus>/index/              the tantivy index (CURRENT names its generation)
    <data>/corpora/<corpus>/stats/              statistics tables and their manifest
    <data>/secret.key                           the per-store key of identifier hashes

The data directory holds raw text with personal data: it is created readable by its owner
only (folders 0700, files 0600: a `Store` sets the process's umask to 077).

Every file is published atomically: written to a temporary name in the same folder, fsynced,
renamed, and the manifest is updated last. A reader lists shards from the manifest only, so
it sees a shard whole or not at all. Writers of one corpus are serialised by a lock file.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import stat
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpuscope.errors import CorpusLocked, NotFound, StoreError, UsageError
from corpuscope.models.work import Shard

MANIFEST_VERSION = 1
_CORPUS_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_TMP_MARK = ".tmp-"


def check_corpus_name(name: str) -> str:
    if not _CORPUS_NAME.match(name):
        raise UsageError(
            f"invalid corpus name {name!r}: use letters, digits, '.', '_' or '-' (at most 64)"
        )
    return name


def sha256_file(path: Path) -> str:
    """The sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def parquet_problem(path: Path, size: int | None = None, sha256: str | None = None) -> str | None:
    """Why a Parquet file cannot be trusted, or None: missing, another size than recorded, an
    unreadable footer, or (given `sha256`) other bytes than recorded."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        actual = path.stat().st_size
    except FileNotFoundError:
        return "missing"
    if size is not None and actual != size:
        return f"{actual} bytes, {size} recorded (truncated or replaced)"
    try:
        pq.read_metadata(path)
    except (OSError, pa.ArrowException) as exc:
        return f"unreadable Parquet footer ({type(exc).__name__})"
    if sha256 is not None and sha256_file(path) != sha256:
        return "sha256 differs from the one recorded"
    return None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish_bytes(path: Path, data: bytes | memoryview) -> None:
    """Atomically replace `path` with `data`: temp file in the same folder, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}{_TMP_MARK}{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _is_tmp(path: Path) -> bool:
    return path.name.startswith(".") and _TMP_MARK in path.name


@dataclass
class Manifest:
    """The published state of a corpus: its shards by id."""

    corpus: str
    shards: dict[str, Shard]
    updated: float = 0.0

    def done(self) -> list[Shard]:
        return [s for s in self.shards.values() if s.status == "done"]

    def totals(self) -> dict[str, int]:
        done = self.done()
        return {
            "shards": len(done),
            "failed": sum(1 for s in self.shards.values() if s.status == "failed"),
            "documents": sum(s.documents for s in done),
            "quarantined": sum(s.quarantined for s in done),
            "text_bytes": sum(s.text_bytes for s in done),
            "parquet_bytes": sum(s.parquet_bytes for s in done),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "version": MANIFEST_VERSION,
            "corpus": self.corpus,
            "updated": self.updated,
            "totals": self.totals(),
            "shards": [self.shards[k].to_json() for k in sorted(self.shards)],
        }


class CorpusStore:
    """One corpus in the data directory."""

    def __init__(self, root: Path, name: str):
        self.name = check_corpus_name(name)
        self.root = root
        self.shards_dir = root / "shards"
        self.quarantine_dir = root / "quarantine"
        self.manifest_path = root / "manifest.json"
        self.pii_dir = root / "pii"
        self.pii_manifest_path = self.pii_dir / "manifest.json"
        self.stats_dir = root / "stats"
        self.stats_manifest_path = self.stats_dir / "manifest.json"
        self.index_dir = root / "index"

    # -- reading -------------------------------------------------------------------------
    def manifest(self) -> Manifest:
        """The published manifest (empty when the corpus has none yet)."""
        try:
            data = json.loads(self.manifest_path.read_bytes())
        except FileNotFoundError:
            return Manifest(self.name, {})
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot read {self.manifest_path}: {exc}") from exc
        shards = {s["shard_id"]: Shard.from_json(s) for s in data.get("shards", [])}
        return Manifest(self.name, shards, data.get("updated", 0.0))

    def pii_manifest(self) -> dict[str, Any]:
        """The PII scan's manifest: {"shards": {shard_id: entry}} (empty before a scan)."""
        try:
            return json.loads(self.pii_manifest_path.read_bytes())
        except FileNotFoundError:
            return {"shards": {}}
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot read {self.pii_manifest_path}: {exc}") from exc

    def shard_problem(self, shard: Shard, deep: bool = False) -> str | None:
        """Why a done shard's file cannot be trusted (None when it can); cheap (size and
        footer) unless `deep` also compares its sha256 with the manifest's."""
        return parquet_problem(
            self.root / shard.parquet, shard.parquet_bytes, shard.sha256 if deep else None
        )

    def live_sidecars(self, shards: Iterable[Shard]) -> dict[str, dict[str, Any]]:
        """PII manifest entries of these shards made from their current bytes (a sidecar's
        offsets are only good for the text it was scanned in), by shard id."""
        entries = self.pii_manifest()["shards"]
        return {
            s.shard_id: entries[s.shard_id]
            for s in shards
            if entries.get(s.shard_id, {}).get("source_sha256") == s.sha256
        }

    def pii_paths(self) -> list[Path]:
        """Sidecars of the scanned shards that are still in the corpus."""
        live = self.live_sidecars(self.manifest().done())
        return [self.root / live[k]["path"] for k in sorted(live)]

    def shard_paths(self) -> list[Path]:
        """Parquet files of the published, done shards, in shard-id order."""
        m = self.manifest()
        return [self.root / s.parquet for s in sorted(m.done(), key=lambda s: s.shard_id)]

    def quarantine_paths(self) -> list[Path]:
        return sorted(p for p in self.quarantine_dir.glob("*.parquet") if not _is_tmp(p))

    # -- writing -------------------------------------------------------------------------
    @contextlib.contextmanager
    def write_lock(self, timeout: float = 0.0) -> Iterator[None]:
        """Hold the corpus's writer lock; wait up to `timeout` seconds, then refuse clearly.

        A corpus deleted while this process waited is refused too (`NotFound`): the lock it
        got is the deleted corpus's."""
        self.root.mkdir(parents=True, exist_ok=True)
        lock_path = self.root / ".write.lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
                        raise CorpusLocked(
                            f"corpus {self.name!r} is being written by another process "
                            f"({holder or 'unknown'}); wait for it to finish, or set "
                            "CORPUSCOPE_LOCK_TIMEOUT (ingest: --lock-timeout) to wait"
                        ) from None
                    time.sleep(0.2)
            if not _same_file(fd, lock_path):
                raise NotFound(
                    f"corpus {self.name!r} was deleted while this command waited for it; "
                    "run the command again"
                )
            os.ftruncate(fd, 0)
            os.pwrite(
                fd, f"pid {os.getpid()} since {time.strftime('%Y-%m-%dT%H:%M:%S')}".encode(), 0
            )
            self.sweep()
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    @contextlib.contextmanager
    def _manifest_lock(self) -> Iterator[None]:
        """Serialise manifest read-modify-write between the workers of one run."""
        fd = os.open(self.root / ".manifest.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def record(self, shards: list[Shard], drop: list[str] = ()) -> None:
        """Publish shard entries (replacing same ids) and drop others, manifest written last."""
        for s in shards:  # a sweep by a later run could have removed an orphaned worker's file
            if s.parquet and not (self.root / s.parquet).exists():
                raise StoreError(f"{s.parquet} vanished before it was recorded")
        with self._manifest_lock():
            m = self.manifest()
            for shard_id in drop:
                m.shards.pop(shard_id, None)
            for s in shards:
                m.shards[s.shard_id] = s
            m.updated = time.time()
            publish_bytes(self.manifest_path, json.dumps(m.to_json(), indent=1).encode())

    def record_pii(self, entries: dict[str, dict[str, Any]], drop: Iterable[str] = ()) -> None:
        """Publish PII manifest entries (replacing same shard ids), written last."""
        with self._manifest_lock():
            data = self.pii_manifest()
            for shard_id in drop:
                data["shards"].pop(shard_id, None)
            data["shards"].update(entries)
            data["updated"] = time.time()
            publish_bytes(
                self.pii_manifest_path, json.dumps(data, indent=1, sort_keys=True).encode()
            )
        for shard_id in drop:
            with contextlib.suppress(FileNotFoundError):
                (self.pii_dir / f"{shard_id}.parquet").unlink()

    def forget_source(self, source: str, keep_fingerprint: str) -> list[Shard]:
        """Remove from the manifest the shards of `source` made from a different input."""
        stale = [
            s
            for s in self.manifest().shards.values()
            if s.source == source and s.fingerprint != keep_fingerprint
        ]
        if stale:
            self.record([], drop=[s.shard_id for s in stale])
            for s in stale:
                self._unlink_files(s.shard_id)
        return stale

    def _unlink_files(self, shard_id: str) -> None:
        for path in (
            self.shards_dir / f"{shard_id}.parquet",
            self.quarantine_dir / f"{shard_id}.parquet",
        ):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def delete(self, timeout: float = 0.0) -> None:
        """Remove the corpus and everything derived from it (shards, quarantine, PII
        sidecars, index generations, statistics, provider file).

        Under the corpus's writer lock and the index and statistics builders' locks (refused
        with `CorpusLocked` while one of them runs), the folder is renamed away in one step,
        so a reader sees the corpus whole or not at all; then the renamed folder is removed.
        A deletion killed after the rename leaves that folder, which no listing shows and
        `Store.sweep_deleted` removes."""
        with (
            self.write_lock(timeout),
            _try_lock(self.index_dir / ".lock", f"an index build of {self.name!r} is running"),
            _try_lock(self.stats_dir / ".lock", f"a statistics build of {self.name!r} is running"),
        ):
            gone = self.root.with_name(f"{_DELETED_MARK}{self.name}-{time.time_ns():x}")
            os.rename(self.root, gone)
            _fsync_dir(self.root.parent)
        _remove_tree(gone)

    def sweep(self) -> list[Path]:
        """Remove temp files and shard files no manifest entry names (left by a crash).

        Only called while holding the writer lock, so no live writer's files are touched.
        """
        removed: list[Path] = []
        known = set(self.manifest().shards)
        for folder in (self.root, self.shards_dir, self.quarantine_dir):
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                orphan = (
                    folder != self.root and path.suffix == ".parquet" and path.stem not in known
                )
                if _is_tmp(path) or orphan:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
                    removed.append(path)
        return removed


_DELETED_MARK = ".deleted-"  # a corpus folder being removed (no corpus name starts with ".")


def _same_file(fd: int, path: Path) -> bool:
    """Is the open file `fd` still the one at `path` (not removed or renamed away)?"""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)


@contextlib.contextmanager
def _try_lock(path: Path, busy: str) -> Iterator[None]:
    """Hold the flock of `path` (an existing lock file of a builder), or refuse at once with
    `CorpusLocked` saying `busy`; nothing to hold when the file does not exist."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CorpusLocked(f"{busy}; wait for it to finish") from None
        yield
    finally:
        os.close(fd)


def _remove_tree(path: Path) -> None:
    """Remove a folder and everything under it; parts already gone are no error."""
    import shutil

    shutil.rmtree(path, ignore_errors=True)


class Store:
    """The data directory (default ./corpuscope-data, or CORPUSCOPE_DATA, or --data-dir)."""

    def __init__(self, root: Path | str):
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"data directory {self.root} exists and is not a folder")
        os.umask(0o077)  # every folder and file written under it is its owner's only

    def exposure(self) -> str | None:
        """A warning when others may read the data directory (it holds personal data)."""
        try:
            mode = self.root.stat().st_mode
        except FileNotFoundError:
            return None
        if mode & 0o077:
            return (
                f"the data directory {self.root} is readable by other users (mode "
                f"{stat.filemode(mode)}); it holds personal data: chmod -R go-rwx {self.root}"
            )
        return None

    def corpus(self, name: str) -> CorpusStore:
        return CorpusStore(self.root / "corpora" / check_corpus_name(name), name)

    def corpora(self) -> list[str]:
        folder = self.root / "corpora"
        if not folder.is_dir():
            return []
        return sorted(
            p.name
            for p in folder.iterdir()
            if not p.name.startswith(".") and (p / "manifest.json").exists()
        )

    def sweep_deleted(self) -> list[Path]:
        """Remove what deletions killed midway left (renamed corpus folders)."""
        folder = self.root / "corpora"
        if not folder.is_dir():
            return []
        left = [p for p in folder.iterdir() if p.name.startswith(_DELETED_MARK)]
        for path in left:
            _remove_tree(path)
        return left
