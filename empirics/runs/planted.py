"""Planted truth on real representations: Theorem 2's assumptions made true on real pretrained features.

F* = 1/2 + G w* lies in a simplex-head class of the strong model (the sweep's fixed map h_s on its real frozen
features, sharpened: tau x PLANTED_TAU_SCALE, since at the students' tau no member is confident), with w* the
most confident weights that order pairs
like the simplex ceiling w_c fit on train_gt (each weight at its box edge on w_c's side of 1/2): a confident
F*, so that forward and reverse students can differ; KL(F*, teacher) and F*'s mean confidence |F* - 1/2| are
reported. A weak teacher imitates F* from the weak model's real features (a logistic head fit to the soft
labels F* on train_gt, its L2 chosen by the suite's held-out rule), and students are fit to the teacher's
gamma-floored predictions on train_w2s with each loss (forward and reverse students both reported). For the
reverse-KL simplex student (certified), Theorem 2 must hold in sample with slack >= -(g + 1e-12), or the
audit fails; on test the slack is a measurement, reported with a bootstrap 95 % interval over test pairs and
whether its upper end is >= 0 (off sample the theorem promises nothing; its finite-sample variant, R6 in
docs/theory.md, only a rate: the ladder on helpful measures -8e-3 there). Uses the results folder's
experiment and what the sweep saved there (the strong model's simplex design and the weak model's standardised
features): the audit never extracts features."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.errors import InvalidInputError
from core.io import atomic_save_npz, read_npz, write_json_and_markdown
from core.numerics import binary_kl, gamma_floor, sigmoid
from core.stats import bootstrap_mean_interval
from core.tolerances import CERTIFIED_SLACK

from ..inputs.partition import partition
from ..inputs.streams import RunStreams
from ..plans.experiment import Sweep
from ..plans.spec import slug
from ..readers.metrics import accuracy
from ..registries.losses import CONVEX_FIXED_OBJECTIVES
from ..registries.models import trained_on
from ..training import heads

SPLITS = ("train_gt", "train_w2s", "test")
PLANTED_TAU_SCALE = (
    0.03  # mean |F* - 1/2| 0.07 at the students' tau, 0.19 at tau x 0.03 (MiniLM-L6, measured)
)


def _mean_kl(p, q) -> float:
    return float(np.mean(binary_kl(p, q)))


def experiment_of(results: Path) -> tuple:
    """(Experiment, [(weak, strong), ...]) of a results folder, from its sweep.json."""
    path = results / "sweep.json"
    if not path.is_file():
        raise InvalidInputError(f"{results} has no sweep.json: run a sweep into it first")
    sw = Sweep.from_json(path)
    return sw.experiment, sw.grid.model_pairs


def planted_inputs_file(results: Path, weak: str) -> Path:
    return Path(results) / "planted_inputs" / f"{slug(trained_on(weak)[0])}.npz"


def save_planted_inputs(pipe, weak: str, strong: str, stage=None) -> None:
    """What the planted-truth experiment needs, saved with the results by the sweep (so that the audit reads
    only the results folder, never extracts features): both models' standardised features (float32) and the
    ground-truth labels. Not saved by a stage of the sweep without both models (``--only-models``), nor into
    a folder unpacked from a snapshot that carried the planted truth's result but not its inputs
    (:func:`kept_planted_truth`): saving them would extract features only for them."""
    if stage is not None and not {trained_on(weak)[0], trained_on(strong)[0]} <= set(stage):
        return
    if not planted_inputs_file(pipe.out, weak).is_file() and kept_planted_truth(pipe.out, weak, strong):
        return
    u, u_strong = pipe.inputs.standardized(weak), pipe.inputs.standardized(strong)
    arrays = {f"u_{s}": u[s].astype(np.float32) for s in SPLITS}
    arrays |= {f"strong_u_{s}": u_strong[s].astype(np.float32) for s in SPLITS}
    arrays |= {f"labels_{s}": pipe.inputs.labels(s) for s in ("train_gt", "test")}
    atomic_save_npz(planted_inputs_file(pipe.out, weak), **arrays)


def saved_inputs(results: Path, weak: str) -> tuple[dict, dict, dict]:
    """(the weak and the strong model's standardised features per split, train_gt and test labels), from the
    results folder only."""
    inputs = planted_inputs_file(results, weak)
    keys = [f"u_{s}" for s in SPLITS] + [f"strong_u_{s}" for s in SPLITS] + ["labels_train_gt", "labels_test"]
    hint = "the planted-truth experiment reads only what the sweep saved: rerun the same sweep command"
    if not inputs.is_file():
        hint += " (it recomputes nothing finished) to save it"
    z = read_npz(inputs, keys, hint)
    u = {s: z[f"u_{s}"].astype(np.float64) for s in SPLITS}
    u_strong = {s: z[f"strong_u_{s}"].astype(np.float64) for s in SPLITS}
    y = {s: z[f"labels_{s}"] for s in ("train_gt", "test")}
    return u, u_strong, y


def kept_planted_truth(results: Path, weak: str, strong: str) -> dict | None:
    """audit/planted.json when it is this pair's (a result that a snapshot carries, while the inputs it was
    computed from stay on the machine that saved them: ``w2s-empirics snapshot``); else None."""
    path = Path(results) / "audit" / "planted.json"
    try:
        kept = json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        return None
    ok = isinstance(kept, dict) and (kept.get("weak_model"), kept.get("strong_model")) == (weak, strong)
    return kept if ok else None


def planted_truth(results: str | Path) -> dict:
    """Theorem 2 on planted truth for a last-layer results folder (its heads on one thread, as the runs').
    A folder whose inputs are not here (unpacked from a snapshot) but whose planted.json is this pair's keeps
    that result: it was computed from this experiment's inputs on the machine that had them."""
    results = Path(results)
    exp, pairs = experiment_of(results)
    if exp.mode == "last_layer" and not planted_inputs_file(results, pairs[0][0]).is_file():
        kept = kept_planted_truth(results, *pairs[0])
        if kept is not None and kept.get("gamma") == exp.gamma:
            return kept
    with heads.one_thread():
        return _planted_truth(results)


def _planted_truth(results: Path) -> dict:
    exp, pairs = experiment_of(results)
    if exp.mode != "last_layer":
        raise InvalidInputError(
            "planted truth needs a last-layer sweep (frozen features); this one fine-tunes"
        )
    weak, strong = pairs[0]
    u_weak, u_strong, labels = saved_inputs(results, weak)
    y_gt = labels["train_gt"]
    # the planted class: the sweep's simplex map on the strong features, sharpened (tau x PLANTED_TAU_SCALE)
    # so that a member can be confident; still a fixed map into the simplex, so the class stays convex
    h = heads.SimplexMap.fit(u_strong["train_w2s"], exp.head.simplex_dim, seed=exp.data.data_seed)
    sharp = heads.SimplexMap(h.centroids, h.tau * PLANTED_TAU_SCALE)
    G = {s: sharp.design(u_strong[s]) for s in SPLITS}
    # F*: the most confident member of the strong class that orders pairs like the simplex ceiling w_c: each
    # weight at the edge of its box on w_c's side of 1/2 (a constant shift of w changes nothing, since the
    # rows of G sum to 0), so that forward and reverse students can differ
    w_ceiling = heads.fit_simplex_head(G["train_gt"], y_gt, "forward_ce", exp.gamma).w
    w_star = 0.5 + (0.5 - exp.gamma) * np.sign(w_ceiling - 0.5)
    f_star = {s: 0.5 + G[s] @ w_star for s in ("train_gt", "train_w2s", "test")}
    part = partition(len(y_gt), RunStreams(0).numpy("sample", len(y_gt)), exp.data.heldout_frac)
    # the teacher imitates F* from the weak features; L2 by the suite's one held-out rule
    _, teacher_fit, _ = heads.fit_logistic_heldout(
        u_weak["train_gt"], f_star["train_gt"], "forward_ce", exp.gamma, exp.head.head_l2, part
    )
    v = teacher_fit.v
    raw = {s: sigmoid(u_weak[s] @ v) for s in ("train_w2s", "test")}
    teacher = {s: gamma_floor(raw[s], exp.gamma) for s in raw}  # exactly the targets the students project
    out = {
        "weak_model": weak,
        "strong_model": strong,
        "gamma": exp.gamma,
        "n": {s: len(f_star[s]) for s in f_star},
        "planted_class": f"simplex map of the strong features, tau x {PLANTED_TAU_SCALE:g}",
        "kl_star_teacher": {s: _mean_kl(f_star[s], teacher[s]) for s in teacher},
        "f_star_confidence": {s: float(np.mean(np.abs(f_star[s] - 0.5))) for s in f_star},
        "f_star_test_accuracy": float(accuracy(f_star["test"], labels["test"]).mean()),
        "students": {},
    }
    for loss in CONVEX_FIXED_OBJECTIVES:
        out["students"][loss] = _planted_student(G, raw, teacher, f_star, loss, exp.gamma)
    rk = out["students"]["reverse_kl"]
    out["theorem2_holds_in_sample"] = bool(rk["certified"] and rk["theorem2_in_sample_holds"])
    out["theorem2_test_ci_upper_nonnegative"] = rk["test"]["slack_ci95"][1] >= 0
    write_json_and_markdown(results / "audit", "planted", out, planted_markdown(out))
    return out


def _planted_student(G: dict, raw: dict, teacher: dict, f_star: dict, loss: str, gamma: float) -> dict:
    """One certified simplex student of the planted teacher: KL(F*, F_sw), KL(F_sw, teacher), its gain over
    the teacher and Theorem 2's per-example slack per split (a bootstrap interval on test)."""
    sol = heads.fit_simplex_head(G["train_w2s"], raw["train_w2s"], loss, gamma)  # floors them itself
    rec = {"certified": sol.certified, "gap": sol.gap}
    for s in ("train_w2s", "test"):
        fs = 0.5 + G[s] @ sol.w
        per = binary_kl(f_star[s], teacher[s]) - binary_kl(fs, teacher[s]) - binary_kl(f_star[s], fs)
        rec[s] = {
            "kl_star_sw": _mean_kl(f_star[s], fs),
            "kl_sw_teacher": _mean_kl(fs, teacher[s]),
            "gain": _mean_kl(f_star[s], teacher[s]) - _mean_kl(f_star[s], fs),
            "slack": float(per.mean()),
        }
        if s == "test":
            rec[s]["slack_ci95"] = bootstrap_mean_interval(per)
    # the in-sample check where the hypotheses hold: a certified reverse-KL student
    rec["theorem2_in_sample_holds"] = rec["train_w2s"]["slack"] >= -(sol.gap + CERTIFIED_SLACK)
    return rec


def planted_markdown(p: dict) -> str:
    lines = [
        f"# Planted truth on real representations ({p['weak_model']} -> {p['strong_model']})",
        "",
        "F* = the most confident member of the strong simplex class that orders pairs like its ceiling; the "
        "weak teacher imitates it from the weak model's "
        "features. Slack = KL(F*,F_w) - KL(F_sw,F_w) - KL(F*,F_sw) (Theorem 2: >= 0 for the reverse-KL "
        "student).",
        "",
        f"KL(F*, teacher): train_w2s {p['kl_star_teacher']['train_w2s']:.4f}, "
        f"test {p['kl_star_teacher']['test']:.4f}; mean |F* - 1/2| on test "
        f"{p['f_star_confidence']['test']:.3f}; F*'s test accuracy against the real labels "
        f"{100 * p['f_star_test_accuracy']:.1f} %",
        "",
        "| student loss | certified (g) | in-sample slack | in-sample gain | test slack [95 % CI] | test "
        "gain |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for loss, r in p["students"].items():
        lo, hi = r["test"]["slack_ci95"]
        lines.append(
            f"| {loss} | {r['certified']} ({r['gap']:.1e}) | {r['train_w2s']['slack']:+.2e} | "
            f"{r['train_w2s']['gain']:+.4f} | {r['test']['slack']:+.2e} [{lo:+.2e}, {hi:+.2e}] | "
            f"{r['test']['gain']:+.4f} |"
        )
    lines += [
        "",
        f"Theorem 2 holds in sample for the certified reverse-KL student: {p['theorem2_holds_in_sample']}; "
        f"test CI upper end >= 0: {p['theorem2_test_ci_upper_nonnegative']}",
    ]
    return "\n".join(lines) + "\n"
