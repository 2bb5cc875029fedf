"""Figure 1 (docs/theory.md R7): fitting one Gaussian to a two-component mixture, forward vs reverse KL."""

import json

import numpy as np
import pytest

from theory import checks
from theory.figure1 import DEFAULT_MIXTURE, write_figure1
from theory.gaussian_mixture import A_RANGE_THREE_MINIMA, Mixture, reverse_local_minima
from theory.suite import SIZES

SIZE = SIZES["default"]


def test_figure1_forward_fit_is_moment_matching(record):
    """Figure 1 (standard fact): argmin_q KL(p || q) over Gaussians matches the mixture's mean and variance.
    The closed form is compared with a direct minimisation of the quadrature value of int p log(p/q)."""
    res = checks.figure1_forward_check(DEFAULT_MIXTURE)
    record(res)
    assert res.details["direct_grad_norm"] < 1e-6
    assert np.all(res.lhs <= res.tol), res.details


def test_figure1_reverse_fit_is_mode_seeking(record):
    """Figure 1 (paper's illustration): on a well-separated mixture the global minimum of KL(q || p) sits on
    one component: mean within 0.1 of its mode, standard deviation within 10 % of its own."""
    res = checks.figure1_reverse_check(DEFAULT_MIXTURE)
    record(res)
    assert np.all(res.lhs <= res.rhs), res.details


def test_figure1_mode_seeking_onset_and_dominance(record):
    """Figure 1 (docs/theory.md R7, numerical finding): for 1/2 N(-a,1) + 1/2 N(a,1) the reverse fit is
    central only for a < a_sn = 2.413 +- 0.005; mode-seeking minima become global at a* = 2.800 +- 0.005. The
    sweep over a in [1.5, 4] finds one certified local minimum (central) below a_sn and exactly three from
    2.42 to 4."""
    res = checks.figure1_separation_check(SIZE["sweep"])
    record(res)
    assert np.all(res.lhs <= res.rhs), res.tightness
    a_sn, a_star = res.details["a_sn"], res.details["a_star"]
    for row in res.details["sweep"]:
        a, minima = row["a"], row["minima"]
        if a < a_sn:
            assert len(minima) == 1, row
            assert abs(minima[0]["m"]) < 1e-6, row
        elif A_RANGE_THREE_MINIMA[0] <= a <= A_RANGE_THREE_MINIMA[1]:
            assert len(minima) == 3, row
            central = min(minima, key=lambda f: abs(f["m"]))
            assert central["is_global"] == (a < a_star), row


def test_figure1_is_regenerated(report_dir):
    """Figure 1 is an artifact rebuilt by every run: PNG, PDF and a JSON of the fitted parameters."""
    fit = write_figure1(DEFAULT_MIXTURE, report_dir)
    for ext in ("png", "pdf"):
        assert (report_dir / f"figure1.{ext}").stat().st_size > 1000
    saved = json.loads((report_dir / "figure1.json").read_text())
    assert saved == json.loads(json.dumps({k: v for k, v in fit.items() if k != "layout"}))
    assert sum(m["is_global"] for m in saved["reverse_minima"]) == 1


def test_figure1_equal_weights_two_symmetric_global_minima():
    """At a = 3 (> a*) the two mode-seeking minima are mirror images and both global."""
    minima = reverse_local_minima(Mixture.symmetric(3.0))
    glob = [f for f in minima if f.is_global]
    assert len(glob) == 2
    assert abs(glob[0].m + glob[1].m) < 1e-6
    assert abs(glob[0].kl - glob[1].kl) < 1e-10


def test_figure1_draws_the_fitted_gaussians_where_the_fits_put_them(tmp_path, monkeypatch):
    """What the figure shows is what was fitted: the shaded area is the mixture's density, the blue curve the
    forward fit and each red curve its reverse minimum, in order -- each a normal density whose peak sits at
    the fitted mean with height 1 / (s sqrt(2 pi)) (read from the drawn line data, not from the JSON)."""
    import theory.figure1 as figure1

    drawn = []
    monkeypatch.setattr(
        figure1, "atomic_savefig", lambda fig, path, **kw: drawn.append([ax for ax in fig.axes]) or None
    )
    fit = write_figure1(DEFAULT_MIXTURE, tmp_path)
    (ax,) = drawn[0]
    lines = ax.get_lines()
    fits = [fit["forward_closed_form"], *fit["reverse_minima"]]
    assert len(lines) == len(fits)
    for line, f in zip(lines, fits, strict=True):
        x, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
        dx = x[1] - x[0]
        assert abs(x[np.argmax(y)] - f["m"]) <= dx, (f, x[np.argmax(y)])
        assert y.max() == pytest.approx(1 / (f["s"] * np.sqrt(2 * np.pi)), rel=1e-3)
        assert line.get_color() == ("tab:blue" if f is fits[0] else "tab:red")
    (mass,) = ax.collections  # the shaded mixture
    area = mass.get_paths()[0].vertices
    inside = area[(area[:, 1] > 0)]
    assert np.allclose(inside[:, 1], np.exp(DEFAULT_MIXTURE.logpdf(inside[:, 0])), rtol=1e-9)


@pytest.mark.parametrize(
    "mix",
    [
        DEFAULT_MIXTURE,
        Mixture((0.3, 0.7), (-4.0, 2.0), (0.6, 1.5)),
        Mixture((0.5, 0.5), (-1.0, 1.0), (1.0, 1.0)),
    ],
    ids=["default", "asymmetric", "overlapping"],
)
def test_figure1_legend_hides_no_curve_peak(mix, tmp_path):
    """The legend's box (as saved) contains the peak of no curve: not the mixture's, the forward fit's, nor
    any reverse minimum's (the first newcomers open this figure)."""
    layout = write_figure1(mix, tmp_path)["layout"]
    x0, y0, x1, y1 = layout["legend"]
    assert len(layout["peaks"]) >= 3  # the mixture, the forward fit and at least one reverse minimum
    covered = [k for k, (x, y) in layout["peaks"].items() if x0 <= x <= x1 and y0 <= y <= y1]
    assert covered == []
