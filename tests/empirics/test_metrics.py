"""Run metrics: accuracy with ties, AUROC, floored cross-entropy and KLs, and when PGR is defined."""

import math

import numpy as np
import pytest

from empirics.readers.metrics import auroc, pgr, run_metrics


def test_accuracy_se_auroc_and_cross_entropy():
    prob = np.array([0.9, 0.2, 0.5, 0.7])
    label = np.array([1, 0, 1, 0])
    m = run_metrics(prob, label, 1e-3)
    assert m["accuracy"] == pytest.approx((1 + 1 + 0.5 + 0) / 4)
    assert m["accuracy_se"] == pytest.approx(math.sqrt(0.625 * 0.375 / 4))
    assert m["auroc"] == pytest.approx(0.75)
    pf = (1 - 2e-3) * prob + 1e-3
    assert m["cross_entropy"] == pytest.approx(
        -np.mean([np.log(pf[0]), np.log(1 - pf[1]), np.log(pf[2]), np.log(1 - pf[3])])
    )
    assert auroc(np.array([0.1, 0.2]), np.array([1, 1])) is None


def test_disagreements_are_zero_for_identical_models_and_finite_for_hard_ones():
    p = np.array([0.0, 1.0, 0.3])
    m = run_metrics(p, np.array([0, 1, 1]), 1e-3, weak_prob=p)
    assert m["kl_student_weak"] == pytest.approx(0.0, abs=1e-15)
    assert m["kl_weak_student"] == pytest.approx(0.0, abs=1e-15)
    m = run_metrics(np.array([0.0, 1.0]), np.array([0, 1]), 1e-3, weak_prob=np.array([1.0, 0.0]))
    assert np.isfinite(m["kl_student_weak"])
    assert m["kl_student_weak"] > 5


def test_pgr_only_when_the_ceiling_clearly_beats_the_weak_model():
    weak = {"accuracy": 0.60, "accuracy_se": 0.01}
    ceil = {"accuracy": 0.70, "accuracy_se": 0.01}
    assert pgr({"accuracy": 0.65}, weak, ceil)["pgr"] == pytest.approx(0.5)
    close = {"accuracy": 0.62, "accuracy_se": 0.01}
    assert pgr({"accuracy": 0.61}, weak, close)["pgr"] is None
    perfect = {"accuracy": 1.0, "accuracy_se": 0.0}
    assert pgr(perfect, perfect, perfect)["pgr"] is None


def test_each_disagreement_is_the_kl_in_its_own_direction():
    """KL(F_sw, F_w) and KL(F_w, F_sw) by hand on one asymmetric pair (student 0.9, teacher 0.6), floored at
    gamma: the two directions differ, and neither may be the other."""
    gamma = 1e-3
    s, w = (1 - 2 * gamma) * 0.9 + gamma, (1 - 2 * gamma) * 0.6 + gamma
    sw = s * math.log(s / w) + (1 - s) * math.log((1 - s) / (1 - w))
    ws = w * math.log(w / s) + (1 - w) * math.log((1 - w) / (1 - s))
    m = run_metrics(np.array([0.9]), np.array([1]), gamma, weak_prob=np.array([0.6]))
    assert abs(sw - ws) > 0.05  # asymmetric enough to tell the directions apart
    assert m["kl_student_weak"] == pytest.approx(sw, rel=1e-12)
    assert m["kl_weak_student"] == pytest.approx(ws, rel=1e-12)


def test_the_summary_interval_is_wilsons_at_95_percent():
    """50 right of 100: Wilson's 95 % interval is 0.5 +- 1.96 sqrt(1/400 + 1.96^2/40000) / (1 + 1.96^2/100),
    by hand [0.4038, 0.5962] (a 50 % interval would be about [0.467, 0.533])."""
    from empirics.readers.summary import wilson_interval

    z = 1.959963984540054
    half = z * math.sqrt(0.25 / 100 + z**2 / 40000) / (1 + z**2 / 100)
    lo, hi = wilson_interval(0.5, 100)
    assert lo == pytest.approx(0.5 - half, rel=1e-9)
    assert hi == pytest.approx(0.5 + half, rel=1e-9)
    assert (round(lo, 4), round(hi, 4)) == (0.4038, 0.5962)


def test_the_over_seeds_interval_is_students_t_at_95_percent(tmp_path):
    """Three seeds at 60, 62 and 65 %: mean 62.333, sd 2.5166, t(0.975, 2) = 4.302653, so 62.333 +- 6.2516
    (by hand; a 90 % interval would be +- 4.2426)."""
    from empirics.plans.spec import RunSpec
    from empirics.readers.run_folder import RunRecord
    from empirics.readers.summary import accuracy_interval

    runs = [
        RunRecord(tmp_path, RunSpec("weak", "m", seed=k), {}, {"test": {"accuracy": a, "n": 4000}})
        for k, a in enumerate((0.60, 0.62, 0.65))
    ]
    mean, lo, hi = accuracy_interval(runs)
    sd = math.sqrt(((0.60 - 0.62333333) ** 2 + (0.62 - 0.62333333) ** 2 + (0.65 - 0.62333333) ** 2) / 2)
    half = 4.302652729749464 * sd / math.sqrt(3)
    assert mean == pytest.approx(0.62333333, rel=1e-7)
    assert (lo, hi) == (pytest.approx(mean - half, rel=1e-7), pytest.approx(mean + half, rel=1e-7))
    assert round(100 * half, 4) == 6.2516
