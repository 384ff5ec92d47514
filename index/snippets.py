"""Windows of the public view of documents, cut to a word cap, then highlighted.

The text a window is cut from is the redacted view the index stores (index/build.py:
`public_text`: the scan's spans, or the scan's detector on a shard not scanned yet, and the
display pass of `privacy.redact`, all replaced by their type), so what is shown is what was
matched. A window never cuts a type label in two, and query terms are highlighted in it
outside the labels: a highlight can never point into, or reveal the length of, a piece of
personal data.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from corpuscope.index.schema import WORD, fold, tokens_with_offsets
from corpuscope.models.answers import Snippet

_NON_SPACE = re.compile(r"\S+")
_LABEL = re.compile(r"\[[A-Z_]+\]")
#: Characters of the longest type label ("[CREDIT_CARD]" and the like, with room to spare).
_LONGEST_LABEL = 40
#: A window starts this share of its words before the point of interest.
_LEAD = 0.25
#: Characters of a long document searched for the first term when no faster way finds it.
_SCAN_CHARS = 200_000
#: A window holds at most this many characters a word: text without spaces (Chinese,
#: Japanese, long tokens) is capped too.
_CHARS_PER_WORD = 8


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


def snippet(
    text: str,
    terms: Collection[str] = (),
    focus: int | None = None,
    words: int = 128,
    lead: float = _LEAD,
) -> Snippet:
    """A highlighted window of `text`, the public view of a document (focused on `focus`,
    else the first term), widened so that no type label crosses its edges."""
    if focus is None:
        focus = first_match(text, terms)
    start, end = window(text, focus, words, lead)
    for edge in (start, end):
        for m in _LABEL.finditer(text, max(0, edge - _LONGEST_LABEL), edge + _LONGEST_LABEL):
            if m.start() < edge < m.end():
                start, end = min(start, m.start()), max(end, m.end())
    shown = text[start:end]
    return Snippet(
        text=shown,
        highlights=highlight(shown, terms),
        start=start,
        end=end,
        redactions=len(_LABEL.findall(shown)),
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
