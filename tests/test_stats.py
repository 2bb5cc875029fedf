"""core.stats against closed forms: the t interval by its formula, the bootstrap interval of a mean by the
normal approximation it tends to, and the degenerate cases."""

import math

import numpy as np
import pytest
from scipy import special

from core.stats import bootstrap_mean_interval, mean_t_interval


def test_the_t_interval_is_mean_plus_minus_t_quantile_times_the_standard_error():
    x = np.array([0.61, 0.64, 0.58, 0.66, 0.63])
    n, m, sd = len(x), x.mean(), x.std(ddof=1)
    t975 = 2.7764451051977987  # Student t, 4 degrees of freedom, 97.5 % quantile (tables)
    got = mean_t_interval(x)
    assert got[0] == pytest.approx(m, abs=1e-15)
    assert got[1] == pytest.approx(m - t975 * sd / math.sqrt(n), rel=1e-12)
    assert got[2] == pytest.approx(m + t975 * sd / math.sqrt(n), rel=1e-12)
    narrower = mean_t_interval(x, 0.90)
    assert got[1] < narrower[1] < m < narrower[2] < got[2]


def test_the_t_interval_of_one_value_is_undefined_and_of_equal_values_the_point():
    m, lo, hi = mean_t_interval([0.7])
    assert m == 0.7
    assert math.isnan(lo)
    assert math.isnan(hi)
    assert mean_t_interval([0.5, 0.5, 0.5]) == (0.5, 0.5, 0.5)


def test_the_bootstrap_interval_of_a_mean_tends_to_the_normal_interval():
    x = np.random.default_rng(3).exponential(1.0, 4000)
    z975 = math.sqrt(2) * special.erfinv(0.95)  # 1.959964...
    half = z975 * x.std(ddof=1) / math.sqrt(len(x))
    lo, hi = bootstrap_mean_interval(x, reps=4000, seed=1)
    assert lo == pytest.approx(x.mean() - half, abs=0.1 * half)
    assert hi == pytest.approx(x.mean() + half, abs=0.1 * half)
    assert bootstrap_mean_interval(x, reps=4000, seed=1) == (lo, hi)  # seeded
