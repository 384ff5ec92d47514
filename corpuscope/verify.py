"""Integrity: find what is damaged or stale in a corpus, and repair exactly that.

`verify_corpus` checks every shard against the manifest (size, readable Parquet footer,
sha256), every PII sidecar, the index and the statistics against what they were made from
(`corpuscope.artifacts`) and against the size and sha256 recorded for each of their files,
and opens the index partitions with tantivy. `repair` redoes what it found, in pipeline
order: re-ingest the damaged shards from their recorded source, rescan, reindex, restats.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from corpuscope.artifacts import Status, statuses
from corpuscope.config import Settings
from corpuscope.store import CorpusStore, Store, parquet_problem, sha256_file

#: States `verify` fails on (`missing` is an artifact never built: reported, not an error).
BAD = ("damaged", "stale")


@dataclass
class Report:
    """What `verify` found in one corpus (and, after `--repair`, what it did)."""

    corpus: str
    found: list[Status] = field(default_factory=list)  # everything not current
    before: list[Status] = field(default_factory=list)  # what a repair started from
    repaired: list[str] = field(default_factory=list)
    unrepaired: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)  # files checked, by step

    @property
    def ok(self) -> bool:
        return not any(s.state in BAD for s in self.found) and not self.unrepaired

    def to_json(self) -> dict[str, Any]:
        return {
            "corpus": self.corpus,
            "ok": self.ok,
            "checked": self.checked,
            "problems": [s.to_json() for s in self.found],
            "before_repair": [s.to_json() for s in self.before],
            "repaired": self.repaired,
            "unrepaired": self.unrepaired,
        }


def _damaged(cs: CorpusStore, artifact: str, step: str, reason: str) -> Status:
    return Status(cs.name, artifact, step, "damaged", reason)


def _check_shards(cs: CorpusStore, deep: bool, report: Report) -> None:
    shards = cs.manifest().shards.values()
    for s in sorted(shards, key=lambda s: s.shard_id):
        if s.status == "failed":
            report.found.append(
                _damaged(cs, f"shards/{s.shard_id}.parquet", "ingest", f"ingest failed: {s.error}")
            )
            continue
        problem = cs.shard_problem(s, deep)
        if problem:
            report.found.append(_damaged(cs, s.parquet, "ingest", problem))
    report.checked["ingest"] = len(shards)


def _check_sidecars(cs: CorpusStore, found: list[Status], deep: bool, report: Report) -> None:
    scans = [s for s in found if s.step == "scan"]
    scanned_any = any(s.state != "missing" for s in scans)
    entries = {e["path"]: e for e in cs.pii_manifest()["shards"].values()}
    for s in scans:
        if s.state == "missing" and scanned_any:  # a corpus scanned before this shard came
            s = Status(s.corpus, s.artifact, s.step, "stale", "not scanned since it was ingested")
        if s.state == "current":
            entry = entries[s.artifact]
            problem = parquet_problem(cs.root / s.artifact, None, entry["sha256"] if deep else None)
            if problem:
                s = _damaged(cs, s.artifact, "scan", problem)
        if s.state != "current":
            report.found.append(s)
    report.checked["scan"] = len(scans)


def _check_index(cs: CorpusStore, status: Status, deep: bool, report: Report) -> None:
    from corpuscope.index.build import read_layout
    from corpuscope.index.schema import open_index

    layout = read_layout(cs.index_dir)
    files = layout.extra.get("files") or {}
    report.checked["index"] = len(files)
    problems = []
    for rel, (size, digest) in sorted(files.items()):
        path = layout.folder / rel
        try:
            actual = path.stat().st_size
        except FileNotFoundError:
            problems.append(f"{rel}: missing")
            continue
        if actual != size:
            problems.append(f"{rel}: {actual} bytes, {size} recorded")
        elif deep and sha256_file(path) != digest:
            problems.append(f"{rel}: sha256 differs from the one recorded")
    if not problems and layout.generation is not None:
        for part in layout.partition_paths():
            try:
                if not (part / "meta.json").exists():
                    raise OSError("no meta.json")
                open_index(str(part)).searcher()
            except (OSError, ValueError) as exc:  # tantivy reports a damaged index as ValueError
                problems.append(f"{part.name}: tantivy cannot open it ({type(exc).__name__})")
    if problems:
        where = f"index/{layout.generation}"
        report.found.append(_damaged(cs, where, "index", "; ".join(problems[:5])))
    elif status.state != "current":
        report.found.append(status)


def _check_stats(cs: CorpusStore, status: Status, deep: bool, report: Report) -> None:
    from corpuscope.stats.build import read_manifest

    manifest = read_manifest(cs) or {"tables": {}}
    tables = manifest["tables"]
    report.checked["stats"] = len(tables)
    for entry in tables.values():
        rel = f"stats/{entry['file']}"
        problem = parquet_problem(cs.root / rel, None, entry["sha256"] if deep else None)
        if problem:
            report.found.append(_damaged(cs, rel, "stats", problem))
            return
    if status.state != "current":
        report.found.append(status)


def verify_corpus(cs: CorpusStore, settings: Settings, deep: bool = True) -> Report:
    """Everything in the corpus that is damaged, stale or missing (`deep`: sha256 of every file)."""
    report = Report(cs.name)
    _check_shards(cs, deep, report)
    found = statuses(cs, settings)
    _check_sidecars(cs, found, deep, report)
    (index,) = (s for s in found if s.step == "index")
    _check_index(cs, index, deep, report)
    (stats,) = (s for s in found if s.step == "stats")
    _check_stats(cs, stats, deep, report)
    _check_suppressed(cs, report)
    return report


def _check_suppressed(cs: CorpusStore, report: Report) -> None:
    """Documents on the suppression list still in the stored files (`corpuscope dsr apply`
    removes them; answers already leave them out)."""
    from corpuscope.dsr.suppression import pending

    waiting = pending(cs.root.parent.parent, cs.name)
    if waiting:
        report.found.append(
            Status(
                cs.name,
                "shards",
                "dsr",
                "stale",
                f"{len(waiting)} suppressed document(s) still stored: run `corpuscope dsr apply`",
            )
        )


def repair(cs: CorpusStore, settings: Settings, report: Report) -> None:
    """Redo exactly what `report` found damaged or stale, in pipeline order."""
    from corpuscope import jobs
    from corpuscope.errors import Damaged
    from corpuscope.ingest.executors import make_executor
    from corpuscope.ingest.pipeline import ingest, replan

    bad = [s for s in report.found if s.state in BAD]
    shards = {s.shard_id: s for s in cs.manifest().shards.values()}
    by_source: dict[str, list[str]] = defaultdict(list)
    for s in bad:
        if s.step == "ingest":
            shard_id = s.artifact.removeprefix("shards/").removesuffix(".parquet")
            by_source[shards[shard_id].source].append(shard_id)
    tasks = []
    for source, ids in sorted(by_source.items()):
        try:
            tasks.append(replan(shards[ids[0]], cs.name, settings))
        except Damaged as exc:
            report.unrepaired.append(str(exc))
            continue
        cs.record([], drop=ids)  # the rerun of the source writes exactly these again
        report.repaired.extend(f"re-ingested {shards[i].parquet} from {source}" for i in ids)
    if tasks:
        runner = make_executor("local", 1)  # in this process: a repair is a few shards
        summary = ingest(Store(settings.data), cs.name, tasks, settings, runner)
        report.unrepaired.extend(f"{f['source']}: {f['error']}" for f in summary.failures)
    if report.unrepaired:
        return  # what is derived from the shards cannot be redone over damaged ones
    scans = [s for s in bad if s.step == "scan"]
    if scans or tasks:
        damaged = [s.artifact for s in scans if s.state == "damaged"]
        ids = [k for k, e in cs.pii_manifest()["shards"].items() if e["path"] in damaged]
        cs.record_pii({}, drop=ids)  # so the scan does not skip them as done
        summary = jobs.scan(settings, cs.name)
        report.repaired.append(f"rescanned {summary.shards_scanned} shard(s)")
        report.unrepaired.extend(f"{f['shard']}: {f['error']}" for f in summary.failures)
    index = [s for s in bad if s.step == "index"]
    if index or scans or tasks:
        rebuild = any(s.state == "damaged" for s in index)
        summary = jobs.index(settings, cs.name, rebuild=rebuild)
        report.repaired.append(
            ("rebuilt the index" if rebuild else "updated the index")
            + f" ({summary.shards_added} shard(s) added, {summary.shards_removed} removed)"
        )
    stats = [s for s in bad if s.step == "stats"]
    if stats or (cs.stats_manifest_path.exists() and (tasks or scans or index)):
        jobs.stats(settings, cs.name)
        report.repaired.append("recomputed the statistics")
