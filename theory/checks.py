"""The pointwise checks (identities, Lemma 1, Theorem 1, Figure 1) as functions that compute both sides.

Each returns a :class:`CheckResult` holding the left and right sides per instance; the paper_checks assert on
those arrays, and the report command tabulates them. Nothing here decides pass/fail by a status string.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.divergences import grad_forward, grad_reverse_ce, grad_reverse_kl
from core.errors import MissingDependencyError
from core.tolerances import (
    ADVERSARIAL_ATTAINED,
    FIGURE1_FIT_TOL,
    FIGURE1_GRAD_TOL,
    FIGURE1_MODE_MEAN_TOL,
    FIGURE1_MODE_SD_REL,
    FIGURE1_SEPARATION_TOL,
    FP_INEQUALITY_SLACK,
    GRADIENT_TOL,
    HIGH_PRECISION_REL,
    IDENTITY_TOL,
    WITNESS_REL,
)

from . import bounds, identities
from . import gaussian_mixture as gm
from .adversarial import search
from .check_result import CheckResult, ReportPart, sci
from .instances import random_bound_instance

GAMMAS = (1e-4, 1e-3, 1e-2, 0.05, 0.1, 0.2)
A_SN_REFERENCE, A_STAR_REFERENCE = 2.413, 2.800  # docs/theory.md R7


def _random_models(rng, n: int):
    for _ in range(n):
        yield random_bound_instance(rng)


# ---------------------------------------------------------------------------------------------- identities
def identity_check(key: str, n: int = 500, seed: int = 0) -> CheckResult:
    """Symbolic proof (difference simplifies to 0, per class and for k = 3) plus n numeric instances."""
    ident = identities.identity(key)
    sym_class, sym_k3 = identities.symbolic_difference(key), identities.symbolic_difference(key, 3)
    rng = np.random.default_rng(seed)
    err = []
    for inst in _random_models(rng, n):
        lhs, rhs = identities.numeric_sides(key, inst.f_star, inst.f_w, inst.f_sw, inst.weights)
        err.append(abs(lhs - rhs))
    # the symbolic proof enters as one more instance: 0 when proved, 1 otherwise
    err.append(0.0 if sym_class == 0 and sym_k3 == 0 else 1.0)
    lhs = np.array(err)
    return CheckResult(
        key,
        ident.item,
        ident.statement,
        ident.provenance,
        lhs,
        np.zeros_like(lhs),
        IDENTITY_TOL,
        f"max |lhs - rhs| = {lhs[:-1].max():.2e}",
        {"symbolic_per_class": str(sym_class), "symbolic_k3": str(sym_k3), "numeric": n},
    )


def binary_gradient_check(n: int = 2000, seed: int = 0) -> CheckResult:
    """The three binary gradient formulas of docs/theory.md section 2 against torch autograd (float64). Needs
    torch (the `[empirics]` extra): without it, a MissingDependencyError says so."""
    try:
        import torch
    except ImportError:
        raise MissingDependencyError(
            "the binary gradient check needs torch: pip install torch==2.13.0 && pip install -e '.[empirics]'"
        ) from None

    rng = np.random.default_rng(seed)
    z = rng.uniform(-30, 30, n)
    y = 1e-3 + (1 - 2e-3) * rng.uniform(0, 1, n)
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    yt = torch.tensor(y, dtype=torch.float64)
    s, log_s, log_1s = (
        torch.sigmoid(zt),
        torch.nn.functional.logsigmoid(zt),
        torch.nn.functional.logsigmoid(-zt),
    )
    losses = {
        "forward": -(yt * log_s + (1 - yt) * log_1s),  # CE(y, s); forward KL differs by H(y), same gradient
        "reverse_kl": s * (log_s - torch.log(yt)) + (1 - s) * (log_1s - torch.log1p(-yt)),
        "reverse_ce": -(s * torch.log(yt) + (1 - s) * torch.log1p(-yt)),
    }
    formulas = {"forward": grad_forward, "reverse_kl": grad_reverse_kl, "reverse_ce": grad_reverse_ce}
    errs, per = [], {}
    for name, loss in losses.items():
        (g,) = torch.autograd.grad(loss.sum(), zt, retain_graph=True)
        e = np.abs(g.numpy() - formulas[name](z, y))
        per[name] = float(e.max())
        errs.append(e)
    lhs = np.concatenate(errs)
    return CheckResult(
        "binary_gradients",
        "Section 2 (binary gradients)",
        "d/dz: forward s - y; reverse KL s(1-s)(z - logit y); reverse CE -s(1-s) logit y",
        "standard calculus",
        lhs,
        np.zeros_like(lhs),
        GRADIENT_TOL,
        f"max |formula - autograd| = {lhs.max():.2e}",
        per,
    )


# -------------------------------------------------------------------------------------------- Lemma 1, Thm 1
def bound_check(constant: str, n: int = 1000, seed: int = 0) -> CheckResult:
    """|L(F*,F_sw) - L(F*,F_w)| <= C sqrt(d) on n random instances x {forward, reverse} x {KL, CE}."""
    rng = np.random.default_rng(seed)
    lhs, rhs, rechecked = [], [], 0
    for inst in _random_models(rng, n):
        for direction in bounds.DIRECTIONS:
            for loss in bounds.LOSSES:
                left, right, again = bounds.confirmed_sides(
                    inst.f_star,
                    inst.f_w,
                    inst.f_sw,
                    inst.gamma,
                    constant,
                    direction,
                    loss,
                    inst.weights,
                    FP_INEQUALITY_SLACK,
                )
                lhs.append(left)
                rhs.append(right)
                rechecked += again
    lhs, rhs = np.array(lhs), np.array(rhs)
    ratio = np.max(np.divide(lhs, rhs, out=np.zeros_like(lhs), where=rhs > 0))
    key, item = {"C1": ("lemma1", "Lemma 1"), "C2": ("theorem1", "Theorem 1")}[constant]
    formula = {"C1": "C_1 = 1/(sqrt(2) gamma)", "C2": "C_2 = sqrt(2/gamma)"}[constant]
    return CheckResult(
        key,
        item,
        f"|L(F*,F_sw) - L(F*,F_w)| <= {formula} * sqrt(d), d = KL(F_w,F_sw) or KL(F_sw,F_w), L = KL or CE",
        "form: paper; constant: reconstruction (docs/theory.md R1/R2)",
        lhs,
        rhs,
        FP_INEQUALITY_SLACK,
        f"max |gap|/(C sqrt d) over random instances = {ratio:.4f}",
        {"random_instances": n, "max_ratio_to_constant": float(ratio), "rechecked_in_50_digits": rechecked},
    )


def witness_check(eps: float = 1e-3) -> CheckResult:
    """docs/theory.md R2 witness at eps: its 50-digit ratio lies within 1 % of C*, both directions."""
    lhs, per = [], {}
    for g in GAMMAS:
        for direction in bounds.DIRECTIONS:
            r = float(bounds.witness_ratio(g, eps, direction))
            per[f"{g:g}/{direction}"] = r / bounds.c_sharp(g)
            lhs.append(abs(r / bounds.c_sharp(g) - 1.0))
    lhs = np.array(lhs)
    return CheckResult(
        "theorem1_witness",
        "Theorem 1 (tightness witness)",
        f"F*=e_1, F_w(1)=gamma, F_sw(1)=gamma(1+eps), eps={eps:g}: |gap|/sqrt(d) within "
        f"{100 * WITNESS_REL:g} % of C* = sqrt(2(1-gamma)/gamma)",
        "reconstruction (docs/theory.md R2)",
        lhs,
        np.full_like(lhs, WITNESS_REL),
        0.0,
        f"ratio/C* in [{min(per.values()):.6f}, {max(per.values()):.6f}]",
        per,
    )


def adversarial_check(gammas=GAMMAS, ks=(2,), directions=bounds.DIRECTIONS, starts: int = 8, seed: int = 0):
    """Adversarial suprema: never above C* (1 + 1e-9), and within 2 % of C*. Returns (upper, lower,
    results)."""
    results = [search(g, k, d, starts=starts, seed=seed) for g in gammas for k in ks for d in directions]
    sup = np.array([r.best_ratio for r in results])
    cs = np.array([r.c_sharp for r in results])
    details = {"searches": [r.to_json() for r in results]}
    upper = CheckResult(
        "theorem1_sharp_upper",
        "Theorem 1 (sharp constant, upper)",
        f"adversarial sup of |gap|/sqrt(d), 50-digit verified, <= C* (1 + {sci(HIGH_PRECISION_REL)})",
        "reconstruction (docs/theory.md R2; C* is a numerical finding)",
        sup,
        cs * (1 + HIGH_PRECISION_REL),
        0.0,
        f"sup/C* in [{(sup / cs).min():.6f}, {(sup / cs).max():.6f}]",
        details,
    )
    lower = CheckResult(
        "theorem1_sharp_lower",
        "Theorem 1 (sharp constant, attained)",
        f"adversarial sup of |gap|/sqrt(d) >= {ADVERSARIAL_ATTAINED:g} C* (the search finds the supremum)",
        "reconstruction (docs/theory.md R2)",
        ADVERSARIAL_ATTAINED * cs,
        sup,
        0.0,
        f"sup/C* >= {(sup / cs).min():.6f}",
        {},
    )
    upper.parts.append(ReportPart(10, "adversarial_suprema", details["searches"], render_suprema))
    return upper, lower, results


def render_suprema(searches: list[dict], out: Path) -> list[str]:
    from . import plots

    plots.plot_tightness(searches, out / "tightness_vs_gamma.png")
    lines = ["| gamma | k | direction | measured sup | C* | C_2 | C_1 | sup / C* |", "| --- " * 8 + "|"]
    for s in searches:
        lines.append(
            f"| {s['gamma']:g} | {s['k']} | {s['direction']} | {s['best_ratio']:.6f} | {s['c_sharp']:.6f} "
            f"| {s['c2']:.6f} | {s['c1']:.6f} | {s['ratio_to_c_sharp']:.7f} |"
        )
    return [
        "## Measured suprema of |gap| / sqrt(d) (adversarial search, 50-digit verified)",
        "",
        "\n".join(lines) + "\n",
        "",
        "![tightness](tightness_vs_gamma.png)",
        "",
    ]


# ---------------------------------------------------------------------------------------------- Figure 1
def figure1_forward_check(mix: gm.Mixture) -> CheckResult:
    m_cf, s_cf = gm.forward_fit_closed_form(mix)
    m_d, s_d, grad = gm.forward_fit_direct(mix)
    lhs = np.array([abs(m_cf - m_d), abs(s_cf - s_d)])
    return CheckResult(
        "figure1_forward",
        "Figure 1 (forward = moment matching)",
        f"argmin_q KL(p||q) by quadrature = moment matching (m, s) within {sci(FIGURE1_FIT_TOL)}",
        "paper's illustration; standard fact",
        lhs,
        np.zeros(2),
        FIGURE1_FIT_TOL,
        f"|dm| = {lhs[0]:.1e}, |ds| = {lhs[1]:.1e}",
        {"closed_form": [m_cf, s_cf], "direct": [m_d, s_d], "direct_grad_norm": grad},
    )


def figure1_reverse_check(mix: gm.Mixture) -> CheckResult:
    """The global reverse-KL fit sits on one component: |m - mu_i| <= 0.1 and |s - sd_i| <= 10 % sd_i."""
    minima = gm.reverse_local_minima(mix)
    best = min(minima, key=lambda f: f.kl)
    i = int(np.argmin([abs(best.m - mu) for mu in mix.means]))
    lhs = np.array(
        [
            abs(best.m - mix.means[i]) / FIGURE1_MODE_MEAN_TOL,
            abs(best.s - mix.stds[i]) / mix.stds[i] / FIGURE1_MODE_SD_REL,
            best.grad_norm / FIGURE1_GRAD_TOL,
        ]
    )
    return CheckResult(
        "figure1_reverse",
        "Figure 1 (reverse = mode seeking)",
        f"global min of KL(q||p): mean within {FIGURE1_MODE_MEAN_TOL:g} of a mode, sd within "
        f"{100 * FIGURE1_MODE_SD_REL:g} % of its component's "
        "(sides normalised by those tolerances; gradient certified)",
        "paper's illustration",
        lhs,
        np.ones(3),
        0.0,
        f"m = {best.m:.4f} (mode {mix.means[i]}), s = {best.s:.4f}",
        {"minima": [f.to_json() for f in minima]},
    )


def figure1_separation_check(sweep_step: float = 0.25) -> CheckResult:
    """a_sn and a* for 1/2 N(-a,1) + 1/2 N(a,1) within 0.005 of 2.413 and 2.800, plus a sweep of all
    minima."""
    a_sn, a_star = gm.saddle_node_separation(), gm.mode_seeking_global_separation()
    sweep = gm.sweep_symmetric(np.arange(1.5, 4.0 + 1e-9, sweep_step))
    lhs = np.array([abs(a_sn - A_SN_REFERENCE), abs(a_star - A_STAR_REFERENCE)])
    return CheckResult(
        "figure1_separations",
        "Figure 1 (onset and dominance of mode seeking)",
        f"mode-seeking minima appear at a_sn = {A_SN_REFERENCE:.3f} +- {FIGURE1_SEPARATION_TOL:g} and become "
        f"global at a* = {A_STAR_REFERENCE:.3f} +- {FIGURE1_SEPARATION_TOL:g}",
        "docs/theory.md R7 (numerical finding, with accurate quadrature)",
        lhs,
        np.full(2, FIGURE1_SEPARATION_TOL),
        0.0,
        f"a_sn = {a_sn:.4f}, a* = {a_star:.4f}",
        {"a_sn": a_sn, "a_star": a_star, "sweep": sweep},
        [ReportPart(20, None, {"a_sn": a_sn, "a_star": a_star, "sweep": sweep}, render_separations)],
    )


def render_separations(d: dict, out: Path) -> list[str]:
    md = [
        "## Figure 1 separations (1/2 N(-a,1) + 1/2 N(a,1))",
        "",
        f"a_sn = {d['a_sn']:.4f} (mode-seeking minima appear), a* = {d['a_star']:.4f} (they become global).",
        "",
        "| a | local minima (m, s, KL; * = global) |",
        "| --- | --- |",
    ]
    for row in d["sweep"]:
        mins = "; ".join(
            f"({m['m']:.3f}, {m['s']:.3f}, {m['kl']:.4f}){'*' if m['is_global'] else ''}"
            for m in row["minima"]
        )
        md.append(f"| {row['a']:.2f} | {mins} |")
    md.append("")
    return md
