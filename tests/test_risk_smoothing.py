"""Empirical-Bayes smoothing against published values and on synthetic small areas."""

import numpy as np
import pytest
from esda.smoothing import Empirical_Bayes
from libpysal import examples
from libpysal import io as psio
from numpy.testing import assert_allclose

from cegah.risk.smoothing import EmpiricalBayesRates


@pytest.fixture(scope="module")
def stl():
    # St. Louis region county homicides (libpysal example "stl", shipped inside libpysal):
    # column 10 = HC8488 (homicides 1984-88), column 13 = PE87 (population 1987).
    table = psio.open(examples.get_path("stl_hom.csv"), "r")
    return np.array(table[:, 10], dtype=float).ravel(), np.array(table[:, 13], dtype=float).ravel()


def test_it_reproduces_the_published_stl_empirical_bayes_rates(stl):
    # Reference: the docstring example of esda.smoothing.Empirical_Bayes (PySAL esda
    # 2.x, smoothing.py), the first ten smoothed rates of the St. Louis homicide data;
    # both follow Marshall (1991) with the global prior.
    published = [2.36718950e-05, 4.54539167e-05, 4.78114019e-05, 2.76907146e-05,
                 6.58989323e-05, 3.66494122e-05, 5.79952721e-05, 2.03064590e-05,
                 3.31152999e-05, 3.02748380e-05]
    ours = EmpiricalBayesRates().fit(*stl)
    assert_allclose(ours.rate_[:10], published, rtol=1e-7)
    assert_allclose(ours.rate_, Empirical_Bayes(*stl).r.ravel(), rtol=1e-10)


def test_intervals_contain_the_smoothed_rate(stl):
    eb = EmpiricalBayesRates(level=0.9).fit(*stl)
    assert np.all(eb.low_ <= eb.rate_ + 1e-15) and np.all(eb.rate_ <= eb.high_ + 1e-15)
    wider = EmpiricalBayesRates(level=0.99).fit(*stl)
    assert np.all(wider.high_ - wider.low_ >= eb.high_ - eb.low_)


def test_small_areas_do_not_top_the_list_by_chance():
    # SYNTHETIC: 200 areas with the same true rate, one tiny area with a single report.
    rng = np.random.default_rng(3)
    population = np.r_[np.full(200, 5000.0), 50.0]
    events = np.r_[rng.poisson(5000 * 2e-4, 200), 1]
    eb = EmpiricalBayesRates().fit(events, population)
    assert np.argmax(eb.crude_rate_) == 200
    assert np.argmax(eb.rate_) != 200
    assert eb.weight_[200] < eb.weight_[:200].min()


def test_areas_without_cases_get_a_value_not_nan():
    eb = EmpiricalBayesRates().fit([0, 0, 3, 10, 0], [100, 2000, 1500, 3000, 800])
    assert np.all(np.isfinite(eb.rate_)) and np.all(eb.rate_ > 0)
    assert np.all(np.isfinite(eb.low_)) and np.all(np.isfinite(eb.high_))


def test_groups_shrink_toward_their_own_prior():
    # SYNTHETIC: two districts with very different rates.
    rng = np.random.default_rng(5)
    pop = rng.integers(200, 3000, 40).astype(float)
    true = np.r_[np.full(20, 1e-3), np.full(20, 1e-2)]
    events = rng.poisson(pop * true)
    groups = np.r_[["a"] * 20, ["b"] * 20]
    grouped = EmpiricalBayesRates().fit(events, pop, groups)
    separate_a = EmpiricalBayesRates().fit(events[:20], pop[:20])
    assert_allclose(grouped.rate_[:20], separate_a.rate_)
    assert grouped.prior_mean_[0] < grouped.prior_mean_[-1]
    glob = EmpiricalBayesRates().fit(events, pop)
    err_grouped = np.abs(grouped.rate_ - true).mean()
    err_global = np.abs(glob.rate_ - true).mean()
    assert err_grouped < err_global


@pytest.mark.parametrize(("events", "population", "message"), [
    ([1, 2], [10], "same length"),
    ([-1, 2], [10, 10], "events"),
    ([1, 2], [10, 0], "population: expected positive numbers; area at position 1"),
    ([], [], "at least one area"),
])
def test_it_rejects_bad_input_naming_the_parameter(events, population, message):
    with pytest.raises(ValueError, match=message):
        EmpiricalBayesRates().fit(events, population)


def test_the_risk_package_never_imports_django():
    import subprocess
    import sys

    code = ("import sys, cegah.risk.smoothing; "
            "sys.exit(any(m == 'django' or m.startswith('django.') for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def _line_adjacency(n):
    import scipy.sparse as sp

    rows = np.r_[np.arange(n - 1), np.arange(1, n)]
    cols = np.r_[np.arange(1, n), np.arange(n - 1)]
    return sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n, n))


def test_it_pulls_an_area_toward_its_neighbours_rate():
    # SYNTHETIC: a chain of 12 areas; the left half reports a lot, the right half little.
    e = np.array([20, 22, 18, 25, 21, 19, 1, 0, 2, 1, 0, 1])
    b = np.full(12, 10_000)
    b[5] = b[6] = 300  # two small areas at the border, equal counts
    e[5] = e[6] = 1
    plain = EmpiricalBayesRates().fit(e, b)
    spatial = EmpiricalBayesRates().fit(e, b, adjacency=_line_adjacency(12))
    # Same data, different neighbourhoods: the spatial smoother separates them.
    assert plain.rate_[5] == pytest.approx(plain.rate_[6])
    assert spatial.rate_[5] > spatial.rate_[6]
    assert np.all(np.isfinite(spatial.rate_)) and np.all(spatial.low_ <= spatial.rate_)
    assert np.all(spatial.rate_ <= spatial.high_)


def test_an_area_whose_neighbourhood_has_no_cases_still_gets_a_positive_rate():
    e = np.array([0, 0, 0, 9, 7, 8, 6, 0, 5, 4])
    b = np.full(10, 2_000)
    fit = EmpiricalBayesRates().fit(e, b, adjacency=_line_adjacency(10))
    assert np.all(np.isfinite(fit.rate_))
    assert fit.rate_[0] > 0 and fit.rate_[1] > 0


def test_it_rejects_an_adjacency_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"adjacency: expected a \(4, 4\) matrix"):
        EmpiricalBayesRates().fit([1, 2, 3, 4], [10, 10, 10, 10],
                                  adjacency=_line_adjacency(5))


def test_a_group_without_extra_variation_keeps_the_uncertainty_of_its_pooled_rate():
    # SYNTHETIC: 20 areas whose counts are exactly what the pooled rate predicts, so
    # Marshall's variance estimate is negative and floored.
    b = np.full(20, 1_000.0)
    e = np.ones(20)
    marshall = EmpiricalBayesRates(floor_variance=False).fit(e, b)
    floored = EmpiricalBayesRates().fit(e, b)
    assert marshall.prior_var_[0] == 0.0
    assert floored.prior_var_[0] == pytest.approx(1e-3 / 20_000)
    # The pooled rate rests on 20 reports: its 90 % interval is roughly ±37 %, not zero.
    width = (floored.high_ - floored.low_) / floored.rate_
    assert np.all(width > 0.5) and np.all(width < 1.0)
    assert_allclose(floored.rate_, 1e-3)
