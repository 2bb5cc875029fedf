"""Inference with the training run as the unit of replication: a mean paired difference over seeds x test
pairs, with a variance that counts both.

Design. A claim compares two students trained with the same seed on the same test pairs. For seed k and test
pair i, d[k, i] is the difference in correctness (a setting-average when a claim pools several settings: the
settings are fixed effects, averaged within each replicate). Seeds and test pairs are both random and crossed
(every seed is scored on the same pairs), so d follows the two-way random-effects model

    d[k, i] = mu + a_k + b_i + e_ki,   Var a = s_a^2 (replicates), Var b = s_b^2 (test pairs), Var e = s_e^2,

and the mean over K seeds and N pairs has Var(mean) = s_a^2 / K + s_b^2 / N + s_e^2 / (K N) (Searle, Casella
& McCulloch 1992, "Variance Components", ch. 4). With the two-way ANOVA mean squares (E MS_seed = s_e^2 +
N s_a^2, E MS_pair = s_e^2 + K s_b^2, E MS_resid = s_e^2) it is estimated by

    V = [MS_seed + max(MS_pair - MS_resid, 0)] / (K N)  =  s^2(seed means) / K  +  s_b^2-hat / N,

the between-replicate variance of the seed means (which a test over seeds alone would use) plus the variance
the test pairs add because every seed shares them (which such a test cannot see, as the seed means all
carry the same pair draw). Only the pair component is truncated at 0; the seed part never is (truncating
it drops the replicate variance in about half of 3-seed studies).

Degrees of freedom: K - 1, those of the replicate term. The pair term has N - 1 >= 500 df and is nearly
known, so the statistic is lighter-tailed than Student's t with K - 1 df: the interval is exact when the seed
term dominates and conservative otherwise. Satterthwaite's approximation (1946) estimates the df from the
same mean squares and was tried first: at 3 seeds its estimate is too noisy, and in simulation a family of 5
null claims then declared a verdict in 8-9 % of studies instead of <= 5 %. With K - 1 the simulated coverage
is 95-97 % and the null family-wise rate <= 5 % from 3 to 20 seeds (tests/empirics/test_inference.py). This
is the accounting Bouthillier et al. (2021, "Accounting for variance in machine learning benchmarks", MLSys)
ask for: with 3 seeds, t_{0.975, 2} = 4.30 -- a bootstrap over test pairs alone (the former method, still
here as :func:`pair_only_interval` for the calibration tests) ignores the replicate variance, and a two-way
bootstrap (Owen 2007, "The pigeonhole bootstrap") has 10 distinct seed resamples at K = 3 and under-covers.

Tests are two-sided at level ALPHA; a family of claims is Holm-adjusted as one family (scipy's
``false_discovery_control`` has no Holm, so it is the few lines of :func:`holm`); a verdict follows the sign
of a significant difference. MDE = (t_{1-alpha/2, df} + t_{power, df}) x SE: the smallest true difference a
two-sided test at ALPHA detects with probability POWER."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

ALPHA, POWER = 0.05, 0.8
SEEDS_LOOKED = 200  # how far the audit looks for the seeds a goal needs (saved as None beyond)


@dataclass(frozen=True)
class Estimate:
    """A mean difference with its replicate-aware uncertainty."""

    delta: float
    se: float
    df: float
    seeds: int
    pairs: int
    var_seed: float  # estimated components (after truncation at 0), in squared difference units
    var_pair: float
    var_resid: float
    var_seed_means: float = 0.0  # the sample variance of the K seed means (MS_seed / N)

    @property
    def ci95(self) -> tuple[float, float]:
        lo, hi = t_interval(self.delta, self.se, self.df)
        return (float(lo), float(hi))

    @property
    def p_two_sided(self) -> float:
        if self.se == 0:  # no spread at all: every seed and pair gave the same difference
            return 1.0 if self.delta == 0 else 0.0
        return float(2 * stats.t.sf(abs(self.delta) / self.se, self.df))

    @property
    def mde(self) -> float:
        return float((stats.t.ppf(1 - ALPHA / 2, self.df) + stats.t.ppf(POWER, self.df)) * self.se)

    def mde_with(self, seeds: int, upper: float | None = None) -> float:
        """The MDE this comparison would have with `seeds` replicates on the same test pairs, from the
        variance components measured here (a pilot): Var = s^2(seed means) / K' + pair component / N. With
        `upper` (e.g. 0.8), s^2(seed means) is taken at its one-sided `upper` confidence limit (chi-square
        with the pilot's K - 1 df): a pilot of 3 seeds knows its seed variance only to a factor of several."""
        df = seeds - 1
        return float((stats.t.ppf(1 - ALPHA / 2, df) + stats.t.ppf(POWER, df)) * self.se_with(seeds, upper))

    def se_with(self, seeds: int, upper: float | None = None) -> float:
        """The SE with `seeds` replicates on the same test pairs, from the components measured here."""
        var_means = self.var_seed_means
        if upper is not None:
            var_means *= (self.seeds - 1) / stats.chi2.ppf(1 - upper, self.seeds - 1)
        return float(np.sqrt(var_means / seeds + self.var_pair / self.pairs))

    def seeds_for(self, goal: float, upper: float | None = None, most: int = SEEDS_LOOKED) -> int | None:
        """The fewest seeds (2..most) whose MDE is <= goal, from :meth:`mde_with`; None when even `most`
        seeds do not reach it (the test pairs' own variance sets a floor)."""
        return next((k for k in range(2, most + 1) if self.mde_with(k, upper) <= goal), None)

    @classmethod
    def from_saved(cls, c: dict) -> Estimate:
        """The estimate a claims.json entry was made from (its delta, se, df, seeds, pairs and variance
        components): the seed means' variance is K (SE^2 - pair component / N), as SE^2 = s^2(seed means)
        / K + pair component / N (module doc), so what :meth:`mde_with` projects is the saved run's own."""
        k, n, v = c["seeds"], c["pairs"], c["variance"]
        var_means = k * (c["se"] ** 2 - v["pair"] / n)
        return cls(c["delta"], c["se"], c["df"], k, n, v["seed"], v["pair"], v["residual"], var_means)

    def in_se(self) -> float:
        """delta in units of its replicate-aware SE (inf when there is no spread)."""
        return float("inf") if self.se == 0 else self.delta / self.se


def crossed_components(d: np.ndarray) -> dict[str, np.ndarray]:
    """The crossed random-effects pieces of d (..., seeds, pairs), vectorised over leading axes (the
    calibration studies): mean, variance of the mean, its df (seeds - 1), and the variance components."""
    d = np.asarray(d, dtype=np.float64)
    k, n = d.shape[-2:]
    if k < 2 or n < 2:
        raise ValueError(f"need at least 2 seeds and 2 test pairs, got {k} x {n}")
    grand = d.mean(axis=(-2, -1))
    seed_means, pair_means = d.mean(axis=-1), d.mean(axis=-2)
    ms_seed = n * np.sum((seed_means - grand[..., None]) ** 2, axis=-1) / (k - 1)
    ms_pair = k * np.sum((pair_means - grand[..., None]) ** 2, axis=-1) / (n - 1)
    resid = d - seed_means[..., :, None] - pair_means[..., None, :] + grand[..., None, None]
    ms_resid = np.sum(resid**2, axis=(-2, -1)) / ((k - 1) * (n - 1))
    # Var(mean) = s^2(seed means) / K + pair component / N; df those of the replicate term (module doc)
    var = (ms_seed + np.maximum(ms_pair - ms_resid, 0.0)) / (k * n)
    df = np.full_like(grand, float(k - 1))
    return {
        "delta": grand,
        "var": var,
        "df": df,
        "var_seed": np.maximum(ms_seed - ms_resid, 0.0) / n,
        "var_pair": np.maximum(ms_pair - ms_resid, 0.0) / k,
        "var_resid": ms_resid,
        "var_seed_means": ms_seed / n,
    }


def crossed_estimate(d: np.ndarray) -> Estimate:
    """Mean of d (seeds x test pairs, at least 2 of each) with the crossed random-effects variance (module
    doc)."""
    d = np.asarray(d, dtype=np.float64)
    if d.ndim != 2:
        raise ValueError(f"need a seeds x pairs matrix, got shape {d.shape}")
    c = crossed_components(d)
    return Estimate(
        float(c["delta"]),
        float(np.sqrt(c["var"])),
        float(c["df"]),
        d.shape[0],
        d.shape[1],
        float(c["var_seed"]),
        float(c["var_pair"]),
        float(c["var_resid"]),
        float(c["var_seed_means"]),
    )


def t_interval(delta, se, df) -> tuple[np.ndarray, np.ndarray]:
    """The two-sided (1 - ALPHA) Student-t interval (vectorised)."""
    half = stats.t.ppf(1 - ALPHA / 2, df) * se
    return delta - half, delta + half


def pair_only_interval(d: np.ndarray) -> tuple[float, float]:
    """The former interval: test pairs resampled within each seed, seeds as fixed strata (normal
    approximation of the stratified bootstrap). Kept only to show, in the calibration tests, that it ignores
    the replicate variance."""
    d = np.asarray(d, dtype=np.float64)
    k, n = d.shape
    se = float(np.sqrt(np.sum(d.var(axis=1, ddof=1) / n) / k**2))
    z = stats.norm.ppf(1 - ALPHA / 2)
    return (float(d.mean()) - z * se, float(d.mean()) + z * se)


def holm(p: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (Holm 1979), one family."""
    order = np.argsort(p)
    m, adjusted, running = len(p), [0.0] * len(p), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def verdict(delta: float, p_holm: float) -> str:
    """Two-sided test, the verdict by the sign of a significant difference."""
    if p_holm >= ALPHA:
        return "inconclusive"
    return "reproduced" if delta > 0 else "contradicted"


def bootstrap(strata: list[np.ndarray], reps: int = 2000, seed: int = 0) -> np.ndarray:
    """Bootstrap distribution of a pooled mean difference, resampling examples within each stratum
    (scipy.stats.bootstrap, one sample per stratum). For comparisons inside one training replicate only (a
    benchmark's two precisions of the same run): it knows nothing of the variance between replicates."""
    weights = np.array([len(d) for d in strata], float)
    weights /= weights.sum()

    def pooled_mean(*samples, axis=-1):
        return sum(w * np.mean(s, axis=axis) for w, s in zip(weights, samples, strict=True))

    res = stats.bootstrap(
        tuple(strata),
        pooled_mean,
        n_resamples=reps,
        method="percentile",
        vectorized=True,
        batch=max(1, int(2e7 // max(1, sum(len(d) for d in strata)))),
        rng=np.random.default_rng(seed),
    )
    return res.bootstrap_distribution
