"""Contextual risk: a count model of reported cases on area factors (Risk Terrain Modeling).

Risk Terrain Modeling (Caplan & Kennedy 2016) explains where events happen by the
features of the places: each candidate factor is tested as a predictor of the counts in a
penalised count regression, and only the factors that earn their place are kept, each
with a relative risk. :class:`CountModel` follows the RTMDx procedure (Caplan & Kennedy
2016, chapter 4; Kennedy, Caplan & Piza 2016) on areas instead of grid cells:

1. **Coding.** A factor whose values are all 0 or 1 is a presence indicator: its
   relative risk is "present versus absent". Any other factor is standardised
   (z-score over the areas fitted), so its relative risk is "per standard deviation".
   Constant factors carry no information and are dropped (``dropped_``).
2. **Penalised path.** An L1-penalised (LASSO) Poisson regression with offset
   ``log(population)`` is solved over a log-spaced grid of penalties, from the smallest
   penalty that keeps every factor out down to a thousandth of it, by iteratively
   reweighted least squares with coordinate descent on the weighted Gram matrix (the
   algorithm of Friedman, Hastie & Tibshirani 2010, with warm starts; the penalty acts on
   fully standardised columns, as glmnet's ``standardize=TRUE``). Every distinct set of
   factors with non-zero coefficients along the path is a candidate model, as are the
   nested sets of the first 1, 2, ... factors to enter the path, the empty and the full
   set.
3. **Selection.** Each candidate set is refitted without penalty, as a Poisson and (for
   ``family="auto"`` or ``"negative_binomial"``) as a negative binomial (NB2) model, and
   the set and family with the lowest criterion (BIC by default, AIC optional) win. With
   ``selection="stepwise"`` the winner is then refined by bidirectional stepwise search
   (add or remove one factor at a time while the criterion improves), the second stage of
   RTMDx. ``selection="none"`` keeps every factor.
4. **Family.** The negative binomial NB2 (variance ``mu + alpha * mu**2``) is fitted by
   maximum likelihood of the coefficients and ``log(alpha)`` jointly (Newton-Raphson on
   the exact log-likelihood; Cameron & Trivedi 2013, section 3.3). When the score test
   for over-dispersion at ``alpha = 0`` is not positive (Cameron & Trivedi 2013, section
   3.4), the NB maximum is the Poisson model itself and NB is not chosen (it would pay
   one more parameter for the same likelihood).

Intervals are Wald intervals on the log scale from the inverse observed information of
the final model (for NB, the coefficient block of the joint inverse, as statsmodels'
``NegativeBinomial``).

The expected count of area ``i`` is ``mu_i = population_i * exp(b0 + sum_j b_j x_ij)``
with ``x`` the coded factors; its contextual relative risk is ``mu_i / (population_i *
R)`` with ``R = sum(cases) / sum(population)``, the average area's rate.

References
----------
Caplan, J. M. & Kennedy, L. W. (2016). *Risk Terrain Modeling: Crime Prediction and Risk
Reduction*. University of California Press (chapter 4, the RTMDx procedure).

Kennedy, L. W., Caplan, J. M. & Piza, E. L. (2016). *RTMDx Utility User Manual*.
Rutgers Center on Public Security.

Friedman, J., Hastie, T. & Tibshirani, R. (2010). Regularization paths for generalized
linear models via coordinate descent. *Journal of Statistical Software*, 33(1), 1-22.

Cameron, A. C. & Trivedi, P. K. (2013). *Regression Analysis of Count Data* (2nd ed.).
Cambridge University Press.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from cegah.risk.distributions import nbinom_cdf, norm_ppf, norm_sf, poisson_cdf

FAMILIES = ("auto", "poisson", "negative_binomial")
SELECTIONS = ("lasso", "stepwise", "none")
CRITERIA = ("bic", "aic")
FACTOR_COLUMNS = ("factor", "relative_risk", "low", "high", "p", "unit")
PRESENT = "present"
PER_SD = "per SD"

_N_PENALTIES = 30
_PENALTY_RATIO = 1e-3
_MIN_LOG_ALPHA = math.log(1e-8)
_MAX_LOG_ALPHA = math.log(1e4)
_MAX_COEF = 30.0  # |log relative risk| beyond this means a diverging (separated) fit


@dataclass
class _Fit:
    family: str
    columns: tuple[int, ...]
    beta: np.ndarray  # intercept first, then one per column
    alpha: float
    loglik: float
    cov: np.ndarray  # covariance of beta
    n_params: int


def _one_of(name: str, value, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name}: expected one of {choices}, got {value!r}.")


def _check_factors(factors) -> tuple[np.ndarray, list[str]]:
    if not isinstance(factors, pd.DataFrame):
        raise ValueError(
            "factors: expected a pandas DataFrame with one numeric column per factor, "
            f"got {type(factors).__name__}.")
    names = [str(c) for c in factors.columns]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"factors: expected unique column names, got duplicates {dup}.")
    for name, col in zip(names, factors.columns, strict=True):
        dtype = factors[col].dtype
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
            raise ValueError(f"factors: column {name!r} must be numeric, got dtype {dtype}.")
    x = factors.to_numpy(dtype=float) if len(names) else np.empty((len(factors), 0))
    bad = ~np.isfinite(x)
    if bad.any():
        j = int(np.flatnonzero(bad.any(axis=0))[0])
        rows = np.flatnonzero(bad[:, j])
        raise ValueError(
            f"factors: column {names[j]!r} must be finite in every area; {rows.size} "
            f"missing or infinite values (first at row {int(rows[0])}). Impute and flag "
            "missing values before fitting.")
    return x, names


def _check_counts(cases, population, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(cases, dtype=float).ravel()
    b = np.asarray(population, dtype=float).ravel()
    if not (y.size == b.size == n):
        raise ValueError(
            "factors, cases and population must describe the same areas; got "
            f"{n}, {y.size} and {b.size} rows.")
    if n == 0:
        raise ValueError("cases: expected at least one area, got none.")
    bad = ~np.isfinite(y) | (y < 0) | (y != np.round(y))
    if bad.any():
        raise ValueError(
            f"cases: expected whole counts >= 0; {int(bad.sum())} areas are not (first "
            f"at position {int(np.flatnonzero(bad)[0])}).")
    bad = ~np.isfinite(b) | (b <= 0)
    if bad.any():
        raise ValueError(
            f"population: expected children > 0 in every area; {int(bad.sum())} areas "
            f"have zero, negative or missing population (first at position "
            f"{int(np.flatnonzero(bad)[0])}). Exclude them before fitting.")
    if y.sum() == 0:
        raise ValueError("cases: all counts are zero; a count model needs at least one case.")
    return y, b


def _gram(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x' diag(w) x`` for weights ``w >= 0``."""
    a = x * np.sqrt(w)[:, None]
    return a.T @ a


def _single_blas_thread():
    """Limit BLAS to one thread while fitting, if threadpoolctl is installed.

    The products here are tall and thin (areas x a few factors); a multi-threaded
    OpenBLAS gains nothing on them and, on a busy two-core machine, its spinning threads
    made the whole fit about ten times slower (measured: 0.5 s single-threaded against
    3-5 s with two threads for 83,763 areas and 10 factors).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _solve_ascent(neg_hess: np.ndarray, grad: np.ndarray) -> np.ndarray | None:
    """Newton step ``neg_hess^-1 grad``; None unless ``neg_hess`` is positive definite."""
    scale = np.sqrt(np.maximum(np.abs(np.diag(neg_hess)), 1e-300))
    h = neg_hess / np.outer(scale, scale)
    if not np.all(np.isfinite(h)):
        return None
    try:
        c = np.linalg.cholesky(h)
    except np.linalg.LinAlgError:
        return None
    if np.min(np.diag(c)) ** 2 < 1e-13 * np.max(np.diag(c)) ** 2:
        return None
    z = np.linalg.solve(c, grad / scale)
    return np.linalg.solve(c.T, z) / scale


def _covariance(neg_hess: np.ndarray) -> np.ndarray | None:
    scale = np.sqrt(np.maximum(np.diag(neg_hess), 1e-300))
    h = neg_hess / np.outer(scale, scale)
    if not np.all(np.isfinite(h)) or np.linalg.cond(h) > 1e12:
        return None
    try:
        inv = np.linalg.inv(h)
    except np.linalg.LinAlgError:
        return None
    return inv / np.outer(scale, scale)


class _Data:
    """The response, offset and coded design shared by every fit."""

    def __init__(self, y: np.ndarray, offset: np.ndarray, coded: np.ndarray) -> None:
        self.y = y
        self.offset = offset
        self.coded = coded
        self.n = y.size
        self.lgy1 = special.gammaln(y + 1).sum()
        # The NB terms that depend on y only through its value are summed over the
        # distinct positive counts (few), weighted by how many areas have each.
        values, counts = np.unique(y[y > 0], return_counts=True)
        self.uy = values
        self.uc = counts.astype(float)
        self.lgy_pos = float(counts @ special.gammaln(values))
        self.y_sum = float(y.sum())
        self.log_rate = math.log(y.sum() / np.exp(offset).sum())

    def design(self, columns: tuple[int, ...]) -> np.ndarray:
        return np.column_stack([np.ones(self.n), self.coded[:, list(columns)]])

    # Poisson -------------------------------------------------------------------------
    def poisson_loglik(self, eta: np.ndarray) -> float:
        return float(self.y @ eta - np.exp(eta).sum() - self.lgy1)

    def fit_poisson(self, columns: tuple[int, ...]) -> _Fit | None:
        x = self.design(columns)
        beta = np.zeros(x.shape[1])
        beta[0] = self.log_rate
        eta = self.offset + x @ beta
        ll = self.poisson_loglik(eta)
        for _ in range(100):
            mu = np.exp(eta)
            step = _solve_ascent(_gram(x, mu), x.T @ (self.y - mu))
            if step is None:
                return None
            t = 1.0
            while True:
                new_beta = beta + t * step
                new_eta = self.offset + x @ new_beta
                new_ll = self.poisson_loglik(new_eta)
                if new_ll >= ll - 1e-12 * abs(ll) or t < 1e-8:
                    break
                t /= 2
            done = abs(new_ll - ll) <= 1e-10 * (1 + abs(ll)) and np.max(np.abs(t * step)) < 1e-6
            beta, eta, ll = new_beta, new_eta, new_ll
            if np.max(np.abs(beta[1:]), initial=0.0) > _MAX_COEF:
                return None
            if done:
                break
        else:
            return None
        cov = _covariance(_gram(x, np.exp(eta)))
        if cov is None:
            return None
        return _Fit("poisson", columns, beta, 0.0, ll, cov, x.shape[1])

    # Negative binomial (NB2) ---------------------------------------------------------
    def nb_parts(self, eta: np.ndarray, theta: float, derivatives: bool = True):
        """Log-likelihood, and its derivatives in ``eta`` and ``theta = log(alpha)``."""
        y = self.y
        a = math.exp(theta)
        r = 1.0 / a
        mu = np.exp(eta)
        amu = a * mu
        l1p = np.log1p(amu)
        # lgamma(y + r) - lgamma(r) = lgamma(y) - betaln(r, y) for y > 0 (0 for y = 0),
        # accurate also for large r (alpha near 0) where the difference cancels.
        ll_gamma = self.lgy_pos - float(self.uc @ special.betaln(r, self.uy))
        ll = float(ll_gamma - self.lgy1 - ((r + y) * l1p).sum() + y @ eta + theta * self.y_sum)
        if not derivatives:
            return ll
        d1 = float(self.uc @ (special.digamma(self.uy + r) - special.digamma(r)))
        d2 = float(self.uc @ (special.polygamma(1, self.uy + r) - special.polygamma(1, r)))
        one = 1.0 + amu
        g_eta = (y - mu) / one
        h_eta = -mu * (1.0 + a * y) / one**2
        h_cross = -(y - mu) * amu / one**2
        sum_l1p = float(l1p.sum())
        g_theta = r * (sum_l1p - d1) + float(g_eta.sum())
        h_theta = (-r * (sum_l1p - d1) + r * float((amu / one).sum()) + r * r * d2
                   + float(h_cross.sum()))
        return ll, g_eta, h_eta, g_theta, h_cross, h_theta

    def fit_nb(self, columns: tuple[int, ...], start: _Fit) -> _Fit | None:
        x = self.design(columns)
        beta = start.beta.copy()
        eta = self.offset + x @ beta
        mu = np.exp(eta)
        # Score test of alpha = 0 at the Poisson maximum: sum((y - mu)^2 - y) / 2. Not
        # positive: the NB likelihood is maximal at the Poisson boundary.
        score = float(((self.y - mu) ** 2 - self.y).sum())
        if score <= 0:
            return _Fit("negative_binomial", columns, start.beta, 0.0, start.loglik,
                        start.cov, start.n_params + 1)
        alpha0 = score / float((mu**2).sum())
        theta = float(np.clip(math.log(alpha0), _MIN_LOG_ALPHA, _MAX_LOG_ALPHA))
        ll = self.nb_parts(eta, theta, derivatives=False)
        k = x.shape[1]
        for _ in range(200):
            ll, g_eta, h_eta, g_theta, h_cross, h_theta = self.nb_parts(eta, theta)
            grad = np.r_[x.T @ g_eta, g_theta]
            neg_hess = np.empty((k + 1, k + 1))
            neg_hess[:k, :k] = _gram(x, -h_eta)
            neg_hess[:k, k] = neg_hess[k, :k] = -(x.T @ h_cross)
            neg_hess[k, k] = -h_theta
            step = _solve_ascent(neg_hess, grad)
            if step is None:
                # Far from the maximum the log-likelihood can be convex in log(alpha):
                # Fisher scoring for the coefficients (expected information), and a
                # gradient step of at most 1 in log(alpha).
                mu = np.exp(eta)
                step = _solve_ascent(_gram(x, mu / (1 + math.exp(theta) * mu)), grad[:k])
                if step is None:
                    return None
                step = np.r_[step, g_theta / max(-h_theta, abs(g_theta), 1e-12)]
            t = 1.0
            while True:
                new_beta = beta + t * step[:k]
                new_theta = float(np.clip(theta + t * step[k], _MIN_LOG_ALPHA, _MAX_LOG_ALPHA))
                new_eta = self.offset + x @ new_beta
                new_ll = self.nb_parts(new_eta, new_theta, derivatives=False)
                if new_ll >= ll - 1e-12 * abs(ll) or t < 1e-8:
                    break
                t /= 2
            done = (abs(new_ll - ll) <= 1e-10 * (1 + abs(ll))
                    and max(np.max(np.abs(new_beta - beta)), abs(new_theta - theta)) < 1e-6)
            beta, theta, eta = new_beta, new_theta, new_eta
            if np.max(np.abs(beta[1:]), initial=0.0) > _MAX_COEF:
                return None
            if done or (theta <= _MIN_LOG_ALPHA and g_theta < 0 and abs(new_ll - ll) < 1e-8):
                break
        else:
            return None
        ll, g_eta, h_eta, g_theta, h_cross, h_theta = self.nb_parts(eta, theta)
        neg_hess = np.empty((k + 1, k + 1))
        neg_hess[:k, :k] = _gram(x, -h_eta)
        neg_hess[:k, k] = neg_hess[k, :k] = -(x.T @ h_cross)
        neg_hess[k, k] = -h_theta
        cov = _covariance(neg_hess)
        if cov is None:
            # At the Poisson boundary the alpha row is ~0: use the coefficient block.
            cov = _covariance(neg_hess[:k, :k])
            if cov is None:
                return None
        else:
            cov = cov[:k, :k]
        return _Fit("negative_binomial", columns, beta, math.exp(theta), ll, cov, k + 1)


def _lasso_supports(y: np.ndarray, offset: np.ndarray, s: np.ndarray) -> list[tuple[int, ...]]:
    """Candidate factor sets from an L1-penalised Poisson path on standardised columns.

    The distinct active sets along the path, and the nested sets of the first 1, 2, ...
    factors to enter it (so that every model size has a candidate).

    Minimises ``-loglik / n + lam * sum(|b_j|)`` for each ``lam`` of a decreasing grid by
    IRLS; each weighted least-squares problem is solved by cyclic coordinate descent on
    the (intercept-profiled) weighted Gram matrix, warm-started from the previous penalty.
    """
    n, p = s.shape
    if p == 0:
        return []
    log_rate = math.log(y.sum() / np.exp(offset).sum())
    mu0 = np.exp(offset + log_rate)
    lam_max = float(np.max(np.abs(s.T @ (y - mu0)))) / n
    if lam_max <= 0:
        return []
    grid = lam_max * np.logspace(0, math.log10(_PENALTY_RATIO), _N_PENALTIES)
    b0, beta = log_rate, np.zeros(p)
    supports: list[tuple[int, ...]] = []
    order: list[int] = []

    def objective(b0_, beta_, lam):
        eta = offset + b0_ + s @ beta_
        return float((np.exp(eta) - y * eta).sum() / n + lam * np.abs(beta_).sum())

    for lam in grid[1:]:
        obj = objective(b0, beta, lam)
        for _ in range(50):
            eta = offset + b0 + s @ beta
            w = np.exp(eta)
            z = eta - offset + (y - w) / w
            sw = w.sum()
            swx = s.T @ w
            g = (_gram(s, w) - np.outer(swx, swx) / sw) / n
            zbar = float(w @ z) / sw
            c = (s.T @ (w * z) - swx * zbar) / n
            diag = np.maximum(np.diag(g), 1e-300)
            new = beta.copy()
            for _sweep in range(1000):
                change = 0.0
                for j in range(p):
                    r = c[j] - g[j] @ new + diag[j] * new[j]
                    v = math.copysign(max(abs(r) - lam, 0.0), r) / diag[j]
                    change = max(change, abs(v - new[j]) * math.sqrt(diag[j]))
                    new[j] = v
                if change < 1e-9:
                    break
            new_b0 = zbar - float(swx @ new) / sw
            t = 1.0
            while True:
                cand_b0 = b0 + t * (new_b0 - b0)
                cand = beta + t * (new - beta)
                new_obj = objective(cand_b0, cand, lam)
                if new_obj <= obj + 1e-12 * abs(obj) or t < 1e-6:
                    break
                t /= 2
            moved = max(abs(cand_b0 - b0), float(np.max(np.abs(cand - beta))))
            b0, beta, obj = cand_b0, cand, new_obj
            if moved < 1e-7:
                break
        support = tuple(int(j) for j in np.flatnonzero(beta != 0))
        if support not in supports:
            supports.append(support)
        # Entry order: by penalty of entry, then (several entering between two grid
        # points) by the size of the standardised coefficient.
        entering = [j for j in np.argsort(-np.abs(beta), kind="stable")
                    if beta[j] != 0 and j not in order]
        order.extend(int(j) for j in entering)
    # The nested sets in order of entry, so that every size has a candidate.
    for size in range(1, len(order) + 1):
        prefix = tuple(sorted(order[:size]))
        if prefix not in supports:
            supports.append(prefix)
    return supports


class CountModel:
    """Contextual risk count model with penalised factor selection (RTMDx-style).

    Cases per area are modelled as Poisson or negative binomial counts with offset
    ``log(population)`` and log-linear effects of the area factors; factors are chosen by
    a LASSO path and an information criterion (Caplan & Kennedy 2016). See the module
    docstring for the method.

    Parameters
    ----------
    family : {"auto", "poisson", "negative_binomial"}, default "auto"
        Count distribution. ``"auto"`` picks the one with the lower criterion, the factor
        set being chosen for each family.
    selection : {"lasso", "stepwise", "none"}, default "lasso"
        ``"lasso"``: the best candidate set along the L1 path; ``"stepwise"``: that set
        refined by bidirectional stepwise search on the criterion; ``"none"``: every
        (non-constant) factor is kept.
    criterion : {"bic", "aic"}, default "bic"
        ``-2 loglik + k log(n)`` or ``-2 loglik + 2 k`` with ``k`` the number of
        parameters (intercept, factors, and the NB dispersion).
    level : float, default 0.9
        Probability content of the Wald intervals ``low``, ``high``.
    max_factors : int, optional
        At most this many factors in the selected model.

    Attributes
    ----------
    family_ : str
        ``"poisson"`` or ``"negative_binomial"``.
    alpha_ : float
        NB2 dispersion (``var = mu + alpha * mu**2``); 0.0 for Poisson.
    factors_ : pandas.DataFrame
        The selected factors: ``factor, relative_risk, low, high, p, unit`` with ``unit``
        ``"present"`` (binary factor: present versus absent) or ``"per SD"`` (continuous:
        per standard deviation over the areas fitted); sorted by relative risk,
        descending.
    all_factors_ : pandas.DataFrame
        The same columns plus ``selected`` for every candidate (non-constant) factor, in
        input order. A factor not selected gets the estimate it would have if added alone
        to the selected model (same family, dispersion re-estimated); NaN if that model
        cannot be fitted.
    coef_ : pandas.Series
        Log relative risks of the selected factors, on the coded scale (per presence or
        per SD).
    intercept_ : float
        Log of the baseline rate (cases per person): an area where every binary factor
        is absent and every continuous factor is at its mean.
    baseline_rate_ : float
        ``exp(intercept_)``.
    rate_ : float
        ``sum(cases) / sum(population)``, the average area's rate.
    expected_ : ndarray
        Expected cases of each area, ``population * exp(intercept_ + coded @ coef_)``.
    relative_risk_ : ndarray
        ``expected_ / (population * rate_)``: contextual relative risk against the
        average area.
    contributions_ : pandas.DataFrame
        Areas x selected factors (index of ``factors``): the multiplicative contribution
        of each factor to the area's expected count, against a baseline of *absence* for a
        binary factor (1 when absent, ``exp(coef)`` when present, so a driver can read
        "ferry port: x2.1") and of the *mean over the areas* for a continuous factor
        (``exp(coef * z)``, ``z`` the area's standardised value). Hence
        ``expected_ = population * baseline_rate_ * contributions_.prod(axis=1)``.
    center_, scale_ : pandas.Series
        Coding of each candidate factor: ``z = (x - center_) / scale_`` (0 and 1 for
        binary factors; the mean and the population standard deviation otherwise).
    units_ : pandas.Series
        ``"present"`` or ``"per SD"`` for each candidate factor.
    dropped_ : dict
        Factor name -> reason, for factors left out before selection (constant columns).
    criterion_ : float
        The final model's criterion value.
    loglik_ : float
        The final model's log-likelihood (with the ``log(y!)`` constants).
    candidates_ : pandas.DataFrame
        Every (factor set, family) refitted: ``factors`` (tuple of names), ``family``,
        ``criterion`` (inf when the fit failed: collinear factors, or a factor present
        only where there are no cases).
    """

    def __init__(self, family: str = "auto", selection: str = "lasso", criterion: str = "bic",
                 level: float = 0.9, max_factors: int | None = None) -> None:
        self.family = family
        self.selection = selection
        self.criterion = criterion
        self.level = level
        self.max_factors = max_factors

    def _validate_settings(self) -> None:
        _one_of("family", self.family, FAMILIES)
        _one_of("selection", self.selection, SELECTIONS)
        _one_of("criterion", self.criterion, CRITERIA)
        if not (isinstance(self.level, int | float) and 0 < self.level < 1):
            raise ValueError(f"level: expected a probability in (0, 1), got {self.level!r}.")
        mf = self.max_factors
        if mf is not None and (isinstance(mf, bool) or not isinstance(mf, int | np.integer)
                               or mf < 0):
            raise ValueError(f"max_factors: expected None or an integer >= 0, got {mf!r}.")

    def fit(self, factors: pd.DataFrame, cases, population) -> CountModel:
        """Code the factors, select them and fit the final model.

        Parameters
        ----------
        factors : pandas.DataFrame of shape (n, p)
            One row per area, one numeric column per factor, no missing or infinite
            values (impute and flag them before). May have no columns (intercept-only
            model).
        cases : array-like of int, shape (n,)
            Reported cases per area, whole numbers >= 0, not all zero. Matched to
            ``factors`` by position.
        population : array-like of float, shape (n,)
            Children per area, > 0 (areas without children must be excluded).

        Returns
        -------
        self : CountModel
        """
        self._validate_settings()
        x, names = _check_factors(factors)
        y, pop = _check_counts(cases, population, x.shape[0])
        with _single_blas_thread():
            self._fit(x, names, y, pop, factors.index)
        return self

    def _fit(self, x: np.ndarray, names: list[str], y: np.ndarray, pop: np.ndarray,
             index: pd.Index) -> None:
        n = y.size

        keep, dropped = [], {}
        for j, name in enumerate(names):
            if np.ptp(x[:, j]) == 0:
                dropped[name] = "constant: the same value in every area"
            else:
                keep.append(j)
        names = [names[j] for j in keep]
        x = x[:, keep]
        binary = np.array([bool(np.all((c == 0) | (c == 1))) for c in x.T], dtype=bool)
        center = np.where(binary, 0.0, x.mean(axis=0)) if names else np.zeros(0)
        scale = np.where(binary, 1.0, x.std(axis=0)) if names else np.ones(0)
        coded = (x - center) / scale
        offset = np.log(pop)
        data = _Data(y, offset, coded)

        families = (("poisson", "negative_binomial") if self.family == "auto"
                    else (self.family,))
        penalty = math.log(n) if self.criterion == "bic" else 2.0
        cache: dict[tuple[str, tuple[int, ...]], _Fit | None] = {}

        def fit_set(family: str, cols: tuple[int, ...]) -> _Fit | None:
            key = (family, cols)
            if key not in cache:
                pois = cache.get(("poisson", cols), "missing")
                if pois == "missing":
                    pois = data.fit_poisson(cols)
                    cache[("poisson", cols)] = pois
                if family == "negative_binomial":
                    cache[key] = None if pois is None else data.fit_nb(cols, pois)
            return cache[key]

        def score(fit: _Fit | None) -> float:
            if fit is None:
                return math.inf
            return -2.0 * fit.loglik + penalty * fit.n_params

        p = len(names)
        limit = p if self.max_factors is None else min(p, int(self.max_factors))
        if self.selection == "none":
            if p > limit:
                raise ValueError(
                    f"max_factors: selection='none' keeps all {p} factors, more than "
                    f"max_factors={limit}; use selection='lasso'.")
            candidates = [tuple(range(p))]
        else:
            sd = coded.std(axis=0)
            supports = _lasso_supports(y, offset, coded / np.where(sd > 0, sd, 1.0))
            candidates = [()] + [s for s in supports if s] + [tuple(range(p))]
            candidates = list(dict.fromkeys(c for c in candidates if len(c) <= limit))

        best: _Fit | None = None
        for family in families:
            fam_best = min((fit_set(family, c) for c in candidates), key=score)
            if self.selection == "stepwise" and fam_best is not None:
                fam_best = self._stepwise(fam_best, family, p, limit, fit_set, score)
            if score(fam_best) < score(best):
                best = fam_best
        if best is None:
            raise ValueError(
                "factors: no candidate model could be fitted (collinear factors, or a "
                "factor present only in areas without cases); check the factor columns.")
        self._store(best, data, index, names, binary, center, scale, pop, y, fit_set, score,
                    cache)
        self.dropped_ = dropped

    @staticmethod
    def _stepwise(start: _Fit, family: str, p: int, limit: int, fit_set, score) -> _Fit:
        current = start
        while True:
            cols = set(current.columns)
            moves = [tuple(sorted(cols - {j})) for j in cols]
            if len(cols) < limit:
                moves += [tuple(sorted(cols | {j})) for j in range(p) if j not in cols]
            trial = min((fit_set(family, m) for m in moves), key=score, default=None)
            if trial is None or score(trial) >= score(current) - 1e-9:
                return current
            current = trial

    def _store(self, best: _Fit, data: _Data, index, names, binary, center, scale, pop, y,
               fit_set, score, cache) -> None:
        z = norm_ppf(0.5 + self.level / 2)
        units = np.where(binary, PRESENT, PER_SD) if names else np.array([], dtype=object)

        def rows(fit: _Fit, which: list[int]) -> list[dict]:
            out = []
            for j in which:
                k = fit.columns.index(j) + 1
                b, se = fit.beta[k], math.sqrt(max(fit.cov[k, k], 0.0))
                out.append({"factor": names[j], "relative_risk": math.exp(b),
                            "low": math.exp(b - z * se), "high": math.exp(b + z * se),
                            "p": float(2 * norm_sf(abs(b) / se)) if se > 0 else 0.0,
                            "unit": str(units[j])})
            return out

        selected = list(best.columns)
        table = pd.DataFrame(rows(best, selected), columns=list(FACTOR_COLUMNS))
        self.factors_ = table.sort_values("relative_risk", ascending=False,
                                          kind="stable").reset_index(drop=True)
        everything = []
        for j in range(len(names)):
            if j in selected:
                row = rows(best, [j])[0]
            else:
                added = fit_set(best.family, tuple(sorted(selected + [j])))
                if added is None:
                    row = {"factor": names[j], "relative_risk": np.nan, "low": np.nan,
                           "high": np.nan, "p": np.nan, "unit": str(units[j])}
                else:
                    row = rows(added, [j])[0]
            row["selected"] = j in selected
            everything.append(row)
        self.all_factors_ = pd.DataFrame(everything, columns=[*FACTOR_COLUMNS, "selected"])
        self.all_factors_["selected"] = self.all_factors_["selected"].astype(bool)

        sel_names = [names[j] for j in selected]
        coef = best.beta[1:]
        self.family_ = best.family
        self.alpha_ = float(best.alpha)
        self.coef_ = pd.Series(coef, index=sel_names, dtype=float, name="coef")
        self.intercept_ = float(best.beta[0])
        self.baseline_rate_ = math.exp(self.intercept_)
        self.rate_ = float(y.sum() / pop.sum())
        linear = data.coded[:, selected] @ coef
        self.expected_ = pop * np.exp(self.intercept_ + linear)
        self.relative_risk_ = self.expected_ / (pop * self.rate_)
        self.contributions_ = pd.DataFrame(np.exp(data.coded[:, selected] * coef),
                                           index=index, columns=sel_names)
        self.center_ = pd.Series(center, index=names, dtype=float, name="center")
        self.scale_ = pd.Series(scale, index=names, dtype=float, name="scale")
        self.units_ = pd.Series(units, index=names, dtype=object, name="unit")
        self.criterion_ = float(score(best))
        self.loglik_ = float(best.loglik)
        self.candidates_ = pd.DataFrame(
            [{"factors": tuple(names[j] for j in cols), "family": fam,
              "criterion": score(fit)} for (fam, cols), fit in cache.items()],
            columns=["factors", "family", "criterion"])


def underreporting(observed, expected, *, ratio: float = 2.0, alpha: float = 0.05,
                   alpha_dispersion: float = 0.0) -> np.ndarray:
    """Flag areas with probable under-reporting: far fewer reports than their context predicts.

    An area is flagged when both

    * ``expected >= ratio * max(observed, 1)`` (at least ``ratio`` times the reports, and
      at least ``ratio`` cases expected where none were reported), and
    * the lower tail ``P(X <= observed)`` is below ``alpha``, with ``X`` Poisson with mean
      ``expected`` or, when ``alpha_dispersion > 0``, negative binomial NB2 with that mean
      and variance ``mean + alpha_dispersion * mean**2`` (use the model's ``alpha_``).

    Parameters
    ----------
    observed : array-like of int
        Reported cases per area, >= 0.
    expected : array-like of float
        Expected cases per area (for example :attr:`CountModel.expected_`), >= 0.
    ratio : float, default 2.0
        Minimum ratio of expected to reported cases.
    alpha : float, default 0.05
        Significance level of the lower-tail test (not corrected for multiple areas).
    alpha_dispersion : float, default 0.0
        NB2 dispersion; 0 for Poisson.

    Returns
    -------
    ndarray of bool
    """
    o = np.asarray(observed, dtype=float).ravel()
    e = np.asarray(expected, dtype=float).ravel()
    if o.shape != e.shape:
        raise ValueError(
            f"observed and expected must have the same length; got {o.size} and {e.size}.")
    if not np.all(np.isfinite(o)) or np.any(o < 0):
        raise ValueError("observed: expected finite counts >= 0.")
    if not np.all(np.isfinite(e)) or np.any(e < 0):
        raise ValueError("expected: expected finite expected counts >= 0.")
    if not ratio > 0:
        raise ValueError(f"ratio: expected a positive number, got {ratio!r}.")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha: expected a probability in (0, 1), got {alpha!r}.")
    if not (np.isfinite(alpha_dispersion) and alpha_dispersion >= 0):
        raise ValueError(
            f"alpha_dispersion: expected a number >= 0, got {alpha_dispersion!r}.")
    candidate = (e >= ratio * np.maximum(o, 1.0)) & (e > 0)
    tail = np.ones_like(e)
    if alpha_dispersion > 0:
        size = 1.0 / alpha_dispersion
        tail[candidate] = nbinom_cdf(o[candidate], size, size / (size + e[candidate]))
    else:
        tail[candidate] = poisson_cdf(o[candidate], e[candidate])
    return candidate & (tail < alpha)
