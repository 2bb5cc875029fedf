"""Hypothesis strategies that build valid instances: bounded floats, no subnormals, normalised rows."""

import numpy as np
from hypothesis import strategies as st

from core.divergences import floor
from theory.instances import max_gamma

_unit = st.floats(0.0, 1.0, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def _rows(draw, m: int, k: int) -> np.ndarray:
    rows = []
    for _ in range(m):
        v = np.array(draw(st.lists(_unit, min_size=k, max_size=k)))
        rows.append(v / v.sum() if v.sum() > 1e-6 else np.full(k, 1.0 / k))
    return np.array(rows)


@st.composite
def bound_instances(draw):
    """(F*, F_w, F_sw, gamma, weights): k in 2..10, gamma in [1e-4, min(0.2, 0.9/k)], m in 1..4 points.

    F* may have zeros; F_w and F_sw are floored by mixing with the uniform distribution; half the time F_sw is
    a perturbation of F_w of relative size down to 1e-9, where the bound is tight and float64 fragile.
    """
    k = draw(st.integers(2, 10))
    gamma = draw(st.floats(1e-4, max_gamma(k), allow_subnormal=False))
    m = draw(st.integers(1, 4))
    f_star, raw_w = _rows(draw, m, k), _rows(draw, m, k)
    if draw(st.booleans()):
        scale = 10.0 ** draw(st.floats(-9, -1))
        noise = np.array(
            draw(st.lists(st.floats(-1, 1, allow_subnormal=False), min_size=m * k, max_size=m * k))
        )
        raw_sw = raw_w * np.exp(scale * noise.reshape(m, k))
        raw_sw /= raw_sw.sum(axis=1, keepdims=True)
    else:
        raw_sw = _rows(draw, m, k)
    w = np.array(draw(st.lists(st.floats(0.01, 1.0), min_size=m, max_size=m)))
    return f_star, floor(raw_w, gamma), floor(raw_sw, gamma), gamma, w / w.sum()
