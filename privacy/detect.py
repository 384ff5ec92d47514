"""Tiered personal-data detection: a vectorised candidate pass, then Presidio's recognizers.

Tier 1 runs one cheap trigger pattern per entity over a whole Arrow column of texts (RE2 in
pyarrow, no Python per document). A trigger is a *necessary condition* of every match of that
entity's recognizers (an e-mail has an ``@``, an IBAN starts with two letters and two digits).
Tier 2 runs Presidio's own recognizers only on windows around the triggers, each widened by
the longest match the recognizer can make and then out to white space, so a recognizer sees
the same neighbourhood it would see in the whole text: the spans and scores are the ones a
Presidio run on the whole document gives (checked by `full_scan` in the tests and benchmarks).
Tier 3, names and places, runs a spaCy NER model with `nlp.pipe` when one is installed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from presidio_analyzer import EntityRecognizer, RecognizerResult

from corpuscope.privacy.recognizers import PATTERN_ENTITIES, SECRET_PATTERNS, pattern_recognizers

TOKEN = -1  # widen to the surrounding run of non-space characters only


@dataclass(frozen=True)
class Trigger:
    """A necessary condition of an entity's matches, and how far its matches can reach."""

    pattern: str  # `{D}` stands for a decimal digit (Unicode in Python, \\p{Nd} in RE2)
    margin: int  # characters around a trigger that a match can reach; TOKEN for no spaces

    def python(self) -> re.Pattern[str]:
        return re.compile(self.pattern.replace("{D}", r"\d"), re.IGNORECASE)

    def re2(self) -> str:
        return "(?i)" + self.pattern.replace("{D}", r"\p{Nd}")


_SECRETS = "|".join(
    f"(?:{regex.removeprefix('(?i)').replace(chr(92) + 'b', '')})" for _, regex, _ in SECRET_PATTERNS
)

TRIGGERS: dict[str, Trigger] = {
    "EMAIL_ADDRESS": Trigger("@", TOKEN),
    "IP_ADDRESS": Trigger(r"{D}\.{D}|[0-9a-f]:[0-9a-f]|::", TOKEN),
    "CRYPTO": Trigger(r"(?:bc1|[13])[a-z0-9]{25}", TOKEN),
    "CREDIT_CARD": Trigger(r"{D}{D}{D}{D}[- ]?{D}{D}{D}", 32),
    "IBAN_CODE": Trigger(r"[a-z][a-z]{D}{D}", 56),
    "US_SSN": Trigger(r"{D}{D}{D}[- .]?{D}{D}", 16),
    # phonenumbers finds numbers of 4+ digits in some regions, with up to a few separators.
    "PHONE_NUMBER": Trigger(r"{D}(?:[^{D}]{0,4}{D}){3}", 64),
    "SECRET_KEY": Trigger(_SECRETS, 300),
}


class Detector:
    """The pattern entities (tiers 1 and 2), with Presidio's recognizers, offline."""

    def __init__(self, entities: Sequence[str] = PATTERN_ENTITIES,
                 phone_regions: tuple[str, ...] | None = None):
        unknown = set(entities) - set(PATTERN_ENTITIES)
        if unknown:
            raise ValueError(f"not a pattern entity: {sorted(unknown)}")
        self.entities = tuple(entities)
        self.recognizers = {e: r for e, r in pattern_recognizers(phone_regions).items()
                            if e in self.entities}
        self._py = {e: TRIGGERS[e].python() for e in self.entities}
        self._re2 = {e: TRIGGERS[e].re2() for e in self.entities}

    # -- tier 1 --------------------------------------------------------------------------
    def candidates(self, texts: pa.Array | pa.ChunkedArray) -> dict[str, pa.Array]:
        """Entity -> boolean mask of the texts that may hold it (vectorised, RE2)."""
        return {e: pc.match_substring_regex(texts, self._re2[e]) for e in self.entities}

    # -- tier 2 --------------------------------------------------------------------------
    def windows(self, text: str, entity: str) -> list[tuple[int, int]]:
        """Merged character ranges around the entity's triggers in `text`."""
        margin = TRIGGERS[entity].margin
        spans: list[tuple[int, int]] = []
        n = len(text)
        for m in self._py[entity].finditer(text):
            start, end = (m.start(), m.end()) if margin == TOKEN else (
                max(0, m.start() - margin), min(n, m.end() + margin))
            while start > 0 and not text[start - 1].isspace():
                start -= 1
            while end < n and not text[end].isspace():
                end += 1
            if spans and start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], end))
            else:
                spans.append((start, end))
        return spans

    def detect(self, text: str, entities: Iterable[str] | None = None) -> list[RecognizerResult]:
        """Presidio results for the given entities (default all), run on trigger windows."""
        results: list[RecognizerResult] = []
        for entity in entities if entities is not None else self.entities:
            for start, end in self.windows(text, entity):
                piece = text[start:end]
                for recognizer in self.recognizers[entity]:
                    for r in recognizer.analyze(piece, [entity], None):
                        r.start += start
                        r.end += start
                        results.append(r)
        return EntityRecognizer.remove_duplicates(results)

    def detect_batch(self, texts: pa.Array | pa.ChunkedArray) -> list[list[RecognizerResult]]:
        """Results for every text of a column: tier 1 over the column, tier 2 on candidates."""
        masks = {e: m.to_pylist() for e, m in self.candidates(texts).items()}
        out: list[list[RecognizerResult]] = []
        for i, text in enumerate(texts.to_pylist()):
            wanted = [e for e in self.entities if masks[e][i]]
            out.append(self.detect(text, wanted) if wanted else [])
        return out

    # -- the reference: Presidio's recognizers on the whole text ---------------------------
    def full_scan(self, text: str) -> list[RecognizerResult]:
        """Every recognizer on the whole text: what tiering must reproduce exactly."""
        results: list[RecognizerResult] = []
        for entity in self.entities:
            for recognizer in self.recognizers[entity]:
                results.extend(recognizer.analyze(text, [entity], None))
        return EntityRecognizer.remove_duplicates(results)


def result_key(r: RecognizerResult) -> tuple[str, int, int, float]:
    return (r.entity_type, r.start, r.end, round(r.score, 4))


def detector_name(r: RecognizerResult) -> str:
    meta = r.recognition_metadata or {}
    return meta.get(RecognizerResult.RECOGNIZER_NAME_KEY) or "unknown"
