"""The few probability functions the risk engine needs, on ``scipy.special``.

``scipy.stats`` takes about half a second to import; the command line scores a regency in
less time than that, so the engine uses the special functions ``scipy.stats`` itself is
built on. ``tests/test_risk_distributions.py`` checks each against ``scipy.stats``.
"""

from __future__ import annotations

import numpy as np
from scipy import special


def gamma_ppf(q, shape, rate) -> np.ndarray:
    """Quantile of Gamma(shape, rate): ``stats.gamma.ppf(q, shape, scale=1/rate)``."""
    return special.gammaincinv(shape, q) / rate


def gamma_sf(x, shape, rate) -> np.ndarray:
    """P(X > x) for X ~ Gamma(shape, rate): ``stats.gamma.sf(x, shape, scale=1/rate)``."""
    return special.gammaincc(shape, np.maximum(np.asarray(x, dtype=float) * rate, 0.0))


def binom_cdf(k, n, p) -> np.ndarray:
    """P(X <= k) for X ~ Binomial(n, p): ``stats.binom.cdf``, as I_{1-p}(n - k, k + 1)."""
    k, n, inside = _binom_args(k, n)
    out = special.betainc(np.where(inside, n - k, 1.0), np.where(inside, k + 1, 1.0), 1 - p)
    return np.where(k < 0, 0.0, np.where(k >= n, 1.0, out))


def binom_sf(k, n, p) -> np.ndarray:
    """P(X > k) for X ~ Binomial(n, p): ``stats.binom.sf``, as I_p(k + 1, n - k)."""
    k, n, inside = _binom_args(k, n)
    out = special.betainc(np.where(inside, k + 1, 1.0), np.where(inside, n - k, 1.0), p)
    return np.where(k < 0, 1.0, np.where(k >= n, 0.0, out))


def _binom_args(k, n):
    k = np.floor(np.asarray(k, dtype=float))
    n = np.asarray(n, dtype=float)
    return k, n, (k >= 0) & (k < n)


def norm_ppf(q) -> np.ndarray:
    """Standard normal quantile: ``stats.norm.ppf``."""
    return special.ndtri(q)


def norm_sf(z) -> np.ndarray:
    """Standard normal upper tail: ``stats.norm.sf``."""
    return special.ndtr(-np.asarray(z, dtype=float))


def poisson_cdf(k, mu) -> np.ndarray:
    """P(X <= k) for X ~ Poisson(mu): ``stats.poisson.cdf``."""
    k = np.floor(np.asarray(k, dtype=float))
    return np.where(k < 0, 0.0, special.pdtr(np.clip(k, 0, None), mu))


def nbinom_cdf(k, size, p) -> np.ndarray:
    """P(X <= k) for X ~ NegativeBinomial(size, p) (failures before ``size`` successes of
    probability ``p``): ``stats.nbinom.cdf``, as the regularised incomplete beta."""
    k = np.floor(np.asarray(k, dtype=float))
    return np.where(k < 0, 0.0, special.betainc(size, np.clip(k, 0, None) + 1, p))


def fdr_bh(p) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values): ``stats.false_discovery_control``.

    Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate. *JRSS B*,
    57(1), 289-300.
    """
    p = np.asarray(p, dtype=float)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(q, 1.0)
    return out
