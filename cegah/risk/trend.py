"""Trend of reported cases between two windows, with a significance test.

Given counts in the previous and the current window and the population exposed in each,
the current count is, under "no change in the rate", binomial given the total of both
windows (the conditional test for two Poisson rates; Przyborowski & Wilenski 1940,
see also Krishnamoorthy & Thomson 2004). Classes:

* ``new``: reports now, none in the previous window;
* ``intensifying`` / ``diminishing``: the rate rose / fell significantly;
* ``persistent``: reports in both windows, no significant change;
* ``none``: no reports now and no significant fall (including no reports at all).

References
----------
Przyborowski, J. & Wilenski, H. (1940). Homogeneity of results in testing samples from
Poisson series. *Biometrika*, 31, 313-323.

Krishnamoorthy, K. & Thomson, J. (2004). A more powerful test for comparing two Poisson
means. *Journal of Statistical Planning and Inference*, 119, 23-35.
"""

from __future__ import annotations

import numpy as np

from cegah.risk.distributions import binom_cdf, binom_sf

TREND_CLASSES = ("new", "intensifying", "persistent", "diminishing", "none")


def trend_test(previous, current, exposure_previous=None, exposure_current=None):
    """Two-sided p-values of "same rate in both windows", and the expected current count.

    Parameters
    ----------
    previous, current : array-like of int
        Counts in the previous and current window.
    exposure_previous, exposure_current : array-like of float, optional
        Population in each window (defaults to equal exposure).

    Returns
    -------
    p_value, expected_current : ndarray
    """
    p = np.asarray(previous, dtype=float)
    c = np.asarray(current, dtype=float)
    if p.shape != c.shape:
        raise ValueError("previous and current must have the same shape.")
    if np.any(p < 0) or np.any(c < 0):
        raise ValueError("previous, current: expected counts >= 0.")
    ep = np.ones_like(p) if exposure_previous is None else np.asarray(exposure_previous, float)
    ec = np.ones_like(c) if exposure_current is None else np.asarray(exposure_current, float)
    if np.any(ep <= 0) or np.any(ec <= 0):
        raise ValueError("exposure_previous, exposure_current: expected positive populations.")
    n = p + c
    share = ec / (ec + ep)
    lower = binom_cdf(c, n, share)
    upper = binom_sf(c - 1, n, share)
    p_value = np.minimum(1.0, 2 * np.minimum(lower, upper))
    p_value = np.where(n == 0, 1.0, p_value)
    return p_value, n * share


def classify_trend(previous, current, exposure_previous=None, exposure_current=None,
                   *, alpha: float = 0.05) -> np.ndarray:
    """One of ``TREND_CLASSES`` per area (see the module docstring)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha: expected a probability in (0, 1), got {alpha!r}.")
    p = np.asarray(previous)
    c = np.asarray(current)
    p_value, expected = trend_test(p, c, exposure_previous, exposure_current)
    significant = p_value < alpha
    return np.select(
        [(p == 0) & (c > 0),
         significant & (c > expected),
         significant & (c < expected),
         (p > 0) & (c > 0)],
        ["new", "intensifying", "diminishing", "persistent"],
        default="none",
    )
