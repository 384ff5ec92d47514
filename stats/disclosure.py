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

A corpus of fewer documents than the threshold is itself a small cell: its overview (and any
one-row table of it) loses every figure, as a hidden row does, since its words, bytes, shards
or sources would bound or pin the count.

What is shown is the public tables (`build.public_sql`): computed over the redacted view, so
no size depends on a hidden value's length, and without text hashes (`NOT_PUBLIC`, dropped
here too). Sizes of the raw data that have no redacted counterpart (Parquet and index bytes
in `/v1/corpora`) are shown rounded (`coarse`).

One rule everywhere: every other public answer that gives a corpus's figures (`/v1/corpora`,
the EU AI Act summary) withholds them with `withhold` and `withhold_figures` here, shown as
`null` and named in the answer's `withheld` list.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from corpuscope.stats.build import TableSpec


@dataclass
class Suppressed:
    """A table as the public may see it."""

    rows: list[dict[str, Any]]
    hidden_rows: int
    hidden_cells: int


#: Columns never shown to the public: a hash of the raw text confirms a guessed hidden value.
NOT_PUBLIC = frozenset({"text_hash"})

#: Significant figures of a public size of the raw data (`coarse`).
COARSE_DIGITS = 2


def coarse(value: Any, digits: int = COARSE_DIGITS) -> Any:
    """A size of the raw data (Parquet or index bytes) as the public sees it: rounded to
    `digits` significant figures (1,234,567 -> 1,200,000), so that it says little about the
    length of a hidden value; None and 0 as they are."""
    if not isinstance(value, int) or isinstance(value, bool) or value == 0:
        return value
    return int(round(value, digits - 1 - math.floor(math.log10(abs(value)))))


def public_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row without the columns the public never sees (`NOT_PUBLIC`)."""
    return {k: v for k, v in row.items() if k not in NOT_PUBLIC}


#: Columns of a one-row table that count the documents it describes (the corpus, the sample).
SIZES = ("documents", "sample_documents")


def _small(value: Any, threshold: int) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < threshold


def withhold(value: Any, threshold: int) -> Any:
    """A count as the public may see it: None when it is a small cell (1 to threshold - 1),
    else the count (0 is shown: an empty cell holds nobody)."""
    return None if _small(value, threshold) else value


def withhold_figures(
    figures: Mapping[str, Any],
    threshold: int,
    *,
    size: str = "documents",
    cells: Iterable[str] = (),
    differences: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The figures of one thing (a corpus) as the public may see them, and the names of those
    withheld (set to None), in the order of `figures`.

    - `size` (its document count) below the threshold: every figure goes, as a hidden row's
      do (its shards, bytes, sizes … bound or pin the count);
    - otherwise each of `cells` (other counts: quarantined records …) below the threshold;
    - and each figure `b` of `differences` ({b: a}) that differs from `a` by less than the
      threshold (but not 0): `a - b` would be a small cell.
    """
    if _small(figures.get(size), threshold):
        hidden = set(figures)
    else:
        hidden = {c for c in cells if _small(figures.get(c), threshold)}
        for b, a in (differences or {}).items():
            x, y = figures.get(a), figures.get(b)
            if (
                isinstance(x, int | float)
                and isinstance(y, int | float)
                and _small(abs(x - y), threshold)
            ):
                hidden.add(b)
    names = [k for k in figures if k in hidden]
    return {k: None if k in hidden else v for k, v in figures.items()}, names


def suppress(spec: TableSpec, rows: list[dict[str, Any]], threshold: int) -> Suppressed:
    """The public version of a table's rows (each row gains a `suppressed` flag and loses the
    columns in `NOT_PUBLIC`)."""
    rows = [public_row(r) for r in rows]
    if threshold <= 1 or not spec.counts:
        return Suppressed([{**r, "suppressed": False} for r in rows], 0, 0)
    if not spec.keys:  # one-row tables: cell by cell
        out, cells = [], 0
        for r in rows:
            if any(_small(r.get(c), threshold) for c in SIZES):
                hidden = set(r)  # a corpus of a few documents: every figure, as a hidden row
            else:
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
