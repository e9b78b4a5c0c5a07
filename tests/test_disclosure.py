"""Disclosure control of case counts: primary and secondary suppression, checked by an
attacker who solves linear programmes over the published table."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from cegah.lib.disclosure import (
    Protected,
    ProtectedTable,
    _hierarchy_movable,
    _moves,
    protect_counts,
    protect_hierarchy,
    protect_rate,
    protect_rates,
    protect_series,
    protect_table,
)
from cegah.lib.disclosure import _layout as hierarchy_layout
from cegah.lib.disclosure import _pinned as exposed_by_cycles

PARTS = ["sexual_abuse", "sexual_exploitation", "online", "trafficking"]
COLUMNS = [*PARTS, "total"]
# Stands in for "no upper bound" on a cell hidden as a complement; capping only helps the
# attacker, so a table that survives the capped attack survives the real one.
CAP = 10**6


def _table(rows: dict[str, list[int]], parent: str | None = None) -> pd.DataFrame:
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=PARTS)
    frame["total"] = frame.sum(axis=1)
    if parent is not None:
        frame.loc[parent] = frame.sum(axis=0)
    return frame


# --- the attacker -------------------------------------------------------------------------

def pinned_cells(x: np.ndarray, hidden: np.ndarray, primary: np.ndarray, *, min_count: int,
                 row_total: bool, parent_row: bool) -> set[tuple[int, int]]:
    """Hidden cells whose value the published table determines exactly.

    ``x`` is the true table with the total column last and the parent row last. The
    attacker knows the shown cells, the relations (each row's parts add up to its last
    column; each column's other rows add up to its last row) and the bounds: 1 to
    min_count - 1 for "<min_count"; for "x", min_count or more when that is the truth,
    else 1 or more. That is more than the public rules say ("x" is at least 1), so a
    table that survives this attacker survives any who only knows the rules. For every
    hidden cell it asks linprog for the least and the greatest value; one value means
    pinned. Any feasible table that differs from the truth in a cell proves that cell is
    not pinned, which saves most of the solves.
    """
    cells = [tuple(rc) for rc in np.argwhere(hidden)]
    if not cells:
        return set()
    index = {cell: i for i, cell in enumerate(cells)}
    n_rows, n_cols = x.shape
    relations: list[list[tuple[int, int, int]]] = []  # (row, col, sign), sum(sign*x) = 0
    if row_total:
        relations += [[(r, c, 1) for c in range(n_cols - 1)] + [(r, n_cols - 1, -1)]
                      for r in range(n_rows)]
    if parent_row:
        relations += [[(r, c, 1) for r in range(n_rows - 1)] + [(n_rows - 1, c, -1)]
                      for c in range(n_cols)]
    a_eq = np.zeros((len(relations), len(cells)))
    b_eq = np.zeros(len(relations))
    for k, relation in enumerate(relations):
        for r, c, sign in relation:
            if (r, c) in index:
                a_eq[k, index[r, c]] = sign
            else:
                b_eq[k] -= sign * x[r, c]
    bounds = [(1, min_count - 1) if primary[cell]
              else (min_count, CAP) if x[cell] >= min_count else (1, CAP) for cell in cells]
    truth = np.array([x[cell] for cell in cells], dtype=float)
    free = np.zeros(len(cells), dtype=bool)

    def solve(objective: np.ndarray) -> np.ndarray:
        res = linprog(objective, A_eq=a_eq if len(relations) else None,
                      b_eq=b_eq if len(relations) else None, bounds=bounds, method="highs")
        assert res.status == 0, res.message  # the truth is feasible, the box is bounded
        return res.x

    for objective in (np.ones(len(cells)), -np.ones(len(cells))):
        free |= np.abs(solve(objective) - truth) > 0.5
    for i in range(len(cells)):
        for direction in (-1.0, 1.0):
            if free[i]:
                break
            objective = np.zeros(len(cells))
            objective[i] = direction
            free |= np.abs(solve(objective) - truth) > 0.5
    return {cells[i] for i in np.flatnonzero(~free)}


def _layout(counts: pd.DataFrame, total_row: str | None) -> list[str]:
    rows = [r for r in counts.index if r != total_row]
    return rows + ([total_row] if total_row is not None else [])


def attack(counts: pd.DataFrame, protected: ProtectedTable, *, total_row: str | None,
           total: bool = True, min_count: int = 5) -> set[tuple[str, str]]:
    """:func:`pinned_cells` for a protected table, as (row, column) labels."""
    rows = _layout(counts, total_row)
    columns = COLUMNS if total else PARTS
    x = counts.loc[rows, columns].to_numpy()
    reasons = protected.reasons.loc[rows, columns]
    pinned = pinned_cells(x, reasons.notna().to_numpy(),
                          (reasons == "primary").to_numpy(), min_count=min_count,
                          row_total=total, parent_row=total_row is not None)
    return {(rows[r], columns[c]) for r, c in pinned}


def assert_published_rules(counts: pd.DataFrame, protected: ProtectedTable, *,
                           min_count: int, entitled: np.ndarray | None = None) -> None:
    """Shown cells are true and never from 1 to min_count - 1 (except entitled rows);
    hidden cells lie within the public bounds the attacker assumes."""
    columns = list(protected.values.columns)
    truth = counts[columns].to_numpy()
    shown = protected.reasons.isna().to_numpy()
    values = protected.values.to_numpy()
    assert (values[shown] == truth[shown]).all()
    assert all(v is None for v in values[~shown])
    small = (truth >= 1) & (truth < min_count)
    if entitled is not None:
        small &= ~entitled[:, None]
        assert shown[entitled].all()
    assert not (shown & small).any()
    reasons = protected.reasons.to_numpy()
    assert ((reasons == "primary") <= small).all()
    # A small count shown as "x" is one whose "<m" would pin others: m - 1 exactly.
    masked = small & (reasons == "secondary")
    assert (truth[masked] == min_count - 1).all()
    assert (truth[(reasons == "secondary") & ~masked] >= min_count).all()


# --- unit cases ---------------------------------------------------------------------------

def test_it_shows_everything_when_no_count_is_small():
    counts = _table({"a": [5, 0, 12, 0], "b": [0, 0, 0, 0], "c": [7, 9, 0, 30]}, parent="P")
    protected = protect_table(counts, parts=PARTS, total_row="P")
    assert not protected.suppressed.to_numpy().any()
    assert protected.values.equals(counts[COLUMNS].astype(object))
    assert protected.labels().loc["a"].tolist() == ["5", "0", "12", "0", "17"]


def test_it_hides_a_small_count_and_one_complement():
    cells = protect_series({"sexual_abuse": 3, "sexual_exploitation": 7, "online": 0,
                            "trafficking": 12, "total": 22}, parts=PARTS)
    assert [p.label for p in cells.values()] == ["<5", "x", "0", "12", "22"]
    assert cells["sexual_abuse"] == Protected(None, "primary", 5)
    assert cells["sexual_exploitation"].reason == "secondary"
    assert cells["sexual_exploitation"].value is None
    assert cells["trafficking"].value == 12 and type(cells["trafficking"].value) is int


def test_it_hides_the_total_when_no_part_can_cover_a_small_count():
    counts = _table({"a": [1, 5, 0, 0]})
    # Hiding the 5 would not do: 1 + x = 6 with x >= 5 gives x = 5 and 1 back. The
    # total has no upper bound once hidden, so it covers the 1.
    protected = protect_table(counts, parts=PARTS)
    assert protected.labels().loc["a"].tolist() == ["<5", "5", "0", "0", "x"]
    assert attack(counts, protected, total_row=None) == set()
    # With a part above 5 available, the smaller cell is taken.
    cells = protect_series({"sexual_abuse": 2, "sexual_exploitation": 0, "online": 0,
                            "trafficking": 9, "total": 11}, parts=PARTS)
    assert [p.label for p in cells.values()] == ["<5", "0", "0", "x", "11"]


def test_it_does_not_let_two_ones_be_pinned_by_a_shown_total():
    counts = _table({"a": [1, 1, 5, 0]})
    # Hiding only the two ones gives them away: 1 + 1 = 7 - 5 - 0 and both are >= 1.
    x = counts[COLUMNS].to_numpy()
    naive = np.zeros(x.shape, dtype=bool)
    naive[0, :2] = True
    assert pinned_cells(x, naive, naive, min_count=5, row_total=True,
                        parent_row=False) == {(0, 0), (0, 1)}
    protected = protect_table(counts, parts=PARTS)
    assert protected.labels().loc["a"].tolist() == ["<5", "<5", "5", "0", "x"]
    assert attack(counts, protected, total_row=None) == set()


def test_it_does_not_pin_two_small_counts_at_the_top_of_their_range():
    counts = _table({"a": [4, 4, 5, 100]})
    protected = protect_table(counts, parts=PARTS)
    assert protected.suppressed.loc["a"].sum() >= 3
    assert attack(counts, protected, total_row=None) == set()


def test_it_shows_a_small_total_as_x_when_its_bound_would_pin_the_parts():
    # Four villages with 1 case each and the district with 4: with every one shown as
    # "<5", the parts are >= 1 and add up to <= 4, so each is exactly 1.
    counts = _table({"v1": [1, 0, 0, 0], "v2": [1, 0, 0, 0], "v3": [1, 0, 0, 0],
                     "v4": [1, 0, 0, 0]}, parent="D")
    x = counts[PARTS].to_numpy()
    small = x > 0
    assert pinned_cells(x, small, small, min_count=5, row_total=False,
                        parent_row=True) == {(r, 0) for r in range(5)}
    protected = protect_table(counts[PARTS], parts=PARTS, total=None, total_row="D")
    assert protected.labels()["sexual_abuse"].tolist() == ["<5"] * 4 + ["x"]
    assert protected.reasons.loc["D", "sexual_abuse"] == "secondary"
    assert attack(counts, protected, total_row="D", total=False) == set()
    with_totals = protect_table(counts, parts=PARTS, total_row="D")
    assert attack(counts, with_totals, total_row="D") == set()


def test_it_keeps_zeros_shown_without_giving_a_count_away():
    counts = _table({"a": [3, 0, 0, 0], "b": [3, 0, 0, 9], "c": [0, 0, 0, 0]})
    protected = protect_table(counts, parts=PARTS)
    labels = protected.labels()
    # Row a: the total equals the only non-zero part, so it is small and hidden too.
    assert labels.loc["a"].tolist() == ["<5", "0", "0", "0", "<5"]
    assert labels.loc["b", "online"] == "0" and labels.loc["b", "sexual_abuse"] == "<5"
    assert labels.loc["c"].tolist() == ["0"] * 5
    assert attack(counts, protected, total_row=None) == set()


def test_it_hides_a_second_cell_in_the_row_of_a_table():
    counts = _table({"a": [2, 8, 6, 0], "b": [10, 7, 6, 9]})
    protected = protect_table(counts, parts=PARTS)
    hidden = protected.suppressed
    assert hidden.loc["a"].sum() == 2 and not hidden.loc["b"].any()
    assert protected.reasons.loc["a", "sexual_abuse"] == "primary"
    assert attack(counts, protected, total_row=None) == set()


def test_it_protects_the_columns_against_the_parent_row():
    counts = _table({"v1": [3, 6, 0, 5], "v2": [10, 0, 0, 5], "v3": [7, 8, 9, 5]},
                    parent="R")
    protected = protect_table(counts, parts=PARTS, total_row="R")
    hidden = protected.suppressed
    assert hidden.loc["v1", "sexual_abuse"]
    # No row and no column with a single hidden cell, and nothing pinned otherwise.
    assert set(hidden.sum(axis=0)) <= {0, 2, 3, 4, 5}
    assert set(hidden.sum(axis=1)) <= {0, 2, 3, 4, 5}
    assert attack(counts, protected, total_row="R") == set()
    # Without the parent row the columns carry no relation: only the row needs a partner.
    alone = protect_table(counts.drop(index="R"), parts=PARTS)
    assert alone.suppressed.to_numpy().sum() == 2


def test_it_protects_columns_when_the_table_has_no_total_column():
    counts = _table({"v1": [3, 6, 0, 5], "v2": [10, 0, 0, 5]}, parent="R")[PARTS]
    protected = protect_table(counts, parts=PARTS, total=None, total_row="R")
    assert protected.labels()["sexual_abuse"].tolist() == ["<5", "x", "13"]
    assert attack(counts, protected, total_row="R", total=False) == set()


def test_it_shows_entitled_rows_and_marks_what_they_give_away():
    counts = _table({"mine": [2, 6, 0, 0], "other": [3, 6, 0, 9]}, parent="R")
    entitled = pd.Series({"mine": True, "other": False, "R": False})
    protected = protect_table(counts, parts=PARTS, total_row="R", entitled=entitled)
    assert protected.labels().loc["mine"].tolist() == ["2", "6", "0", "0", "8"]
    assert protected.reasons.loc["other", "sexual_abuse"] == "primary"
    assert not protected.derivable.to_numpy().any()
    assert attack(counts, protected, total_row="R") == set()
    # Entitled to the parent and to one of two children: the other child is their
    # difference, which no suppression in this table can hide.
    given_away = protect_table(counts, parts=PARTS, total_row="R",
                               entitled=[False, True, True])
    assert given_away.labels().loc["mine", "sexual_abuse"] == "<5"
    assert given_away.derivable.loc["mine", "sexual_abuse"]
    assert not given_away.derivable.loc[["other", "R"]].to_numpy().any()
    assert attack(counts, given_away, total_row="R") == _marked(given_away)


def _marked(protected: ProtectedTable) -> set[tuple[str, str]]:
    derivable = protected.derivable
    return {(derivable.index[r], derivable.columns[c])
            for r, c in np.argwhere(derivable.to_numpy())}


def test_it_hides_the_rates_of_hidden_counts():
    counts = _table({"a": [3, 7, 0, 12], "b": [20, 20, 20, 20]})
    protected = protect_table(counts, parts=PARTS)
    rates = counts[COLUMNS] / 1000.0
    masked = protect_rates(protected, rates)
    assert masked.loc["a", "sexual_abuse"] is None
    assert masked.loc["a", "sexual_exploitation"] is None
    assert masked.loc["a", "trafficking"] == pytest.approx(0.012)
    assert masked.loc["b"].tolist() == pytest.approx([0.02] * 4 + [0.08])
    assert protect_rate(protected.cell("a", "sexual_abuse"), 0.003) is None
    assert protect_rate(protected.cell("a", "online"), 0.0) == 0.0
    with pytest.raises(ValueError, match="rates: row 'zz'"):
        protect_rates(protected, pd.DataFrame({"online": [1.0]}, index=["zz"]))


def test_it_takes_rows_as_dicts_with_the_parent_by_position():
    rows = [{"sexual_abuse": 3, "sexual_exploitation": 6, "online": 0, "trafficking": 5,
             "total": 14},
            {"sexual_abuse": 7, "sexual_exploitation": 8, "online": 9, "trafficking": 5,
             "total": 29},
            {"sexual_abuse": 10, "sexual_exploitation": 14, "online": 9, "trafficking": 10,
             "total": 43}]
    out = protect_counts(rows, parts=PARTS, total_row=2)
    assert len(out) == 3 and list(out[0]) == COLUMNS
    assert out[0]["sexual_abuse"].label == "<5"
    hidden = np.array([[p.suppressed for p in row.values()] for row in out])
    assert set(hidden.sum(axis=0)) <= {0, 2, 3} and set(hidden.sum(axis=1)) <= {0, 2, 3, 4}
    with pytest.raises(ValueError, match="total_row: expected a position"):
        protect_counts(rows, parts=PARTS, total_row=3)
    with pytest.raises(ValueError, match="rows: row 1 has no 'total'"):
        protect_counts([rows[0], {"online": 5}], parts=PARTS)
    # A part left out counts as 0.
    sparse = protect_counts([{"online": 5, "total": 5}], parts=PARTS)
    assert [p.label for p in sparse[0].values()] == ["0", "0", "5", "0", "5"]


def test_it_formats_labels_for_a_locale():
    cells = protect_series({"sexual_abuse": 1, "sexual_exploitation": 1200, "online": 0,
                            "trafficking": 0, "total": 1201}, parts=PARTS, min_count=10)
    dotted = {c: p.format(secondary="–", number=lambda v: f"{v:,}".replace(",", "."))
              for c, p in cells.items()}
    assert dotted == {"sexual_abuse": "<10", "sexual_exploitation": "–", "online": "0",
                      "trafficking": "0", "total": "1.201"}
    assert str(cells["online"]) == "0"


def test_a_protected_figure_never_holds_a_hidden_value():
    with pytest.raises(ValueError, match="value:"):
        Protected(3, "primary")
    with pytest.raises(ValueError, match="value:"):
        Protected(None)


def test_it_does_not_depend_on_the_order_of_the_rows():
    rng = np.random.default_rng(11)
    counts = _table({f"{i:03d}": list(rng.choice([0, 1, 2, 4, 5, 6, 9, 40], 4))
                     for i in range(40)}, parent="P")
    first = protect_table(counts, parts=PARTS, total_row="P")
    shuffled = counts.sample(frac=1.0, random_state=3)
    again = protect_table(shuffled, parts=PARTS, total_row="P")
    assert list(again.values.index) == list(shuffled.index)
    assert again.reasons.loc[counts.index].equals(first.reasons)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"parts": []}, "parts: expected a non-empty list"),
    ({"parts": "sexual_abuse"}, "parts: expected a non-empty list"),
    ({"parts": ["sexual_abuse", "nope"]}, "parts: 'nope' is not a column"),
    ({"parts": PARTS, "total": "sum"}, "total: 'sum' is not a column"),
    ({"parts": PARTS, "total": "online"}, "total: 'online' is also one of the parts"),
    ({"parts": PARTS, "total_row": "Q"}, "total_row: 'Q' is not a row"),
    ({"parts": PARTS, "min_count": 2}, "min_count: expected a whole number >= 3"),
    ({"parts": PARTS, "entitled": [True]}, "entitled: expected 3 booleans"),
    ({"parts": PARTS, "entitled": pd.Series({"a": True})}, "entitled: no value for row"),
])
def test_it_rejects_bad_arguments_naming_the_parameter(kwargs, message):
    counts = _table({"a": [1, 2, 3, 4], "b": [5, 6, 7, 8]}, parent="P")
    with pytest.raises(ValueError, match=message):
        protect_table(counts, **kwargs)


@pytest.mark.parametrize(("changes", "message"), [
    ({("a", "total"): 11}, "counts: the parts of row 'a' add up to 10, but its 'total' is 11"),
    ({("P", "online"): 9, ("P", "total"): 35},
     "total_row: the rows add up to 10 in column 'online', but row 'P' has 9"),
    ({("a", "online"): -1}, "counts: expected whole numbers >= 0; row 'a', column 'online'"),
    ({("a", "online"): 2.5}, "counts: expected whole numbers >= 0"),
    ({("a", "online"): np.nan}, "counts: expected whole numbers >= 0"),
])
def test_it_rejects_counts_that_do_not_add_up(changes, message):
    counts = _table({"a": [1, 2, 3, 4], "b": [5, 6, 7, 8]}, parent="P").astype(float)
    for (row, column), value in changes.items():
        counts.loc[row, column] = value
    with pytest.raises(ValueError, match=message):
        protect_table(counts, parts=PARTS, total_row="P")


def test_it_rejects_duplicate_row_labels():
    counts = pd.DataFrame([[1, 0, 0, 0, 1]] * 2, columns=COLUMNS, index=["a", "a"])
    with pytest.raises(ValueError, match="counts: row labels must be unique"):
        protect_table(counts, parts=PARTS)


def test_importing_it_does_not_import_django():
    code = ("import sys, cegah.lib.disclosure; "
            "sys.exit(1 if any(m.split('.')[0] == 'django' for m in sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_it_protects_a_thousand_rows_in_well_under_100_ms():
    rng = np.random.default_rng(0)
    counts = pd.DataFrame(rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 20, 50, 100],
                                     size=(1000, 4)),
                          columns=PARTS, index=[f"{i:05d}" for i in range(1000)])
    counts["total"] = counts.sum(axis=1)
    counts.loc["P"] = counts.sum(axis=0)
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        protected = protect_table(counts, parts=PARTS, total_row="P")
        best = min(best, time.perf_counter() - start)
    assert best < 0.1
    assert_published_rules(counts, protected, min_count=5)


# --- the property: nothing from 1 to 4 reaches an unentitled user --------------------

@st.composite
def tables(draw) -> tuple[pd.DataFrame, dict]:
    """Random additive tables: 1-30 areas, four categories, many small counts."""
    min_count = draw(st.sampled_from([3, 5, 5, 10]))
    n = draw(st.integers(1, 30))
    count = st.one_of(st.integers(0, 2), st.integers(0, 2 * min_count),
                      st.integers(0, 2 * min_count), st.integers(0, 300))
    rows = draw(st.lists(st.lists(count, min_size=4, max_size=4), min_size=n, max_size=n))
    row_total = draw(st.booleans())
    parent = draw(st.booleans()) or not row_total
    # Labels in no particular order, so sorting matters.
    labels = draw(st.permutations([f"{i:02d}" for i in range(n)]))
    counts = _table(dict(zip(labels, rows, strict=True)), parent="P" if parent else None)
    kwargs = {"parts": PARTS, "total": "total" if row_total else None,
              "total_row": "P" if parent else None, "min_count": min_count}
    return counts, kwargs


@settings(max_examples=200, deadline=None)
@given(tables())
def test_no_small_count_and_no_total_revealing_one_reaches_an_unentitled_user(case):
    counts, kwargs = case
    protected = protect_table(counts, **kwargs)
    assert_published_rules(counts, protected, min_count=kwargs["min_count"])
    assert not protected.derivable.to_numpy().any()
    assert attack(counts, protected, total_row=kwargs["total_row"],
                  total=kwargs["total"] is not None, min_count=kwargs["min_count"]) == set()


@settings(max_examples=60, deadline=None)
@given(tables(), st.data())
def test_only_what_entitled_rows_give_away_is_derivable(case, data):
    counts, kwargs = case
    entitled = np.array(data.draw(st.lists(st.booleans(), min_size=len(counts),
                                           max_size=len(counts))))
    protected = protect_table(counts, entitled=entitled, **kwargs)
    assert_published_rules(counts, protected, min_count=kwargs["min_count"],
                           entitled=entitled)
    m, total_row = kwargs["min_count"], kwargs["total_row"]
    total = kwargs["total"] is not None
    pinned = attack(counts, protected, total_row=total_row, total=total, min_count=m)
    assert pinned == _marked(protected)
    if pinned:
        # Each is pinned even with every non-zero count of the other rows hidden.
        rows = _layout(counts, total_row)
        columns = COLUMNS if total else PARTS
        x = counts.loc[rows, columns].to_numpy()
        mine = pd.Series(entitled, index=counts.index).loc[rows].to_numpy()
        hidden = ~mine[:, None] & (x > 0)
        # Hidden, and every m - 1 shown as "x" (no upper bound) rather than "<m".
        everything = pinned_cells(x, hidden, hidden & (x < m - 1), min_count=m,
                                  row_total=total, parent_row=total_row is not None)
        assert pinned <= {(rows[r], columns[c]) for r, c in everything}


@settings(max_examples=30, deadline=None)
@given(tables(), st.randoms(use_true_random=False))
def test_the_result_does_not_depend_on_the_order_of_the_rows(case, random):
    counts, kwargs = case
    order = list(counts.index)
    random.shuffle(order)
    first = protect_table(counts, **kwargs)
    again = protect_table(counts.loc[order], **kwargs)
    assert again.reasons.loc[counts.index].equals(first.reasons)


@settings(max_examples=150, deadline=None)
@given(tables(), st.data())
def test_the_cycle_check_finds_exactly_what_linear_programming_finds(case, data):
    # Any pattern, not only those protect_table makes: small counts hidden as "<m",
    # a random choice of the other non-zero cells hidden as complements.
    counts, kwargs = case
    m, total_row = kwargs["min_count"], kwargs["total_row"]
    total = kwargs["total"] is not None
    rows = _layout(counts, total_row)
    x = counts.loc[rows, COLUMNS if total else PARTS].to_numpy()
    chosen = np.array(data.draw(st.lists(st.booleans(), min_size=x.size,
                                         max_size=x.size))).reshape(x.shape)
    small = (x >= 1) & (x < m)
    masked = small & chosen  # any small count, not only m - 1, to test the bounds
    primary = small & ~masked
    secondary = (x >= m) & chosen
    status = np.where(primary, 1, np.where(secondary, 2, np.where(masked, 3, 0)))
    ours = exposed_by_cycles(x, status, m, total, total_row is not None)
    assert {tuple(rc) for rc in np.argwhere(ours)} == pinned_cells(
        x, small | secondary, primary, min_count=m, row_total=total,
        parent_row=total_row is not None)


# --- linked tables: the whole area hierarchy -----------------------------------------------

def _hierarchy(rows: dict[str, tuple[str | None, list[int]]]) -> pd.DataFrame:
    """Areas as ``{code: (parent code, own counts)}``; a parent's counts are its own
    (unassigned: recorded at its level, in no child) plus its children's."""
    own = {code: np.array(parts) for code, (_, parts) in rows.items()}
    parent = {code: p for code, (p, _) in rows.items()}
    children: dict[str, list[str]] = {}
    for code, p in parent.items():
        if p is not None:
            children.setdefault(p, []).append(code)

    def counts(code: str) -> np.ndarray:
        return own[code] + sum((counts(c) for c in children.get(code, [])),
                               np.zeros(len(PARTS), dtype=int))

    frame = pd.DataFrame({code: counts(code) for code in rows}, index=PARTS).T
    frame["total"] = frame.sum(axis=1)
    frame["parent_code"] = [parent[code] for code in rows]
    return frame


def hierarchy_pinned_cells(x: np.ndarray, parent: np.ndarray, hidden: np.ndarray,
                           primary: np.ndarray, *, min_count: int,
                           entitled: np.ndarray | None = None,
                           grand_total: bool = False) -> set[tuple[int, int]]:
    """:func:`pinned_cells` over the whole hierarchy, by row position.

    ``parent`` is each row's parent position (-1 at the top). The relations: every row's
    parts add up to its total; for every row with children, each column of the children
    plus the parent's unassigned count adds up to the parent's cell; with
    ``grand_total``, each column of the top rows adds up to the published grand total.
    An unassigned count is unpublished: the attacker knows it exactly if entitled to the
    parent, else only whether it is zero, and that it is at least 1 if not.
    """
    n, k = x.shape
    entitled = np.zeros(n, dtype=bool) if entitled is None else entitled
    cells = [tuple(rc) for rc in np.argwhere(hidden)]
    if not cells:
        return set()
    children: dict[int, list[int]] = {}
    for r in range(n):
        if parent[r] >= 0:
            children.setdefault(int(parent[r]), []).append(r)
    rest = {p: x[p] - x[kids].sum(axis=0) for p, kids in children.items()}
    slack = [(p, c) for p in children for c in range(k)
             if rest[p][c] > 0 and not entitled[p]]
    variables = {v: i for i, v in enumerate([*cells, *(("u", p, c) for p, c in slack)])}

    def value(v: tuple) -> float:
        return float(rest[v[1]][v[2]] if v[0] == "u" else x[v])

    relations = [[((r, c), 1) for c in range(k - 1)] + [((r, k - 1), -1)] for r in range(n)]
    for p, kids in children.items():
        relations += [[((b, c), 1) for b in kids] + [(("u", p, c), 1), ((p, c), -1)]
                      for c in range(k)]
    a_eq = np.zeros((len(relations) + grand_total * k, len(variables)))
    b_eq = np.zeros(len(a_eq))
    for i, relation in enumerate(relations):
        for v, sign in relation:
            if v in variables:
                a_eq[i, variables[v]] = sign
            else:
                b_eq[i] -= sign * value(v)
    if grand_total:  # top rows add up to the published grand total
        top = np.flatnonzero(parent < 0)
        for c in range(k):
            i = len(relations) + c
            b_eq[i] = x[top, c].sum()
            for r in top:
                if (r, c) in variables:
                    a_eq[i, variables[r, c]] = 1
                else:
                    b_eq[i] -= x[r, c]
    bounds = [(1, min_count - 1) if primary[cell]
              else (min_count, CAP) if x[cell] >= min_count else (1, CAP) for cell in cells]
    bounds += [(1, CAP)] * len(slack)
    truth = np.array([x[cell] for cell in cells], dtype=float)
    free = np.zeros(len(cells), dtype=bool)
    rng = np.random.default_rng(0)

    def move(objective: np.ndarray) -> None:
        objective = np.concatenate([objective, np.zeros(len(slack))])
        res = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        assert res.status == 0, res.message
        free[:] |= np.abs(res.x[:len(cells)] - truth) > 0.5

    for objective in (np.ones(len(cells)), -np.ones(len(cells)),
                      rng.normal(size=len(cells)), rng.normal(size=len(cells))):
        move(objective)
    for i in range(len(cells)):
        for direction in (-1.0, 1.0):
            if free[i]:
                break
            objective = np.zeros(len(cells))
            objective[i] = direction
            move(objective)
    return {cells[i] for i in np.flatnonzero(~free)}


def _parents(counts: pd.DataFrame) -> np.ndarray:
    return counts.index.get_indexer(counts["parent_code"].where(
        counts["parent_code"].notna(), None)).astype(np.int64)


def hierarchy_attack(counts: pd.DataFrame, protected: ProtectedTable, *, min_count: int = 5,
                     entitled: pd.Series | None = None,
                     grand_total: bool = False) -> set[tuple[str, str]]:
    """:func:`hierarchy_pinned_cells` for a protected hierarchy, as (code, column)."""
    reasons = protected.reasons.loc[counts.index, COLUMNS]
    pinned = hierarchy_pinned_cells(
        counts[COLUMNS].to_numpy(), _parents(counts), reasons.notna().to_numpy(),
        (reasons == "primary").to_numpy(), min_count=min_count,
        entitled=None if entitled is None else entitled.loc[counts.index].to_numpy(),
        grand_total=grand_total)
    return {(counts.index[r], COLUMNS[c]) for r, c in pinned}


def test_protecting_each_table_alone_lets_the_linked_tables_give_a_count_away():
    # The province page lists R1 and R2 under P; R1's page lists its districts under R1.
    counts = _hierarchy({
        "P": (None, [0, 0, 0, 0]),
        "R1": ("P", [0, 0, 0, 0]),
        "R1.D1": ("R1", [5, 0, 5, 0]),
        "R1.D2": ("R1", [5, 0, 0, 0]),
        "R2": ("P", [2, 20, 0, 0]),
    })
    province = protect_table(counts.loc[["R1", "R2", "P"]], parts=PARTS, total_row="P")
    regency = protect_table(counts.loc[["R1.D1", "R1.D2", "R1"]], parts=PARTS,
                            total_row="R1")
    # Each table on its own is safe ...
    assert attack(counts.loc[["R1", "R2", "P"]], province, total_row="P") == set()
    assert attack(counts.loc[["R1.D1", "R1.D2", "R1"]], regency, total_row="R1") == set()
    # ... but R1's row is hidden in one and shown in the other: the province's column
    # then gives R2's 2 away.
    assert province.reasons.loc["R1"].notna().any()
    assert regency.reasons.loc["R1"].isna().all()
    # Together the two pages hide a cell only where both hide it.
    hidden = pd.concat([province.suppressed.loc[["P", "R2"]],
                        regency.suppressed.loc[["R1.D1", "R1.D2"]],
                        province.suppressed.loc[["R1"]] & regency.suppressed.loc[["R1"]]])
    hidden = hidden.loc[counts.index, COLUMNS].to_numpy()
    x = counts[COLUMNS].to_numpy()
    pinned = hierarchy_pinned_cells(x, _parents(counts), hidden, hidden & (x < 5),
                                    min_count=5)
    assert (counts.index.get_loc("R2"), 0) in pinned
    # Protected together, every area has one state and nothing is given away.
    together = protect_hierarchy(counts, parts=PARTS)
    assert together.reasons.loc["R2", "sexual_abuse"] == "primary"
    assert together.reasons.loc["R1"].notna().any()
    assert hierarchy_attack(counts, together) == set()
    assert not together.derivable.to_numpy().any()
    assert_published_rules(counts, together, min_count=5)


def test_it_gives_each_area_one_state_and_covers_the_parent_columns():
    counts = _hierarchy({
        "P": (None, [0, 0, 0, 0]),
        "R1": ("P", [0, 0, 0, 0]),
        "R1.D1": ("R1", [3, 6, 0, 5]),
        "R1.D2": ("R1", [10, 0, 0, 5]),
        "R1.D3": ("R1", [7, 8, 9, 5]),
        "R2": ("P", [0, 0, 0, 0]),
        "R2.D1": ("R2", [0, 12, 7, 0]),
        "R2.D2": ("R2", [1, 0, 0, 9]),
    })
    protected = protect_hierarchy(counts, parts=PARTS)
    assert list(protected.values.index) == list(counts.index)
    assert list(protected.values.columns) == COLUMNS
    assert protected.cell("R1.D1", "sexual_abuse") == Protected(None, "primary", 5)
    assert protected.row("R2.D2")["sexual_abuse"].label == "<5"
    assert protected.labels().loc["R1.D2", "online"] == "0"
    assert_published_rules(counts, protected, min_count=5)
    assert hierarchy_attack(counts, protected) == set()
    # Every relation with a hidden cell has another: rows, and each parent's columns.
    hidden = protected.suppressed
    assert set(hidden.sum(axis=1)) <= {0, 2, 3, 4, 5}
    for parent in ("P", "R1", "R2"):
        column = hidden[counts["parent_code"] == parent].sum(axis=0) + hidden.loc[parent]
        assert set(column) <= {0, 2, 3, 4, 5, 6}


def test_counts_recorded_at_a_parents_own_level_are_not_taken_as_known():
    # R1 holds 3 cases in no district. The attacker is not told how many are unassigned
    # (only, at most, whether any are), so R1's 3 is not pinned by its zero districts.
    counts = _hierarchy({
        "P": (None, [0, 0, 0, 0]),
        "R1": ("P", [3, 0, 0, 0]),
        "R1.D1": ("R1", [0, 7, 0, 0]),
        "R1.D2": ("R1", [0, 9, 0, 6]),
        "R2": ("P", [8, 20, 0, 5]),
    })
    protected = protect_hierarchy(counts, parts=PARTS)
    assert protected.reasons.loc["R1", "sexual_abuse"] == "primary"
    assert not protected.derivable.to_numpy().any()
    assert hierarchy_attack(counts, protected) == set()
    assert_published_rules(counts, protected, min_count=5)
    # Entitled to R1 (so to its unassigned cases too): R1 and its districts are shown.
    entitled = counts.index.to_series().str.startswith("R1")
    mine = protect_hierarchy(counts, parts=PARTS, entitled=entitled)
    assert mine.reasons.loc[entitled].isna().all().all()
    assert hierarchy_attack(counts, mine, entitled=entitled) == _marked(mine)


def test_a_published_grand_total_is_a_relation_and_can_give_an_area_away():
    counts = _hierarchy({
        "A": (None, [2, 9, 0, 0]),
        "B": (None, [6, 7, 0, 0]),
    })
    # Top areas alone carry no relation among them: A's row only needs a partner.
    alone = protect_hierarchy(counts, parts=PARTS)
    assert alone.suppressed.to_numpy().sum() == 2
    # With the national total published, the columns add up to it.
    national = protect_hierarchy(counts, parts=PARTS, grand_total=True)
    assert national.suppressed.loc["B"].any()
    assert hierarchy_attack(counts, national, grand_total=True) == set()
    # A single province with the national total: the total is the province.
    one = counts.loc[["A"]]
    given_away = protect_hierarchy(one, parts=PARTS, grand_total=True)
    assert given_away.derivable.loc["A", "sexual_abuse"]
    assert hierarchy_attack(one, given_away, grand_total=True) == _marked(given_away)


def test_a_hierarchy_does_not_depend_on_the_order_of_the_rows():
    counts = _synthetic_hierarchy(2, 6, 40, 400, seed=4)
    first = protect_hierarchy(counts, parts=PARTS)
    shuffled = counts.sample(frac=1.0, random_state=3)
    again = protect_hierarchy(shuffled, parts=PARTS)
    assert list(again.values.index) == list(shuffled.index)
    assert again.reasons.loc[counts.index].equals(first.reasons)
    assert_published_rules(counts, first, min_count=5)


@pytest.mark.parametrize(("changes", "kwargs", "message"), [
    ({}, {"parent": "up"}, "parent: 'up' is not a column"),
    ({}, {"parent": "online"}, "parent: 'online' is also one of the count columns"),
    ({}, {"total": None}, "total: protect_hierarchy needs the row total column"),
    ({}, {"min_count": 2}, "min_count: expected a whole number >= 3"),
    ({}, {"entitled": pd.Series({"P": True})}, "entitled: no value for row"),
    ({("R1", "parent_code"): "R1"}, {}, "parent: area 'R1' is its own parent"),
    ({("R1", "parent_code"): "Q"}, {}, "parent: 'Q', the parent of 'R1', is not a row"),
    ({("P", "parent_code"): "R1"}, {}, "parent: area '(P|R1)' is its own ancestor"),
    ({("R1", "online"): 1}, {}, "counts: the parts of row 'R1' add up to 8, but its 'total' is 10"),
    ({("R1.D1", "online"): 9, ("R1.D1", "total"): 16}, {},
     "counts: the children of 'R1' add up to 9 in column 'online', more than its 3"),
    ({("R1.D1", "online"): -1}, {}, "counts: expected whole numbers >= 0"),
])
def test_a_hierarchy_rejects_bad_arguments_naming_the_parameter(changes, kwargs, message):
    counts = _hierarchy({"P": (None, [0, 0, 0, 0]), "R1": ("P", [0, 0, 0, 0]),
                         "R1.D1": ("R1", [1, 2, 3, 4])})
    for (row, column), value in changes.items():
        counts.loc[row, column] = value
    with pytest.raises(ValueError, match=message):
        protect_hierarchy(counts, **{"parts": PARTS, **kwargs})


def test_a_hierarchy_rejects_duplicate_codes():
    counts = _hierarchy({"P": (None, [1, 0, 0, 0])})
    with pytest.raises(ValueError, match="counts: area codes must be unique"):
        protect_hierarchy(pd.concat([counts, counts]), parts=PARTS)


def _synthetic_hierarchy(provinces: int, regencies: int, districts: int, villages: int, *,
                         seed: int = 0) -> pd.DataFrame:
    """The shape of the demo hierarchy, with sparse small counts in the villages (nine
    in ten cells zero, many 1 to 4) added up the tree."""
    rng = np.random.default_rng(seed)
    levels = [[f"{i + 11}" for i in range(provinces)]]
    parent: list[str | None] = [None] * provinces
    for size in (regencies, districts, villages):
        above = levels[-1]
        up = np.concatenate([np.arange(len(above)), rng.integers(0, len(above),
                                                                 size - len(above))])
        levels.append([f"{above[u]}.{i:05d}" for i, u in enumerate(up)])
        parent += [above[u] for u in up]
    codes = [c for level in levels for c in level]
    counts = pd.DataFrame(0, index=codes, columns=PARTS)
    small = rng.choice([1, 1, 1, 2, 2, 3, 4, 5, 6, 8, 12, 30], size=(villages, len(PARTS)))
    small[rng.random(small.shape) < 0.9] = 0
    counts.iloc[-villages:] = small
    counts["parent_code"] = parent
    for level in reversed(levels[:-1]):
        sums = counts[counts["parent_code"].isin(level)].groupby("parent_code")[PARTS].sum()
        counts.loc[sums.index, PARTS] += sums
    counts.insert(len(PARTS), "total", counts[PARTS].sum(axis=1))
    return counts


def test_it_protects_a_hierarchy_of_twenty_thousand_areas_in_seconds():
    counts = _synthetic_hierarchy(6, 84, 1200, 17500)
    start = time.perf_counter()
    protected = protect_hierarchy(counts, parts=PARTS)
    assert time.perf_counter() - start < 5.0
    assert_published_rules(counts, protected, min_count=5)
    assert not protected.derivable.to_numpy().any()


@st.composite
def hierarchies(draw, provinces: int = 3, regencies: int = 4,
                districts: int = 5) -> tuple[pd.DataFrame, pd.Series, int, bool]:
    """1-3 provinces x 1-4 regencies x 1-5 districts, counts 0-8 in the districts, now
    and then a few unassigned at a regency or a province; entitled subtrees; with or
    without a published grand total."""
    min_count = draw(st.sampled_from([3, 5, 5]))
    district = st.lists(st.integers(0, 8), min_size=4, max_size=4)
    unassigned = st.one_of(st.just([0] * 4), st.just([0] * 4), st.just([0] * 4),
                           st.lists(st.integers(0, 3), min_size=4, max_size=4))
    rows = {}
    for p in range(draw(st.integers(1, provinces))):
        province = f"{p + 1}"
        rows[province] = (None, draw(unassigned))
        for r in range(draw(st.integers(1, regencies))):
            regency = f"{province}.{r + 1}"
            rows[regency] = (province, draw(unassigned))
            for d in range(draw(st.integers(1, districts))):
                rows[f"{regency}.{d + 1}"] = (regency, draw(district))
    counts = _hierarchy(rows)
    counts = counts.loc[draw(st.permutations(list(counts.index)))]
    roots = draw(st.lists(st.sampled_from(list(rows)), max_size=2))
    entitled = pd.Series([any(code == r or code.startswith(f"{r}.") for r in roots)
                          for code in counts.index], index=counts.index)
    return counts, entitled, min_count, draw(st.booleans())


@settings(max_examples=150, deadline=None)
@given(hierarchies())
def test_nothing_in_the_whole_hierarchy_pins_a_hidden_count(case):
    counts, entitled, m, grand_total = case
    protected = protect_hierarchy(counts, parts=PARTS, entitled=entitled, min_count=m,
                                  grand_total=grand_total)
    assert list(protected.values.index) == list(counts.index)
    assert_published_rules(counts, protected, min_count=m, entitled=entitled.to_numpy())
    pinned = hierarchy_attack(counts, protected, min_count=m, entitled=entitled,
                              grand_total=grand_total)
    assert pinned == _marked(protected)
    if not entitled.any() and not grand_total:
        assert not pinned
    if pinned:
        # Each is pinned even with every non-zero count of the other rows hidden, and
        # every m - 1 shown as "x" (no upper bound) rather than "<m".
        x = counts[COLUMNS].to_numpy()
        hidden = ~entitled.to_numpy()[:, None] & (x > 0)
        everything = hierarchy_pinned_cells(
            x, _parents(counts), hidden, hidden & (x < m - 1), min_count=m,
            entitled=entitled.to_numpy(), grand_total=grand_total)
        assert pinned <= {(counts.index[r], COLUMNS[c]) for r, c in everything}


@settings(max_examples=60, deadline=None)
@given(hierarchies(provinces=2, regencies=3, districts=4), st.data())
def test_the_hierarchy_check_finds_exactly_what_linear_programming_finds(case, data):
    # Any pattern, as for one table: small counts hidden as "<m" or "x", a random
    # choice of the others hidden as complements; unassigned counts hidden as the
    # attacker above assumes (at least 1 where there are any, unless entitled).
    counts, entitled, m, grand_total = case
    x0 = counts[COLUMNS].to_numpy()
    frozen0 = entitled.to_numpy()
    up = _parents(counts)
    x, frozen, slack, tree, order = hierarchy_layout(x0, up, frozen0, counts.index, COLUMNS,
                                                     grand_total=grand_total)
    chosen = np.array(data.draw(st.lists(st.booleans(), min_size=x.size,
                                         max_size=x.size))).reshape(x.shape)
    mine = ~(frozen | slack)[:, None]
    small = mine & (x >= 1) & (x < m)
    masked = small & chosen & (x % 2 == 1)  # any small count, to test the bounds
    status = np.select([small & ~masked, mine & (x >= m) & chosen, masked,
                        (slack & ~frozen)[:, None] & (x > 0)], [1, 2, 3, 3], 0)
    negated = np.zeros((1, len(COLUMNS)), dtype=bool)
    negated[0, -1] = True
    up_moves, down_moves = _moves(x, status, m, negated)
    ours = (status != 0) & ~_hierarchy_movable(up_moves, down_moves, tree) & mine
    real = order < len(counts)
    theirs = np.zeros(x0.shape, dtype=np.int8)
    theirs[order[real]] = status[real]
    layout = np.empty(len(counts), dtype=np.int64)
    layout[order[real]] = np.flatnonzero(real)
    pinned = hierarchy_pinned_cells(x0, up, theirs != 0, theirs == 1, min_count=m,
                                    entitled=frozen0, grand_total=grand_total)
    assert {tuple(rc) for rc in np.argwhere(ours)} == {(layout[r], c) for r, c in pinned}
