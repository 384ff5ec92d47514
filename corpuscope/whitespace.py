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
