"""The paper's empirical claims (docs/theory.md section 4) as paired comparisons with verdicts, the
training run (seed) the unit of replication.

A directional claim compares two kinds of student trained with the same seed and scored on the same test
pairs. For each setting (weak model, strong model, head, noise) and seed, d = correct(a) - correct(b) per test
pair; settings are averaged within each seed, and the seeds x test pairs matrix goes to the crossed
random-effects estimate of :mod:`empirics.readers.inference` (interval, two-sided p-value and MDE that count
the variance between training replicates and between test pairs, the pairs shared by every seed). The claims
of a results folder are one Holm family, two-sided; a verdict follows the sign: reproduced (Holm p < 0.05 in
the claimed direction), contradicted (in the opposite one), inconclusive (neither, or not testable here).

What enters a claim: only real students -- settings whose ceiling beats their teacher by >= 3 replicate-aware
SE (the same estimate, on ceiling minus weak); the others are listed with their numbers. A setting whose runs
equal another setting's (forward KL = forward CE by construction) is counted once, and a setting whose seeds
gave identical runs has no replicate variance and is excluded. Forward KL = forward CE: when the two students'
predictions agree it is labelled an identity, not counted as reproduced; otherwise it is tested as an
equality (reproduced when the 95 % interval lies within +-1 point, contradicted when it excludes 0). The
paper's numbers come from a secondary summary and are unverified."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from itertools import combinations, pairwise
from pathlib import Path

import numpy as np

from core.errors import DataError
from core.io import write_json_and_markdown

from .inference import ALPHA, SEEDS_LOOKED, Estimate, crossed_estimate, holm, verdict
from .metrics import accuracy
from .records import load_checked_runs
from .run_folder import RunRecord

EQUIVALENCE_MARGIN = 0.01
IDENTITY_PROB_TOL = 1e-3  # an identity claim holds when the two students' probabilities agree to this
REAL_STUDENT_SE = 3.0  # a setting is weak-to-strong when ceiling - weak >= this many replicate-aware SE
SECONDARY = "secondary summary, unverified"
# the smallest effect a verdict must be able to see (issue 10): 1 point without noise, 2 points with noise
MDE_GOAL = {"clean": 0.01, "noisy": 0.02, "teacher": 0.01, "student": 0.01}
GOAL_WORDS = {True: "met", False: "NOT met", None: "none: no test decision differs"}


@dataclass(frozen=True)
class Claim:
    key: str
    statement: str
    a: str  # the loss claimed better (or equal)
    b: str
    # "clean": settings without noise; "noisy": settings with noise; "teacher": across weak models (same
    # student); "student": across strong models (same teacher)
    noise: str
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
    Claim(
        "stronger_student_gains_more",
        "a stronger student gains more from the same weak teacher (same teacher and loss)",
        "stronger student",
        "weaker student",
        "student",
        paper="the paper's A-to-B panels: a larger student of the family over the same teacher",
    ),
)


@dataclass
class ClaimResult:
    key: str
    statement: str
    verdict: str  # reproduced | contradicted | inconclusive | identity
    delta: float | None = None  # accuracy difference a - b (fraction), the mean over seeds and settings
    ci95: tuple[float, float] | None = None
    se: float | None = None  # replicate-aware (crossed seeds x test pairs)
    df: float | None = None  # degrees of freedom of the t interval (seeds - 1)
    p_two_sided: float | None = None
    p_holm: float | None = None
    mde: float | None = None
    seeds: int = 0
    pairs: int = 0
    settings: int = 0
    per_seed: list[float] = field(default_factory=list)  # delta of each seed (settings averaged)
    seed_ids: list[int] = field(default_factory=list)  # which seed each per_seed entry is
    variance: dict = field(default_factory=dict)  # seed, pair and residual components
    max_abs_dprob: float | None = None
    duplicate_settings: int = 0  # settings whose runs equal another setting's, counted once
    excluded: list[dict] = field(default_factory=list)  # settings left out, each with why and its numbers
    mde_goal: float | None = None
    mde_goal_met: bool | None = None  # an inconclusive verdict with the goal met: no effect that large here
    seeds_for_goal: int | None = None  # seeds for an MDE <= goal, these runs as a pilot (None: > 200)
    seeds_for_goal_upper80: int | None = None  # the same at the pilot's 80 % upper limit of the seed variance
    reason: str = ""
    paper: str = ""
    source: str = SECONDARY
    extra: dict = field(default_factory=dict)

    def numbers(self) -> str:
        if self.delta is None:
            return self.reason
        p = (
            f"Holm p (two-sided) = {self.p_holm:.3g}, "
            if self.p_holm is not None
            else "equivalence margin +-1 pt, "
        )
        seeds = ", ".join(f"{100 * x:+.2f}" for x in self.per_seed)
        return (
            f"delta = {100 * self.delta:+.2f} pts, 95 % CI [{100 * self.ci95[0]:+.2f}, "
            f"{100 * self.ci95[1]:+.2f}] (df {self.df:.1f}), "
            f"{p}MDE = {100 * self.mde:.2f} pts (goal {100 * self.mde_goal:.0f}: "
            f"{GOAL_WORDS[self.mde_goal_met]}), "
            f"{self.seeds} seeds ({seeds}) x {self.pairs} test pairs, {self.settings} settings"
            + (f", {len(self.excluded)} excluded" if self.excluded else "")
            + (f"; {self.reason}" if self.verdict == "identity" else "")
        )


# ---------------------------------------------------------------------------------------- reading runs
def read_test_predictions(rec: RunRecord) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(ids, labels, probabilities) of a run's test predictions, sorted by id."""
    rows = sorted(rec.predictions("test"), key=lambda r: r["id"])
    return (
        [r["id"] for r in rows],
        np.array([r["label"] for r in rows], dtype=np.int64),
        np.array([r["prob"] for r in rows], dtype=np.float64),
    )


class Runs:
    """A results folder's runs indexed for the claims, each run's test predictions read once."""

    def __init__(self, runs: list[RunRecord]):
        self.students: dict[tuple, RunRecord] = {}
        self.weak: dict[tuple, RunRecord] = {}
        self.ceiling: dict[tuple, RunRecord] = {}
        for r in runs:
            s = r.spec
            if s.role == "student":
                self.students[(s.weak_model, s.model, s.head, s.noise.tag, s.seed, s.loss)] = r
            elif s.role == "weak":
                self.weak[(s.model, s.seed)] = r
            elif s.role == "ceiling":
                self.ceiling[(s.model, s.head, s.seed)] = r
        self._rows: dict[str, tuple] = {}
        self.ids: list[str] | None = None

    def rows(self, rec: RunRecord) -> tuple[np.ndarray, np.ndarray]:
        """(correct, prob) on the test pairs, checked to be the same pairs as every other run's."""
        key = str(rec.dir)
        if key not in self._rows:
            ids, label, prob = read_test_predictions(rec)
            if self.ids is None:
                self.ids = ids
            elif ids != self.ids:
                raise DataError(f"{rec.dir}: its test pairs differ from the other runs'")
            self._rows[key] = accuracy(prob, label), prob
        return self._rows[key]

    def ceiling_accuracy(self) -> dict[tuple[str, str], float]:
        """Each (strong model, head)'s ceiling test accuracy, the mean over its seeds."""
        by_model: dict[tuple, list[float]] = {}
        for (model, head, _), r in self.ceiling.items():
            by_model.setdefault((model, head), []).append(r.test["accuracy"])
        return {m: float(np.mean(a)) for m, a in by_model.items()}

    def teacher_accuracy(self) -> dict[str, float]:
        """Each weak model's test accuracy, the mean over its seeds."""
        by_model: dict[str, list[float]] = {}
        for (model, _), r in self.weak.items():
            by_model.setdefault(model, []).append(r.test["accuracy"])
        return {m: float(np.mean(a)) for m, a in by_model.items()}


def paired_gap(runs: Runs, a: dict[int, RunRecord], b: dict[int, RunRecord]) -> Estimate | None:
    """correct(a) - correct(b) over the seeds both have (a seeds x pairs matrix); None below 2 seeds."""
    seeds = sorted(set(a) & set(b))
    if len(seeds) < 2:
        return None
    return crossed_estimate(np.stack([runs.rows(a[k])[0] - runs.rows(b[k])[0] for k in seeds]))


def weak_to_strong(runs: Runs, weak: str, strong: str, head: str) -> dict | None:
    """ceiling - weak for one (weak, strong, head): the replicate-aware estimate and whether it is a real
    weak-to-strong setting (>= REAL_STUDENT_SE of its SE)."""
    ceil = {k: r for (m, h, k), r in runs.ceiling.items() if (m, h) == (strong, head)}
    teach = {k: r for (m, k), r in runs.weak.items() if m == weak}
    e = paired_gap(runs, ceil, teach)
    if e is None:
        return None
    # from these seeds as a pilot: how many seeds would show this gap at REAL_STUDENT_SE (None: > 200)
    need = next((k for k in range(2, SEEDS_LOOKED + 1) if e.delta >= REAL_STUDENT_SE * e.se_with(k)), None)
    return {
        "gap": e.delta,
        "se": e.se,
        "in_se": e.in_se(),
        "real": e.in_se() >= REAL_STUDENT_SE,
        "seeds": e.seeds,
        "seeds_for_real": need,
    }


# ---------------------------------------------------------------------------------------- a claim's matrix
def claim_cells(claim: Claim, runs: Runs) -> dict[tuple, dict[int, tuple[dict, dict]]]:
    """{setting: {seed: (run a, run b)}}: the student pairs a claim compares. A setting is (weak, strong,
    head, noise); across teachers (strong, head, loss, weaker teacher, stronger teacher) and across students
    (teacher, head, loss, weaker student, stronger student): :func:`_ranked_cells`."""
    if claim.noise in ("teacher", "student"):
        return _ranked_cells(runs, claim.noise)
    cells: dict[tuple, dict[int, tuple[dict, dict]]] = {}
    for (w, st, head, noise, seed, loss), rec in runs.students.items():
        if loss != claim.a or (noise == "none") != (claim.noise == "clean"):
            continue
        other = runs.students.get((w, st, head, noise, seed, claim.b))
        if other is not None:
            cells.setdefault((w, st, head, noise), {})[seed] = (rec, other)
    return cells


def _ranked_cells(runs: Runs, varies: str) -> dict[tuple, dict[int, tuple[dict, dict]]]:
    """Students that differ in one model only, paired along that model's ranking, noise none: their
    teacher (`varies` = "teacher", teachers ranked by their mean test accuracy) or their strong model
    ("student", ranked by its ceilings' mean accuracy; the gains over the same teacher then differ by exactly
    the students' accuracy difference). {(the model that stays, head, loss, weaker, stronger): {seed:
    (student of the stronger, student of the weaker)}}."""
    by_teacher = varies == "teacher"
    acc = runs.teacher_accuracy() if by_teacher else runs.ceiling_accuracy()

    def key(stays, varied, head, seed, loss) -> tuple:
        w, st = (varied, stays) if by_teacher else (stays, varied)
        return (w, st, head, "none", seed, loss)

    groups: dict[tuple, dict[str, object]] = {}
    for w, st, head, noise, _, loss in runs.students:
        stays, varied = (st, w) if by_teacher else (w, st)
        rank = w if by_teacher else (st, head)
        if noise == "none" and rank in acc:
            groups.setdefault((stays, head, loss), {})[varied] = acc[rank]
    cells: dict[tuple, dict[int, tuple[dict, dict]]] = {}
    for (stays, head, loss), members in groups.items():
        for lo, hi in pairwise(sorted(members, key=members.__getitem__)):
            if members[hi] <= members[lo]:
                continue
            for seed in sorted({k[4] for k in runs.students if k[:3] == key(stays, hi, head, 0, loss)[:3]}):
                a, b = (runs.students.get(key(stays, m, head, seed, loss)) for m in (hi, lo))
                if a and b:
                    cells.setdefault((stays, head, loss, lo, hi), {})[seed] = (a, b)
    return cells


def _weak_strong(claim: Claim, setting: tuple) -> list[tuple[str, str, str]]:
    """The (weak, strong, head) settings a cell's students come from: each must be weak-to-strong."""
    if claim.noise == "teacher":  # (strong, head, loss, weaker teacher, stronger teacher)
        return [(w, setting[0], setting[1]) for w in setting[3:5]]
    if claim.noise == "student":  # (teacher, head, loss, weaker student, stronger student)
        return [(setting[0], st, setting[1]) for st in setting[3:5]]
    return [(setting[0], setting[1], setting[2])]  # (weak, strong, head, noise)


def _same(p: np.ndarray, q: np.ndarray) -> bool:
    """Two runs' test probabilities agree to IDENTITY_PROB_TOL: the same run for the claims' purposes."""
    return bool(np.max(np.abs(p - q)) <= IDENTITY_PROB_TOL)


def _same_runs(x: tuple, y: tuple) -> bool:
    """Two (student a, student b) rows of one seed are the same pair of runs."""
    return _same(x[0][1], y[0][1]) and _same(x[1][1], y[1][1])


def _same_setting(x: dict, y: dict) -> bool:
    """Two settings' runs are the same in every seed (forward KL = forward CE, byte-equal or to rounding)."""
    return set(x) == set(y) and all(_same_runs(x[k], y[k]) for k in x)


def claim_matrix(claim: Claim, runs: Runs, cells: dict[tuple, dict[int, tuple[dict, dict]]]) -> dict:
    """The seeds x test pairs matrix of a claim (settings averaged within each seed), after leaving out what
    is not evidence: settings that are not weak-to-strong, settings that duplicate another's runs, settings
    whose seeds gave identical runs, and seeds that not every kept setting has."""
    kept: dict[tuple, dict[int, np.ndarray]] = {}
    excluded, seen, duplicates, max_dprob = [], {}, [], 0.0
    for setting, by_seed in sorted(cells.items()):
        gaps = [weak_to_strong(runs, w, st, head) for w, st, head in _weak_strong(claim, setting)]
        name = " / ".join(map(str, setting))
        rows = {k: (runs.rows(a), runs.rows(b)) for k, (a, b) in sorted(by_seed.items())}
        if not all(g and g["real"] for g in gaps):
            entry = {"setting": name, "why": "not weak-to-strong", "ceiling_minus_weak": gaps}
            if len(rows) >= 2:  # what the claim reads there, reported but not pooled
                e = crossed_estimate(np.stack([ra[0] - rb[0] for ra, rb in rows.values()]))
                entry["not_pooled"] = {"delta": e.delta, "ci95": e.ci95, "seeds": e.seeds}
            excluded.append(entry)
            continue
        if any(_same_runs(x, y) for x, y in combinations(rows.values(), 2)):
            excluded.append({"setting": name, "why": "seeds gave identical runs: no replicate variance"})
            continue
        twin = next((other for other, r in seen.items() if _same_setting(rows, r)), None)
        if twin is not None:  # the same runs as another setting (e.g. forward KL = forward CE)
            duplicates.append({"setting": name, "same_as": twin})
            continue
        seen[name] = rows
        kept[setting] = {k: ra[0] - rb[0] for k, (ra, rb) in rows.items()}
        max_dprob = max(max_dprob, *(float(np.max(np.abs(ra[1] - rb[1]))) for ra, rb in rows.values()))
    seeds = sorted(set.intersection(*(set(v) for v in kept.values()))) if kept else []
    partial = sum(len(set(v) - set(seeds)) for v in kept.values())
    d = np.stack([np.mean([kept[s][k] for s in kept], axis=0) for k in seeds]) if seeds else None
    return {
        "d": d,
        "seeds": seeds,
        "settings": sorted(" / ".join(map(str, s)) for s in kept),
        "excluded": excluded,
        "duplicates": duplicates,
        "cells_without_all_settings": partial,
        "max_abs_dprob": max_dprob,
    }


def _fill(res: ClaimResult, e: Estimate, d: np.ndarray) -> None:
    res.delta, res.ci95, res.se, res.df = e.delta, e.ci95, e.se, e.df
    res.p_two_sided, res.mde = e.p_two_sided, e.mde
    res.seeds, res.pairs = e.seeds, e.pairs
    res.per_seed = [float(x) for x in d.mean(axis=1)]
    res.variance = {"seed": e.var_seed, "pair": e.var_pair, "residual": e.var_resid}


def _group(claim: Claim, setting: tuple) -> str:
    """Where a pooled verdict is also shown on its own: per (weak model, head), per head across teachers."""
    if claim.noise == "student":
        return f"{setting[0]} / {setting[1]}"
    return setting[1] if claim.noise == "teacher" else f"{setting[0]} / {setting[2]}"


def _panel(claim: Claim, setting: tuple) -> str:
    """The paper's panel a setting belongs to: one teacher -> student pair (and head); across teachers, the
    two teachers -> the student; across students, the teacher -> the two students."""
    if claim.noise == "teacher":
        return f"{setting[3]} vs {setting[4]} -> {setting[0]} ({setting[1]})"
    if claim.noise == "student":
        return f"{setting[0]} -> {setting[3]} vs {setting[4]} ({setting[1]})"
    return f"{setting[0]} -> {setting[1]} ({setting[2]})"


def _within(claim: Claim, runs: Runs, cells: dict, name_of) -> dict[str, tuple[Estimate, dict]]:
    """The claim recomputed within each group of its settings (`name_of(claim, setting)` names the group):
    {name: (estimate, matrix)} for the groups with at least 2 seeds."""
    out = {}
    for name in sorted({name_of(claim, s) for s in cells}):
        m = claim_matrix(claim, runs, {s: v for s, v in cells.items() if name_of(claim, s) == name})
        if len(m["seeds"]) >= 2:
            out[name] = (crossed_estimate(m["d"]), m)
    return out


def by_panel(claim: Claim, runs: Runs, cells: dict) -> dict[str, dict]:
    """The claim within each panel (:func:`_panel`), with its own verdict: the panels of one claim are one
    two-sided Holm family (the pooled verdicts are the primary family; these say where an effect lies)."""
    out = {
        panel: {
            "delta": e.delta,
            "ci95": e.ci95,
            "mde": e.mde,
            "seeds": e.seeds,
            "p_two_sided": e.p_two_sided,
        }
        for panel, (e, m) in _within(claim, runs, cells, _panel).items()
        if np.any(m["d"])
    }
    if claim.kind == "greater":
        for b, p in zip(out.values(), holm([b["p_two_sided"] for b in out.values()]), strict=True):
            b["p_holm_panels"], b["verdict"] = p, verdict(b["delta"], p)
    return out


def by_setting(claim: Claim, runs: Runs, cells: dict) -> dict[str, dict]:
    """The same comparison within each group (:func:`_group`): a pooled verdict may come from one head."""
    return {
        group: {
            "delta": e.delta,
            "ci95": e.ci95,
            "mde": e.mde,
            "seeds": e.seeds,
            "settings": len(m["settings"]),
        }
        for group, (e, m) in _within(claim, runs, cells, _group).items()
    }


def _untestable(claim: Claim, m: dict) -> str:
    if m["excluded"] and not m["settings"]:
        return "not testable here: every setting was left out (see excluded)"
    if m["settings"] and len(m["seeds"]) < 2:
        return "not testable here: fewer than 2 seeds common to its settings (no replicate variance)"
    return {
        "teacher": "not testable here: needs two weak models for the same strong model",
        "student": "not testable here: needs two strong models for the same weak model",
        "noisy": "not testable here: no noisy settings with both losses",
    }.get(claim.noise, f"not testable here: no settings with both {claim.a} and {claim.b} students")


def evaluate_claims(results: str | Path) -> list[ClaimResult]:
    runs = Runs(load_checked_runs(results))
    out: list[ClaimResult] = []
    for c in CLAIMS:
        cells = claim_cells(c, runs)
        m = claim_matrix(c, runs, cells)
        res = ClaimResult(c.key, c.statement, "inconclusive", paper=c.paper)
        res.excluded, res.settings = m["excluded"], len(m["settings"])
        res.duplicate_settings = len(m["duplicates"])
        res.extra = {
            "settings": m["settings"],
            "duplicates": m["duplicates"],
            "cells_without_all_settings": m["cells_without_all_settings"],
        }
        if len(m["seeds"]) < 2:
            res.reason = _untestable(c, m)
            out.append(res)
            continue
        e = crossed_estimate(m["d"])
        _fill(res, e, m["d"])
        res.seed_ids = [int(k) for k in m["seeds"]]
        res.max_abs_dprob = m["max_abs_dprob"]
        res.mde_goal = MDE_GOAL[c.noise]
        # no test decision differs: no spread, and an MDE of 0 would claim a power it lacks
        res.mde_goal_met = None if not np.any(m["d"]) else res.mde <= res.mde_goal
        if np.any(m["d"]):
            res.seeds_for_goal = e.seeds_for(res.mde_goal)
            res.seeds_for_goal_upper80 = e.seeds_for(res.mde_goal, upper=0.8)
        res.extra["by_setting"] = by_setting(c, runs, cells)
        res.extra["by_panel"] = by_panel(c, runs, cells)
        out.append(res)
    # one Holm family, two-sided, over the directional claims tested here; the verdict by the sign
    directional = [r for r, c in zip(out, CLAIMS, strict=True) if c.kind == "greater" and r.delta is not None]
    for r, p in zip(directional, holm([r.p_two_sided for r in directional]), strict=True):
        r.p_holm, r.verdict = p, verdict(r.delta, p)
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
        "The training run is the unit: per claim, a seeds x test pairs matrix of paired correctness "
        "differences (settings averaged within each seed), its variance counting seeds and test pairs "
        f"(crossed random effects; Student t with seeds - 1 df); one two-sided Holm family at {ALPHA:g}; "
        "only settings whose ceiling beats the teacher by >= 3 such SE. MDE = minimum detectable effect "
        f"(power 80 %). Paper numbers: {SECONDARY}.",
        "",
        "| claim | verdict | measured (a - b) | paper |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {c.statement} | **{c.verdict}** | {c.numbers()} | {c.paper} |" for c in claims]
    write_json_and_markdown(results / "audit", "claims", [asdict(c) for c in claims], "\n".join(lines) + "\n")
    return claims
