"""Windows of documents as they may be shown: cut to a word cap, redacted, then highlighted.

The stored text is already the redacted view (index/build.py: `public_text`); the window is
redacted again at display (the runtime pattern pass of `privacy.redact`, for what the scan
missed), and only then are query terms highlighted in the redacted text,
so a highlight can never point into, or reveal the length of, a piece of personal data.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from corpuscope.index.schema import WORD, fold, tokens_with_offsets
from corpuscope.models.answers import Snippet
from corpuscope.models.documents import PiiSpan
from corpuscope.privacy.detect import detector_name, shared_detector
from corpuscope.privacy.redact import display_finds, redact

_NON_SPACE = re.compile(r"\S+")
_LABEL = re.compile(r"\[[A-Z_]+\]")
#: A window starts this share of its words before the point of interest.
_LEAD = 0.25
#: Characters of a long document searched for the first term when no faster way finds it.
_SCAN_CHARS = 200_000
#: A window holds at most this many characters a word: text without spaces (Chinese,
#: Japanese, long tokens) is capped too.
_CHARS_PER_WORD = 8
#: Characters around a window (or a match) searched for personal data that crosses its edge.
PII_REACH = 256


def first_match(text: str, terms: Collection[str]) -> int | None:
    """Character offset of the first word of `text` whose index term is in `terms`."""
    if not terms:
        return None
    ascii_terms = [t for t in terms if t.isascii()]
    if ascii_terms:  # fast path: a case-insensitive search in C, then checked by folding
        pattern = re.compile(
            r"(?<![^\W_])(?:" + "|".join(map(re.escape, ascii_terms)) + r")(?![^\W_])", re.I
        )
        m = pattern.search(text)
        if m and fold(m.group()) in terms:
            return m.start()
    for term, start, _ in tokens_with_offsets(text[:_SCAN_CHARS]):
        if term in terms:
            return start
    return None


def window(text: str, focus: int | None, words: int, lead: float = _LEAD) -> tuple[int, int]:
    """[start, end) of a window of `words` words, a `lead` share of them before `focus`."""
    focus = focus or 0
    lead = int(words * lead)
    lo = max(0, focus - 80 * lead)  # words are rarely longer than 80 characters
    starts = [m.start() for m in _NON_SPACE.finditer(text, lo, focus)]
    if lead and len(starts) >= lead:
        start = starts[-lead]
    elif lo == 0:
        start = 0
    else:
        start = starts[0] if starts else focus
    end = start
    for i, m in enumerate(_NON_SPACE.finditer(text, start)):
        if i == words:
            break
        end = m.end()
    cap = words * _CHARS_PER_WORD
    if end - start > cap:  # few spaces: cap by characters, the focus inside
        start = max(start, min(focus - lead * _CHARS_PER_WORD, len(text) - cap))
        end = min(end, start + cap)
    return start, end


def pii_around(text: str, start: int, end: int) -> list[PiiSpan]:
    """Personal data a runtime pattern pass still finds within `PII_REACH` characters of
    [start, end) of the (already redacted) text, so a value crossing an edge is seen whole."""
    lo, hi = max(0, start - PII_REACH), min(len(text), end + PII_REACH)
    reach = text[lo:hi]
    found = [
        PiiSpan("", lo + r.start, lo + r.end, r.entity_type, r.score, detector_name(r), "")
        for r in shared_detector().detect(reach)
    ]
    found += [  # the display forms (obfuscated addresses …), so those are never cut either
        PiiSpan("", lo + d.start, lo + d.end, d.entity_type, 1.0, "display", "")
        for d in display_finds(reach)
    ]
    return found


def snippet(
    text: str,
    terms: Collection[str] = (),
    focus: int | None = None,
    words: int = 128,
    lead: float = _LEAD,
) -> Snippet:
    """A redacted, highlighted window of `text` (focused on `focus`, else the first term).

    The window is widened so that no piece of personal data crosses its edges (a value cut
    in two could not be recognised, and would be shown in part), then redacted.
    """
    if focus is None:
        focus = first_match(text, terms)
    start, end = window(text, focus, words, lead)
    around = pii_around(text, start, end)
    widened = True
    while widened:  # a widened edge may meet another value
        widened = False
        for s in around:
            if s.start < start < s.end or s.start < end < s.end:
                start, end, widened = min(start, s.start), max(end, s.end), True
    redacted, replaced = redact(text[start:end], around, offset=start, runtime_pass=False)
    return Snippet(
        text=redacted,
        highlights=highlight(redacted, terms),
        start=start,
        end=end,
        redactions=len(replaced),
    )


def highlight(text: str, terms: Collection[str]) -> list[tuple[int, int]]:
    """Offsets of the words of `text` whose index term is in `terms`; labels never match."""
    if not terms:
        return []
    labels = [(m.start(), m.end()) for m in _LABEL.finditer(text)]
    out = []
    for m in WORD.finditer(text):
        if fold(m.group()) in terms and not any(s <= m.start() < e for s, e in labels):
            out.append((m.start(), m.end()))
    return out
