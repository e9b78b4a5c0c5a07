"""Empirical-Bayes smoothing of area rates (Marshall 1991), globally or within groups.

Small areas have unstable crude rates: one report among 200 children looks like a
catastrophe, none looks like safety. Empirical-Bayes smoothing pulls each crude rate
toward a prior mean, the more the fewer people the area has, by the method-of-moments
estimator of Marshall (1991). With ``groups`` (for example each village's district) the
prior is estimated within each group, so a village is compared with its neighbours in the
hierarchy rather than with the whole country. With ``adjacency`` (areas sharing a border)
the prior mean of each area is moved toward what its neighbours show: the neighbours'
pooled rate, itself shrunk toward the group prior (a two-level Poisson-gamma model
estimated by moments, in the spirit of the local empirical-Bayes smoother of Marshall
1991, section 4, but with the area's own count kept out of its prior and a fallback to
the group prior where the neighbourhood has no children or no cases).

References
----------
Marshall, R. J. (1991). Mapping disease and mortality rates using empirical Bayes
estimators. *Journal of the Royal Statistical Society, Series C*, 40(2), 283-294.

Anselin, L., Lozano, N. & Koschinsky, J. (2006). *Rate transformations and smoothing*.
GeoDa Center, University of Illinois (section on empirical Bayes smoothing).
"""

from __future__ import annotations

import numpy as np

from cegah.risk.distributions import gamma_ppf


def _check_inputs(events, population) -> tuple[np.ndarray, np.ndarray]:
    e = np.asarray(events, dtype=float).ravel()
    b = np.asarray(population, dtype=float).ravel()
    if e.shape != b.shape:
        raise ValueError(
            f"events and population must have the same length; got {e.size} and {b.size}.")
    if e.size == 0:
        raise ValueError("events: expected at least one area, got none.")
    if not np.all(np.isfinite(e)) or np.any(e < 0):
        raise ValueError("events: expected finite counts >= 0.")
    if not np.all(np.isfinite(b)) or np.any(b <= 0):
        bad = int(np.flatnonzero(~np.isfinite(b) | (b <= 0))[0])
        raise ValueError(
            f"population: expected positive numbers; area at position {bad} has {b[bad]!r}.")
    return e, b


def _moments(e: np.ndarray, b: np.ndarray, floor: bool) -> tuple[float, float]:
    """Marshall's prior mean and variance.

    Marshall floors a negative variance at zero, which makes the prior infinitely sure
    of the group mean: every area gets exactly that mean with a zero-width interval.
    With ``floor`` the variance is at least ``m / sum(b)`` instead, so the prior is never
    worth more than all the children of its group (the mean is itself estimated from
    them) and the intervals keep the uncertainty of the group's pooled rate.
    """
    m = e.sum() / b.sum()
    r = e / b
    s2 = (b * (r - m) ** 2).sum() / b.sum()
    phi = s2 - m / b.mean()
    return m, max(phi, m / b.sum() if floor else 0.0)


def _posterior(e, b, mean, var):
    """Gamma prior with the estimated mean and variance (shape m^2/v, rate m/v): the
    posterior is Gamma(shape + e, rate + b). A zero variance is floored so the prior is
    very tight rather than undefined, and an all-zero prior mean stays at zero."""
    tiny = np.maximum(mean, 1e-12) ** 2 * 1e-6
    v = np.maximum(var, tiny)
    m = np.maximum(mean, 1e-12)
    return m**2 / v + e, m / v + b


class EmpiricalBayesRates:
    """Empirical-Bayes (Marshall 1991) smoothed rates with credible intervals.

    Parameters
    ----------
    level : float, default 0.9
        Probability content of the interval ``[low_, high_]`` around each smoothed rate.
    min_group_size : int, default 5
        Groups with fewer areas borrow the global prior instead of estimating their own.
    floor_variance : bool, default True
        Floor the prior variance at ``mean / sum(population)`` of its group instead of
        Marshall's zero, so that a group without extra-Poisson variation does not get
        zero-width intervals (``False`` reproduces Marshall and esda exactly).

    Attributes
    ----------
    rate_ : ndarray
        Smoothed rate of each area (events per unit of population).
    crude_rate_ : ndarray
        ``events / population``.
    weight_ : ndarray
        Weight of the crude rate in the smoothed rate (0 = all prior, 1 = all data).
    prior_mean_, prior_var_ : ndarray
        The prior mean and variance each area was shrunk with.
    low_, high_ : ndarray
        Equal-tailed interval of the gamma posterior whose prior matches the moments.
    posterior_shape_, posterior_rate_ : ndarray
        That gamma posterior's parameters (rate per unit of population).
    """

    def __init__(self, *, level: float = 0.9, min_group_size: int = 5,
                 floor_variance: bool = True) -> None:
        self.level = level
        self.min_group_size = min_group_size
        self.floor_variance = floor_variance

    def fit(self, events, population, groups=None, adjacency=None) -> EmpiricalBayesRates:
        """Estimate the prior(s) and smooth.

        Parameters
        ----------
        events : array-like of shape (n,)
            Event counts per area (reported cases), >= 0.
        population : array-like of shape (n,)
            Population at risk per area (children), > 0.
        groups : array-like of shape (n,), optional
            A label per area (for example the parent area's code); each group gets its own
            prior. Without it the prior is global.
        adjacency : scipy.sparse matrix of shape (n, n), optional
            Binary contiguity (1 where two areas are neighbours, no self-loops). The prior
            mean of area ``i`` becomes ``(O_N + m_g * beta_g) / (P_N + beta_g)`` where
            ``O_N`` and ``P_N`` are the neighbours' cases and population and ``m_g``,
            ``beta_g = m_g / v_g`` the group prior's mean and "pseudo-population"; the prior
            variance keeps the group's ``beta_g``. An area without neighbours, or whose
            neighbours have no cases, is thus still shrunk toward its group (never NaN).
        """
        if not 0 < self.level < 1:
            raise ValueError(f"level: expected a probability in (0, 1), got {self.level!r}.")
        e, b = _check_inputs(events, population)
        m_all, phi_all = _moments(e, b, self.floor_variance)
        mean = np.full(e.size, m_all)
        var = np.full(e.size, phi_all)
        if groups is not None:
            labels = np.asarray(groups).ravel()
            if labels.size != e.size:
                raise ValueError(
                    f"groups: expected one label per area ({e.size}), got {labels.size}.")
            uniques, inverse = np.unique(labels, return_inverse=True)
            for g in range(uniques.size):
                idx = np.flatnonzero(inverse == g)
                if idx.size >= self.min_group_size and e[idx].sum() > 0:
                    mean[idx], var[idx] = _moments(e[idx], b[idx], self.floor_variance)
        if adjacency is not None:
            mean, var = self._neighbourhood_prior(e, b, mean, var, adjacency)
        crude = e / b
        with np.errstate(divide="ignore", invalid="ignore"):
            weight = np.where(var > 0, var / (var + mean / b), 0.0)
        self.crude_rate_ = crude
        self.weight_ = weight
        self.rate_ = weight * crude + (1 - weight) * mean
        self.prior_mean_ = mean
        self.prior_var_ = var
        self.posterior_shape_, self.posterior_rate_ = _posterior(e, b, mean, var)
        tail = (1 - self.level) / 2
        self.low_ = gamma_ppf(tail, self.posterior_shape_, self.posterior_rate_)
        self.high_ = gamma_ppf(1 - tail, self.posterior_shape_, self.posterior_rate_)
        return self

    @staticmethod
    def _neighbourhood_prior(e, b, mean, var, adjacency):
        shape = getattr(adjacency, "shape", None)
        if shape != (e.size, e.size):
            raise ValueError(
                f"adjacency: expected a ({e.size}, {e.size}) matrix, got shape {shape}.")
        # The group prior as a gamma with "pseudo-population" beta = m / v; a group
        # without extra-Poisson variation gets a very large (but finite) beta.
        beta = np.where(var > 0, mean / np.maximum(var, 1e-300), np.inf)
        beta = np.minimum(beta, 1e6 * b.sum())
        o_n = np.asarray(adjacency @ e).ravel()
        p_n = np.asarray(adjacency @ b).ravel()
        local_mean = (o_n + mean * beta) / (p_n + beta)
        # Same pseudo-population, new mean: variance = mean / beta.
        local_var = np.where(np.isfinite(beta) & (beta > 0), local_mean / beta, 0.0)
        return local_mean, local_var
