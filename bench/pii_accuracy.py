"""PII accuracy: precision and recall per entity of corpuscope's scan.

Two labelled sets:

1. the presidio-evaluator synthetic set (`samples/pii/presidio-evaluator-synth-v2.json`,
   1,500 sentences, MIT, from PyPI `presidio-evaluator` 0.3.2); its GPE and STREET_ADDRESS
   labels are scored as LOCATION;
2. a planted set: real C4 documents from `samples/` with fake identities inserted at known
   offsets (`tests/planted.py`): e-mails, phones in several national formats, IPs, cards,
   IBANs, names.

Targets on the planted set: recall >= 0.99 and precision >= 0.95 for e-mail, IP, card and IBAN;
recall >= 0.95 for phones; PERSON F1 reported when a spaCy model is installed.

Baseline on the planted set: Presidio's own recognizers run on every whole document
(`Detector.full_scan`, no trigger windows), scored the same way; the ratio of corpuscope's
pattern recall to it says whether the tiered scan loses anything.

    .venv/bin/python bench/pii_accuracy.py [--planted-docs 1000] [--out bench/out/pii_accuracy.json]
    .venv/bin/python bench/pii_accuracy.py --smoke   # 300 sentences, 100 documents, no NER

A find counts as a hit when it overlaps a labelled span of the same entity.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from corpuscope.privacy.detect import Detector  # noqa: E402
from corpuscope.privacy.entities import NER_ENTITIES, PATTERN_ENTITIES  # noqa: E402
from corpuscope.privacy.recognizers import spacy_model  # noqa: E402
from corpuscope.privacy.scan import SPACY_ENTITIES, _nlp  # noqa: E402
from tests.planted import make_planted  # noqa: E402

EVALUATOR = ROOT / "samples" / "pii" / "presidio-evaluator-synth-v2.json"
LABEL_MAP = {"GPE": "LOCATION", "STREET_ADDRESS": "LOCATION"}
ENTITIES = (*(e for e in PATTERN_ENTITIES if e not in ("CRYPTO", "SECRET_KEY")), *NER_ENTITIES)


def detect_all(
    texts: list[str], model: str | None, full_scan: bool = False
) -> list[list[tuple[str, int, int]]]:
    detector = Detector()
    detect = detector.full_scan if full_scan else detector.detect
    found = [[(r.entity_type, r.start, r.end) for r in detect(t)] for t in texts]
    if model:
        for spans, doc in zip(found, _nlp(model).pipe(texts, batch_size=64), strict=True):
            spans += [
                (SPACY_ENTITIES[e.label_], e.start_char, e.end_char)
                for e in doc.ents
                if e.label_ in SPACY_ENTITIES
            ]
    return found


def prf(
    gold: list[list[tuple[str, int, int]]], found: list[list[tuple[str, int, int]]], entity: str
) -> dict[str, float]:
    def overlaps(a: tuple[str, int, int], spans: list[tuple[str, int, int]]) -> bool:
        return any(t == entity and s < a[2] and e > a[1] for t, s, e in spans)

    g = [(i, x) for i, spans in enumerate(gold) for x in spans if x[0] == entity]
    f = [(i, x) for i, spans in enumerate(found) for x in spans if x[0] == entity]
    recall = sum(overlaps(x, found[i]) for i, x in g) / len(g) if g else float("nan")
    precision = sum(overlaps(x, gold[i]) for i, x in f) / len(f) if f else float("nan")
    f1 = (2 * precision * recall / (precision + recall)) if g and f and precision + recall else 0.0
    return {
        "gold": len(g),
        "found": len(f),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--planted-docs", type=int, default=1000)
    ap.add_argument("--out", type=Path, help="default: bench/out/pii_accuracy.json")
    ap.add_argument("--smoke", action="store_true", help="a tiny run that checks it works")
    args = ap.parse_args()
    sentences = None
    if args.smoke:
        args.planted_docs, sentences = 100, 300
        print("--smoke: 300 synthetic sentences, 100 planted documents, NER off")
    out = args.out or (None if args.smoke else ROOT / "bench" / "out" / "pii_accuracy.json")
    model = None if args.smoke else spacy_model()
    print(f"NER model: {model or 'none (PERSON and LOCATION not scored)'}")
    results: dict[str, dict] = {"ner_model": model, "smoke": args.smoke}

    records = json.loads(EVALUATOR.read_text())[:sentences]
    texts = [r["full_text"] for r in records]
    gold = [
        [
            (
                LABEL_MAP.get(s["entity_type"], s["entity_type"]),
                s["start_position"],
                s["end_position"],
            )
            for s in r["spans"]
        ]
        for r in records
    ]
    t0 = time.perf_counter()
    found = detect_all(texts, model)
    print(
        f"\npresidio-evaluator synth v2: {len(texts)} sentences ({time.perf_counter() - t0:.1f} s)"
    )
    results["presidio_evaluator"] = _table(gold, found, model)

    texts, planted = make_planted(args.planted_docs, seed=2024)
    gold = [[] for _ in texts]
    for p in planted:
        gold[p.doc].append((p.entity_type, p.start, p.end))
    t0 = time.perf_counter()
    found = detect_all(texts, model)
    print(
        f"\nplanted set: {len(planted)} fake identities in {len(texts)} real C4 documents "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    planted_scores = _table(
        gold,
        found,
        model,
        entities=(
            "EMAIL_ADDRESS",
            "PHONE_NUMBER",
            "IP_ADDRESS",
            "CREDIT_CARD",
            "IBAN_CODE",
            "PERSON",
        ),
    )
    results["planted"] = planted_scores
    t0 = time.perf_counter()
    base = detect_all(texts, None, full_scan=True)
    print(
        f"\nbaseline, planted set: Presidio's recognizers on whole documents (Detector.full_scan, "
        f"{time.perf_counter() - t0:.1f} s)"
    )
    pattern = ("EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS", "CREDIT_CARD", "IBAN_CODE")
    base_scores = _table(gold, base, None, entities=pattern)
    results["planted_baseline_full_scan"] = base_scores
    found_ours = sum(planted_scores[e]["recall"] * planted_scores[e]["gold"] for e in pattern)
    found_base = sum(base_scores[e]["recall"] * base_scores[e]["gold"] for e in pattern)
    results["recall_ratio_to_full_scan"] = round(found_ours / found_base, 4)
    print(
        f"ratio of planted identities found, corpuscope / full scan (pattern entities): "
        f"{results['recall_ratio_to_full_scan']:.4f} ({found_ours:.0f} / {found_base:.0f})"
    )
    ok = all(
        planted_scores[e]["recall"] >= 0.99 and planted_scores[e]["precision"] >= 0.95
        for e in ("EMAIL_ADDRESS", "IP_ADDRESS", "CREDIT_CARD", "IBAN_CODE")
    )
    ok &= planted_scores["PHONE_NUMBER"]["recall"] >= 0.95
    print(
        f"\ntargets on the planted set (recall >= 0.99, precision >= 0.95 for e-mail, IP, card, "
        f"IBAN; phone recall >= 0.95): {'met' if ok else 'NOT met'}"
    )
    results["targets_met"] = ok
    if out is None:
        print("--smoke: no report written (give --out for one)")
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1))
        print(f"wrote {out}")
    return 0 if ok else 1


def _table(gold, found, model, entities=ENTITIES) -> dict[str, dict[str, float]]:
    rows = {}
    print(f"{'entity':15} {'gold':>6} {'found':>6} {'precision':>9} {'recall':>7} {'F1':>6}")
    for entity in entities:
        if entity in ("PERSON", "LOCATION") and not model:
            continue
        r = prf(gold, found, entity)
        rows[entity] = r
        print(
            f"{entity:15} {r['gold']:6d} {r['found']:6d} {r['precision']:9.3f} "
            f"{r['recall']:7.3f} {r['f1']:6.3f}"
        )
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
