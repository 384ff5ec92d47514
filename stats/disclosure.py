"""Small-cell suppression of statistics for the public: no count below the threshold is shown.

Primary suppression: a row whose count is at least 1 and below `threshold` (default 10) shows
its key (the domain, the language …) but none of its figures (counts, words, shares, ranks,
dates), since any of them could be used to work the count out; hidden rows are listed last,
by key, since their place in the order would give their rank away. Tables with one row
(overview, quality …) suppress the small cells one by one, their document count and, when
anything is hidden, their shares (a share times a public total gives a count back).

Complementary suppression: in a table whose rows partition the corpus's documents (by
language, by domain, by month …) the overview's totals are public, so the hidden rows' sum
can be worked out by subtraction; one hidden row would be recovered exactly, and two rows of
1 from a sum of 2. So whenever a row is hidden, the smallest rows still shown are hidden too,
smallest first, until the hidden sum pins nothing down: an observer knows each of those k
rows lies between the threshold and the smallest row still shown (s), so the small cells'
sum is only known to within k * (s - threshold), which must reach the threshold (hiding a
single row of 10 when the next shown is 16 would leave a hidden 1 recoverable). The auditor
role gets the full tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from corpuscope.stats.build import TableSpec


@dataclass
class Suppressed:
    """A table as the public may see it."""

    rows: list[dict[str, Any]]
    hidden_rows: int
    hidden_cells: int


def _small(value: Any, threshold: int) -> bool:
    return isinstance(value, int | float) and 0 < value < threshold


def suppress(spec: TableSpec, rows: list[dict[str, Any]], threshold: int) -> Suppressed:
    """The public version of a table's rows (each row gains a `suppressed` flag)."""
    if threshold <= 1 or not spec.counts:
        return Suppressed([{**r, "suppressed": False} for r in rows], 0, 0)
    if not spec.keys:  # one-row tables: cell by cell
        out, cells = [], 0
        for r in rows:
            hidden = {c for c in (*spec.counts, "documents") if _small(r.get(c), threshold)}
            if hidden:  # a share times a public total would give a hidden count back
                hidden |= {c for c in r if "share" in c}
            cells += len(hidden)
            out.append(
                {
                    **{k: None if k in hidden else v for k, v in r.items()},
                    "suppressed": bool(hidden),
                }
            )
        return Suppressed(out, 0, cells)
    primary = spec.counts[0]
    hide = [any(_small(r.get(c), threshold) for c in spec.counts) for r in rows]
    if spec.partition and any(hide):
        shown = sorted(
            (i for i, h in enumerate(hide) if not h and r_count(rows[i], primary) > 0),
            key=lambda i: (r_count(rows[i], primary), i),
        )
        extra = 0
        while shown:  # hide the smallest rows shown until the hidden sum pins nothing down
            hide[shown.pop(0)] = True
            extra += 1
            ceiling = r_count(rows[shown[0]], primary) if shown else math.inf
            if extra * (ceiling - threshold) >= threshold:
                break
    out, hidden_out, cells = [], [], 0
    for r, h in zip(rows, hide, strict=True):
        if h:
            figures = [k for k in r if k not in spec.keys]
            cells += len(figures)
            hidden_out.append(
                {**{k: None if k in figures else v for k, v in r.items()}, "suppressed": True}
            )
        else:
            out.append({**r, "suppressed": False})
    # Hidden rows go last, sorted by key: in place, their position would give their rank.
    hidden_out.sort(key=lambda r: key_order(r, spec.keys))
    return Suppressed(out + hidden_out, sum(hide), cells)


def key_order(row: dict[str, Any], keys: tuple[str, ...]) -> tuple:
    """A row's keys in their natural order (numbers as numbers: 4-7 before 1024-2047), a
    missing key last."""
    return tuple((1, 0) if row.get(k) is None else (0, row[k]) for k in keys)


def r_count(row: dict[str, Any], column: str) -> float:
    value = row.get(column)
    return value if isinstance(value, int | float) else 0
