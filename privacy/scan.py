"""The PII scan stage: a sidecar of personal-data spans for every document shard.

`scan_shard` is the unit of work (run by the same executors as ingest): it reads a shard's
`doc_id`, `text` and `language` in batches, finds the pattern entities with the tiered
`Detector` (and names and places with spaCy when asked), hashes each value with the store's
key, and publishes `pii/<shard>.parquet` atomically, then its manifest entry. A shard already
scanned by the same scanner version is skipped; a new scanner version, or a changed shard,
is rescanned. The text is never rewritten and raw values are stored nowhere.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpuscope.artifacts import Made
from corpuscope.config import Settings
from corpuscope.models.documents import PII_SCHEMA, PiiSpan
from corpuscope.models.runs import ScanSummary
from corpuscope.models.work import PiiShard, ScanTask
from corpuscope.privacy.entities import NER_ENTITIES, PATTERN_ENTITIES
from corpuscope.store import Store, publish_bytes

#: Languages the NER tier can read (the spaCy models corpuscope looks for are English).
NER_LANGUAGES = ("en",)
#: spaCy labels -> Presidio entities, and the score Presidio's SpacyRecognizer gives them.
SPACY_ENTITIES = {
    "PERSON": "PERSON",
    "PER": "PERSON",
    "GPE": "LOCATION",
    "LOC": "LOCATION",
    "FAC": "LOCATION",
}
SPACY_SCORE = 0.85


def scanner_version(settings: Settings, ner_model: str | None) -> str:
    """Changes whenever what the scan would find changes: library versions, our patterns
    and false-alarm checks, phone regions, the NER model."""
    from importlib.metadata import version

    from corpuscope.privacy.detect import TRIGGERS
    from corpuscope.privacy.recognizers import REVIEW_VERSION, SECRET_PATTERNS

    parts = [
        version("presidio-analyzer"),  # the module has no __version__: read the installed one
        version("phonenumbers"),
        repr(sorted((k, v.pattern, v.margin) for k, v in TRIGGERS.items())),
        repr(SECRET_PATTERNS),
        REVIEW_VERSION,  # the false-alarm checks and score adjustments (recognizers.review)
        settings.phone_regions,
        settings.phone_region,
        ner_model or "no-ner",
        str(settings.ner_max_chars) if ner_model else "",
    ]
    return hashlib.blake2b("\x00".join(parts).encode(), digest_size=8).hexdigest()


@lru_cache(maxsize=2)
def _nlp(model: str) -> Any:
    import spacy

    nlp = spacy.load(model, exclude=["parser", "lemmatizer", "attribute_ruler", "tagger", "senter"])
    nlp.max_length = 2_000_000
    return nlp


def ner_model(settings: Settings) -> str | None:
    """The spaCy model the scan will use: None unless NER is on and a model is installed."""
    if not settings.ner:
        return None
    from corpuscope.privacy.recognizers import spacy_model

    return spacy_model()


def scan_shard(
    task: ScanTask, data_root: str, settings: Settings, force: bool = False
) -> PiiShard | None:
    """Scan one shard; None when it was already scanned by this scanner version."""
    # Imported here: the driver of a pooled scan does not load Presidio (unless --ner asks
    # for a model), only its workers do.
    from corpuscope.privacy.detect import detector_name, shared_detector
    from corpuscope.privacy.hashing import store_key, value_hash

    cs = Store(data_root).corpus(task.corpus)
    model = ner_model(settings)
    version = scanner_version(settings, model)
    done = cs.pii_manifest()["shards"].get(task.shard_id)
    if (
        not force
        and done
        and done.get("scanner") == version
        and done.get("source_sha256") == task.sha256
    ):
        return None
    started = time.perf_counter()
    key = store_key(Path(data_root))
    detector = shared_detector(settings.phone_regions)
    spans: list[PiiSpan] = []
    by_language: dict[str, Counter[str]] = defaultdict(Counter)
    documents = with_pii = text_bytes = 0
    pf = pq.ParquetFile(cs.root / task.parquet)
    for batch in pf.iter_batches(
        batch_size=settings.scan_batch_docs, columns=["doc_id", "text", "language"]
    ):
        ids = batch.column("doc_id").to_pylist()
        texts = batch.column("text")
        langs = batch.column("language").to_pylist()
        pytexts = texts.to_pylist()
        found = detector.detect_batch(texts, pytexts)
        if model:
            _add_names(found, pytexts, langs, model, settings.ner_max_chars)
        documents += len(ids)
        text_bytes += pc.sum(pc.binary_length(texts)).as_py() or 0
        for doc_id, text, lang, results in zip(ids, pytexts, langs, found, strict=True):
            counts = by_language[lang]
            counts["documents"] += 1
            if results:
                with_pii += 1
                counts["documents_with_pii"] += 1
            for r in results:
                counts[r.entity_type] += 1
                spans.append(
                    PiiSpan(
                        doc_id=doc_id,
                        start=r.start,
                        end=r.end,
                        entity_type=r.entity_type,
                        score=float(r.score),
                        detector=detector_name(r),
                        value_hash=value_hash(
                            key, r.entity_type, text[r.start : r.end], settings.phone_region
                        ),
                    )
                )
    data = _sidecar_bytes(spans)
    rel = f"pii/{task.shard_id}.parquet"
    publish_bytes(cs.root / rel, data)
    entry = PiiShard(
        shard_id=task.shard_id,
        source_sha256=task.sha256,
        scanner=version,
        path=rel,
        sha256=hashlib.sha256(data).hexdigest(),
        documents=documents,
        documents_with_pii=with_pii,
        spans=len(spans),
        text_bytes=text_bytes,
        by_entity=dict(Counter(s.entity_type for s in spans)),
        by_language={k: dict(v) for k, v in sorted(by_language.items())},
        ner=model,
        made=Made("scan", version, {task.parquet: task.sha256}).to_json(),
        seconds=round(time.perf_counter() - started, 3),
    )
    cs.record_pii({task.shard_id: entry.to_json()})
    return entry


def _sidecar_bytes(spans: list[PiiSpan]) -> bytes:
    table = pa.Table.from_pydict(
        {name: [getattr(s, name) for s in spans] for name in PII_SCHEMA.names}, schema=PII_SCHEMA
    )
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def _add_names(
    found: list[list[Any]], texts: list[str], langs: list[str], model: str, max_chars: int
) -> None:
    """Tier 3: PERSON and LOCATION with spaCy's `nlp.pipe`, on documents it can read."""
    from presidio_analyzer import RecognizerResult

    rows = [i for i, lang in enumerate(langs) if lang in NER_LANGUAGES]
    docs = _nlp(model).pipe((texts[i][:max_chars] for i in rows), batch_size=32)
    for i, doc in zip(rows, docs, strict=True):
        for ent in doc.ents:
            entity = SPACY_ENTITIES.get(ent.label_)
            if entity:
                found[i].append(
                    RecognizerResult(
                        entity,
                        ent.start_char,
                        ent.end_char,
                        SPACY_SCORE,
                        recognition_metadata={
                            RecognizerResult.RECOGNIZER_NAME_KEY: "SpacyRecognizer"
                        },
                    )
                )


# -- a whole run -------------------------------------------------------------------------------
def _guarded_scan(
    task: ScanTask, data_root: str, settings: Settings, force: bool
) -> PiiShard | str | None:
    """scan_shard, with an error message instead of an exception (kept picklable)."""
    try:
        return scan_shard(task, data_root, settings, force)
    except Exception as exc:
        return f"{task.shard_id}: {type(exc).__name__}: {exc}"


def scan(
    store: Store,
    corpus: str,
    settings: Settings,
    executor: Any,
    force: bool = False,
    on_progress: Callable[[ScanTask], None] | None = None,
) -> ScanSummary:
    """Scan every published shard of a corpus that this scanner has not scanned yet."""
    cs = store.corpus(corpus)
    model = ner_model(settings)
    summary = ScanSummary(corpus=corpus, ner_model=model)
    started = time.perf_counter()
    with cs.write_lock(settings.lock_timeout):
        shards = cs.manifest().done()
        live = {s.shard_id for s in shards}
        stale = [k for k in cs.pii_manifest()["shards"] if k not in live]
        if stale:
            cs.record_pii({}, drop=stale)
        tasks = [ScanTask(corpus, s.shard_id, s.parquet, s.sha256, s.parquet_bytes) for s in shards]
        entries = cs.pii_manifest()["shards"]
        for task, result in executor.run(_guarded_scan, tasks, str(store.root), settings, force):
            if isinstance(result, (str, Exception)):
                summary.shards_failed += 1
                summary.failures.append({"shard": task.shard_id, "error": str(result)})
            elif result is None:
                summary.shards_skipped += 1
            else:
                summary.shards_scanned += 1
                entries[task.shard_id] = result.to_json()
            if on_progress:
                on_progress(task)
        for task in tasks:
            if task.shard_id in entries:
                _add(summary, PiiShard.from_json(entries[task.shard_id]))
    summary.seconds = time.perf_counter() - started
    summary.by_language = _language_report(summary.by_language, model)
    return summary


def _add(summary: ScanSummary, e: PiiShard) -> None:
    summary.documents += e.documents
    summary.documents_with_pii += e.documents_with_pii
    summary.spans += e.spans
    summary.text_bytes += e.text_bytes
    for k, v in e.by_entity.items():
        summary.by_entity[k] = summary.by_entity.get(k, 0) + v
    for lang, counts in e.by_language.items():
        agg = summary.by_language.setdefault(lang, {})
        for k, v in counts.items():
            agg[k] = agg.get(k, 0) + v


def _language_report(
    by_language: dict[str, dict[str, Any]], model: str | None
) -> dict[str, dict[str, Any]]:
    """Per language: documents, spans per entity, and the entities not looked for in it."""
    report = {}
    for lang, counts in sorted(by_language.items(), key=lambda kv: -kv[1].get("documents", 0)):
        entry: dict[str, Any] = {
            "documents": counts.get("documents", 0),
            "documents_with_pii": counts.get("documents_with_pii", 0),
            "spans": {e: counts[e] for e in (*PATTERN_ENTITIES, *NER_ENTITIES) if counts.get(e)},
        }
        if not model:
            entry["not_detected"] = {
                e: "NER is off (scan --ner) or no spaCy model is installed" for e in NER_ENTITIES
            }
        elif lang not in NER_LANGUAGES:
            entry["not_detected"] = {e: f"no NER model for language {lang!r}" for e in NER_ENTITIES}
        report[lang] = entry
    return report
