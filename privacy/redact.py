"""Redaction of a text window: every personal-data span becomes its type (`[EMAIL]` …).

Spans come from the scan's sidecar; a runtime pattern pass (the same tiered detector) also
runs on every window shown, so a span the scan missed, or a window of text that was never
scanned, is still redacted. One data subject's own identifiers can be left visible (for their
access report) by passing their value hashes in `keep`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from corpuscope.models.documents import PiiSpan
from corpuscope.privacy.detect import Detector, shared_detector
from corpuscope.privacy.hashing import value_hash
from corpuscope.privacy.recognizers import LABELS


@dataclass(frozen=True, slots=True)
class Redaction:
    """One replaced stretch of the window: where it was and what label replaced it."""

    start: int
    end: int
    entity_type: str
    label: str


def redact(
    text: str,
    spans: Iterable[PiiSpan] = (),
    offset: int = 0,
    keep: frozenset[str] | set[str] = frozenset(),
    key: bytes | None = None,
    detector: Detector | None = None,
    runtime_pass: bool = True,
    phone_region: str = "US",
) -> tuple[str, list[Redaction]]:
    """Redact `text`, a window starting at character `offset` of its document.

    `spans` are the document's sidecar spans (document offsets; those outside the window are
    ignored, those crossing its edges are cut to it). `keep` holds value hashes left visible;
    runtime findings are hashed with `key` to be compared with it (without a key, every
    runtime finding is redacted). Returns the redacted text and what was replaced.
    """
    found: list[tuple[int, int, str, float]] = []
    end_of_window = offset + len(text)
    for s in spans:
        if s.end <= offset or s.start >= end_of_window or s.value_hash in keep:
            continue
        found.append(
            (
                max(s.start, offset) - offset,
                min(s.end, end_of_window) - offset,
                s.entity_type,
                s.score,
            )
        )
    if runtime_pass:
        for r in (detector or shared_detector()).detect(text):
            if keep and key is not None:
                h = value_hash(key, r.entity_type, text[r.start : r.end], phone_region)
                if h in keep:
                    continue
            found.append((r.start, r.end, r.entity_type, r.score))
    merged = _merge(found)
    out, last = [], 0
    for start, end, _entity, label in merged:
        out.append(text[last:start])
        out.append(label)
        last = end
    out.append(text[last:])
    return "".join(out), [Redaction(s, e, t, lab) for s, e, t, lab in merged]


def _merge(found: list[tuple[int, int, str, float]]) -> list[tuple[int, int, str, str]]:
    """Overlapping spans become one, labelled by the most confident of them."""
    merged: list[list] = []
    for start, end, entity, score in sorted(found):
        if merged and start < merged[-1][1]:
            m = merged[-1]
            m[1] = max(m[1], end)
            if score > m[3]:
                m[2], m[3] = entity, score
        else:
            merged.append([start, end, entity, score])
    return [(s, e, t, LABELS.get(t, f"[{t}]")) for s, e, t, _ in merged]
