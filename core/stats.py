"""The two intervals of a mean both halves report, written once: Student t over independent replicates, and
the percentile bootstrap (scipy.stats). Comparisons between settings with seeds as the unit of replication
are empirics/readers/inference.py's, built on the same library."""

from __future__ import annotations

import numpy as np
from scipy import stats


def mean_t_interval(x, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the Student-t interval of the mean of independent replicates
    (scipy.stats.ttest_1samp); with fewer than two the ends are nan, with no spread the point itself."""
    x = np.asarray(x, np.float64)
    m = float(x.mean())
    if len(x) < 2:
        return m, float("nan"), float("nan")
    if np.all(x == x[0]):  # no spread: the interval is the point (scipy's would be nan)
        return m, m, m
    ci = stats.ttest_1samp(x, 0.0).confidence_interval(level)
    return m, float(ci.low), float(ci.high)


def bootstrap_mean_interval(values, reps: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap 95 % interval of the mean of `values` (scipy.stats.bootstrap): for examples that
    are the replicates themselves, never for test pairs standing in for training runs."""
    ci = stats.bootstrap(
        (np.asarray(values),), np.mean, n_resamples=reps, method="percentile", rng=np.random.default_rng(seed)
    ).confidence_interval
    return float(ci.low), float(ci.high)
