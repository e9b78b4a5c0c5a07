import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from cegah.risk.trend import classify_trend, trend_test


def test_the_p_value_is_the_doubled_smaller_binomial_tail():
    # Conditional test: 3 reports before, 15 now, equal populations -> Binomial(18, 0.5).
    p_value, expected = trend_test([3], [15])
    assert_allclose(p_value[0], stats.binomtest(15, 18, 0.5).pvalue, rtol=1e-12)
    assert expected[0] == 9
    # Unequal exposure: the population doubled, so twice the reports is no change, and
    # 28 of 30 is a significant rise (twice the upper tail of Binomial(30, 2/3)).
    p_value, _ = trend_test([10, 2], [20, 28], [1000, 1000], [2000, 2000])
    assert p_value[0] == 1.0
    assert_allclose(p_value[1], 2 * stats.binom.sf(27, 30, 2 / 3), rtol=1e-12)
    assert p_value[1] < 0.05


def test_it_classes_each_kind_of_trend():
    previous = [0, 3, 20, 10, 0, 4]
    current = [4, 15, 4, 11, 0, 0]
    assert list(classify_trend(previous, current)) == [
        "new", "intensifying", "diminishing", "persistent", "none", "none"]


@pytest.mark.parametrize(("args", "message"), [
    (([1, 2], [1]), "same shape"),
    (([-1], [1]), "counts >= 0"),
    (([1], [1], [0], [1]), "positive populations"),
])
def test_it_rejects_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        trend_test(*args)


def test_alpha_is_validated():
    with pytest.raises(ValueError, match="alpha"):
        classify_trend(np.array([1]), np.array([2]), alpha=2)
