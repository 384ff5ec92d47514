"""White space as Python's `str.isspace` sees it, looked up for a whole text at once."""

from __future__ import annotations

import numpy as np

#: Code point -> str.isspace() (every white-space character is below U+3001).
IS_SPACE = np.zeros(0x110000, dtype=bool)
IS_SPACE[[c for c in range(0x3001) if chr(c).isspace()]] = True


def _space_mask(text: str) -> np.ndarray:
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return IS_SPACE[codes]


def space_positions(text: str) -> list[int]:
    """Positions of white space in `text`."""
    return np.flatnonzero(_space_mask(text)).tolist()


def word_count(text: str) -> int:
    """``len(text.split())``, without building the list of words."""
    space = _space_mask(text)
    if not len(space):
        return 0
    return int(np.count_nonzero(space[:-1] & ~space[1:])) + (0 if space[0] else 1)


#: The UTF-8 encodings of the non-ASCII white space, by their first byte.
_MULTIBYTE: dict[int, list[bytes]] = {}
for _c in np.flatnonzero(IS_SPACE[0x80:]) + 0x80:
    _seq = chr(_c).encode()
    _MULTIBYTE.setdefault(_seq[0], []).append(_seq)


def word_counts(data: bytes | memoryview, offsets: np.ndarray) -> np.ndarray:
    """``len(text.split())`` of each UTF-8 text ``data[offsets[i]:offsets[i + 1]]``, at once.

    Vectorised over a batch (an Arrow string array's buffers), about 1 MB of texts at a time
    so that the work stays in the CPU's cache: a byte is white space if it is ASCII white
    space or part of a multibyte white-space character; a word starts at a byte that is not,
    after one that is or at the start of a text.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    buffer = np.frombuffer(data, np.uint8)
    counts = np.zeros(max(len(offsets) - 1, 0), dtype=np.int64)
    first = 0
    while first < len(counts):
        last = int(np.searchsorted(offsets, offsets[first] + _CHUNK, side="right")) - 1
        last = min(max(last, first + 1), len(counts))
        counts[first:last] = _word_counts(buffer, offsets[first : last + 1])
        first = last
    return counts


_CHUNK = 1 << 20


def _word_counts(buffer: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    b = buffer[offsets[0] : offsets[-1]]
    offsets = offsets - offsets[0]
    space = b <= 32
    space[np.flatnonzero(((b - np.uint8(14)) <= 13) | (b < 9))] = False  # controls, not spaces
    padded = np.concatenate([b, np.zeros(2, np.uint8)])
    for lead, sequences in _MULTIBYTE.items():
        at = np.flatnonzero(b == lead)
        if not len(at):
            continue
        second, third = padded[at + 1], padded[at + 2]
        for seq in sequences:
            hit = at[(second == seq[1]) & ((third == seq[2]) if len(seq) == 3 else True)]
            for k in range(len(seq)):
                space[hit + k] = True
    start = ~space
    start[1:] &= space[:-1]
    firsts = offsets[:-1][offsets[:-1] < offsets[1:]]
    start[firsts] = ~space[firsts]
    return np.diff(np.searchsorted(np.flatnonzero(start), offsets))
