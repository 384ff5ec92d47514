"""White space as Python's `str.isspace` sees it, looked up for a whole text at once."""

from __future__ import annotations

import itertools

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


#: The UTF-8 encodings of the non-ASCII white space: two bytes after C2, three after E1-E3.
_MULTIBYTE = [chr(c).encode() for c in np.flatnonzero(IS_SPACE[0x80:]) + 0x80]
_TWO_BYTES = [seq for seq in _MULTIBYTE if len(seq) == 2]
_THREE_BYTES = [seq for seq in _MULTIBYTE if len(seq) == 3]
assert {s[0] for s in _TWO_BYTES} == {0xC2} and {s[0] for s in _THREE_BYTES} == {0xE1, 0xE2, 0xE3}
_CHUNK = 1 << 20


def word_counts(data: bytes | memoryview, offsets: np.ndarray) -> list[int]:
    """``len(text.split())`` of each UTF-8 text ``data[offsets[i]:offsets[i + 1]]``.

    Vectorised over a batch (an Arrow string array's buffers), about 1 MB of texts at a time
    so that the work stays in the CPU's cache: a byte is white space if it is ASCII white
    space or part of a multibyte white-space character; a word starts at a byte that is not,
    after one that is or at the start of a text.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    buffer = np.frombuffer(data, np.uint8)
    counts: list[int] = []
    first = 0
    while first < len(offsets) - 1:
        last = int(np.searchsorted(offsets, offsets[first] + _CHUNK, side="right")) - 1
        last = min(max(last, first + 1), len(offsets) - 1)
        counts += _word_counts(buffer, offsets[first : last + 1])
        first = last
    return counts


def _word_counts(buffer: np.ndarray, offsets: np.ndarray) -> list[int]:
    b = buffer[offsets[0] : offsets[-1]]
    space = b <= 32
    low = np.flatnonzero(b < 28)
    controls = b[low]
    space[low[(controls < 9) | (controls > 13)]] = False  # control characters are no space
    padded = np.concatenate([b, np.zeros(2, np.uint8)])
    for leads, sequences in ((b == 0xC2, _TWO_BYTES), ((b - np.uint8(0xE1)) <= 2, _THREE_BYTES)):
        at = np.flatnonzero(leads)
        if not len(at):
            continue
        lead, second, third = padded[at], padded[at + 1], padded[at + 2]
        for seq in sequences:
            hit = (second == seq[1]) & (lead == seq[0])
            if len(seq) == 3:
                hit &= third == seq[2]
            for k in range(len(seq)):
                space[at[hit] + k] = True
    start = ~space  # a word starts at a byte that is no space, after one that is
    start[1:] &= space[:-1]
    bounds = (offsets - offsets[0]).tolist()
    counts = []
    for first, end in itertools.pairwise(bounds):
        if first < end:
            start[first] = not space[first]  # or at the start of a text
        counts.append(int(np.count_nonzero(start[first:end])))
    return counts
