"""Definitions 1-2 (identities I1-I3), Proposition 1, and the binary gradient formulas (docs/theory.md
section 2, R3)."""

import numpy as np
import pytest

from core.divergences import grad_forward, grad_reverse_ce, grad_reverse_kl
from core.numerics import logit
from core.tolerances import GRADIENT_TOL, IDENTITY_TOL
from theory import checks
from theory.suite import SIZES

SIZE = SIZES["default"]


def _assert_identity(res):
    assert res.details["symbolic_per_class"] == "0", "sympy did not reduce lhs - rhs to 0 (per class)"
    assert res.details["symbolic_k3"] == "0", "sympy did not reduce lhs - rhs to 0 (k = 3 sums)"
    assert res.instances == SIZE["n"] // 2 + 1  # numeric instances + the symbolic proof
    assert np.all(res.lhs <= IDENTITY_TOL), f"max |lhs - rhs| = {res.lhs.max():.3e}"


def test_identity_I1_forward_ce_equals_forward_kl_plus_teacher_entropy(record):
    """I1 (standard): CE(F_w, F_sw) = KL(F_w, F_sw) + H(F_w); H(F_w) does not depend on the student, so
    forward CE and forward KL train identically. Proved with sympy and checked numerically to 1e-12."""
    res = checks.identity_check("I1", n=SIZE["n"] // 2)
    record(res)
    _assert_identity(res)


def test_identity_I2_reverse_ce_equals_reverse_kl_plus_student_entropy(record):
    """I2 (standard): CE(F_sw, F_w) = KL(F_sw, F_w) + H(F_sw); reverse CE also rewards a confident student."""
    res = checks.identity_check("I2", n=SIZE["n"] // 2)
    record(res)
    _assert_identity(res)


def test_identity_I3_error_differences_agree_for_kl_and_ce(record):
    """I3 (standard): KL(F*,F_sw) - KL(F*,F_w) = CE(F*,F_sw) - CE(F*,F_w), H(F*) cancels; so every bound on
    such a difference holds for both losses. F* may be one-hot."""
    res = checks.identity_check("I3", n=SIZE["n"] // 2)
    record(res)
    _assert_identity(res)


def test_proposition1_three_point_identity(record):
    """Proposition 1 (reconstruction, docs/theory.md R3): KL(F*,F_sw) = KL(F*,F_w) - KL(F_sw,F_w)
    - E_x <F* - F_sw, log F_sw - log F_w>, exactly, for F_w, F_sw > 0 and any F* (zeros allowed)."""
    res = checks.identity_check("R3", n=SIZE["n"] // 2)
    record(res)
    _assert_identity(res)


def test_binary_gradients_match_autograd(record):
    """Section 2 (standard calculus): on a logit z, s = sigmoid(z), weak label y in [gamma, 1 - gamma]:
    forward CE/KL gradient s - y; reverse KL s(1-s)(z - logit y); reverse CE -s(1-s) logit y."""
    pytest.importorskip("torch", reason="autograd needs the [empirics] extra")
    res = checks.binary_gradient_check()
    record(res)
    assert res.instances == 6000
    assert np.all(res.lhs <= GRADIENT_TOL), res.details


@pytest.mark.parametrize("y", [1e-3, 0.2, 0.5, 0.7, 1 - 1e-3])
def test_binary_stationary_points(y):
    """Section 2: forward and reverse KL are stationary exactly at s = y; reverse CE has no stationary point
    in (0, 1) unless y = 1/2, where its gradient vanishes for every s."""
    z_star = float(logit(y))
    assert abs(grad_forward(z_star, y)) <= GRADIENT_TOL
    assert abs(grad_reverse_kl(z_star, y)) <= GRADIENT_TOL
    z = np.linspace(-20, 20, 401)
    for grad in (grad_forward, grad_reverse_kl):  # one sign change, at z* only
        g = grad(z, y)
        assert np.all(g[z < z_star - 1e-9] < 0)
        assert np.all(g[z > z_star + 1e-9] > 0)
    g_rce = grad_reverse_ce(z, y)
    if y == 0.5:
        assert np.all(g_rce == 0.0)
    else:  # the sign of -logit(y) everywhere: never zero in the interior
        assert np.all(np.sign(g_rce) == -np.sign(logit(y)))
