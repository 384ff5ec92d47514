"""A planted PII set: fake identities inserted into real documents at known offsets.

Used by the tests (a fixed small set, so a regression fails CI) and by
`bench/pii_accuracy.py` (a larger one). Every value is fake: reserved e-mail domains,
documentation IP ranges, card test numbers, IBAN examples, phone numbers of public bodies'
switchboards in several national formats.
"""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "samples"

FIRST = [
    "Alice",
    "Bruno",
    "Chiara",
    "Dmitri",
    "Elena",
    "Farid",
    "Grace",
    "Hiroshi",
    "Ingrid",
    "Jamal",
    "Katarzyna",
    "Luis",
    "Marta",
    "Nikolai",
    "Olivia",
    "Pedro",
    "Quentin",
    "Rosa",
]
LAST = [
    "Whitfield",
    "Moreau",
    "Bianchi",
    "Ivanov",
    "Novak",
    "Haddad",
    "Okafor",
    "Tanaka",
    "Lindqvist",
    "Brown",
    "Kowalska",
    "Fernandez",
    "Schulz",
    "Petrov",
    "Garcia",
    "Dubois",
]
DOMAINS = ["example.com", "example.org", "mail.example.net", "test.example.co.uk"]
PHONES = [  # (text as written, region that reads it)
    ("(202) 456-1111", "US"),
    ("+1 202-456-1111", "US"),
    ("202.456.1111", "US"),
    ("+44 20 7946 0018", "GB"),
    ("020 7946 0018", "GB"),
    ("+49 30 18272-0", "DE"),
    ("030 182720", "DE"),
    ("+33 1 42 92 81 00", "FR"),
    ("01 42 92 81 00", "FR"),
    ("+91 11 2301 2345", "IN"),
    ("+55 61 3411-1221", "BR"),
    ("+972 2-670-5555", "IL"),
]
IPS = [
    "192.0.2.17",
    "198.51.100.23",
    "203.0.113.250",
    "2001:db8::8a2e:370:7334",
    "2001:0db8:0000:0000:0000:ff00:0042:8329",
]
CARDS = [
    "4111 1111 1111 1111",
    "5500-0000-0000-0004",
    "378282246310005",
    "6011111111111117",
    "4012888888881881",
]
IBANS = [
    "DE89 3704 0044 0532 0130 00",
    "GB82 WEST 1234 5698 7654 32",
    "FR1420041010050500013M02606",
    "NL91ABNA0417164300",
    "ES9121000418450200051332",
]

TEMPLATES = [
    ("EMAIL_ADDRESS", "You can write to {v} for details."),
    ("PHONE_NUMBER", "Call us on {v} during office hours."),
    ("IP_ADDRESS", "The request came from {v} yesterday."),
    ("CREDIT_CARD", "Card number {v} was charged twice."),
    ("IBAN_CODE", "Please transfer the fee to {v} before Friday."),
    ("PERSON", "The report was written by {v} last spring."),
]


@dataclass(frozen=True)
class Planted:
    """One planted value: which document, where, and what."""

    doc: int
    start: int
    end: int
    entity_type: str
    value: str
    region: str = "US"


def real_texts(limit: int | None = None) -> list[str]:
    """English texts of real C4 documents from samples/ (no values of ours in them)."""
    with gzip.open(SAMPLES / "c4" / "c4-en-sample-449.jsonl.gz", "rt") as f:
        texts = [json.loads(line)["text"] for line in f]
    return texts[:limit] if limit else texts


def clean_texts() -> list[str]:
    """Real C4 texts in which the pattern scan finds nothing, so that every pattern find in
    a planted copy is either a planted value or a false positive."""
    from corpuscope.privacy.detect import Detector

    detector = Detector()
    return [t for t in real_texts() if not detector.detect(t)]


def make_planted(n_docs: int, seed: int = 7, per_doc: int = 3) -> tuple[list[str], list[Planted]]:
    """Real documents with `per_doc` fake identifiers inserted at sentence boundaries."""
    rng = random.Random(seed)
    base = clean_texts()
    texts: list[str] = []
    planted: list[Planted] = []
    for d in range(n_docs):
        text = base[d % len(base)]
        for _ in range(per_doc):
            entity, template = rng.choice(TEMPLATES)
            value, region = _value(rng, entity)
            sentence = template.format(v=value)
            cut = text.find(". ", rng.randrange(max(1, len(text))))
            cut = len(text) if cut < 0 else cut + 2
            prefix = text[:cut]
            glue = " " if prefix and not prefix.endswith(" ") else ""
            text = f"{prefix}{glue}{sentence} {text[cut:]}"
            start = len(prefix) + len(glue) + sentence.index(value)
            # earlier plants after the cut move right
            shift = len(glue) + len(sentence) + 1
            planted = [
                p
                if p.doc != d or p.start < cut
                else Planted(
                    p.doc, p.start + shift, p.end + shift, p.entity_type, p.value, p.region
                )
                for p in planted
            ]
            planted.append(Planted(d, start, start + len(value), entity, value, region))
        texts.append(text)
    for p in planted:
        assert texts[p.doc][p.start : p.end] == p.value, p
    return texts, planted


def _value(rng: random.Random, entity: str) -> tuple[str, str]:
    if entity == "EMAIL_ADDRESS":
        first, last = rng.choice(FIRST).lower(), rng.choice(LAST).lower()
        return f"{first}.{last}{rng.randrange(100)}@{rng.choice(DOMAINS)}", "US"
    if entity == "PHONE_NUMBER":
        return rng.choice(PHONES)
    if entity == "IP_ADDRESS":
        return rng.choice(IPS), "US"
    if entity == "CREDIT_CARD":
        return rng.choice(CARDS), "US"
    if entity == "IBAN_CODE":
        return rng.choice(IBANS), "US"
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}", "US"


def score(
    planted: list[Planted], found: dict[int, list[tuple[str, int, int]]]
) -> dict[str, dict[str, float]]:
    """Recall per entity (a find must overlap the planted span) and precision (share of the
    finds of that entity that overlap a planted value of it)."""
    out: dict[str, dict[str, float]] = {}
    for entity in sorted({p.entity_type for p in planted}):
        mine = [p for p in planted if p.entity_type == entity]
        hit = sum(
            any(t == entity and s < p.end and e > p.start for t, s, e in found.get(p.doc, []))
            for p in mine
        )
        finds = [(d, s, e) for d, spans in found.items() for t, s, e in spans if t == entity]
        true = sum(
            any(p.doc == d and p.entity_type == entity and s < p.end and e > p.start for p in mine)
            for d, s, e in finds
        )
        out[entity] = {
            "planted": len(mine),
            "recall": hit / len(mine) if mine else 0.0,
            "found": len(finds),
            "precision": true / len(finds) if finds else 0.0,
        }
    return out
