"""Plant each bug below, one at a time, in a copy of the repository, and run the tests that should catch it:
the mutation table of the readers, figures and statistics (`python tools/mutation_table.py [--only ID ...]`).

A row is "caught" when its tests fail with the bug planted, "SURVIVED" when they pass (a test to write), and
the script exits 1 if any bug survived or a mutation no longer applies (its code changed: update the row).
Every row's tests also run once unmutated first (they must pass there)."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutation:
    key: str
    what: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]


MUTATIONS = [
    # the eight bugs of the review (issue 20)
    Mutation(
        "conf-1-yhat",
        "confidence target built from 1 - yhat",
        "empirics/registries/losses.py",
        "t.ce((1 - t.a) * t.p + t.a * t.yhat, t.log_q)",
        "t.ce((1 - t.a) * t.p + t.a * (1 - t.yhat), t.log_q)",
        ("tests/empirics/test_loss_registry.py", "tests/empirics/test_losses.py"),
    ),
    Mutation(
        "kl-direction",
        "KL(student, weak) direction swapped in the run metrics",
        "empirics/readers/metrics.py",
        'out["kl_student_weak"] = float(np.mean(binary_kl(pf, wf)))',
        'out["kl_student_weak"] = float(np.mean(binary_kl(wf, pf)))',
        ("tests/empirics/test_metrics.py",),
    ),
    Mutation(
        "bands-swapped",
        "weak and ceiling bands swapped in the accuracy plot",
        "empirics/readers/plots.py",
        'for key, color in (("weak", "0.5"), ("ceiling", "k")):\n            if key in r:\n'
        "                mean, err = _interval(r[key])",
        'for key, color in (("weak", "0.5"), ("ceiling", "k")):\n            if key in r:\n'
        '                mean, err = _interval(r["ceiling" if key == "weak" else "weak"])',
        ("tests/empirics/test_plots.py",),
    ),
    Mutation(
        "wilson-50",
        "Wilson interval at 50 % instead of 95 %",
        "empirics/readers/summary.py",
        '.proportion_ci(CONFIDENCE, method="wilson")',
        '.proportion_ci(0.5, method="wilson")',
        ("tests/empirics/test_metrics.py",),
    ),
    Mutation(
        "figure1-mirrored",
        "Figure 1's reverse curves mirrored",
        "theory/figure1.py",
        '_normal_pdf(x, r["m"], r["s"]),',
        '_normal_pdf(x, -r["m"], r["s"]),',
        ("paper_checks/test_figure1.py",),
    ),
    Mutation(
        "bootstrap-strata",
        "the stratified bootstrap ignoring its strata (one pooled sample)",
        "empirics/readers/inference.py",
        "    res = stats.bootstrap(\n        tuple(strata),",
        "    res = stats.bootstrap(\n        (np.concatenate(strata),) * len(strata),",
        ("tests/empirics/test_audit.py",),
    ),
    Mutation(
        "stronger-teacher-sign",
        "the stronger-teacher comparison's sign flipped",
        "empirics/readers/claims.py",
        "                    cells.setdefault((stays, head, loss, lo, hi), {})[seed] = (a, b)",
        "                    cells.setdefault((stays, head, loss, lo, hi), {})[seed] = (b, a)",
        ("tests/empirics/test_audit.py", "paper_checks/test_empirics.py"),
    ),
    # more of our own, across summary, claims, audit, plots, findings, planted, metrics and inference
    Mutation(
        "summary-noise-pooled",
        "summary pools every noise level into one row",
        "empirics/readers/summary.py",
        "g = groups.setdefault((s.weak_model, s.model, s.head, s.noise.tag), {})",
        'g = groups.setdefault((s.weak_model, s.model, s.head, "none"), {})',
        ("tests/empirics/test_audit.py", "tests/empirics/test_api.py"),
    ),
    Mutation(
        "summary-t-90",
        "the over-seeds interval at 90 % instead of 95 %",
        "empirics/readers/summary.py",
        "return mean_t_interval(values, CONFIDENCE)",
        "return mean_t_interval(values, 0.9)",
        ("tests/empirics/test_metrics.py",),
    ),
    Mutation(
        "holm-unadjusted",
        "Holm's adjustment dropped (raw p-values)",
        "empirics/readers/inference.py",
        "running = max(running, min(1.0, (m - rank) * p[i]))",
        "running = max(running, min(1.0, p[i]))",
        ("tests/empirics/test_audit.py", "tests/empirics/test_inference.py"),
    ),
    Mutation(
        "verdict-sign",
        "a significant negative difference called reproduced",
        "empirics/readers/inference.py",
        'return "reproduced" if delta > 0 else "contradicted"',
        'return "reproduced" if delta != 0 else "contradicted"',
        ("tests/empirics/test_inference.py", "paper_checks/test_empirics.py"),
    ),
    Mutation(
        "crossed-no-seed-variance",
        "the replicate-aware SE without the seed variance",
        "empirics/readers/inference.py",
        '        float(np.sqrt(c["var"])),',
        '        float(np.sqrt(c["var_pair"] / d.shape[1])),',
        ("tests/empirics/test_inference.py",),
    ),
    Mutation(
        "audit-theorem2-sign",
        "Theorem 2's slack computed with the gain's sign flipped",
        "empirics/readers/audit.py",
        'out["theorem2_slack"] = kl_star_w - kl_sw_t - out["L_star_sw"]',
        'out["theorem2_slack"] = out["L_star_sw"] - kl_star_w + kl_sw_t',
        ("tests/empirics/test_audit.py", "paper_checks/test_empirics.py"),
    ),
    Mutation(
        "findings-columns",
        "FINDINGS.md lists the students' columns in the wrong order",
        "empirics/readers/findings.py",
        'students = [_pct(r[k]) if k in r else "" for k in LOSSES]',
        'students = [_pct(r[k]) if k in r else "" for k in reversed(LOSSES)]',
        ("tests/empirics/test_findings.py",),
    ),
    Mutation(
        "planted-gain-sign",
        "the planted-truth gain with its sign flipped",
        "empirics/runs/planted.py",
        '"gain": _mean_kl(f_star[s], teacher[s]) - _mean_kl(f_star[s], fs),',
        '"gain": _mean_kl(f_star[s], fs) - _mean_kl(f_star[s], teacher[s]),',
        ("tests/empirics/test_audit.py", "paper_checks/test_empirics.py"),
    ),
    Mutation(
        "metrics-se",
        "the accuracy's SE without the square root",
        "empirics/readers/metrics.py",
        '"accuracy_se": math.sqrt(max(acc * (1 - acc), 0.0) / n),',
        '"accuracy_se": max(acc * (1 - acc), 0.0) / n,',
        ("tests/empirics/test_metrics.py",),
    ),
    Mutation(
        "noise-plot-level",
        "the noise plot reads the flip level off by a factor 2",
        "empirics/readers/plots.py",
        'else float(r["noise"].removeprefix("flip"))',
        'else 2 * float(r["noise"].removeprefix("flip"))',
        ("tests/empirics/test_plots.py",),
    ),
    Mutation(
        "noise-plot-clean-teacher",
        "the noise plot's clean-teacher line drawn at the ceiling",
        "empirics/readers/plots.py",
        'ax.axhline(100 * clean["weak"][0], color="0.5", ls=":", lw=1, label="weak teacher (clean)")',
        'ax.axhline(100 * clean["ceiling"][0], color="0.5", ls=":", lw=1, label="weak teacher (clean)")',
        ("tests/empirics/test_plots.py",),
    ),
    Mutation(
        "figure1-forward",
        "Figure 1's forward curve drawn with the reverse fit's width",
        "theory/figure1.py",
        '_normal_pdf(x, f["m"], f["s"]),',
        '_normal_pdf(x, f["m"], fit["reverse_minima"][0]["s"]),',
        ("paper_checks/test_figure1.py",),
    ),
    Mutation(
        "teacher-ranking",
        "teachers ranked by the first seed's accuracy, not the mean",
        "empirics/readers/claims.py",
        '            by_model.setdefault(model, []).append(r.test["accuracy"])\n'
        "        return {m: float(np.mean(a)) for m, a in by_model.items()}",
        '            by_model.setdefault(model, []).append(r.test["accuracy"])\n'
        "        return {m: float(a[0]) for m, a in by_model.items()}",
        ("tests/empirics/test_audit.py", "paper_checks/test_empirics.py"),
    ),
    # registries, shared statistics, saved arrays and layering (issues 20 and 21)
    Mutation(
        "simplex-any-loss",
        "the simplex head registered as fitting every loss (batch statistics too)",
        "empirics/registries/heads.py",
        "losses=CONVEX_FIXED_OBJECTIVES,",
        "losses=None,",
        ("tests/empirics/test_registries.py",),
    ),
    Mutation(
        "helpful-reads-harmless",
        "the helpful data set read from the hub's harmless folder",
        "empirics/registries/datasets.py",
        '{"data_dir": "helpful-base"}',
        '{"data_dir": "harmless-base"}',
        ("tests/empirics/test_registries.py", "tests/empirics/test_data.py"),
    ),
    Mutation(
        "simplex-softmax-hypothesis",
        "the audit lists the softmax hypothesis as failing for the simplex head too",
        "empirics/registries/heads.py",
        "class_not_convex=None,\n            saved_design=True,",
        'class_not_convex="softmax head (convex in logit space only)",\n            saved_design=True,',
        ("tests/empirics/test_registries.py", "tests/empirics/test_audit.py"),
    ),
    Mutation(
        "t-interval-90",
        "the shared t interval ignores its level (always 90 %)",
        "core/stats.py",
        "confidence_interval(level)",
        "confidence_interval(0.9)",
        ("tests/test_stats.py",),
    ),
    Mutation(
        "bootstrap-basic",
        "the bootstrap interval of a mean at 90 % (basic method)",
        "core/stats.py",
        'method="percentile"',
        'method="basic", confidence_level=0.9',
        ("tests/test_stats.py",),
    ),
    Mutation(
        "npz-nan-accepted",
        "a saved array holding NaN read without a word",
        "core/io.py",
        'if a.dtype.kind == "f" and not np.all(np.isfinite(a)):',
        "if False:",
        ("tests/corpus/test_bad_inputs.py",),
    ),
    Mutation(
        "section-by-wrong-field",
        "Sweep.section returns the data section for every class",
        "empirics/plans/experiment.py",
        "return getattr(self.experiment, EXPERIMENT_FIELD[cls])",
        'return getattr(self.experiment, "data")',
        ("tests/empirics/test_registries.py", "tests/empirics/test_config.py"),
    ),
    Mutation(
        "empirics-imports-theory",
        "empirics reaches sideways into theory for the bound constant",
        "empirics/readers/plots.py",
        "from core.bounds import c_sharp",
        "from theory.bounds import c_sharp",
        ("tests/test_layering.py",),
    ),
]


def _failing(root: Path, tests: tuple[str, ...]) -> str | None:
    """The first test file that fails in `root` (the empirics paper checks with their marker), or None."""
    env = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1", "HOME": str(Path.home())}
    for test in tests:
        marker = ["-m", "empirics"] if test == "paper_checks/test_empirics.py" else []
        cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *marker, test]
        if subprocess.run(cmd, cwd=root, env=env, capture_output=True).returncode != 0:
            return test
    return None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="*", help="mutation keys to run (default all)")
    args = p.parse_args(argv)
    chosen = [m for m in MUTATIONS if not args.only or m.key in args.only]
    if args.only and len(chosen) != len(args.only):
        p.error(f"unknown key; known: {', '.join(m.key for m in MUTATIONS)}")
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "repo"
        tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
        for f in tracked:
            if (ROOT / f).is_file() and not f.startswith("paper_checks/reference"):
                (copy / f).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / f, copy / f)
        print("| bug planted | file | caught by |")
        print("| --- | --- | --- |")
        for m in chosen:
            path = copy / m.file
            text = path.read_text()
            if text.count(m.old) != 1:
                print(f"| {m.what} | {m.file} | MUTATION NO LONGER APPLIES |")
                bad += 1
                continue
            if _failing(copy, m.tests):
                print(f"| {m.what} | {m.file} | TESTS FAIL UNMUTATED |")
                bad += 1
                continue
            path.write_text(text.replace(m.old, m.new))
            try:
                caught = _failing(copy, m.tests)
            finally:
                path.write_text(text)
            bad += not caught
            print(f"| {m.what} | {m.file} | {caught or 'SURVIVED'} |", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
