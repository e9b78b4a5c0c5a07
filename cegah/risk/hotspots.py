"""Local hot spots and clusters on contiguity weights: local Moran's I and Getis-Ord Gi*.

For every area we compute Anselin's (1995) local Moran's I with row-standardised weights
and the Getis-Ord Gi* statistic (Getis & Ord 1992; Ord & Getis 1995) with binary weights
that include the area itself, both exactly as PySAL's ``esda.Moran_Local`` and
``esda.G_Local(star=True, transform="B")`` define them. Significance comes from
conditional randomisation (Anselin 1995): the area's own value is held fixed and its
neighbours are replaced by random draws of ``k`` other areas, ``k`` being its number of
neighbours. Benjamini-Hochberg false discovery rate control (Benjamini & Hochberg 1995)
then guards against the thousands of simultaneous tests of a national map.

Why it is fast
--------------
With weights that are uniform within each row (binary or row-standardised contiguity,
binary with self for Gi*), both statistics depend on the random neighbours only through
the *sum* of their values. Like esda's ``crand`` we share one matrix of random draws
between all areas, so the permuted neighbour sum of every area with ``k`` neighbours in
permutation ``p`` is the same number ``S[p, k]``: one column of cumulative sums per
cardinality, sorted once, and each area's pseudo p-value is two binary searches. The
area's own value must not be drawn as its own neighbour; the few (area, permutation)
pairs where it was are corrected one by one (see :func:`_tail_counts`). Memory is
``O(permutations x max_neighbours)`` instead of esda's ``n x permutations``, no numba
compilation is needed, and 84,000 areas with 999 permutations take well under a second.

References
----------
Moran, P. A. P. (1950). Notes on continuous stochastic phenomena. *Biometrika*, 37(1/2),
17-23.

Cliff, A. D. & Ord, J. K. (1981). *Spatial Processes: Models and Applications*. Pion.

Anselin, L. (1995). Local indicators of spatial association - LISA. *Geographical
Analysis*, 27(2), 93-115.

Getis, A. & Ord, J. K. (1992). The analysis of spatial association by use of distance
statistics. *Geographical Analysis*, 24(3), 189-206.

Ord, J. K. & Getis, A. (1995). Local spatial autocorrelation statistics: distributional
issues and an application. *Geographical Analysis*, 27(4), 286-306.

Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate: a practical and
powerful approach to multiple testing. *Journal of the Royal Statistical Society, Series
B*, 57(1), 289-300.

Rey, S. J. & Anselin, L. (2007). PySAL: a Python library of spatial analytical methods.
*The Review of Regional Studies*, 37(1), 5-27 (``esda``: ``Moran_Local``, ``G_Local``).
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy import sparse

from cegah.risk.distributions import fdr_bh

_QUADRANT_LABELS = np.array(["", "high-high", "low-high", "low-low", "high-low"])


def _check_values(values) -> np.ndarray:
    y = np.asarray(values, dtype=float)
    if y.ndim != 1:
        y = y.ravel()
    if y.size < 2:
        raise ValueError(f"values: expected at least 2 areas, got {y.size}.")
    bad = ~np.isfinite(y)
    if np.any(bad):
        pos = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"values: expected finite numbers; area at position {pos} has {y[pos]!r}.")
    return y


def _check_adjacency(adjacency, n: int) -> sparse.csr_matrix:
    if not sparse.issparse(adjacency):
        adjacency = np.asarray(adjacency)
        if adjacency.ndim != 2:
            raise ValueError(
                f"adjacency: expected a square (n, n) matrix, got {adjacency.ndim} dimension(s).")
    shape = adjacency.shape
    if shape[0] != shape[1]:
        raise ValueError(f"adjacency: expected a square (n, n) matrix, got shape {shape}.")
    if shape[0] != n:
        raise ValueError(
            f"values and adjacency must describe the same areas; got {n} values and an "
            f"adjacency of shape {shape}.")
    adj = sparse.csr_matrix(adjacency, dtype=float)
    adj.sum_duplicates()
    adj.eliminate_zeros()
    if adj.nnz and not np.all(adj.data == 1.0):
        raise ValueError(
            "adjacency: expected a binary (0/1) contiguity matrix such as "
            "cegah.risk.weights.contiguity returns, got weights between "
            f"{adj.data.min()!r} and {adj.data.max()!r}.")
    diagonal = adj.diagonal()
    if np.any(diagonal != 0):
        pos = int(np.flatnonzero(diagonal)[0])
        raise ValueError(
            "adjacency: expected no self-neighbours (a zero diagonal); "
            f"area at position {pos} is its own neighbour.")
    return adj


def global_moran(values, adjacency, transform: str = "r") -> float:
    """Global Moran's I (Moran 1950; Cliff & Ord 1981), as ``esda.Moran(y, w).I``.

    Parameters
    ----------
    values : array-like of shape (n,)
        One value per area (finite).
    adjacency : sparse matrix of shape (n, n)
        Binary contiguity, for example from :func:`cegah.risk.weights.contiguity`.
    transform : {"r", "b"}, default "r"
        ``"r"`` row-standardises the weights (each row sums to one, isolates keep an empty
        row), ``"b"`` keeps them binary.

    Returns
    -------
    float
        ``I = n / S0 * z'Wz / z'z`` with ``z`` the deviations from the mean and ``S0`` the
        sum of all weights. ``0.0`` when the values are constant or nothing is linked.
    """
    if transform not in ("r", "b"):
        raise ValueError(f"transform: expected 'r' or 'b', got {transform!r}.")
    y = _check_values(values)
    adj = _check_adjacency(adjacency, y.size)
    z = y - y.mean()
    card = np.diff(adj.indptr)
    lag = adj @ z
    if transform == "r":
        linked = card > 0
        lag[linked] /= card[linked]
        s0 = float(linked.sum())
    else:
        s0 = float(adj.nnz)
    zz = float(z @ z)
    if s0 == 0 or zz == 0:
        return 0.0
    return float(y.size / s0 * (z @ lag) / zz)


def _distinct_draws(rng: np.random.Generator, n: int, m: int,
                    permutations: int) -> np.ndarray:
    """``permutations`` rows of ``m`` distinct positions in ``range(n)``, in random order.

    Each row is uniform over the ordered ``m``-tuples of distinct positions.
    """
    if m * (m - 1) <= n:
        # Draw with replacement and redraw the rows that repeat a position: accepted rows
        # are uniform over distinct tuples, and fewer than ~40% are redrawn per round.
        draws = rng.integers(0, n, size=(permutations, m))
        while True:
            ordered = np.sort(draws, axis=1)
            repeat = np.any(ordered[:, 1:] == ordered[:, :-1], axis=1)
            if not repeat.any():
                return draws
            draws[repeat] = rng.integers(0, n, size=(int(repeat.sum()), m))
    # Few areas or many neighbours: the m smallest of n uniform keys, in order of key.
    rows = max(1, 4_000_000 // n)
    out = np.empty((permutations, m), dtype=np.int64)
    for start in range(0, permutations, rows):
        keys = rng.random((min(rows, permutations - start), n))
        smallest = np.argpartition(keys, m - 1, axis=1)[:, :m]
        order = np.argsort(np.take_along_axis(keys, smallest, axis=1), axis=1)
        out[start:start + keys.shape[0]] = np.take_along_axis(smallest, order, axis=1)
    return out


def _null_sample(draws: np.ndarray, card: np.ndarray, i: int) -> np.ndarray:
    """The random neighbours of area ``i`` in every permutation, shape (P, card[i]).

    Reference definition of the null used by :func:`_tail_counts` (slow, for tests and
    explanation): the first ``k = card[i]`` draws of each row, with ``i`` itself, if drawn,
    replaced by the row's last draw.
    """
    k = int(card[i])
    sample = draws[:, :k].copy()
    own = sample == i
    sample[own] = np.broadcast_to(draws[:, -1:], sample.shape)[own]
    return sample


def _tail_counts(y: np.ndarray, observed: np.ndarray, card: np.ndarray, draws: np.ndarray,
                 tol: float) -> tuple[np.ndarray, np.ndarray]:
    """How many permuted neighbour sums are >= and <= the observed one, per area.

    Parameters
    ----------
    y : ndarray of shape (n,)
        Values.
    observed : ndarray of shape (n,)
        Observed sum of the neighbours' values of each area.
    card : ndarray of shape (n,)
        Number of neighbours of each area.
    draws : ndarray of shape (P, max(card) + 1)
        Distinct random positions per row, from :func:`_distinct_draws`.
    tol : float
        Sums closer than this to the observed sum count as ties (in both tails).

    Returns
    -------
    ge, le : ndarray of int64, shape (n,)
        Zero for isolates.

    Notes
    -----
    Row ``p`` of ``draws`` is a uniformly random ordered tuple of ``m = max_k + 1``
    distinct positions. For an area ``i`` with ``k`` neighbours we take its first ``k``
    positions, and if ``i`` itself is among them we swap it for the row's last position
    ``draws[p, max_k]`` (never ``i``, since the positions are distinct). This is a uniform
    ``k``-subset of the other ``n - 1`` areas: if ``i`` was not drawn, the first ``k`` are
    a uniform ``k``-subset of the others; if it was, at position ``j``, then by
    exchangeability the other ``k - 1`` first positions together with the last one are a
    uniformly random set of ``k`` distinct other areas. So every area gets exactly the
    null of esda's conditional randomisation, while all areas with ``k`` neighbours share
    the sums ``S[p, k] = y[draws[p, 0]] + ... + y[draws[p, k - 1]]`` except in the
    ``P * k / n`` permutations (on average) where they drew themselves. Counting is then a
    binary search in each sorted column of ``S`` plus a correction for those few pairs.
    """
    n = y.size
    permutations, m = draws.shape
    max_k = m - 1
    ge = np.zeros(n, dtype=np.int64)
    le = np.zeros(n, dtype=np.int64)
    if max_k == 0:
        return ge, le
    sums = np.cumsum(y[draws[:, :max_k]], axis=1)  # sums[p, k - 1] = S[p, k]
    order = np.argsort(card, kind="stable")
    bounds = np.searchsorted(card[order], np.arange(1, max_k + 2))
    for k in range(1, max_k + 1):
        areas = order[bounds[k - 1]:bounds[k]]
        if areas.size == 0:
            continue
        column = np.sort(sums[:, k - 1])
        ge[areas] = permutations - np.searchsorted(column, observed[areas] - tol, "left")
        le[areas] = np.searchsorted(column, observed[areas] + tol, "right")

    # Corrections (see Notes): area a = draws[p, j] drew itself when j < card[a]; its
    # sum in permutation p is the shared one with y[a] swapped for the spare last draw.
    drawn = draws[:, :max_k]
    perm, pos = np.nonzero(np.arange(max_k) < card[drawn])
    area = drawn[perm, pos]
    shared = sums[perm, card[area] - 1]
    actual = shared - y[area] + y[draws[perm, max_k]]
    low, high = observed[area] - tol, observed[area] + tol
    ge += np.bincount(area, weights=(actual >= low).astype(float) - (shared >= low),
                      minlength=n).astype(np.int64)
    le += np.bincount(area, weights=(actual <= high).astype(float) - (shared <= high),
                      minlength=n).astype(np.int64)
    return ge, le


def _q_values(p: np.ndarray, tested: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values of the two-sided p-values ``min(1, 2 p)``.

    The directed pseudo p-value picks its tail after seeing the data, so under the null
    ``P(p < a)`` is about ``2 a``; doubling makes it a valid p-value, which the false
    discovery rate guarantee of Benjamini & Hochberg (1995) requires.
    """
    q = np.ones_like(p)
    if tested.any():
        q[tested] = fdr_bh(np.minimum(1.0, 2.0 * p[tested]))
    return q


class LocalHotspots:
    """Local Moran's I clusters and Getis-Ord Gi* hot spots with fast permutation tests.

    Parameters
    ----------
    permutations : int, default 999
        Number of conditional randomisations; the smallest attainable pseudo p-value is
        ``1 / (permutations + 1)``. With ``fdr=True`` on thousands of areas use more
        (9,999) so that the smallest p-values can survive the correction.
    alpha : float, default 0.05
        Significance level for the labels.
    fdr : bool, default True
        Label on Benjamini-Hochberg q-values (``q <= alpha``) instead of raw pseudo
        p-values (``p < alpha``, as esda's ``get_cluster_labels`` and GeoDa's maps).
    seed : int or numpy.random.Generator, optional
        Seed of the random draws, for reproducible p-values.

    Attributes
    ----------
    neighbours_ : ndarray of int64
        Number of neighbours of each area.
    isolate_ : ndarray of bool
        Areas without neighbours; they are not tested (see Notes).
    moran_i_ : ndarray
        Local Moran's I with row-standardised weights, as ``esda.Moran_Local(...).Is``:
        ``I_i = (n - 1) z_i sum_j w_ij z_j / sum_j z_j^2`` with ``z`` the values
        standardised with the population standard deviation.
    moran_p_ : ndarray
        Pseudo p-value of ``moran_i_`` from conditional randomisation, one-sided in the
        direction the observed value lies (esda's ``p_sim``).
    moran_q_value_ : ndarray
        Benjamini-Hochberg q-values of the two-sided ``min(1, 2 * moran_p_)`` over the
        areas with neighbours (see Notes).
    moran_quadrant_ : ndarray of int64
        Moran scatterplot quadrant as esda's ``q``: 1 high-high, 2 low-high, 3 low-low,
        4 high-low (high means above the mean; the neighbours' mean at the mean counts as
        low), 0 for isolates.
    cluster_ : ndarray of str
        ``"high-high"``, ``"low-low"``, ``"high-low"``, ``"low-high"`` for significant
        local Moran's I, else ``""``.
    gi_ : ndarray
        Getis-Ord Gi* with binary weights including the area itself, as
        ``esda.G_Local(y, w, star=True, transform="B").Gs``:
        ``(y_i + sum of neighbours' values) / sum of all values``.
    gi_z_ : ndarray
        Its analytical z-score under total randomisation (Ord & Getis 1995), as esda's
        ``Zs``.
    g_, g_z_ : ndarray
        Getis-Ord Gi without the area itself and its z-score, as
        ``esda.G_Local(y, w, star=False, transform="B")``'s ``Gs`` and ``Zs`` (reported
        for comparison; the hotspot labels use Gi*).
    gi_p_ : ndarray
        Pseudo p-value of ``gi_`` from conditional randomisation, one-sided in the
        direction the observed value lies (esda's ``p_sim``).
    gi_q_value_ : ndarray
        Benjamini-Hochberg q-values of the two-sided ``min(1, 2 * gi_p_)``.
    hotspot_ : ndarray of str
        ``"hot"`` for a significant Gi* with ``gi_z_ > 0`` whose neighbourhood sum lies in
        the upper tail of its permutation distribution, ``"cold"`` for the mirror case,
        else ``""``.

    Notes
    -----
    The statistics equal esda's. Conventions that differ from esda, on purpose:

    * Isolates (no neighbours) get ``moran_i_ = 0`` (as esda), ``gi_z_ = 0`` (esda: the
      z-score of the area's own value), p- and q-values 1, quadrant 0 and no label; they
      are left out of the false discovery rate correction. esda warns and, with the
      default ``island_weight=0``, still reports a p-value for them.
    * Ties: a pseudo p-value is ``(min(#{sim >= obs}, #{sim <= obs}) + 1) / (P + 1)``,
      with sums closer than a few ulps counted as ties. Without ties this is exactly esda's
      ``p_sim``, ``(min(larger, P - larger) + 1) / (P + 1)``. With counts, many permuted
      neighbourhoods tie with the observed one; esda counts ties only as "larger", so an
      area whose neighbours sum to the minimum shared by most permutations gets the
      smallest possible p-value. Here it gets a large one.
    * With these weights both statistics are monotone in the neighbours' sum given the
      area's own value, so with the same draws ``moran_p_`` and ``gi_p_`` coincide, except
      where the area equals the mean exactly (local Moran's I is then 0 in every
      permutation and ``moran_p_ = 1``).
    * Constant values carry no information: every statistic is neutral (``I = 0``,
      ``z = 0``, ``gi_ = (k + 1) / n``, p = 1).
    * The ratio ``gi_`` assumes a natural origin (Getis & Ord 1992): with any negative
      value it is NaN. ``gi_z_``, the p-values and the labels do not depend on the origin
      and are computed for any finite values.
    * An area linked to all others has nothing to permute: p = 1, and ``gi_z_ = 0``
      instead of esda's division by zero.
    * ``moran_p_`` and ``gi_p_`` are esda's directed p-values: the tail is chosen after
      seeing the data, so under the null about ``2 * alpha`` of the areas have
      ``p < alpha`` (as in esda and GeoDa). The q-values are therefore computed from the
      two-sided ``min(1, 2 p)``, so that ``fdr=True`` really bounds the expected share of
      false hot spots by ``alpha``; esda has no FDR step.
    * The random draws differ from esda's, so p-values agree with esda's only up to Monte
      Carlo error. As in esda's ``crand``, the draws are shared by all areas, so that error
      is common to all areas with the same number of neighbours (with count data the share
      of areas below a threshold can move by a few points between seeds at 999
      permutations). Permutations are cheap here: prefer 9,999 for national maps.
    """

    def __init__(self, permutations: int = 999, alpha: float = 0.05, fdr: bool = True,
                 seed: int | np.random.Generator | None = None) -> None:
        self.permutations = permutations
        self.alpha = alpha
        self.fdr = fdr
        self.seed = seed

    def _check_settings(self) -> None:
        p = self.permutations
        if isinstance(p, bool) or not isinstance(p, numbers.Integral) or p < 1:
            raise ValueError(f"permutations: expected a positive integer, got {p!r}.")
        if not (isinstance(self.alpha, numbers.Real) and 0 < self.alpha < 1):
            raise ValueError(f"alpha: expected a probability in (0, 1), got {self.alpha!r}.")
        if not isinstance(self.fdr, bool | np.bool_):
            raise ValueError(f"fdr: expected True or False, got {self.fdr!r}.")
        seed = self.seed
        if not (seed is None or isinstance(seed, np.random.Generator)
                or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool))):
            raise ValueError(
                f"seed: expected None, an integer or a numpy Generator, got {seed!r}.")

    def fit(self, values, adjacency) -> LocalHotspots:
        """Compute the local statistics and their permutation tests.

        Parameters
        ----------
        values : array-like of shape (n,)
            One value per area, finite (for example report counts or smoothed rates).
        adjacency : sparse matrix of shape (n, n)
            Binary contiguity without self-neighbours, from
            :func:`cegah.risk.weights.contiguity`.

        Returns
        -------
        self
        """
        self._check_settings()
        y = _check_values(values)
        adj = _check_adjacency(adjacency, y.size)
        n = y.size
        perms = int(self.permutations)
        card = np.diff(adj.indptr).astype(np.int64)
        isolate = card == 0
        linked = ~isolate
        neighbour_sum = adj @ y

        self.neighbours_ = card
        self.isolate_ = isolate

        # Local Moran's I, exactly as esda.Moran_Local (row-standardised weights).
        sd = y.std()
        constant = bool(y.max() == y.min())
        z = (y - y.mean()) / sd if not constant else np.zeros(n)
        lag = np.zeros(n)
        lag[linked] = (adj @ z)[linked] / card[linked]
        den = (z * z).sum()
        self.moran_i_ = (n - 1) * z * lag / den if not constant else np.zeros(n)
        high, high_lag = z > 0, lag > 0
        quadrant = np.where(high, np.where(high_lag, 1, 4), np.where(high_lag, 2, 3))
        quadrant[isolate] = 0
        self.moran_quadrant_ = quadrant.astype(np.int64)

        # Getis-Ord Gi*, binary weights with self, as esda.G_Local(star=True, "B"). The
        # z-score is Ord & Getis's (1995) standardised form, (sum - W mean) /
        # (s sqrt((n S1 - W^2) / (n - 1))) with W = S1 = k + 1, which equals esda's
        # (G - E[G]) / sd(G) for positive totals and needs no natural origin.
        size = card + 1.0
        total = y.sum()
        local_sum = y + neighbour_sum
        if np.all(y >= 0):
            self.gi_ = local_sum / total if total > 0 else size / n
        else:
            self.gi_ = np.full(n, np.nan)
        spread = np.sqrt(size * (n - size) / (n - 1)) * sd
        gi_z = np.zeros(n)
        ok = linked & (spread > 0)
        gi_z[ok] = (local_sum[ok] - size[ok] * y.mean()) / spread[ok]
        self.gi_z_ = gi_z

        # Getis-Ord Gi (the area itself left out), binary weights, as
        # esda.G_Local(star=False, transform="B"): the sums, mean and variance run over
        # the n - 1 other areas (Getis & Ord 1992, eq. 4-5; Ord & Getis 1995).
        others_total = total - y
        with np.errstate(divide="ignore", invalid="ignore"):
            if np.all(y >= 0):
                self.g_ = np.where(others_total > 0, neighbour_sum / others_total, np.nan)
            else:
                self.g_ = np.full(n, np.nan)
            mean_i = others_total / (n - 1)
            var_i = ((y * y).sum() - y * y) / (n - 1) - mean_i**2
            spread_i = np.sqrt(np.maximum(var_i, 0.0) * card * (n - 1 - card) / (n - 2))
            g_z = np.zeros(n)
            ok_i = linked & (spread_i > 0)
            g_z[ok_i] = (neighbour_sum[ok_i] - card[ok_i] * mean_i[ok_i]) / spread_i[ok_i]
        self.g_z_ = g_z

        # Conditional randomisation of the neighbours' sum, shared by both statistics.
        tested = linked & (card < n - 1) & (not constant)
        p = np.ones(n)
        upper = np.zeros(n, dtype=bool)
        lower = np.zeros(n, dtype=bool)
        if tested.any():
            rng = np.random.default_rng(self.seed)
            max_k = int(card.max())
            draws = _distinct_draws(rng, n, max_k + 1, perms)
            tol = 64 * np.finfo(float).eps * max_k * float(np.abs(y).max())
            ge, le = _tail_counts(y, neighbour_sum, card, draws, tol)
            p[tested] = (np.minimum(ge, le)[tested] + 1.0) / (perms + 1.0)
            upper = tested & (ge < le)
            lower = tested & (le < ge)
        self.gi_p_ = p
        self.moran_p_ = np.where(z == 0, 1.0, p)
        self.gi_q_value_ = _q_values(self.gi_p_, linked)
        self.moran_q_value_ = _q_values(self.moran_p_, linked)

        if self.fdr:
            gi_sig = self.gi_q_value_ <= self.alpha
            moran_sig = self.moran_q_value_ <= self.alpha
        else:
            gi_sig = self.gi_p_ < self.alpha
            moran_sig = self.moran_p_ < self.alpha
        gi_sig &= tested
        moran_sig &= tested
        hotspot = np.full(n, "", dtype=object)
        hotspot[gi_sig & (gi_z > 0) & upper] = "hot"
        hotspot[gi_sig & (gi_z < 0) & lower] = "cold"
        self.hotspot_ = hotspot.astype(str)
        self.cluster_ = np.where(moran_sig, _QUADRANT_LABELS[quadrant], "").astype(str)
        return self
