"""cegah.risk.distributions agrees with scipy.stats (which it replaces for start-up time)."""

import numpy as np
from numpy.testing import assert_allclose
from scipy import stats

from cegah.risk import distributions as d

RNG = np.random.default_rng(20261129)


def test_gamma_quantiles_and_tails_match_scipy():
    shape = RNG.uniform(0.05, 50, 200)
    rate = RNG.uniform(1e-3, 1e4, 200)
    q = RNG.uniform(0.001, 0.999, 200)
    assert_allclose(d.gamma_ppf(q, shape, rate), stats.gamma.ppf(q, shape, scale=1 / rate),
                    rtol=1e-9)
    x = stats.gamma.ppf(q, shape, scale=1 / rate)
    assert_allclose(d.gamma_sf(x, shape, rate), stats.gamma.sf(x, shape, scale=1 / rate),
                    rtol=1e-9, atol=1e-300)
    assert d.gamma_sf(-1.0, 2.0, 1.0) == 1.0


def test_binomial_tails_match_scipy_including_the_edges():
    n = RNG.integers(0, 60, 300).astype(float)
    k = np.floor(RNG.uniform(-2, 62, 300))
    p = RNG.uniform(0.01, 0.99, 300)
    assert_allclose(d.binom_cdf(k, n, p), stats.binom.cdf(k, n, p), rtol=1e-9, atol=1e-15)
    assert_allclose(d.binom_sf(k, n, p), stats.binom.sf(k, n, p), rtol=1e-9, atol=1e-15)


def test_normal_poisson_and_negative_binomial_match_scipy():
    z = np.linspace(-8, 8, 101)
    assert_allclose(d.norm_sf(z), stats.norm.sf(z), rtol=1e-12)
    q = np.linspace(0.001, 0.999, 99)
    assert_allclose(d.norm_ppf(q), stats.norm.ppf(q), rtol=1e-12)
    k = np.arange(-1, 40)
    mu = np.linspace(0.1, 30, k.size)
    assert_allclose(d.poisson_cdf(k, mu), stats.poisson.cdf(k, mu), rtol=1e-10, atol=1e-300)
    size, prob = 2.5, 0.3
    assert_allclose(d.nbinom_cdf(k, size, prob), stats.nbinom.cdf(k, size, prob), rtol=1e-10)


def test_benjamini_hochberg_matches_scipy():
    p = np.r_[RNG.uniform(0, 1, 500), RNG.uniform(0, 1e-3, 20), [0.0, 1.0, 0.5, 0.5]]
    assert_allclose(d.fdr_bh(p), stats.false_discovery_control(p, method="bh"), rtol=1e-12)
    assert d.fdr_bh(np.array([])).size == 0
