"""Every check of theory/, with the sizes used by `pytest paper_checks` (default) and by `report --full`.

Each entry is (name, thunk); a thunk returns (list of CheckResults, list of extra ReportParts: tables and
plots of checks that are not inequalities)."""

from __future__ import annotations

from . import checks
from .convexity import convexity_part, convexity_table
from .figure1 import DEFAULT_MIXTURE
from .finite_sample import finite_sample_check
from .last_layer import forward_converse_check, gain_part, theorem2_check, theorem3_check
from .noise import label_noise_part, label_noise_sweep

# the paper_checks use exactly these sizes
SIZES = {
    "default": {
        "n": 1000,
        "ks": (2,),
        "starts": 8,
        "sweep": 0.25,
        "thm2": 200,
        "thm3": 100,
        "seeds": 200,
        "convexity": 25,
        "noise": 30,
    },
    "full": {
        "n": 5000,
        "ks": (2, 3),
        "starts": 24,
        "sweep": 0.05,
        "thm2": 1000,
        "thm3": 500,
        "seeds": 500,
        "convexity": 100,
        "noise": 100,
    },
}


def _theorem2(size):
    res, scatter = theorem2_check(size["thm2"])
    return [res], [gain_part(scatter)]


def _convexity(size):
    p_exact, d_exact, table = convexity_table(size["convexity"])
    return [p_exact, d_exact], [convexity_part(table)]


def _noise(size):
    return [], [label_noise_part(label_noise_sweep(size["noise"]))]


def all_checks(full: bool = False):
    s = SIZES["full" if full else "default"]
    return [
        *[
            (f"identity {k}", lambda k=k: ([checks.identity_check(k, n=s["n"] // 2)], []))
            for k in ("I1", "I2", "I3", "R3")
        ],
        ("binary gradients", lambda: ([checks.binary_gradient_check()], [])),
        ("Lemma 1", lambda: ([checks.bound_check("C1", n=s["n"])], [])),
        ("Theorem 1", lambda: ([checks.bound_check("C2", n=s["n"])], [])),
        ("Theorem 1 witness", lambda: ([checks.witness_check()], [])),
        (
            "Theorem 1 adversarial",
            lambda: (list(checks.adversarial_check(ks=s["ks"], starts=s["starts"])[:2]), []),
        ),
        ("Figure 1 forward", lambda: ([checks.figure1_forward_check(DEFAULT_MIXTURE)], [])),
        ("Figure 1 reverse", lambda: ([checks.figure1_reverse_check(DEFAULT_MIXTURE)], [])),
        ("Figure 1 separations", lambda: ([checks.figure1_separation_check(s["sweep"])], [])),
        ("Theorem 2", lambda: _theorem2(s)),
        ("forward KL converse", lambda: (list(forward_converse_check(s["thm2"])), [])),
        ("Theorem 3", lambda: (list(theorem3_check(s["thm3"])), [])),
        ("finite samples", lambda: (list(finite_sample_check(seeds=s["seeds"])), [])),
        ("convexity table", lambda: _convexity(s)),
        ("label noise", lambda: _noise(s)),
    ]
