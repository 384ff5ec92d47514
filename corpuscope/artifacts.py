"""Derived artifacts and what they were made from: one rule for current, stale or missing.

Everything derived from a corpus's shards (PII sidecars, the index, the statistics; later
portraits and exports) records a `Made`: the step that made it, that step's version, and the
sha256 of each input (paths relative to the corpus folder). `compare` holds it against what
the step would make from the corpus as it is now: equal is current; otherwise stale, and the
reason says what changed; no record is missing. `statuses` answers for a whole corpus from
the manifests alone (cheap: health checks and `corpora` use it); `corpuscope verify` adds the
checks of the files themselves (`corpuscope.verify`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from corpuscope.config import Settings
from corpuscope.store import CorpusStore

STATES = ("current", "stale", "missing", "damaged")


@dataclass(frozen=True)
class Made:
    """What made an artifact: the step, its version, and the sha256 of each input."""

    step: str
    version: str
    inputs: dict[str, str]  # input path (relative to the corpus folder) -> sha256

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "version": self.version,
            "inputs": dict(sorted(self.inputs.items())),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Made | None:
        if not data:
            return None
        return cls(data["step"], str(data["version"]), dict(data["inputs"]))


@dataclass(frozen=True)
class Status:
    """Where one artifact stands: current, stale (and why), missing or damaged (and how)."""

    corpus: str
    artifact: str  # its path relative to the corpus folder
    step: str  # the step that makes (or, for a shard, writes) it: ingest, scan, index, stats
    state: str
    reason: str = ""

    def to_json(self) -> dict[str, str]:
        return asdict(self)


def compare(corpus: str, artifact: str, recorded: Made | None, expected: Made) -> Status:
    """Current when the artifact was made by this step's version from exactly these inputs."""

    def status(state: str, reason: str = "") -> Status:
        return Status(corpus, artifact, expected.step, state, reason)

    if recorded is None:
        return status("missing", f"not made yet: run `corpuscope {expected.step}`")
    if recorded.version != expected.version:
        return status(
            "stale", f"made by {expected.step} version {recorded.version}, now {expected.version}"
        )
    new = sorted(expected.inputs.keys() - recorded.inputs.keys())
    gone = sorted(recorded.inputs.keys() - expected.inputs.keys())
    changed = sorted(
        k
        for k in expected.inputs.keys() & recorded.inputs.keys()
        if expected.inputs[k] != recorded.inputs[k]
    )
    if not (new or gone or changed):
        return status("current")
    parts = [
        f"{len(paths)} {what} ({', '.join(paths[:2])}{' …' if len(paths) > 2 else ''})"
        for what, paths in (("new", new), ("removed", gone), ("changed", changed))
        if paths
    ]
    return status("stale", "inputs since it was made: " + "; ".join(parts))


def live_inputs(cs: CorpusStore) -> dict[str, str]:
    """The inputs of the index and the statistics: every done shard, and the PII sidecar of
    each shard whose sidecar was made from its current bytes."""
    shards = cs.manifest().done()
    inputs = {s.parquet: s.sha256 for s in shards}
    inputs.update({e["path"]: e["sha256"] for e in cs.live_sidecars(shards).values()})
    return inputs


def sidecar_made(entry: dict[str, Any], shard_parquet: str) -> Made:
    """What a PII manifest entry says made its sidecar (entries before `made` was recorded
    carry the same facts in `scanner` and `source_sha256`)."""
    return Made.from_json(entry.get("made")) or Made(
        "scan", entry["scanner"], {shard_parquet: entry["source_sha256"]}
    )


@lru_cache(maxsize=8)
def _scanner_version(phone_regions: str, phone_region: str, ner: bool, ner_max_chars: int) -> str:
    from corpuscope.privacy.scan import ner_model, scanner_version

    settings = Settings(
        phone_regions=phone_regions, phone_region=phone_region, ner=ner, ner_max_chars=ner_max_chars
    )
    return scanner_version(settings, ner_model(settings))


def current_scanner(settings: Settings) -> str:
    """The version a scan with these settings would record (computed once per process)."""
    return _scanner_version(
        settings.phone_regions, settings.phone_region, settings.ner, settings.ner_max_chars
    )


def statuses(cs: CorpusStore, settings: Settings) -> list[Status]:
    """Every derived artifact of a corpus, from the manifests: sidecars, index, statistics."""
    from corpuscope.index.build import index_made
    from corpuscope.index.schema import INDEX_VERSION
    from corpuscope.stats.build import STATS_VERSION, read_manifest

    scanner = current_scanner(settings)
    sidecars = cs.pii_manifest()["shards"]
    out = []
    for s in sorted(cs.manifest().done(), key=lambda s: s.shard_id):
        entry = sidecars.get(s.shard_id)
        recorded = sidecar_made(entry, s.parquet) if entry else None
        expected = Made("scan", scanner, {s.parquet: s.sha256})
        artifact = entry["path"] if entry else f"pii/{s.shard_id}.parquet"
        out.append(compare(cs.name, artifact, recorded, expected))
    inputs = live_inputs(cs)
    out.append(compare(cs.name, "index", index_made(cs), Made("index", str(INDEX_VERSION), inputs)))
    manifest = read_manifest(cs)
    recorded = Made.from_json(manifest.get("made")) if manifest else None
    out.append(compare(cs.name, "stats", recorded, Made("stats", str(STATS_VERSION), inputs)))
    return out


def summarise(found: list[Status]) -> dict[str, str]:
    """One state per step: `scanned` (every shard's sidecar), `indexed`, `stats`."""

    def worst(states: list[str]) -> str:
        for state in ("damaged", "missing", "stale"):
            if state in states:
                return state
        return "current"

    scans = [s.state for s in found if s.step == "scan"]
    return {
        "scanned": worst(scans) if scans else "missing",
        "indexed": worst([s.state for s in found if s.step == "index"]),
        "stats": worst([s.state for s in found if s.step == "stats"]),
    }
