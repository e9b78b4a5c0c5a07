"""Counting reported cases over time windows, per area and category.

Case files hold monthly counts per area and category, with only non-zero months
present (a missing month means no reports). The risk engine works on windows: by default
the 12 months up to ``as_of``, compared with the 12 months before.
"""

from __future__ import annotations

import pandas as pd

CATEGORIES = ("sexual_abuse", "sexual_exploitation", "online_sexual_exploitation",
              "trafficking")


def month_index(period: str, *, name: str = "as_of") -> int:
    """``"2026-10"`` -> a month number (year * 12 + month - 1), validating the format."""
    try:
        year, month = period.split("-")
        y, m = int(year), int(month)
    except (AttributeError, ValueError):
        raise ValueError(f"{name}: expected a month as YYYY-MM, got {period!r}.") from None
    if len(year) != 4 or len(month) != 2 or not 1 <= m <= 12:
        raise ValueError(f"{name}: expected a month as YYYY-MM, got {period!r}.")
    return y * 12 + m - 1


def month_numbers(periods: pd.Series) -> pd.Series:
    """Vectorised :func:`month_index` for a column of ``YYYY-MM`` strings."""
    text = periods.astype(str)
    ok = text.str.fullmatch(r"\d{4}-(0[1-9]|1[0-2])")
    if not ok.all():
        bad = text[~ok].iloc[0]
        raise ValueError(f"cases.period: expected a month as YYYY-MM, got {bad[:20]!r}.")
    return text.str[:4].astype(int) * 12 + text.str[5:7].astype(int) - 1


def window_counts(
    cases: pd.DataFrame, *, as_of: str, months: int = 12, offset: int = 0,
    categories: tuple[str, ...] = CATEGORIES,
) -> pd.DataFrame:
    """Total counts per area and category over ``months`` months ending ``offset`` windows
    before ``as_of``.

    Parameters
    ----------
    cases : DataFrame with columns ``code, period, category, count``
        ``period`` as ``YYYY-MM`` strings.
    as_of : str
        Last month of the current window, ``YYYY-MM``.
    months : int, default 12
        Window length.
    offset : int, default 0
        0 for the current window, 1 for the window before it, and so on.

    Returns
    -------
    DataFrame indexed by area code, one column per category plus ``all``; areas without
    reports in the window are absent (their counts are zero).
    """
    if months < 1:
        raise ValueError(f"months: expected at least 1, got {months!r}.")
    missing = {"code", "period", "category", "count"} - set(cases.columns)
    if missing:
        raise ValueError(f"cases: missing column(s) {', '.join(sorted(missing))}.")
    end = month_index(as_of) - offset * months
    start = end - months + 1
    index = month_numbers(cases["period"])
    inside = cases[(index >= start) & (index <= end) & cases["category"].isin(categories)]
    table = inside.pivot_table(index="code", columns="category", values="count",
                               aggfunc="sum", fill_value=0)
    table = table.reindex(columns=list(categories), fill_value=0)
    table["all"] = table.sum(axis=1)
    table.columns.name = None
    return table.astype("int64")
