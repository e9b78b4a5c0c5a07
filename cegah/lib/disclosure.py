"""Statistical disclosure control for tables of aggregate case counts.

No Django here: pages, the API and exports all protect their figures with it.

A user who is not entitled to an area's case counts sees them only through this module,
under two rules (Hundepool et al. 2012, chapters 4 and 5 on tabular data):

Primary suppression
    A count from 1 to ``min_count - 1`` (1 to 4 by default) is shown as ``"<5"``. A zero
    is shown as 0, as the UK ONS and Statistics Canada do: hiding zeros would hide most
    of a sparse table, and what a shown zero could give away is dealt with by the next
    rule, which treats zeros as known values.
Secondary (complementary) suppression
    Hiding a cell is useless if it can be worked out from the cells that are shown. The
    caller declares the table's additive relations: each row's parts add up to its
    ``total`` column and, when the parent area's own row is in the table as
    ``total_row``, each column of the children adds up to the parent's cell. More cells
    are hidden, shown as ``"x"`` (Statistics Canada's sign for "suppressed to meet the
    confidentiality requirements"), until no hidden cell can be derived exactly.

The public meaning of the labels is: ``"<5"`` holds 1 to 4; ``"x"`` holds a count of at
least 1 hidden to protect another cell. An ``"x"`` is nearly always 5 or more, but not
always: where the ``"<5"`` bounds themselves give counts away (four villages with 1
case each and their district with 4, all ``"<5"``, must each hold exactly 1), a hidden 4
is shown as ``"x"`` instead, which has no upper bound.

The guarantee
-------------
Take an attacker who knows every shown cell, the declared relations and these bounds:
1 to ``min_count - 1`` for each ``"<5"``; for each ``"x"``, ``min_count`` or more when
that is true (zeros are always shown and anything smaller would have been ``"<5"``),
else 1 or more. This is more than the public rules tell. Consider every table of real
numbers that agrees with the shown cells, respects those bounds and satisfies the
relations. **For every hidden cell, the smallest and the largest value it takes over
these tables differ by at least 1**: no combination of the relations and the bounds
pins it to a single value (no exact disclosure). The one exception is a cell that stays
pinned even when every non-zero count of the rows the user is not entitled to is hidden:
it follows from the entitled rows (and the zeros) whatever this table hides, and
:attr:`ProtectedTable.derivable` marks it. Without entitled rows there is none: with
everything hidden and no ``"<5"`` at its top, any cell can rise by 1 together with its
row total, its parent's cell and the grand total. :func:`protect_hierarchy` gives the
same guarantee over every relation of a whole area hierarchy (see "Linked tables").

"At least 1" and not just "differ": the relations form the incidence matrix of a
bipartite graph (table rows and columns), which is totally unimodular, so with
whole-number bounds the extremes are whole numbers; the check below in fact exhibits the
true table plus or minus 1 along a cycle of hidden cells. A relation with exactly one
hidden cell (the "singleton") is only the simplest leak: with parts ``a = 1`` and
``b = 1`` hidden as ``"<5"``, the other parts shown and the total shown, the total gives
``a + b = 2`` and the bounds give ``a, b >= 1``, so ``a = b = 1``. The fixed point below
catches that too (here by also hiding the total).

Not promised: that a hidden cell's range is as wide as its label (a ``"<5"`` may be
narrowed to "3 or 4"); protection from an attacker who also reasons about which
complement was chosen (the smallest suitable cell, so an ``"x"`` is probably not much
larger than the shown cells beside it); and, from :func:`protect_table`, protection
across *linked tables*, the same area's figures published in another table (the province
page lists each regency; the regency page repeats the regency's row above its
districts). Relations that span tables are invisible to it: the caller must take each
area's row from one protected table only, or protect the tables together, which
:func:`protect_hierarchy` does for the area hierarchy. Nothing here covers relations
with tables of *other* breakdowns or periods: the yearly rows of a trend (which add up
to a multi-year total, or differ from last month's published figures by this month's
cases), counts by age or sex, or one period's table set against another's. Each such
table is protected on its own terms; where two of them add up to a third that is also
published, the caller must protect them together or publish only one.

The algorithm
-------------
The classic heuristic (Hundepool et al. 2012; tau-ARGUS of Statistics Netherlands),
with an exact check of the attack above:

1. Hide every count from 1 to ``min_count - 1`` (entitled rows excepted).
2. While a relation has exactly one hidden cell, hide one more of its cells: preferably
   one that can move the other way (a complement above ``min_count`` can fall, any
   complement can rise), then one whose other relation already has a hidden cell (no
   new singleton there), then the smallest, then the first in row order (rows sorted by
   label, so the result does not depend on the order the rows came in).
3. Check exact disclosure. Write ``y`` for the table with its margin cells negated;
   every row and every column of ``y`` then sums to zero: ``y`` is a circulation on the
   bipartite graph of rows and columns, one edge per cell, shown cells fixed. A hidden
   cell can take another value iff the true table can be changed along a cycle of
   hidden cells through it, each moving within its bound (the difference of two
   feasible tables decomposes into such cycles): a cycle in the residual graph. Columns
   are few, so reachability is computed between column nodes, through rows other than
   the cell's own.
4. For each pinned cell, hide one more cell of its row or column (where the cycle lacks
   a partner moving the other way, same preferences) and go back to 2. Hiding more never
   pins a cell that could move, so this ends. If hiding everything would still leave the
   cell pinned, the ``"<5"`` bounds are the cause: show a hidden ``min_count - 1`` of its
   relations as ``"x"`` instead (a total first) and go back to 2. What even that cannot
   free is derivable.

The cost is a few passes over the table per round; 1,000 rows take about 15 ms.

Linked tables: the area hierarchy
---------------------------------
A province's page lists its regencies under the province's row; a regency's page lists
its districts under the regency's row; and so on down to the villages. Protected one
table at a time, a regency's row may be hidden in one table and shown in the other, and
the shown copy opens the hidden one. :func:`protect_hierarchy` protects all those tables
at once and gives every area one state per cell, the same wherever it appears, with the
guarantee above over the union of their relations: every row's parts add up to its
total; for every area with children (as rows), each column of the children adds up to
the area's cell, less its *unassigned* count (cases recorded at the area's own level, or
in children that are not rows); with ``grand_total``, the top areas add up to a
published total, which counts as an entitled row (what it gives away, a country's only
province say, is derivable). Unassigned counts are never published: the attacker is
taken to know whether an area has any in a category, and that there are then at least
1 (their number if entitled to the area). So where the children do add up to the
parent the attacker knows they do, and where they do not, a count recorded at the
parent's level alone is not thereby given away.

This is still a network. Take one node per area without children (its row relation),
one per area with children and column (the children's column relation), and a root. A
childless area's cell is an edge from its row node to its parent's column node (the
root at the top); a parent's cell, an edge from its own column node to its parent's;
total cells point the other way (the negation in ``y`` above). Every relation is then
conservation at a node, except a parent's row relation, which the others imply (the sum
of its column relations, less its children's row relations) and which is left out; the
root needs none, as a graph's node relations sum to zero. An unassigned count is one more
childless child. The constraint matrix is a directed graph's incidence matrix, totally
unimodular, so the extremes are still whole numbers and a hidden cell can move iff its
edge lies on a cycle of the residual graph.

The check follows the tree. Bottom-up: which column nodes of an area reach which through
its subtree (each child offers its parent a step in at one column, through the child's
subtree, out at another). Top-down: which column nodes of an area's parent reach which
avoiding the area's subtree (its siblings' offers, and out through the parent's own
cells and back). A cell can move iff a walk leads back from the parent's side to the
area's side without the cell's own edge: for a childless area, through another of its
cells; for a parent, through the ``2 k`` column nodes of the area and its parent, the
walks between them known. All of it runs a level at a time over ``k x k`` boolean
matrices: linear in the number of areas.

The suppression is that of one table, with all the relations at once: primary
everywhere; singletons resolved a kind at a time (all rows, then the parents' columns a
level at a time from the bottom: those of one level share no cell); the exact check;
one more complement for each pinned cell in one of its relations (one without a partner
able to move the other way first), or masking ``min_count - 1`` where hiding cannot
help; and round again. It only hides, so it ends, and ties are broken by code, not by
the order of the rows. A synthetic hierarchy of the demo's shape (18,790 areas: 6
provinces, 84 regencies, 1,200 districts, 17,500 villages; nine in ten village counts
zero, many of the others 1 to 4) takes about 0.15 s of one core, one of the national
shape (91,592 areas) about 1.4 s (4.5 s with half the village counts non-zero).

References
----------
Hundepool, A., Domingo-Ferrer, J., Franconi, L., Giessing, S., Schulte Nordholt, E.,
Spicer, K. & de Wolf, P.-P. (2012). *Statistical Disclosure Control*. Wiley. Chapter 4
(tabular data: primary and secondary cell suppression, the singleton and exact
disclosure) and chapter 5 (frequency tables).

de Wolf, P.-P. et al. *tau-ARGUS user's manual*. Statistics Netherlands.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

Reason = Literal["primary", "secondary"]

DEFAULT_MIN_COUNT = 5
SECONDARY_LABEL = "x"

# Internal cell states. A masked cell is a small count shown as "x" rather than "<5"
# (see _mask_tops); to the outside it is "secondary", hidden as "x".
_VISIBLE, _PRIMARY, _SECONDARY, _MASKED = 0, 1, 2, 3
_REASONS: dict[int, Reason | None] = {_VISIBLE: None, _PRIMARY: "primary",
                                      _SECONDARY: "secondary", _MASKED: "secondary"}
_REASON_OF = np.array([_REASONS[s] for s in range(4)], dtype=object)


@dataclass(frozen=True, slots=True)
class Protected:
    """One protected figure: the count if it may be shown, else why it is hidden.

    A hidden cell never carries its value, so nothing downstream can leak it.
    """

    value: int | None
    reason: Reason | None = None
    min_count: int = DEFAULT_MIN_COUNT

    def __post_init__(self) -> None:
        if (self.value is None) == (self.reason is None):
            raise ValueError("value: expected a count when reason is None and None when "
                             f"the cell is hidden; got value={self.value!r}, "
                             f"reason={self.reason!r}.")

    @property
    def suppressed(self) -> bool:
        return self.reason is not None

    @property
    def label(self) -> str:
        """``"12"``, ``"0"``, ``"<5"`` (primary) or ``"x"`` (secondary: a complement,
        or rarely a small count whose ``"<5"`` would give others away)."""
        return self.format()

    def format(self, *, secondary: str = SECONDARY_LABEL,
               number: Callable[[int], str] = str) -> str:
        """The label, with ``number`` formatting shown counts (e.g. thousands
        separators for a locale) and ``secondary`` in place of ``"x"``."""
        if self.reason == "primary":
            return f"<{self.min_count}"
        if self.reason == "secondary":
            return secondary
        assert self.value is not None
        return number(self.value)

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True, eq=False)
class ProtectedTable:
    """The result of :func:`protect_table` or :func:`protect_hierarchy`; treat the frames
    as read-only.

    Attributes
    ----------
    values : DataFrame
        Same index as the input, columns ``parts`` then ``total``; a Python ``int`` where
        shown, ``None`` where hidden (object dtype, so templates never meet ``pd.NA``).
    reasons : DataFrame
        Per cell: ``"primary"`` (shown as ``"<5"``), ``"secondary"`` (shown as ``"x"``)
        or ``None`` (shown).
    derivable : DataFrame
        Boolean: hidden cells that the entitled rows determine whatever this table
        hides (see the module docstring). All false without entitled rows.
    min_count : int
    """

    values: pd.DataFrame
    reasons: pd.DataFrame
    derivable: pd.DataFrame
    min_count: int

    @property
    def suppressed(self) -> pd.DataFrame:
        """Boolean mask of hidden cells."""
        return self.reasons.notna()

    def cell(self, row: Hashable, column: Hashable) -> Protected:
        return Protected(self.values.at[row, column], self.reasons.at[row, column],
                         self.min_count)

    def row(self, row: Hashable) -> dict[Hashable, Protected]:
        """``{column: Protected}`` for one row, in column order."""
        return {c: self.cell(row, c) for c in self.values.columns}

    def rows(self) -> Iterator[tuple[Hashable, dict[Hashable, Protected]]]:
        for label in self.values.index:
            yield label, self.row(label)

    def labels(self, *, secondary: str = SECONDARY_LABEL,
               number: Callable[[int], str] = str) -> pd.DataFrame:
        """The table as text, as :meth:`Protected.format` writes each cell."""
        primary = f"<{self.min_count}"
        text = [[number(v) if r is None else primary if r == "primary" else secondary
                 for v, r in zip(values, reasons, strict=True)]
                for values, reasons in zip(self.values.to_numpy(), self.reasons.to_numpy(),
                                           strict=True)]
        return pd.DataFrame(text, index=self.values.index, columns=self.values.columns,
                            dtype=object)


def protect_table(
    counts: pd.DataFrame,
    *,
    parts: Sequence[Hashable],
    total: Hashable | None = "total",
    total_row: Hashable | None = None,
    entitled: pd.Series | Sequence[bool] | None = None,
    min_count: int = DEFAULT_MIN_COUNT,
) -> ProtectedTable:
    """Protect a table of counts: rows are areas, columns are ``parts`` and ``total``.

    Parameters
    ----------
    counts : DataFrame
        Whole non-negative counts, one row per area, indexed by area code (labels must be
        unique). Other columns are ignored.
    parts : sequence of column labels
        The categories, which add up to ``total`` in every row.
    total : column label or None
        The row total column; None when the table has no total column (then rows carry
        no relation).
    total_row : index label or None
        The parent area's own row: every column of the other rows adds up to it. Give it
        only when the other rows are *all* the parent's children (a page of them does
        not add up to the parent, and the relation would be wrong both ways).
    entitled : boolean Series (by index) or sequence (by position), optional
        Rows the user may see in full: shown as they are, known to the attacker, never
        hidden as complements.
    min_count : int
        Counts from 1 to ``min_count - 1`` are hidden. At least 3, so that ``"<3"``
        still covers two values (1 and 2) besides the zero that is always shown.

    Returns
    -------
    ProtectedTable

    Raises
    ------
    ValueError
        Naming the parameter: unknown columns or rows, counts that are not whole
        non-negative numbers, rows or columns that do not add up.
    """
    if not isinstance(counts, pd.DataFrame):
        raise TypeError(f"counts: expected a pandas DataFrame, got {type(counts).__name__}.")
    columns = _columns(counts, parts, total)
    if not counts.index.is_unique:
        dup = counts.index[counts.index.duplicated()][0]
        raise ValueError(f"counts: row labels must be unique; {dup!r} appears twice.")
    if total_row is not None and total_row not in counts.index:
        raise ValueError(f"total_row: {total_row!r} is not a row of counts.")
    m = _min_count(min_count)
    frozen = _entitled(entitled, counts.index)
    x = _whole_counts(counts, columns)

    # Internal layout: children sorted by label (ties are broken by position, so sorting
    # makes the result independent of the input order), the parent row last, the total
    # column last.
    n = len(counts)
    parent = None if total_row is None else counts.index.get_loc(total_row)
    children = [i for i in range(n) if i != parent]
    # sorted() rather than .sort(): a failed comparison leaves the list as it was.
    with contextlib.suppress(TypeError):  # labels of mixed types: keep the given order
        children = sorted(children, key=lambda i: counts.index[i])
    order = np.array(children + ([parent] if parent is not None else []), dtype=np.int64)
    xo = x[order]
    _check_additive(xo, counts.index[order], columns, has_total=total is not None,
                    has_parent=parent is not None)
    status, pinned = _protect(xo, frozen[order], m=m, row_groups=total is not None,
                              col_groups=parent is not None)

    inverse = np.empty_like(order)
    inverse[order] = np.arange(n)
    return _result(x, status[inverse], pinned[inverse], counts.index, columns, m)


def protect_hierarchy(
    counts: pd.DataFrame,
    *,
    parent: Hashable = "parent_code",
    parts: Sequence[Hashable],
    total: Hashable = "total",
    entitled: pd.Series | Sequence[bool] | None = None,
    min_count: int = DEFAULT_MIN_COUNT,
    grand_total: bool = False,
) -> ProtectedTable:
    """Protect every area of a hierarchy together: each area gets one state per cell,
    the same in every table that shows it.

    A page that lists an area's children under the area's own row, and the page above
    it that lists the area among its siblings, show the same row twice. Protected as
    separate tables they may hide different cells of it, and together give away what
    each hides ("linked tables", see the module docstring). Here every relation of the
    hierarchy is protected at once: take every published figure of an area from this
    one result.

    Parameters
    ----------
    counts : DataFrame
        One row per area, indexed by area code (unique), with whole non-negative counts
        in ``parts`` and ``total`` and the parent's code in ``parent``. Other columns
        are ignored.
    parent : column label
        The parent area's code, which must be a row of ``counts``; missing (None, NaN
        or ``""``) at the top. Any depth. To protect part of a hierarchy (one
        province's), give its top area no parent: then nothing above it may be
        published with it.
    parts : sequence of column labels
        The categories, which add up to ``total`` in every row.
    total : column label
        The row total column (required: it is what ties an area's categories together).
    entitled : boolean Series (by code) or sequence (by position), optional
        Areas the user may see in full (typically an organisation's jurisdiction and
        everything under it): shown as they are, known to the attacker, never hidden
        as complements.
    min_count : int
        Counts from 1 to ``min_count - 1`` are hidden; at least 3.
    grand_total : bool
        The top-level areas add up to a published total (the national figure) that is
        not a row of ``counts``. Only when the caller does publish it; a total given as
        a row (the country, with the provinces as its children) needs no flag.

    The children of an area need not add up to it: counts recorded at the area's own
    level, or in children that are not rows, make an "unassigned" difference (children
    that add up to more than their parent are an error). It is never published; the
    guarantee takes the attacker to know, per category, whether there is any and that it
    is then at least 1, and its exact value if entitled to the area. Where children do
    add up, the attacker is thus taken to know that they do. A caller that publishes
    unassigned counts gives them as a child row of their own, protected like any area.
    A published grand total counts as an entitled row: what it gives away (a country's
    only province, say) is marked derivable.

    Returns
    -------
    ProtectedTable
        Indexed like ``counts`` (in its order), columns ``parts`` then ``total``.

    Raises
    ------
    ValueError
        Naming the parameter: unknown columns, duplicate codes, a parent that is not a
        row, an area that is its own ancestor, counts that are not whole non-negative
        numbers, rows that do not add up, children that add up to more than their
        parent.
    """
    if not isinstance(counts, pd.DataFrame):
        raise TypeError(f"counts: expected a pandas DataFrame, got {type(counts).__name__}.")
    if total is None:
        raise ValueError("total: protect_hierarchy needs the row total column.")
    columns = _columns(counts, parts, total)
    if not counts.index.is_unique:
        dup = counts.index[counts.index.duplicated()][0]
        raise ValueError(f"counts: area codes must be unique; {dup!r} appears twice.")
    if parent not in counts.columns:
        raise ValueError(f"parent: {parent!r} is not a column of counts.")
    if parent in columns:
        raise ValueError(f"parent: {parent!r} is also one of the count columns.")
    m = _min_count(min_count)
    frozen = _entitled(entitled, counts.index)
    x = _whole_counts(counts, columns)
    up_link = _parent_positions(counts[parent], counts.index)
    _depths(up_link, counts.index)  # no area is its own ancestor
    _check_additive(x, counts.index, columns, has_total=True, has_parent=False)

    xo, frozen, slack, tree, order = _layout(x, up_link, frozen, counts.index, columns,
                                             grand_total=grand_total)
    status, pinned = _protect_hierarchy(xo, frozen, slack, tree, m)
    keep = order < len(counts)  # the areas, not the grand total and unassigned rows
    back = np.argsort(order[keep])
    return _result(x, status[keep][back], pinned[keep][back], counts.index, columns, m)


def protect_counts(
    rows: Sequence[Mapping[Hashable, int]],
    *,
    parts: Sequence[Hashable],
    total: Hashable | None = "total",
    total_row: int | None = None,
    entitled: Sequence[bool] | None = None,
    min_count: int = DEFAULT_MIN_COUNT,
) -> list[dict[Hashable, Protected]]:
    """:func:`protect_table` for a list of ``{column: count}`` rows, as templates like it.

    ``total_row`` is a position in ``rows`` (the parent's row); ties are broken by
    position; a missing part counts as 0 (a missing total is an error). The result is
    one ``{column: Protected}`` per row, in order.
    """
    if total_row is not None and not 0 <= total_row < len(rows):
        raise ValueError(f"total_row: expected a position in rows (0 to {len(rows) - 1}), "
                         f"got {total_row!r}.")
    if total is not None:
        for i, r in enumerate(rows):
            if total not in r:
                raise ValueError(f"rows: row {i} has no {total!r}.")
    columns = [*parts, *([total] if total is not None else [])]
    frame = pd.DataFrame([{c: r.get(c, 0) for c in columns} for r in rows],
                         columns=columns, index=pd.RangeIndex(len(rows)))
    table = protect_table(frame, parts=parts, total=total, total_row=total_row,
                          entitled=entitled, min_count=min_count)
    return [cells for _, cells in table.rows()]


def protect_series(
    counts: Mapping[Hashable, int] | pd.Series,
    *,
    parts: Sequence[Hashable],
    total: Hashable | None = "total",
    min_count: int = DEFAULT_MIN_COUNT,
) -> dict[Hashable, Protected]:
    """One area's categories and total, protected on their own.

    Only for an area shown alone: an area that is also a row of a shown table must take
    its figures from that table's protection (see "linked tables" in the module
    docstring).
    """
    frame = pd.DataFrame([dict(counts)], index=pd.RangeIndex(1))
    return protect_table(frame, parts=parts, total=total, min_count=min_count).row(0)


def protect_rate(count: Protected, rate: float | None) -> float | None:
    """``rate`` if the count it is derived from is shown, else None.

    A rate and a public population give the count back, so a rate goes with its count.
    """
    if not isinstance(count, Protected):
        raise TypeError(f"count: expected a Protected figure, got {type(count).__name__}.")
    return None if count.suppressed else rate


def protect_rates(table: ProtectedTable, rates: pd.DataFrame) -> pd.DataFrame:
    """``rates`` (cells of ``table``'s rows and columns) with None where the count is
    hidden (object dtype)."""
    missing_rows = rates.index.difference(table.values.index)
    missing_cols = rates.columns.difference(table.values.columns)
    if len(missing_rows) or len(missing_cols):
        what = (f"row {missing_rows[0]!r}" if len(missing_rows)
                else f"column {missing_cols[0]!r}")
        raise ValueError(f"rates: {what} is not in the protected table.")
    hidden = table.suppressed.loc[rates.index, rates.columns].to_numpy()
    return rates.astype(object).where(~hidden, None)


# --- validation ---------------------------------------------------------------------------

def _columns(counts: pd.DataFrame, parts: Sequence[Hashable],
             total: Hashable | None) -> list[Hashable]:
    if isinstance(parts, str) or not isinstance(parts, Sequence) or len(parts) == 0:
        raise ValueError(f"parts: expected a non-empty list of columns, got {parts!r}.")
    if len(set(parts)) != len(parts):
        raise ValueError(f"parts: columns must be distinct, got {list(parts)!r}.")
    for c in parts:
        if c not in counts.columns:
            raise ValueError(f"parts: {c!r} is not a column of counts.")
    if total is not None:
        if total in parts:
            raise ValueError(f"total: {total!r} is also one of the parts.")
        if total not in counts.columns:
            raise ValueError(f"total: {total!r} is not a column of counts.")
    return [*parts, *([total] if total is not None else [])]


def _entitled(entitled: Any, index: pd.Index) -> np.ndarray:
    if entitled is None:
        return np.zeros(len(index), dtype=bool)
    if isinstance(entitled, pd.Series):
        missing = index.difference(entitled.index)
        if len(missing):
            raise ValueError(f"entitled: no value for row {missing[0]!r}.")
        entitled = entitled.reindex(index)
    flags = np.asarray(entitled)
    if flags.shape != (len(index),) or (flags.size and flags.dtype != bool):
        raise ValueError(f"entitled: expected {len(index)} booleans, one per row of counts.")
    return flags.astype(bool)


def _whole_counts(counts: pd.DataFrame, columns: list[Hashable]) -> np.ndarray:
    try:
        raw = counts[columns].to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        raise ValueError("counts: expected numbers in the parts and total columns.") from None
    bad = ~np.isfinite(raw) | (raw < 0) | (raw != np.round(raw))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValueError(f"counts: expected whole numbers >= 0; row {counts.index[r]!r}, "
                         f"column {columns[c]!r} has {raw[r, c]!r}.")
    return raw.astype(np.int64)


def _check_additive(x: np.ndarray, labels: pd.Index, columns: list[Hashable], *,
                    has_total: bool, has_parent: bool) -> None:
    if has_total:
        off = np.flatnonzero(x[:, :-1].sum(axis=1) != x[:, -1])
        if off.size:
            r = off[0]
            raise ValueError(f"counts: the parts of row {labels[r]!r} add up to "
                             f"{x[r, :-1].sum()}, but its {columns[-1]!r} is {x[r, -1]}.")
    if has_parent:
        off = np.flatnonzero(x[:-1].sum(axis=0) != x[-1])
        if off.size:
            c = off[0]
            raise ValueError(f"total_row: the rows add up to {x[:-1, c].sum()} in column "
                             f"{columns[c]!r}, but row {labels[-1]!r} has {x[-1, c]} (are "
                             "all of its children in the table?).")


# --- suppression ----------------------------------------------------------------------

def _protect(x: np.ndarray, frozen: np.ndarray, *, m: int, row_groups: bool,
             col_groups: bool) -> tuple[np.ndarray, np.ndarray]:
    """Status per cell (visible, primary, secondary, masked) and the derivable mask.

    ``x`` is in the internal layout (parent row last, total column last); ``frozen``
    marks entitled rows.
    """
    eligible = ~frozen[:, None] & (x > 0)  # may be hidden; zeros never are
    status = np.where(eligible & (x < m), _PRIMARY, _VISIBLE).astype(np.int8)
    if not (row_groups or col_groups):
        return status, np.zeros(x.shape, dtype=bool)
    state = _State(x, status, eligible, m, row_groups, col_groups)
    # The best that hiding can do, given the masks so far, and with every mask.
    everything = np.where(eligible, np.where(x < m, _PRIMARY, _SECONDARY), _VISIBLE)
    topped = eligible & (x == m - 1)
    beyond_hiding = beyond_masking = None
    masks = -1
    while True:
        state.resolve_singletons()
        up, down = state.moves()
        pinned = (state.status != _VISIBLE) & ~_movable(up, down, row_groups, col_groups)
        if not pinned.any():
            return state.status, pinned
        if masks != (state.status == _MASKED).sum():
            masks = (state.status == _MASKED).sum()
            best = np.where(state.status == _MASKED, _MASKED, everything)
            beyond_hiding = _pinned(x, best, m, row_groups, col_groups)
        targets = pinned & ~beyond_hiding
        if targets.any():
            _hide_complements(state, targets, up, down)
            continue
        if beyond_masking is None:
            beyond_masking = _pinned(x, np.where(topped, _MASKED, everything), m,
                                     row_groups, col_groups)
        targets = pinned & ~beyond_masking
        if not targets.any():
            return state.status, pinned
        _mask_tops(state, targets)


def _hide_complements(state: _State, targets: np.ndarray, up: np.ndarray,
                      down: np.ndarray) -> None:
    """Hide one more cell for each pinned cell in ``targets`` (one per row per round: a
    complement often frees several pinned cells, and the check is cheap to repeat)."""
    used_rows: set[int] = set()
    for r, c in np.argwhere(targets):
        if r in used_rows:
            continue
        # A cycle through (r, c) needs, in its row and in its column, another cell
        # moving the other way. Where one is missing, the complement must go there.
        rise, fall = up[r, c], down[r, c]
        row_ok = col_ok = True
        if state.row_groups:
            others_up = up[r].sum() - up[r, c]
            others_down = down[r].sum() - down[r, c]
            row_ok = bool((rise and others_down) or (fall and others_up))
        if state.col_groups:
            others_up = up[:, c].sum() - up[r, c]
            others_down = down[:, c].sum() - down[r, c]
            col_ok = bool((rise and others_down) or (fall and others_up))
        in_row = state.row_groups and (not row_ok or col_ok)
        in_col = state.col_groups and (not col_ok or row_ok)
        cell = (state.best_complement(r, c, in_row=in_row, in_col=in_col)
                or state.best_complement(r, c, in_row=state.row_groups,
                                         in_col=state.col_groups)
                or state.best_anywhere())
        if cell is None:
            # What this round hid may have freed it; if nothing was, hiding could not.
            assert used_rows, "a cell that hiding can free has a complement left"
            return
        state.hide(*cell)
        used_rows.update((int(r), cell[0]))


def _mask_tops(state: _State, targets: np.ndarray) -> None:
    """Show one hidden ``min_count - 1`` as "x" instead of "<min_count", for pinned
    cells (``targets``) that hiding cannot free.

    Hiding cannot help when the public bounds themselves pin a relation: four villages
    with 1 case each and their district with 4 (all "<5") must each hold exactly 1. The
    upper bound of the "<5" total is what pins them, and an "x" has none.
    """
    x, m, status = state.x, state.m, state.status
    topped = np.argwhere((status == _PRIMARY) & (x == m - 1))
    # Masking is rare, so one mask per round: the first target's relations, and in them
    # the last cell in layout order (a total before a single area's count); anywhere
    # if they have none.
    for r, c in np.argwhere(targets):
        near = ((topped[:, 0] == r) & state.row_groups) | ((topped[:, 1] == c) & state.col_groups)
        if near.any():
            cell = topped[near][-1]
            break
    else:
        assert len(topped), "a cell that masking can free has a '<min_count' left"
        cell = topped[-1]
    status[cell[0], cell[1]] = _MASKED


class _State:
    """The suppression pattern being built, with hidden-cell counts per row and column.

    Moves are in terms of ``y``, the table with its margins negated (every relation
    reads "sum of y = 0"): a hidden cell may rise if ``y`` can grow within its public
    bound, fall if it can shrink.
    """

    def __init__(self, x: np.ndarray, status: np.ndarray, eligible: np.ndarray, m: int,
                 row_groups: bool, col_groups: bool) -> None:
        self.x, self.status, self.eligible, self.m = x, status, eligible, m
        self.row_groups, self.col_groups = row_groups, col_groups
        hidden = status != _VISIBLE
        self.per_row = hidden.sum(axis=1)
        self.per_col = hidden.sum(axis=0)
        self.negated = _negated(x.shape, row_groups, col_groups)
        # How each cell could move once hidden as a complement (bound [m, inf)).
        self.complement_up, self.complement_down = _moves(
            x, np.full(x.shape, _SECONDARY, dtype=np.int8), m, self.negated)

    def moves(self) -> tuple[np.ndarray, np.ndarray]:
        return _moves(self.x, self.status, self.m, self.negated)

    def hide(self, r: int, c: int) -> None:
        self.status[r, c] = _SECONDARY
        self.per_row[r] += 1
        self.per_col[c] += 1

    def resolve_singletons(self) -> None:
        """Hide complements until no relation has exactly one hidden cell (or none can
        be found for it: the exact-disclosure check then deals with it)."""
        changed = True
        while changed:
            changed = False
            if self.row_groups:
                for r in np.flatnonzero(self.per_row == 1):
                    if self.per_row[r] != 1:
                        continue
                    c = int(np.flatnonzero(self.status[r])[0])
                    if cell := self.best_complement(r, c, in_row=True, in_col=False):
                        self.hide(*cell)
                        changed = True
            if self.col_groups:
                for c in np.flatnonzero(self.per_col == 1):
                    if self.per_col[c] != 1:
                        continue
                    r = int(np.flatnonzero(self.status[:, c])[0])
                    if cell := self.best_complement(r, c, in_row=False, in_col=True):
                        self.hide(*cell)
                        changed = True

    def best_complement(self, r: int, c: int, *, in_row: bool,
                        in_col: bool) -> tuple[int, int] | None:
        """The preferred shown, non-zero, non-entitled cell of row ``r`` and/or column
        ``c`` to hide next to the hidden cell ``(r, c)``."""
        rs_list, cs_list, cascade_list = [], [], []
        if in_row:
            cs = np.flatnonzero(self.eligible[r] & (self.status[r] == _VISIBLE))
            rs_list.append(np.full(cs.size, r))
            cs_list.append(cs)
            # Its other relation is its column: a new singleton there if none is hidden.
            cascade_list.append((self.per_col[cs] == 0) if self.col_groups
                                else np.zeros(cs.size, dtype=bool))
        if in_col:
            rs = np.flatnonzero(self.eligible[:, c] & (self.status[:, c] == _VISIBLE))
            rs_list.append(rs)
            cs_list.append(np.full(rs.size, c))
            cascade_list.append((self.per_row[rs] == 0) if self.row_groups
                                else np.zeros(rs.size, dtype=bool))
        if not rs_list:
            return None
        rs = np.concatenate(rs_list).astype(np.int64)
        cs = np.concatenate(cs_list).astype(np.int64)
        if rs.size == 0:
            return None
        up, down = self.moves()
        rise, fall = up[r, c], down[r, c]
        # Useful: it can move the other way from (r, c) in the relation they share.
        useful = ((rise & self.complement_down[rs, cs])
                  | (fall & self.complement_up[rs, cs]))
        return self._first(rs, cs, ~useful, np.concatenate(cascade_list))

    def best_anywhere(self) -> tuple[int, int] | None:
        rs, cs = np.nonzero(self.eligible & (self.status == _VISIBLE))
        if rs.size == 0:
            return None
        none = np.zeros(rs.size, dtype=bool)
        return self._first(rs, cs, none, none)

    def _first(self, rs: np.ndarray, cs: np.ndarray, useless: np.ndarray,
               cascade: np.ndarray) -> tuple[int, int]:
        i = np.lexsort((cs, rs, self.x[rs, cs], cascade, useless))[0]
        return int(rs[i]), int(cs[i])


def _negated(shape: tuple[int, int], row_groups: bool, col_groups: bool) -> np.ndarray:
    """The margin cells, negated in ``y`` so that every relation reads "sum = 0"."""
    negated = np.zeros(shape, dtype=bool)
    if row_groups:
        negated[:, -1] ^= True
    if col_groups:
        negated[-1, :] ^= True  # the grand total is negated twice: a plain cell again
    return negated


def _moves(x: np.ndarray, status: np.ndarray, m: int,
           negated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(up, down)``: may each hidden cell's ``y`` rise (fall) by 1 within its public
    bound?"""
    primary, secondary, masked = status == _PRIMARY, status == _SECONDARY, status == _MASKED
    # An "x" has no upper bound; a complement is at least m, a masked count at least 1.
    x_up = (primary & (x < m - 1)) | secondary | masked
    x_down = ((primary | masked) & (x > 1)) | (secondary & (x > m))
    return np.where(negated, x_down, x_up), np.where(negated, x_up, x_down)


def _pinned(x: np.ndarray, status: np.ndarray, m: int, row_groups: bool,
            col_groups: bool) -> np.ndarray:
    """Hidden cells whose value the published table determines."""
    up, down = _moves(x, status, m, _negated(x.shape, row_groups, col_groups))
    return (status != _VISIBLE) & ~_movable(up, down, row_groups, col_groups)


def _movable(up: np.ndarray, down: np.ndarray, row_groups: bool,
             col_groups: bool) -> np.ndarray:
    """Hidden cells that can take another value given the shown cells, the public
    bounds and the relations (see "The algorithm" in the module docstring)."""
    if not (row_groups or col_groups):  # free within its bound, which has two values
        return up | down
    if row_groups and col_groups:
        can_rise, can_fall = _cycles(up, down)
    elif row_groups:  # one relation per row: y rises if another cell of the row falls
        can_rise = (down.sum(axis=1, keepdims=True) - down) > 0
        can_fall = (up.sum(axis=1, keepdims=True) - up) > 0
    else:
        can_rise = (down.sum(axis=0, keepdims=True) - down) > 0
        can_fall = (up.sum(axis=0, keepdims=True) - up) > 0
    return (up & can_rise) | (down & can_fall)


def _cycles(up: np.ndarray, down: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a two-way table: may cell (r, c) rise (fall) along a residual cycle?

    Raising ``y[r, c]`` is an arc row r -> column c; it must be closed by a path from
    column c back to row r: through other rows (row s leads from column a to column b if
    ``y[s, a]`` may fall and ``y[s, b]`` may rise) to some column d != c with
    ``y[r, d]`` able to fall. A path that came back through row r earlier would close a
    shorter cycle, so paths avoid row r; they only differ from paths through all rows
    for the rows that are the only ones providing some step.
    """
    up_i, down_i = up.astype(np.int64), down.astype(np.int64)
    steps = down_i.T @ up_i  # steps[a, b]: how many rows lead from column a to column b
    np.fill_diagonal(steps, 0)
    reach = _closure(steps > 0).astype(np.int64)
    can_rise = (down_i @ reach.T) > 0
    can_fall = (up_i @ reach) > 0
    sole = {int(np.flatnonzero(down[:, a] & up[:, b])[0])
            for a, b in np.argwhere(steps == 1)}
    for r in sorted(sole):
        own = np.outer(down_i[r], up_i[r])
        np.fill_diagonal(own, 0)
        reach_r = _closure((steps - own) > 0).astype(np.int64)
        can_rise[r] = (down_i[r] @ reach_r.T) > 0
        can_fall[r] = (up_i[r] @ reach_r) > 0
    return can_rise, can_fall


def _closure(adjacent: np.ndarray) -> np.ndarray:
    """Boolean transitive closure (paths of one step or more, Floyd-Warshall); the
    diagonal is cleared because a cell's cycle needs a second column."""
    reach = adjacent.copy()
    for k in range(len(reach)):
        reach |= reach[:, k, None] & reach[None, k, :]
    np.fill_diagonal(reach, False)
    return reach


# --- linked tables: the area hierarchy ----------------------------------------------------
#
# Layout: breadth-first, level by level; within a level grouped by parent (parents in
# layout order) and by label, so every area's children are one contiguous block. The
# total column is last. ``y`` is ``x`` with the total column negated (not the parent
# rows: each cell is one edge of the graph below, seen from its parent's table).

_NONE = np.iinfo(np.int64).max  # the key of "no candidate"
_TIER_SHIFT = 50  # keys: preference tier above, then value * span + rank
_VALUE_CAP = 2**20 - 1


@dataclass(frozen=True, eq=False)
class _Tree:
    """The hierarchy in breadth-first layout (see above)."""

    parent: np.ndarray  # (n,) layout position of the parent row, -1 at the top
    bounds: np.ndarray  # level d is rows bounds[d]:bounds[d + 1]
    first_child: np.ndarray  # (n,) children are rows first_child:end_child
    end_child: np.ndarray
    internal: np.ndarray  # (n,) has children
    parents: list[np.ndarray]  # per level d: its rows with children
    groups: list[np.ndarray]  # ... where their children start, from bounds[d + 1]

    def level(self, d: int) -> tuple[np.ndarray, np.ndarray, int, int]:
        """Level ``d``'s parents, where their children start (for reduceat) and the
        children's rows ``lo:hi``."""
        return self.parents[d], self.groups[d], int(self.bounds[d + 1]), int(self.bounds[d + 2])


def _min_count(min_count: Any) -> int:
    if isinstance(min_count, bool) or not isinstance(min_count, int | np.integer) \
            or min_count < 3:
        raise ValueError(f"min_count: expected a whole number >= 3, got {min_count!r}.")
    return int(min_count)


def _parent_positions(parents: pd.Series, index: pd.Index) -> np.ndarray:
    """Position of each area's parent row, -1 at the top."""
    missing = parents.isna().to_numpy().copy()
    blank = np.fromiter((isinstance(v, str) and v == "" for v in parents.to_numpy()),
                        dtype=bool, count=len(parents))
    missing |= blank
    up = np.asarray(index.get_indexer(parents.where(~missing, None)), dtype=np.int64)
    up[missing] = -1
    unknown = np.flatnonzero((up < 0) & ~missing)
    if unknown.size:
        i = unknown[0]
        raise ValueError(f"parent: {parents.iloc[i]!r}, the parent of {index[i]!r}, is not "
                         "a row of counts (give its row, or no parent at the top).")
    own = np.flatnonzero(up == np.arange(len(up)))
    if own.size:
        raise ValueError(f"parent: area {index[own[0]]!r} is its own parent.")
    return up


def _layout(x: np.ndarray, up_link: np.ndarray, frozen: np.ndarray, index: pd.Index,
            columns: list[Hashable], *, grand_total: bool
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, _Tree, np.ndarray]:
    """The hierarchy with its synthetic rows, in the breadth-first layout: ``x``,
    ``frozen`` (entitled or published), ``slack`` (unassigned rows), the tree, and the
    input position of each layout row (past ``len(index)``: the grand total, then the
    unassigned rows)."""
    n = len(index)
    if grand_total:  # an implicit top row, published, so known like an entitled row
        top = up_link < 0
        x = np.vstack([x, x[top].sum(axis=0, keepdims=True)])
        up_link = np.append(np.where(top, n, up_link), -1)
        frozen = np.append(frozen, True)
    # The unassigned rows: for each parent whose children do not add up to it, the
    # difference as one more child, never shown (see "Linked tables").
    below = np.flatnonzero(up_link >= 0)
    sums = np.zeros_like(x)
    np.add.at(sums, up_link[below], x[below])
    has_children = np.zeros(len(x), dtype=bool)
    has_children[up_link[below]] = True
    rest = np.where(has_children[:, None], x - sums, 0)
    if (rest < 0).any():
        r, c = np.argwhere(rest < 0)[0]
        raise ValueError(f"counts: the children of {index[r]!r} add up to "
                         f"{sums[r, c]} in column {columns[c]!r}, more than its {x[r, c]}.")
    unassigned = np.flatnonzero(rest.any(axis=1))
    x = np.vstack([x, rest[unassigned]])
    up_link = np.append(up_link, unassigned)
    frozen = np.append(frozen, frozen[unassigned])  # entitled to the parent: known
    slack = np.arange(len(x)) >= len(x) - unassigned.size
    tree, order = _tree(index, up_link)
    return x[order], frozen[order], slack[order], tree, order


def _depths(up: np.ndarray, index: pd.Index) -> np.ndarray:
    """How many ancestors each area has (``up``: parent positions, -1 at the top)."""
    depth = np.zeros(len(up), dtype=np.int64)
    reach = up.copy()
    for _ in range(len(up) + 1):
        live = np.flatnonzero(reach >= 0)
        if not live.size:
            return depth
        depth[live] += 1
        reach[live] = up[reach[live]]
    raise ValueError(f"parent: area {index[reach[live[0]]]!r} is its own ancestor.")


def _tree(index: pd.Index, up: np.ndarray) -> tuple[_Tree, np.ndarray]:
    """The breadth-first layout of the hierarchy ``up`` (parent positions, input order;
    positions past ``index`` are synthetic rows) and ``order``, the input position of
    each layout row."""
    n = len(up)
    depth = _depths(up, index)
    # Labels sorted, so the result does not depend on the input order (kept as given
    # when the labels cannot be compared).
    rank = np.arange(n)  # rows past the labels (synthetic) come last among siblings
    with contextlib.suppress(TypeError):
        labels = np.asarray(index, dtype=object)
        rank[np.argsort(labels, kind="stable")] = np.arange(len(labels))
    layout = np.full(n, -1, dtype=np.int64)
    blocks, bounds = [], [0]
    for d in range(int(depth.max(initial=0)) + 1):
        members = np.flatnonzero(depth == d)
        members = members[np.lexsort((rank[members], layout[up[members]] if d else
                                      np.zeros(members.size, dtype=np.int64)))]
        layout[members] = np.arange(bounds[-1], bounds[-1] + members.size)
        blocks.append(members)
        bounds.append(bounds[-1] + members.size)
    order = np.concatenate(blocks)
    parent = np.where(up[order] >= 0, layout[np.maximum(up[order], 0)], -1)
    below = parent[bounds[1]:]  # non-decreasing: children follow their parents' order
    rows = np.arange(n)
    first = np.searchsorted(below, rows, side="left") + bounds[1]
    end = np.searchsorted(below, rows, side="right") + bounds[1]
    internal = end > first
    parents, groups = [], []
    for d in range(len(bounds) - 2):
        ps = np.flatnonzero(internal[bounds[d]:bounds[d + 1]]) + bounds[d]
        parents.append(ps)
        groups.append(first[ps] - bounds[d + 1])
    return _Tree(parent=parent, bounds=np.array(bounds), first_child=first, end_child=end,
                 internal=internal, parents=parents, groups=groups), order


def _result(x: np.ndarray, status: np.ndarray, pinned: np.ndarray, index: pd.Index,
            columns: list[Hashable], m: int) -> ProtectedTable:
    shown = status == _VISIBLE
    cells = x.astype(object)  # Python ints, so templates and JSON get plain numbers
    cells[~shown] = None
    values = pd.DataFrame(cells, index=index, columns=columns, dtype=object)
    reasons = pd.DataFrame(_REASON_OF[status], index=index, columns=columns, dtype=object)
    derivable = pd.DataFrame(pinned, index=index, columns=columns)
    return ProtectedTable(values=values, reasons=reasons, derivable=derivable, min_count=m)


def _protect_hierarchy(x: np.ndarray, frozen: np.ndarray, slack: np.ndarray, tree: _Tree,
                       m: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_protect` for the whole hierarchy (``x`` in the breadth-first layout;
    ``slack`` marks the unassigned rows, hidden from the start where not zero or
    entitled, with the bounds of a masked cell: 1 or more)."""
    eligible = ~(frozen | slack)[:, None] & (x > 0)
    fixed = np.where((slack & ~frozen)[:, None] & (x > 0), _MASKED, _VISIBLE)
    status = np.where(eligible & (x < m), _PRIMARY, fixed).astype(np.int8)
    state = _Hierarchy(x, status, eligible, slack, m, tree)
    everything = np.where(eligible, np.where(x < m, _PRIMARY, _SECONDARY),
                          fixed).astype(np.int8)
    topped = eligible & (x == m - 1)
    beyond_hiding = beyond_masking = None
    masks = -1
    while True:
        state.resolve_singletons()
        up, down = state.moves()
        pinned = state.published(~_hierarchy_movable(up, down, tree))
        if not pinned.any():
            return state.status, pinned
        if masks != (state.status == _MASKED).sum():
            masks = (state.status == _MASKED).sum()
            beyond_hiding = state.pinned(np.where(state.status == _MASKED, _MASKED,
                                                  everything).astype(np.int8))
        targets = pinned & ~beyond_hiding
        if targets.any():
            state.hide_complements(targets, up, down)
            continue
        if beyond_masking is None:
            beyond_masking = state.pinned(np.where(topped, _MASKED,
                                                   everything).astype(np.int8))
        targets = pinned & ~beyond_masking
        if not targets.any():
            return state.status, pinned
        state.mask_tops(targets)


class _Hierarchy:
    """The suppression pattern of a hierarchy being built (see :class:`_State`).

    Its relations: each row (parts add up to the total, parent rows included although
    their row relation follows from the others), and each column of each parent's
    children with the parent's cell. Complements are chosen as in :class:`_State`; the
    keys below order candidates by (useless, cascade), value, then layout (row, column),
    a parent's cell after its children's.
    """

    def __init__(self, x: np.ndarray, status: np.ndarray, eligible: np.ndarray,
                 slack: np.ndarray, m: int, tree: _Tree) -> None:
        self.x, self.status, self.eligible, self.m, self.tree = x, status, eligible, m, tree
        self.slack = slack
        n, k = x.shape
        self.k, self.nk = k, n * k
        self.span = 2 * n * k + 1  # ranks: n * k more for a parent's cell in its column
        self.negated = np.zeros((1, k), dtype=bool)
        self.negated[0, -1] = True
        self.complement_up, self.complement_down = _moves(
            x, np.full(x.shape, _SECONDARY, dtype=np.int8), m, self.negated)
        self.value = np.minimum(x, _VALUE_CAP)
        self.rank = np.arange(n * k, dtype=np.int64).reshape(n, k)
        self.per_row, self.per_col = self.counts()

    def moves(self) -> tuple[np.ndarray, np.ndarray]:
        return _moves(self.x, self.status, self.m, self.negated)

    def published(self, pinned: np.ndarray, status: np.ndarray | None = None) -> np.ndarray:
        """Of the ``pinned`` cells, the hidden ones that are published (not unassigned)."""
        status = self.status if status is None else status
        return pinned & (status != _VISIBLE) & ~self.slack[:, None]

    def pinned(self, status: np.ndarray) -> np.ndarray:
        up, down = _moves(self.x, status, self.m, self.negated)
        return self.published(~_hierarchy_movable(up, down, self.tree), status)

    def counts(self) -> tuple[np.ndarray, np.ndarray]:
        """Hidden cells per row, and per parent and column (its children's and its own;
        0 for rows without children)."""
        hidden = self.status != _VISIBLE
        per_col = np.zeros(hidden.shape, dtype=np.int64)
        for d in range(len(self.tree.parents)):
            ps, gs, lo, hi = self.tree.level(d)
            if ps.size:
                per_col[ps] = np.add.reduceat(hidden[lo:hi], gs, axis=0, dtype=np.int64)
                per_col[ps] += hidden[ps]
        return hidden.sum(axis=1), per_col

    def hide(self, r: int, c: int) -> None:
        self.status[r, c] = _SECONDARY
        self.per_row[r] += 1
        if (p := self.tree.parent[r]) >= 0:
            self.per_col[p, c] += 1
        if self.tree.internal[r]:
            self.per_col[r, c] += 1

    def _hide_all(self, rows: np.ndarray, cols: np.ndarray) -> None:
        self.status[rows, cols] = _SECONDARY
        self.per_row, self.per_col = self.counts()

    def cascade(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Would hiding these cells leave a relation of theirs with one hidden cell?"""
        parent = self.tree.parent[rows]
        out = self.per_row[rows] == 0
        out |= (parent >= 0) & (self.per_col[np.maximum(parent, 0), cols] == 0)
        out |= self.tree.internal[rows] & (self.per_col[rows, cols] == 0)
        return out

    def key(self, useless: np.ndarray, rows: np.ndarray, cols: np.ndarray,
            ranks: np.ndarray) -> np.ndarray:
        tier = useless.astype(np.int64) * 2 + self.cascade(rows, cols)
        return (tier << _TIER_SHIFT) + self.value[rows, cols] * self.span + ranks

    def decode(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rank = (keys & ((1 << _TIER_SHIFT) - 1)) % self.span
        rank = np.where(rank >= self.nk, rank - self.nk, rank)
        return rank // self.k, rank % self.k

    def resolve_singletons(self) -> None:
        """Hide complements until no relation has exactly one hidden cell (or none can
        be found for it), all relations of a kind at once: rows, then the children's
        columns level by level from the bottom (those of one level share no cell)."""
        changed = True
        while changed:
            changed = self._row_singletons()
            for d in reversed(range(len(self.tree.parents))):
                if self._column_singletons(d):
                    changed = True
                    self._row_singletons()

    def _row_singletons(self) -> bool:
        rows = np.flatnonzero(self.per_row == 1)
        if not rows.size:
            return False
        status = self.status[rows]
        up, down = _moves(self.x[rows], status, self.m, self.negated)
        at = (np.arange(rows.size), np.argmax(status != _VISIBLE, axis=1))
        rise, fall = up[at][:, None], down[at][:, None]
        useful = (rise & self.complement_down[rows]) | (fall & self.complement_up[rows])
        rr = np.repeat(rows[:, None], self.k, axis=1)
        cc = np.broadcast_to(np.arange(self.k), rr.shape)
        keys = np.where(self.eligible[rows] & (status == _VISIBLE),
                        self.key(~useful, rr, cc, self.rank[rows]), _NONE)
        best = keys.argmin(axis=1)
        ok = keys[np.arange(rows.size), best] < _NONE
        if not ok.any():
            return False
        self._hide_all(rows[ok], best[ok])
        return True

    def _column_singletons(self, d: int) -> bool:
        ps, gs, lo, hi = self.tree.level(d)
        if not ps.size:
            return False
        single = self.per_col[ps] == 1
        if not single.any():
            return False
        hidden = self.status != _VISIBLE
        up, down = self.moves()
        kids = np.arange(lo, hi)
        which = np.maximum.reduceat(np.where(hidden[lo:hi], kids[:, None], -1), gs, axis=0)
        own = hidden[ps]
        h = np.where(own, ps[:, None], np.maximum(which, 0))
        cols = np.broadcast_to(np.arange(self.k), h.shape)
        # In a parent's column the children count +1 and the parent -1 (in y).
        rise = np.where(own, down[h, cols], up[h, cols])
        fall = np.where(own, up[h, cols], down[h, cols])
        at = np.repeat(np.arange(ps.size), np.diff(np.append(gs, hi - lo)))
        useful = ((rise[at] & self.complement_down[lo:hi])
                  | (fall[at] & self.complement_up[lo:hi]))
        rr = np.repeat(kids[:, None], self.k, axis=1)
        keys = np.where(self.eligible[lo:hi] & ~hidden[lo:hi] & single[at],
                        self.key(~useful, rr, cols[:1].repeat(hi - lo, axis=0),
                                 self.rank[lo:hi]), _NONE)
        best = np.minimum.reduceat(keys, gs, axis=0)
        useful = (rise & self.complement_up[ps]) | (fall & self.complement_down[ps])
        pr = np.repeat(ps[:, None], self.k, axis=1)
        mine = np.where(self.eligible[ps] & ~own & single,
                        self.key(~useful, pr, cols, self.nk + self.rank[ps]), _NONE)
        best = np.minimum(best, mine)[single]
        best = best[best < _NONE]
        if not best.size:
            return False
        self._hide_all(*self.decode(best))
        return True

    def _relations(self, a: int, c: int) -> Iterator[tuple[np.ndarray, ...]]:
        """The relations of cell ``(a, c)``: ``(rows, cols, signs, ranks, its sign)``."""
        k, tree = self.k, self.tree
        yield (np.full(k, a), np.arange(k), np.ones(k, dtype=np.int64), self.rank[a], 1)
        for p, sign in ((tree.parent[a], 1), (a if tree.internal[a] else -1, -1)):
            if p < 0:
                continue
            kids = np.arange(tree.first_child[p], tree.end_child[p])
            rows = np.append(kids, p)
            yield (rows, np.full(rows.size, c), np.append(np.ones(kids.size, np.int64), -1),
                   np.append(self.rank[kids, c], self.nk + self.rank[p, c]), sign)

    def hide_complements(self, targets: np.ndarray, up: np.ndarray,
                         down: np.ndarray) -> None:
        """Hide one more cell for each pinned cell in ``targets`` (one per row per round),
        in one of its relations: one that lacks a hidden partner able to move the other
        way first, as :func:`_hide_complements` does."""
        used: set[int] = set()
        for a, c in np.argwhere(targets):
            a, c = int(a), int(c)
            if a in used:
                continue
            lacking, others = [], []
            for rows, cols, signs, ranks, sign in self._relations(a, c):
                plus = signs > 0
                g_up, g_down = up[rows, cols], down[rows, cols]
                g_rise, g_fall = np.where(plus, g_up, g_down), np.where(plus, g_down, g_up)
                rise, fall = (up[a, c], down[a, c]) if sign > 0 else (down[a, c], up[a, c])
                others_hidden = (self.status[rows, cols] != _VISIBLE) & ((rows != a)
                                                                         | (cols != c))
                partner = (others_hidden & ((rise & g_fall) | (fall & g_rise))).any()
                free = self.eligible[rows, cols] & (self.status[rows, cols] == _VISIBLE)
                if not free.any():
                    continue
                rows, cols, plus, ranks = rows[free], cols[free], plus[free], ranks[free]
                c_up, c_down = self.complement_up[rows, cols], self.complement_down[rows, cols]
                c_rise = np.where(plus, c_up, c_down)
                c_fall = np.where(plus, c_down, c_up)
                useful = (rise & c_fall) | (fall & c_rise)
                (others if partner else lacking).append(self.key(~useful, rows, cols, ranks))
            keys = lacking or others
            if not keys:
                continue
            r, cc = self.decode(np.array([min(int(v.min()) for v in keys)]))
            self.hide(int(r[0]), int(cc[0]))
            used.update((a, int(r[0])))
        if used:
            return
        # Nothing left in any pinned cell's relations: the nearest shown cell, by
        # distance in the tree from the first pinned cell's area.
        a = int(np.argwhere(targets)[0][0])
        seen, ring = {a}, [a]
        tree = self.tree
        while ring:
            rows = np.array(ring)
            free = self.eligible[rows] & (self.status[rows] == _VISIBLE)
            if free.any():
                rr, cc = np.nonzero(free)
                rr = rows[rr]
                i = np.lexsort((cc, rr, self.x[rr, cc]))[0]
                self.hide(int(rr[i]), int(cc[i]))
                return
            nxt = []
            for r in ring:
                near = list(range(tree.first_child[r], tree.end_child[r]))
                if tree.parent[r] >= 0:
                    near.append(int(tree.parent[r]))
                nxt += [s for s in near if s not in seen]
                seen.update(near)
            ring = nxt
        raise AssertionError("a cell that hiding can free has a complement left")

    def mask_tops(self, targets: np.ndarray) -> None:
        """:func:`_mask_tops`: hidden ``min_count - 1`` shown as "x", one in the
        relations of each target (a parent's cell first, then a total; one per row per
        round), else the last anywhere."""
        topped = (self.status == _PRIMARY) & (self.x == self.m - 1)
        used: set[int] = set()
        for a, c in np.argwhere(targets):
            if a in used:
                continue
            best = None
            for rows, cols, _, ranks, _ in self._relations(int(a), int(c)):
                near = topped[rows, cols]
                if near.any():
                    i = int(np.argmax(np.where(near, ranks, -1)))
                    if best is None or ranks[i] > best[0]:
                        best = (ranks[i], rows[i], cols[i])
            if best is not None and best[1] not in used:
                self.status[best[1], best[2]] = _MASKED
                topped[best[1], best[2]] = False
                used.update((int(a), int(best[1])))
        if used:
            return
        cells = np.argwhere(topped)
        assert len(cells), "a cell that masking can free has a '<min_count' left"
        self.status[cells[-1][0], cells[-1][1]] = _MASKED


def _hierarchy_movable(up: np.ndarray, down: np.ndarray, tree: _Tree) -> np.ndarray:
    """Hidden cells of a hierarchy that can take another value (see "Linked tables" in
    the module docstring): a cycle of the residual graph through the cell's edge.

    For each area ``a`` with parent ``p``, over the column nodes of ``a`` and of ``p``
    (``k`` each; a leaf's row node stands for all of its own, the root for all of
    ``p``'s at the top):

    - ``inside[a, i, j]``: a residual walk from ``(a, i)`` to ``(a, j)`` within ``a``'s
      subtree (bottom-up, from what each child offers its parent: down into the child
      at column ``i``, through its inside, up again at column ``j``);
    - ``outside[a, i, j]``: a walk from ``(p, i)`` to ``(p, j)`` avoiding ``a``'s
      subtree (top-down: the siblings' offers, and out through ``p``'s own cells).

    The cell ``(a, c)`` can rise iff a walk leads back from ``(p, c)`` to ``(a, c)``
    through these and ``a``'s other cells (and fall iff one leads the other way).
    """
    n, k = up.shape
    off = ~np.eye(k, dtype=bool)
    inside = np.ones((n, k, k), dtype=bool)
    offers = down[:, :, None] & up[:, None, :] & off  # (p, i) -> a -> (p, j)
    counts = np.zeros((n, k, k), dtype=np.int32)
    for d in reversed(range(len(tree.parents))):
        ps, gs, lo, hi = tree.level(d)
        if not ps.size:
            continue
        counts[ps] = np.add.reduceat(offers[lo:hi], gs, axis=0, dtype=np.int32)
        inside[ps] = _closures(counts[ps] > 0) | ~off
        offers[ps] = down[ps, :, None] & inside[ps] & up[ps, None, :] & off
    # Only rows with a hidden cell need their outside, and the parents for their
    # children's.
    active = (up | down).any(axis=1)
    needed = active | tree.internal
    outside = np.ones((n, k, k), dtype=bool)  # at the top, one root node
    for d in range(len(tree.parents)):
        ps, gs, lo, hi = tree.level(d)
        if not ps.size:
            continue
        away = up[ps, :, None] & outside[ps] & down[ps, None, :] & off
        at = np.repeat(np.arange(ps.size), np.diff(np.append(gs, hi - lo)))
        rows = np.flatnonzero(needed[lo:hi])
        at, rows = at[rows], rows + lo
        siblings = (counts[ps[at]] - offers[rows]) > 0
        outside[rows] = _closures(siblings | away[at]) | ~off
    rise = np.zeros((n, k), dtype=bool)
    fall = np.zeros((n, k), dtype=bool)
    # A leaf's row node: back from (p, c) to the row through another of its cells.
    rows = np.flatnonzero(active & ~tree.internal)
    there = outside[rows] & off
    rise[rows] = (there & down[rows, None, :]).any(axis=2)
    fall[rows] = (there & up[rows, :, None]).any(axis=1)
    rows = np.flatnonzero(active & tree.internal)
    if rows.size:
        rise[rows], fall[rows] = _ports(inside[rows], outside[rows], up[rows], down[rows])
    return (up & rise) | (down & fall)


def _ports(inside: np.ndarray, outside: np.ndarray, up: np.ndarray,
           down: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For areas with children: may cell ``(a, c)`` rise (fall)? Walks between the
    ``k`` nodes of ``a`` and the ``k`` of its parent, leaving out the cell's own edge;
    the extra axis is ``c``."""
    k = up.shape[1]
    off = ~np.eye(k, dtype=bool)
    enter = down[:, None, :] & off  # [a, c, j]: (p, j) -> (a, j), c left out
    leave = up[:, None, :] & off

    def spread(outer: np.ndarray, inner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        while True:
            inner2 = inner | _compose(outer & enter, inside)
            outer2 = outer | _compose(inner2 & leave, outside)
            if (inner2 == inner).all() and (outer2 == outer).all():
                return outer, inner
            outer, inner = outer2, inner2

    diagonal = np.arange(k)
    _, reached = spread(outside.copy(), np.zeros_like(inside))
    rise = reached[:, diagonal, diagonal]
    reached, _ = spread(np.zeros_like(outside), inside.copy())
    fall = reached[:, diagonal, diagonal]
    return rise, fall


def _compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Boolean matrix products, one per area."""
    return np.matmul(a.astype(np.uint8), b.astype(np.uint8)) > 0


def _closures(adjacent: np.ndarray) -> np.ndarray:
    """:func:`_closure` for a stack of matrices (the diagonal is left as it is)."""
    k = adjacent.shape[1]
    if k > 8:
        reach = adjacent.copy()
        for j in range(k):
            reach |= reach[:, :, j, None] & reach[:, None, j, :]
        return reach
    # Each row as the bits of a byte: row i gains row j's bits if it has bit j.
    bits = np.packbits(adjacent, axis=-1, bitorder="little")[..., 0]
    for j in range(k):
        bits |= ((bits >> j) & 1) * bits[:, j, None]
    return np.unpackbits(bits[..., None], axis=-1, count=k, bitorder="little").astype(bool)
