"""The empirics figures: error bars are the intervals' own half-widths (asymmetric), every loss has its own
marker and colour, and each figure is written from a summary or audit rows."""

import json

import numpy as np
import pytest

from empirics.readers import plots
from empirics.registries.losses import LOSSES


def test_error_bars_are_the_distances_to_the_interval_ends():
    mean, err = plots._interval((0.60, 0.55, 0.66))
    assert mean == pytest.approx(60.0)
    assert err == pytest.approx([5.0, 6.0])


def test_every_loss_is_identifiable():
    assert len({plots.MARKERS[loss] for loss in LOSSES}) == len(LOSSES)
    assert len({plots.COLORS[loss] for loss in LOSSES}) == len(LOSSES)


def _row(noise: str, shift: float) -> dict:
    row = {"weak_model": "w", "strong_model": "s", "head": "logistic", "noise": noise}
    row["weak"], row["ceiling"] = (0.58, 0.56, 0.60), (0.66, 0.64, 0.68)
    for i, loss in enumerate(LOSSES):
        a = 0.62 - shift + 0.002 * i
        row[loss] = (a, a - 0.01, a + 0.015)
    return row


def test_accuracy_per_loss_draws_each_interval_and_the_two_bands_where_they_are(tmp_path):
    summary = {"rows": [_row("none", 0.0), _row("flip0.2", 0.02)]}
    shown = plots.accuracy_per_loss(summary, tmp_path / "per_loss.png")
    assert (tmp_path / "per_loss.png").is_file()
    (panel,) = shown.values()  # one panel: the clean row only
    row = summary["rows"][0]
    for i, loss in enumerate(LOSSES):
        bar = panel["errorbars"][loss]
        assert bar["x"] == [i]
        assert bar["y"] == pytest.approx([100 * row[loss][0]])
        assert (bar["low"], bar["high"]) == (
            pytest.approx([100 * row[loss][1]]),
            pytest.approx([100 * row[loss][2]]),
        )
    assert panel["lines"][f"weak {100 * row['weak'][0]:.1f}"] == pytest.approx([58.0, 58.0])
    assert panel["lines"][f"ceiling {100 * row['ceiling'][0]:.1f}"] == pytest.approx([66.0, 66.0])
    np.testing.assert_allclose(sorted(panel["spans"]), [[56.0, 60.0], [64.0, 68.0]])


def test_accuracy_vs_noise_puts_each_loss_at_its_flip_level_and_the_clean_teacher(tmp_path):
    rows = [_row("none", 0.0), _row("flip0.2", 0.02), _row("flip0.4", 0.05)]
    shown = plots.accuracy_vs_noise({"rows": rows}, tmp_path / "noise.png")
    (panel,) = shown.values()
    for loss in LOSSES:
        bar = panel["errorbars"][loss]
        assert bar["x"] == pytest.approx([0.0, 0.2, 0.4])
        assert bar["y"] == pytest.approx([100 * r[loss][0] for r in rows])
        assert bar["low"] == pytest.approx([100 * r[loss][1] for r in rows])
    assert panel["lines"]["weak teacher (clean)"] == pytest.approx([58.0, 58.0])


def test_bound_tightness_plots_each_run_at_its_bound_and_gap(tmp_path):
    from core.bounds import c_sharp

    audit_rows = [
        {"split": s, "gamma": 1e-3, "kl_w_sw": 0.01 * k, "kl_sw_w": 0.012 * k, "gain": 0.001 * k}
        for s in ("test", "train_w2s")
        for k in range(1, 6)
    ]
    shown = plots.bound_tightness(audit_rows, tmp_path / "bound.png")
    c = c_sharp(1e-3)
    for split in ("test", "train_w2s"):
        for direction, key in (("forward", "kl_w_sw"), ("reverse", "kl_sw_w")):
            want = [[c * (r[key]) ** 0.5, r["gain"]] for r in audit_rows if r["split"] == split]
            np.testing.assert_allclose(shown["points"][f"{split}, d = {direction}"], want, rtol=1e-12)


def test_training_curves_draw_every_logged_step_of_every_run(tmp_path):
    def log(scale):
        return {
            "loop": {"steps": 3},
            "steps": [
                {
                    "step": k,
                    "loss": scale / k,
                    "lr": 1e-3 * (4 - k) / 3,
                    "grad_norm": scale * k,
                    "pairs_per_s": 9.0,
                }
                for k in (1, 2, 3)
            ],
        }

    logs = {"weak__m__full__s0": log(1.0), "student__m__full__from-w__reverse_kl__none__s0": log(2.0)}
    for name, data in logs.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "train_log.json").write_text(json.dumps(data))
    read = plots.read_train_logs(tmp_path)
    assert read == logs
    drawn = plots.training_curves(read, tmp_path / "curves.png")
    for key in ("loss", "lr", "grad_norm"):
        assert drawn[key] == {name: [s[key] for s in data["steps"]] for name, data in logs.items()}
    assert (tmp_path / "curves.png").stat().st_size > 10_000
    assert plots.training_curves({}, tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()
