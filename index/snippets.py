"""Windows of the public view of documents, cut to a word cap, then highlighted.

The text a window is cut from is the redacted view the index stores (index/build.py:
`public_text`: the scan's spans, or the scan's detector on a shard not scanned yet, and the
display pass of `privacy.redact`, all replaced by their type), so what is shown is what was
matched. A window never cuts a type label in two, and query terms are highlighted in it
outside the labels: a highlight can never point into, or reveal the length of, a piece of
personal data.

Where a question knows what matched (an exact passage, a membership run, a phrase), it gives
the matched spans as `marks` (document offsets): the window is centred on the first, and the
marks, not single words, are highlighted. BM25 search windows are centred on the region with
the most and rarest query terms (`best_region`), its phrases marked where they occur.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from functools import lru_cache

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
    lead: float | None = None,
    marks: Sequence[tuple[int, int]] = (),
) -> Snippet:
    """A highlighted window of `text`, the public view of a document, widened so that no type
    label crosses its edges.

    Without `marks`: focused on `focus`, else the first word in `terms`, which are highlighted.
    With `marks` ([start, end) document offsets of matched spans): centred on the first mark
    (unless `focus` is given), and the marks within the window are highlighted instead of words.
    `lead` is the share of the window's words before the focus (a quarter by default; for a
    mark, what centres it).
    """
    marks = sorted((s, e) for s, e in marks if e > s)
    if focus is None and marks:
        first_start, first_end = marks[0]
        spanned = sum(1 for _ in _NON_SPACE.finditer(text, first_start, first_end))
        focus = first_start
        if lead is None:
            lead = max(0.0, (words - spanned) / 2 / words)
    if focus is None:
        focus = first_match(text, terms)
    start, end = window(text, focus, words, _LEAD if lead is None else lead)
    for edge in (start, end):
        for m in _LABEL.finditer(text, max(0, edge - _LONGEST_LABEL), edge + _LONGEST_LABEL):
            if m.start() < edge < m.end():
                start, end = min(start, m.start()), max(end, m.end())
    shown = text[start:end]
    if marks:
        shown_marks = [
            (max(s, start) - start, min(e, end) - start) for s, e in marks if s < end and e > start
        ]
    else:
        shown_marks = highlight(shown, terms)
    return Snippet(
        text=shown,
        highlights=shown_marks,
        start=start,
        end=end,
        redactions=len(_LABEL.findall(shown)),
    )


#: Characters of a word with its space, on average, for sizing a region in characters.
_CHARS_PER_REGION_WORD = 6
#: Runs of characters outside ASCII (letters with diacritics, other scripts, curly quotes)
#: that hold a letter or digit.
_NON_ASCII_WORDISH = re.compile(r"[^\x00-\x7f]*[^\x00-\x7f\W][^\x00-\x7f]*")


def _non_ascii_words(text: str) -> list[tuple[int, int]]:
    """[start, end) of the words (as `WORD` cuts them) that hold a character outside ASCII."""
    out = []
    for m in _NON_ASCII_WORDISH.finditer(text):
        lo, hi = m.start(), m.end()
        while lo > 0 and text[lo - 1].isalnum():
            lo -= 1
        while hi < len(text) and text[hi].isalnum():
            hi += 1
        out += [(w.start(), w.end()) for w in WORD.finditer(text, lo, hi)]
    return out


@lru_cache(maxsize=1024)
def _terms_pattern(terms: tuple[str, ...]) -> re.Pattern[str]:
    """The ASCII `terms` (longest first) as whole words, case-insensitive (the standard
    library's `re`, several times faster here than the `regex` module; each find is checked
    by folding it as the index does); compiled once for the hits of a question."""
    alternatives = "|".join(map(re.escape, terms))
    return re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])", re.IGNORECASE)


def term_spans(text: str, terms: Collection[str]) -> list[tuple[int, int, str]]:
    """(start, end, term) of every word of `text` whose index term is in `terms`, in order.

    A case-insensitive search (in C) for the terms as whole words, each find checked by
    folding it as the index does, plus the words with a letter outside ASCII (folded:
    "Rivière" is "riviere"), so the text is never cut into every one of its words in Python.
    """
    out = []
    ascii_terms = tuple(sorted((t for t in terms if t.isascii()), key=lambda t: (-len(t), t)))
    if ascii_terms:
        pattern = _terms_pattern(ascii_terms)
        out += [(m.start(), m.end(), fold(m.group())) for m in pattern.finditer(text)]
    if not text.isascii():
        out += [(a, b, fold(text[a:b])) for a, b in _non_ascii_words(text)]
    return sorted({x for x in out if x[2] in terms})


def best_region(
    text: str,
    terms: Collection[str],
    words: int,
    weights: Mapping[str, float] | None = None,
    phrases: Sequence[Sequence[str]] = (),
) -> tuple[int | None, list[tuple[int, int]]]:
    """Where a BM25 hit matched best: the focus (centre) of the stretch of about `words` words
    holding the greatest weight of distinct query terms (`weights`: rarer terms weigh more, 1
    each by default; a phrase found whole counts as its terms plus one), the tightest such
    stretch; and the matched spans to mark: `phrases` where found whole, `terms` (the words
    searched on their own) as words. (None, []) when nothing is in the text."""
    found = term_spans(text[:_SCAN_CHARS], {*terms, *(w for ph in phrases for w in ph)})
    spans: list[tuple[int, int, tuple[str, ...]]] = []  # start, end, the terms it stands for
    used: set[int] = set()
    for ph in phrases:  # consecutive finds with nothing but non-word characters between
        n = len(ph)
        for i in range(len(found) - n + 1):
            run = found[i : i + n]
            if [t for _, _, t in run] == list(ph) and not any(
                WORD.search(text, run[j][1], run[j + 1][0]) for j in range(n - 1)
            ):
                spans.append((run[0][0], run[-1][1], tuple(ph)))
                used.update(range(i, i + n))
    spans += [(s, e, (t,)) for i, (s, e, t) in enumerate(found) if i not in used and t in terms]
    if not spans:
        return None, []
    spans.sort()

    def weight(held: dict[tuple[str, ...], int]) -> float:
        return sum(sum((weights or {}).get(t, 1.0) for t in key) + (len(key) > 1) for key in held)

    # The best weight a stretch of `words` words (in characters) can hold, then the tightest
    # run of spans that holds it (two pointers: the shortest cover from each first span).
    width = words * _CHARS_PER_REGION_WORD
    best, held, j = 0.0, {}, 0
    for i in range(len(spans)):
        while j < len(spans) and spans[j][1] - spans[i][0] <= width:
            held[spans[j][2]] = held.get(spans[j][2], 0) + 1
            j += 1
        best = max(best, weight(held))
        _release(held, spans[i][2])
    cover, held, j = (0, len(spans)), {}, 0
    for i in range(len(spans)):
        while j < len(spans) and weight(held) < best:
            held[spans[j][2]] = held.get(spans[j][2], 0) + 1
            j += 1
        if weight(held) >= best and (
            spans[j - 1][1] - spans[i][0] < spans[cover[1] - 1][1] - spans[cover[0]][0]
        ):
            cover = (i, j)
        _release(held, spans[i][2])
    centre = (spans[cover[0]][0] + spans[cover[1] - 1][1]) // 2
    return centre, [(s, e) for s, e, _ in spans]


def _release(held: dict[tuple[str, ...], int], key: tuple[str, ...]) -> None:
    if key in held:
        held[key] -= 1
        if not held[key]:
            del held[key]


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
