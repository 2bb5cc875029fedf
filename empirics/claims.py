"""The paper's empirical claims (THEORY.md section 4) as paired comparisons with verdicts.

Each directional claim compares two kinds of student on the same test pairs: per-example correctness
differences, stratified by (setting, seed), with a paired bootstrap (examples resampled within each stratum).
The one-sided p-values are Holm-corrected across the claims tested; the minimum detectable effect is (z_0.975
+ z_0.8) = 2.80 bootstrap standard errors (two-sided 5 %, power 80 %). Verdicts: reproduced (adjusted p < 0.05
in the claimed direction), contradicted (adjusted p < 0.05 in the opposite direction), inconclusive (neither,
or not testable in these results). Strata whose runs are identical (a seed that changed nothing) are merged:
identical runs are one run. Forward KL = forward CE holds by construction (identical gradients): when the
two students' predictions agree it is labelled an identity, not counted as reproduced; otherwise it is tested
as an equality (reproduced when the 95 % interval of the difference lies within +-1 point, contradicted when
it excludes 0). The paper's numbers come from a secondary summary and are unverified."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np
from scipy import stats

from core.io import load_runs, read_jsonl_rows, write_json_and_markdown

from .metrics import accuracy

ALPHA, EQUIVALENCE_MARGIN, BOOT, POWER = 0.05, 0.01, 2000, 0.8
IDENTITY_PROB_TOL = 1e-3  # an identity claim holds when the two students' probabilities agree to this
MDE_Z = float(stats.norm.ppf(1 - ALPHA / 2) + stats.norm.ppf(POWER))  # 2.80: two-sided 5 %, power 80 %
SECONDARY = "secondary summary, unverified"
# the smallest effect a verdict must be able to see (issue 10): 1 point without noise, 2 points with noise
MDE_GOAL = {"clean": 0.01, "noisy": 0.02, "teacher": 0.01}
GOAL_WORDS = {True: "met", False: "NOT met", None: "none: no test decision differs"}


@dataclass(frozen=True)
class Claim:
    key: str
    statement: str
    a: str  # the loss claimed better (or equal)
    b: str
    noise: str  # "clean": settings without noise; "noisy": settings with noise; "teacher": across weak models
    kind: str = "greater"  # greater | equal | identity (holds by construction when the runs agree)
    paper: str = ""


CLAIMS = (
    Claim(
        "reverse_kl_beats_forward_kl",
        "reverse-KL students beat forward-KL students",
        "reverse_kl",
        "forward_kl",
        "clean",
        paper="GPT-2 on CAI-Harmless, FKL vs RKL: base->medium 89.7 vs 91.5, base->large 93.6 vs 94.2, "
        "medium->large 93.5 vs 94.1; Qwen2.5 3B->7B 96.2 vs 96.8, 3B->14B 96.4 vs 96.5, 7B->14B 96.8 vs 96.8",
    ),
    Claim(
        "reverse_ce_beats_forward_ce",
        "reverse-CE students beat forward-CE students",
        "reverse_ce",
        "forward_ce",
        "clean",
        paper="GPT-2 on CAI-Harmless, FCE vs RCE: 89.7 vs 91.2, 93.6 vs 93.9, 93.5 vs 93.8",
    ),
    Claim(
        "forward_kl_equals_forward_ce",
        "forward-KL and forward-CE students are equally accurate",
        "forward_kl",
        "forward_ce",
        "clean",
        "identity",
        paper="GPT-2 on CAI-Harmless: 89.7 = 89.7, 93.6 = 93.6, 93.5 = 93.5",
    ),
    Claim(
        "reverse_more_robust_to_noise",
        "under weak-label noise, reverse-KL students beat forward-KL students",
        "reverse_kl",
        "forward_kl",
        "noisy",
        paper="GPT-2 base->medium, noise 10/20/30/40 %: FKL 90.1/86.3/81.7/72.8 vs RKL 92.4/91.3/90.0/80.6",
    ),
    Claim(
        "confidence_helps",
        "the confidence loss beats forward CE",
        "confidence",
        "forward_ce",
        "clean",
        paper="reported qualitatively",
    ),
    Claim(
        "reverse_confidence_mix_beats_confidence",
        "reverse confidence CE (reading a: mixed losses) beats confidence CE",
        "reverse_confidence_mix",
        "confidence",
        "clean",
        paper="reported qualitatively",
    ),
    Claim(
        "reverse_confidence_target_beats_confidence",
        "reverse confidence CE (reading b: mixed target) beats confidence CE",
        "reverse_confidence_target",
        "confidence",
        "clean",
        paper="reported qualitatively",
    ),
    Claim(
        "stronger_teacher_stronger_student",
        "a stronger weak teacher gives a stronger student (same strong model and loss)",
        "stronger teacher",
        "weaker teacher",
        "teacher",
        paper="reported qualitatively",
    ),
)


@dataclass
class ClaimResult:
    key: str
    statement: str
    verdict: str  # reproduced | contradicted | inconclusive
    delta: float | None = None  # accuracy difference a - b (fraction)
    ci95: tuple[float, float] | None = None
    p_one_sided: float | None = None
    p_opposite: float | None = None
    p_holm: float | None = None
    p_opposite_holm: float | None = None
    mde: float | None = None
    strata: int = 0
    examples: int = 0
    max_abs_dprob: float | None = None
    identical_runs_merged: int = 0  # seeds whose runs were identical, counted once
    mde_goal: float | None = None
    mde_goal_met: bool | None = None  # an inconclusive verdict with the goal met: no effect that large here
    reason: str = ""
    paper: str = ""
    source: str = SECONDARY
    extra: dict = field(default_factory=dict)

    def numbers(self) -> str:
        if self.delta is None:
            return self.reason
        p = (
            f"Holm p (claimed direction) = {self.p_holm:.3g}, (opposite) = {self.p_opposite_holm:.3g}, "
            if self.p_holm is not None
            else "equivalence margin +-1 pt, "
        )
        return (
            f"delta = {100 * self.delta:+.2f} pts, 95 % CI [{100 * self.ci95[0]:+.2f}, "
            f"{100 * self.ci95[1]:+.2f}], "
            f"{p}MDE = {100 * self.mde:.2f} pts (goal {100 * self.mde_goal:.0f}: "
            f"{GOAL_WORDS[self.mde_goal_met]}), "
            f"{self.strata} strata, {self.examples} paired examples"
            + (
                f" ({self.identical_runs_merged} identical runs counted once)"
                if self.identical_runs_merged
                else ""
            )
            + (f"; {self.reason}" if self.verdict == "identity" else "")
        )


def _test_predictions(rec: dict) -> dict[str, tuple[int, float]]:
    return {r["id"]: (r["label"], r["prob"]) for r in read_jsonl_rows(rec["dir"] / "predictions_test.jsonl")}


def _students(runs: list[dict]) -> dict[tuple, dict]:
    out = {}
    for r in runs:
        s = r["run"]
        if s["role"] == "student":
            noise = "none" if s["noise"]["kind"] == "none" else f"{s['noise']['kind']}{s['noise']['level']:g}"
            out[(s["weak_model"], s["model"], s["head"], noise, s["seed"], s["loss"])] = r
    return out


def _paired(ra: dict, rb: dict):
    """(per-example correctness difference, |prob difference|, fingerprint of both runs' predictions)."""
    pa, pb = _test_predictions(ra), _test_predictions(rb)
    ids = sorted(set(pa) & set(pb))
    la = np.array([pa[i][0] for i in ids])
    a, b = np.array([pa[i][1] for i in ids]), np.array([pb[i][1] for i in ids])
    fingerprint = hashlib.sha256(json.dumps(ids).encode() + a.tobytes() + b.tobytes()).hexdigest()
    return accuracy(a, la) - accuracy(b, la), np.abs(a - b), fingerprint


def strata_for(
    claim: Claim, students: dict, weak_acc: dict
) -> tuple[list[tuple[np.ndarray, np.ndarray]], int]:
    """The paired strata of a claim, one per (setting, seed), and how many were merged away: two seeds whose
    runs are identical (a seed that changes nothing, e.g. a deterministic convex fit) are one run, never two
    pieces of evidence."""
    strata, seen = [], set()

    def add(setting: tuple, ra: dict, rb: dict) -> None:
        diff, dprob, fingerprint = _paired(ra, rb)
        if (setting, fingerprint) not in seen:
            seen.add((setting, fingerprint))
            strata.append((diff, dprob))

    candidates = 0
    if claim.noise == "teacher":
        by_target = {}
        for (w, st, head, noise, seed, loss), rec in students.items():
            if noise == "none" and w in weak_acc:
                by_target.setdefault((st, head, seed, loss), []).append((weak_acc[w], w, rec))
        for (st, head, _, loss), recs in by_target.items():
            recs.sort(key=lambda t: t[0])
            for (acc_lo, w_lo, lo), (acc_hi, w_hi, hi) in pairwise(recs):
                if acc_hi > acc_lo:
                    candidates += 1
                    add((st, head, loss, w_lo, w_hi), hi, lo)
        return strata, candidates - len(strata)
    for (w, st, head, noise, seed, loss), rec in students.items():
        if loss != claim.a or (noise == "none") != (claim.noise == "clean"):
            continue
        other = students.get((w, st, head, noise, seed, claim.b))
        if other is not None:
            candidates += 1
            add((w, st, head, noise), rec, other)
    return strata, candidates - len(strata)


def by_setting(claim: Claim, students: dict, weak_acc: dict) -> dict[str, dict]:
    """The same comparison within each (weak model, head): a pooled verdict can come from one head only, e.g.
    a student class that is not weak-to-strong at all (its ceiling below its teacher)."""
    out = {}
    across = claim.noise == "teacher"  # compares weak models: one setting per head
    settings = {("" if across else k[0], k[2]) for k in students}
    for w, head in sorted(settings):
        sub = {k: v for k, v in students.items() if k[2] == head and (across or k[0] == w)}
        strata = [d for d, _ in strata_for(claim, sub, weak_acc)[0] if len(d)]
        if not strata:
            continue
        boot = bootstrap(strata)
        key = head if across else f"{w} / {head}"
        out[key] = {
            "delta": float(np.average([d.mean() for d in strata], weights=[len(d) for d in strata])),
            "ci95": (float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))),
            "mde": float(MDE_Z * boot.std(ddof=1)),
            "strata": len(strata),
        }
    return out


def bootstrap(strata: list[np.ndarray], reps: int = BOOT, seed: int = 0) -> np.ndarray:
    """Bootstrap distribution of the pooled mean difference, resampling examples within each stratum
    (scipy.stats.bootstrap with one sample per stratum: each is resampled on its own)."""
    weights = np.array([len(d) for d in strata], float)
    weights /= weights.sum()

    def pooled_mean(*samples, axis=-1):
        return sum(w * np.mean(s, axis=axis) for w, s in zip(weights, samples, strict=True))

    res = stats.bootstrap(
        tuple(strata),
        pooled_mean,
        n_resamples=reps,
        method="percentile",
        vectorized=True,
        batch=max(1, int(2e7 // max(1, sum(len(d) for d in strata)))),
        rng=np.random.default_rng(seed),
    )
    return res.bootstrap_distribution


def holm(p: list[float]) -> list[float]:
    order = np.argsort(p)
    m, adjusted, running = len(p), [0.0] * len(p), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def evaluate_claims(results: str | Path) -> list[ClaimResult]:
    runs = load_runs(results)
    students = _students(runs)
    weak_acc = {
        r["run"]["model"]: r["metrics"]["test"]["accuracy"] for r in runs if r["run"]["role"] == "weak"
    }
    out: list[ClaimResult] = []
    for c in CLAIMS:
        strata, merged = strata_for(c, students, weak_acc)
        strata = [s for s in strata if len(s[0])]
        res = ClaimResult(c.key, c.statement, "inconclusive", paper=c.paper, identical_runs_merged=merged)
        if not strata:
            res.reason = {
                "teacher": "not testable here: needs two weak models for the same strong model",
                "noisy": "not testable here: no noisy settings with both losses",
            }.get(c.noise, f"not testable here: no settings with both {c.a} and {c.b} students")
            out.append(res)
            continue
        diffs = [d for d, _ in strata]
        boot = bootstrap(diffs)
        pooled = np.concatenate(diffs)
        res.delta = float(np.average([d.mean() for d in diffs], weights=[len(d) for d in diffs]))
        res.ci95 = (float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5)))
        res.p_one_sided = float((1 + np.sum(boot <= 0)) / (len(boot) + 1))
        res.p_opposite = float((1 + np.sum(boot >= 0)) / (len(boot) + 1))
        res.mde = float(MDE_Z * boot.std(ddof=1))
        res.strata, res.examples = len(strata), int(len(pooled))
        res.max_abs_dprob = float(max(dp.max() for _, dp in strata))
        res.mde_goal = MDE_GOAL[c.noise]
        # no test decision differs: the bootstrap has no spread, and an MDE of 0 would claim a power it lacks
        res.mde_goal_met = None if not any(np.any(d) for d in diffs) else res.mde <= res.mde_goal
        res.extra["by_setting"] = by_setting(c, students, weak_acc)
        out.append(res)
    directional = [r for r, c in zip(out, CLAIMS, strict=True) if c.kind == "greater" and r.delta is not None]
    if directional:
        for r, p, q in zip(
            directional,
            holm([r.p_one_sided for r in directional]),
            holm([r.p_opposite for r in directional]),
            strict=True,
        ):
            r.p_holm, r.p_opposite_holm = p, q
            r.verdict = "reproduced" if p < ALPHA else "contradicted" if q < ALPHA else "inconclusive"
    for r, c in zip(out, CLAIMS, strict=True):
        if c.kind == "identity" and r.delta is not None and r.max_abs_dprob <= IDENTITY_PROB_TOL:
            r.verdict = "identity"  # holds by construction (identical gradients): not evidence of anything
            r.reason = (
                f"identical gradients: predictions agree to {r.max_abs_dprob:.1e} (<= {IDENTITY_PROB_TOL:g})"
            )
        elif c.kind in ("equal", "identity") and r.delta is not None:
            lo, hi = r.ci95
            r.verdict = (
                "reproduced"
                if -EQUIVALENCE_MARGIN <= lo and hi <= EQUIVALENCE_MARGIN
                else "contradicted"
                if lo > 0 or hi < 0
                else "inconclusive"
            )
    return out


def write_claims(results: str | Path) -> list[ClaimResult]:
    results = Path(results)
    claims = evaluate_claims(results)
    lines = [
        "# The paper's empirical claims at the scale run",
        "",
        f"Paired bootstrap over test pairs stratified by setting and seed ({BOOT} resamples); Holm-corrected "
        f"one-sided p-values; MDE = minimum detectable effect. Paper numbers: {SECONDARY}.",
        "",
        "| claim | verdict | measured (a - b) | paper |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {c.statement} | **{c.verdict}** | {c.numbers()} | {c.paper} |" for c in claims]
    write_json_and_markdown(results / "audit", "claims", [asdict(c) for c in claims], "\n".join(lines) + "\n")
    return claims
