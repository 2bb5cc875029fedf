"""Unit tests of the Figure 1 numerics: quadrature accuracy against mpmath, gradients, invalid mixtures."""

import math

import mpmath
import numpy as np
import pytest

from core.errors import InvalidInputError
from core.tolerances import FIGURE1_GRAD_TOL
from theory import gaussian_mixture as gm


@pytest.mark.parametrize(
    ("weights", "means", "stds"),
    [
        ((0.5, 0.6), (0, 1), (1, 1)),
        ((0.5, 0.5), (0, 1), (1, 0)),
        ((0.5, 0.5), (0, float("nan")), (1, 1)),
        ((1.0,), (0, 1), (1, 1)),
        ((), (), ()),
    ],
)
def test_invalid_mixtures_are_rejected(weights, means, stds):
    with pytest.raises(InvalidInputError, match="mixture"):
        gm.Mixture(weights, means, stds)


def _reverse_kl_mp(mix, m, s):
    """KL(q || p) with mpmath quadrature at 30 digits, breakpoints at the means and 0."""
    with mpmath.workdps(30):
        m, s = mpmath.mpf(m), mpmath.mpf(s)

        def integrand(x):
            q = mpmath.npdf(x, m, s)
            p = mpmath.fsum(
                w * mpmath.npdf(x, mu, sd) for w, mu, sd in zip(mix.weights, mix.means, mix.stds, strict=True)
            )
            return q * (mpmath.log(q) - mpmath.log(p))

        pts = sorted(
            {m - 14 * s, m + 14 * s, *[mpmath.mpf(b) for b in mix.breakpoints if abs(b - m) < 14 * s]}
        )
        return mpmath.quad(integrand, pts)


@pytest.mark.parametrize(
    ("a", "m", "s"), [(3.0, 2.9, 1.05), (2.41, 0.0, 2.6), (4.0, 1.0, 0.3), (1.5, -0.5, 1.7)]
)
def test_reverse_kl_quadrature_accurate_to_1e_10(a, m, s):
    mix = gm.Mixture.symmetric(a)
    assert abs(gm.reverse_kl(mix, m, math.log(s)) - float(_reverse_kl_mp(mix, m, s))) < 1e-10


def test_reverse_kl_gradient_matches_finite_differences():
    mix = gm.Mixture((0.3, 0.7), (-2.0, 1.5), (0.7, 1.3))
    th = np.array([0.4, math.log(1.2)])
    g = gm.reverse_kl_grad(mix, *th)
    h = 1e-5
    fd = [
        (gm.reverse_kl(mix, *(th + h * e)) - gm.reverse_kl(mix, *(th - h * e))) / (2 * h) for e in np.eye(2)
    ]
    np.testing.assert_allclose(g, fd, atol=1e-7)


def test_forward_cross_entropy_quadrature_matches_moments():
    mix = gm.Mixture((0.3, 0.7), (-2.0, 1.5), (0.7, 1.3))
    m, s = 0.2, 1.9
    mean, sd = mix.moments()
    closed = 0.5 * math.log(2 * math.pi * s * s) + (sd**2 + (mean - m) ** 2) / (2 * s * s)
    assert gm.forward_cross_entropy(mix, m, math.log(s))[0] == pytest.approx(closed, abs=1e-11)


def test_local_minima_are_certified_and_saddles_excluded():
    """At a = 3 the centre (m = 0) is a local minimum; the points between it and the modes are saddles and
    never listed. Every listed minimum has a small gradient and a positive definite Hessian."""
    minima = gm.reverse_local_minima(gm.Mixture.symmetric(3.0))
    assert len(minima) == 3
    for f in minima:
        assert f.grad_norm <= FIGURE1_GRAD_TOL
        assert min(f.hessian_eigenvalues) > 0
