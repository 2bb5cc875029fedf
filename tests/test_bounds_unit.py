"""Unit tests of theory.bounds and theory.adversarial: input checks, user-constant verdicts, witness files."""

import json

import mpmath
import numpy as np
import pytest

from core.divergences import floor
from core.errors import InvalidInputError
from theory import bounds
from theory.adversarial import search


def test_bound_requires_floored_models_and_known_names():
    fs = np.array([1.0, 0.0])
    with pytest.raises(InvalidInputError, match="below the floor"):
        bounds.evaluate_bound(fs, [0.001, 0.999], [0.5, 0.5], gamma=0.01)
    with pytest.raises(InvalidInputError, match="unknown constant"):
        bounds.evaluate_bound(fs, [0.5, 0.5], [0.4, 0.6], 0.01, constant="C9")
    with pytest.raises(InvalidInputError, match="unknown direction"):
        bounds.evaluate_bound(fs, [0.5, 0.5], [0.4, 0.6], 0.01, direction="sideways")
    with pytest.raises(InvalidInputError, match="gamma"):
        bounds.evaluate_bound(fs, [0.5, 0.5], [0.4, 0.6], 0.6)


def test_both_losses_give_the_same_gap():
    rng = np.random.default_rng(3)
    fs = np.eye(3)[rng.integers(0, 3, 5)]
    fw, fsw = (floor(rng.dirichlet(np.ones(3), 5), 0.01) for _ in range(2))
    a = bounds.evaluate_bound(fs, fw, fsw, 0.01, loss="kl")
    b = bounds.evaluate_bound(fs, fw, fsw, 0.01, loss="ce")
    assert a.gap == pytest.approx(b.gap, abs=1e-12)
    assert a.d == b.d


def test_confirmed_sides_catch_a_constant_that_is_too_small():
    """A constant below C* fails on the witness, in float64 and in 50 digits: the check can fail."""
    gamma = 1e-3
    fs, fw, fsw = (np.array([float(v) for v in x]) for x in bounds.witness(gamma, 1e-3))
    lhs, rhs, _ = bounds.confirmed_sides(fs, fw, fsw, gamma, 0.9 * bounds.c_sharp(gamma), "forward")
    assert lhs > rhs
    lhs, rhs, _ = bounds.confirmed_sides(fs, fw, fsw, gamma, "C2", "forward")
    assert lhs <= rhs


@pytest.mark.parametrize("gamma", [1e-3, 0.1])
def test_classify_constant_refuted_with_saved_witness(tmp_path, gamma):
    c = 0.999 * bounds.c_sharp(gamma)
    path = tmp_path / "w.json"
    verdict = bounds.classify_constant(c, gamma, path)
    assert verdict.verdict == "refuted"
    saved = json.loads(path.read_text())
    with mpmath.workdps(50):  # re-verify the saved witness from the file
        r = bounds.ratio_mp(
            [mpmath.mpf(v) for v in saved["F_star"]],
            [mpmath.mpf(v) for v in saved["F_w"]],
            [mpmath.mpf(v) for v in saved["F_sw"]],
            saved["direction"],
        )
    assert r > c


def test_classify_constant_valid_and_not_refuted():
    gamma = 1e-3
    assert bounds.classify_constant(bounds.c2(gamma), gamma).verdict == "valid"
    assert bounds.classify_constant(bounds.c_sharp(gamma), gamma).verdict == "valid"
    # just below C*, closer than the witness family can reach down to eps = 1e-30
    near = float(mpmath.mpf(bounds.c_sharp(gamma)) * (1 - mpmath.mpf(10) ** -15))
    assert bounds.classify_constant(near, gamma).verdict in ("refuted", "not refuted")
    with pytest.raises(InvalidInputError):
        bounds.classify_constant(-1.0, gamma)


def test_adversarial_search_reports_verified_supremum():
    r = search(0.01, k=2, direction="reverse", starts=4, seed=1)
    assert r.candidates_verified == 4
    inst = r.best_instance
    again = float(bounds.ratio_mp(inst["F_star"], inst["F_w"], inst["F_sw"], "reverse"))
    assert again == pytest.approx(r.best_ratio, rel=1e-12)
    assert 0.98 < r.ratio_to_sharp <= 1 + 1e-9
