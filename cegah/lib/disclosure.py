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
row total, its parent's cell and the grand total.

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
larger than the shown cells beside it); and protection across *linked tables*, the same
area's figures published in another table (the province page lists each regency; the
regency page repeats the regency's row above its districts). Relations that span tables
are invisible here: the caller must take each area's row from one protected table only,
or protect the tables together.

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
    """The result of :func:`protect_table`; treat the frames as read-only.

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
    if isinstance(min_count, bool) or not isinstance(min_count, int | np.integer) \
            or min_count < 3:
        raise ValueError(f"min_count: expected a whole number >= 3, got {min_count!r}.")
    m = int(min_count)
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
    status, pinned = status[inverse], pinned[inverse]
    shown = status == _VISIBLE
    cells = x.astype(object)  # Python ints, so templates and JSON get plain numbers
    cells[~shown] = None
    values = pd.DataFrame(cells, index=counts.index, columns=columns, dtype=object)
    reasons = pd.DataFrame(np.vectorize(_REASONS.get, otypes=[object])(status),
                           index=counts.index, columns=columns, dtype=object)
    derivable = pd.DataFrame(pinned, index=counts.index, columns=columns)
    return ProtectedTable(values=values, reasons=reasons, derivable=derivable, min_count=m)


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
