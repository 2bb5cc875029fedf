"""The symbolic identity checker can fail: a false identity does not reduce to 0."""

import pytest
import sympy as sp

from theory import identities
from theory.identities import Identity, _simplified


def test_false_identity_does_not_simplify_to_zero():
    f, w, s = sp.symbols("f w s", positive=True)
    wrong = _simplified(-w * sp.log(s) - (w * sp.log(w / s) - (-w * sp.log(w))) * 1)  # CE = KL - H: false
    assert wrong != 0
    true = _simplified(-w * sp.log(s) - (w * sp.log(w / s) + (-w * sp.log(w))))
    assert true == 0


def test_numeric_sides_detect_a_wrong_proposition():
    """Dropping the inner-product term from Proposition 1 leaves a measurable difference."""
    import numpy as np

    rng = np.random.default_rng(0)
    fs, fw, fsw = rng.dirichlet(np.ones(3), size=(3, 4))
    lhs, rhs = identities.numeric_sides("R3", fs, fw, fsw)
    assert abs(lhs - rhs) < 1e-12
    broken = Identity(
        "X",
        "x",
        "x",
        "x",
        lambda f, w, s: (f, f),
        lambda a, b, c, x: (x @ identities.kl(a, c), x @ (identities.kl(a, b) - identities.kl(c, b))),
    )
    assert (
        abs(
            broken.numeric(fs, fw, fsw, np.full(4, 0.25))[0]
            - broken.numeric(fs, fw, fsw, np.full(4, 0.25))[1]
        )
        > 1e-3
    )


def test_unknown_identity_key():
    with pytest.raises(KeyError, match="unknown identity"):
        identities.identity("I9")
