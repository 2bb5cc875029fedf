"""The paper's empirical claims and the bounds on real runs (marker `empirics`).

    pytest paper_checks -m empirics --results results/cpu-demo    # any sweep: cpu-demo, cpu-full, GPU
    pytest paper_checks -m empirics                                 # a tiny-model sweep built for the session

Every check reads saved predictions (no retraining), except the planted-truth experiment, which fits heads on
the cached features of a last-layer sweep."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from core.io import read_jsonl_rows
from core.tolerances import CERTIFIED_SLACK, FP_INEQUALITY_SLACK, REQUIRED_GAP_REL
from empirics.readers.audit import audit
from empirics.readers.claims import CLAIMS, evaluate_claims
from empirics.readers.run_folder import load_runs
from empirics.registries.losses import LOSSES
from empirics.runs.planted import planted_truth
from empirics.runs.sweep import run_sweep

pytestmark = pytest.mark.empirics
LAST_LAYER_AGREEMENT, FINETUNE_AGREEMENT, FINETUNE_DECISION_BAND = 1e-6, 1e-3, 1e-3


def _tiny_sweeps(base: Path) -> list[Path]:
    from tests.empirics.fixtures import tiny_sweep, write_splits

    data = write_splits(base / "data", n=32)
    ll, fine = base / "tiny-last-layer", base / "tiny-finetune"
    last_layer = run_sweep(
        tiny_sweep(
            data,
            "last_layer",
            32,
            ["tiny-bert:tiny-qwen2"],
            LOSSES,
            ["logistic", "simplex"],
            [0, 1],
            ["none", "flip:0.25"],
            head_steps=300,
        ),
        ll,
    )
    finetune = run_sweep(
        tiny_sweep(data, "finetune", 32, ["tiny-gpt2:tiny-gpt-neox"], ["forward_ce", "forward_kl"]), fine
    )
    # a sweep whose runs failed must not pass for one that was checked
    assert last_layer["failures"] == 0, (ll / "failures.json").read_text()
    assert finetune["failures"] == 0, (fine / "failures.json").read_text()
    return [ll, fine]


@pytest.fixture(scope="session")
def results_dirs(request, tmp_path_factory) -> list[Path]:
    given = request.config.getoption("--results")
    if given:
        dirs = [Path(d) for d in given]
        missing = [str(d) for d in dirs if not (d / "sweep.json").is_file()]
        if missing:
            pytest.exit(f"--results: not a sweep's results folder: {', '.join(missing)}", returncode=4)
        return dirs
    return _tiny_sweeps(tmp_path_factory.mktemp("empirics"))


@pytest.fixture(scope="session", autouse=True)
def session_cache(request, tmp_path_factory):
    """Without --results, every feature and model the empirics checks compute goes to a cache of this session,
    for the whole session (the planted-truth check reads features after the sweeps), never the user's."""
    if request.config.getoption("--results"):
        yield None
        return
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("W2S_CACHE", str(tmp_path_factory.mktemp("empirics-cache")))
        yield Path(os.environ["W2S_CACHE"])


def test_the_session_never_writes_the_users_cache(session_cache, results_dirs):
    """Guards the isolation above: while the checks run, the cache is the session's own."""
    if session_cache is None:
        pytest.skip("--results given: the user's results and cache are read")
    assert Path(os.environ["W2S_CACHE"]) == session_cache
    assert list((session_cache / "features").glob("*.npz"))  # the sweeps' features really went there


@pytest.fixture(scope="session")
def audits(results_dirs) -> dict[Path, dict]:
    return {d: audit(d) for d in results_dirs}


def _mode(d: Path) -> str:
    return json.loads((d / "sweep.json").read_text())["experiment"]["setup"]["mode"]


def test_lemma1_holds_on_every_run(audits):
    """Lemma 1 / Theorem 1 (form: paper; constants reconstructed) on every real student run, both splits, both
    directions of d, gamma-floored models: |L(F*,F_sw) - L(F*,F_w)| <= C sqrt(d) for C_1 and C_2."""
    rows = [r for a in audits.values() for r in a["rows"]]
    assert rows
    for r in rows:
        for key, v in r["lemma1"].items():
            if isinstance(v, dict):
                assert v["lhs"] <= v["rhs"] + FP_INEQUALITY_SLACK, (r["run"], r["split"], key, v)


def test_theorem3_certified_forms_hold_for_simplex_students(audits):
    """Theorem 3 (reconstruction) with R the certified moment projection of the one-hot F* onto the student's
    simplex class, sharp and final forms plus the student's reverse-KL certificate: hold for every simplex
    student."""
    rows = [r for a in audits.values() for r in a["rows"] if "theorem3" in r]
    if not rows:
        pytest.skip("no simplex-head students in these results")
    for r in rows:
        t = r["theorem3"]
        assert t["R_certified"], r["run"]
        assert t["lhs"] <= t["sharp_rhs"] + CERTIFIED_SLACK, (r["run"], r["split"], t)
        assert t["lhs"] <= t["final_rhs"] + CERTIFIED_SLACK, (r["run"], r["split"], t)
    # Theorem 3's own setting: a reverse-KL simplex student on its training sample is the certified projection
    in_sample = [r["theorem3"] for r in rows if r["split"] == "train_w2s" and "__reverse_kl__" in r["run"]]
    if not in_sample:
        pytest.skip("no reverse-KL simplex students in these results")
    assert all(t["reverse_kl_gap"] <= REQUIRED_GAP_REL for t in in_sample), [
        t["reverse_kl_gap"] for t in in_sample
    ]
    assert all(t["student_is_reverse_kl_projection"] for t in in_sample)


def test_theorem2_planted_truth_on_real_representations(results_dirs):
    """Theorem 2 where its assumptions hold: F* planted in the strong model's simplex class on its real frozen
    features, a weak teacher imitating F* from the weak model's features; the certified reverse-KL simplex
    student satisfies KL(F*,F_sw) <= KL(F*,F_w) - KL(F_sw,F_w) in sample (slack >= -(g + 1e-12)), and on test
    the bootstrap 95 % interval of the slack reaches >= 0."""
    dirs = [d for d in results_dirs if _mode(d) == "last_layer"]
    if not dirs:
        pytest.skip("planted truth needs a last-layer sweep")
    for d in dirs:
        p = planted_truth(d)
        rk = p["students"]["reverse_kl"]
        assert rk["certified"], rk
        assert rk["train_w2s"]["slack"] >= -(rk["gap"] + CERTIFIED_SLACK), rk
        assert rk["test"]["slack_ci95"][1] >= 0, rk["test"]


def test_forward_kl_and_forward_ce_students_agree(results_dirs):
    """Definitions 1-2 (I1): forward KL = forward CE - H(F_w), so both students are the same: max |dp| <= 1e-6
    in last-layer mode (same convex optimum), <= 1e-3 in full fine-tuning with identical decisions outside
    |p - 1/2| < 1e-3."""
    compared = 0
    for d in results_dirs:
        runs = {r.name: r for r in load_runs(d)}
        for name in runs:
            if "__forward_kl__" not in name:
                continue
            twin = name.replace("__forward_kl__", "__forward_ce__")
            if twin not in runs:
                continue
            p_kl = np.array([r["prob"] for r in read_jsonl_rows(d / name / "predictions_test.jsonl")])
            p_ce = np.array([r["prob"] for r in read_jsonl_rows(d / twin / "predictions_test.jsonl")])
            if _mode(d) == "last_layer":
                assert np.max(np.abs(p_kl - p_ce)) <= LAST_LAYER_AGREEMENT, name
            else:
                assert np.max(np.abs(p_kl - p_ce)) <= FINETUNE_AGREEMENT, name
                clear = np.abs(p_ce - 0.5) >= FINETUNE_DECISION_BAND
                assert np.array_equal(p_kl[clear] > 0.5, p_ce[clear] > 0.5), name
            compared += 1
    assert compared > 0


@pytest.fixture(scope="session")
def claims(results_dirs):
    return {d: {c.key: c for c in evaluate_claims(d)} for d in results_dirs}


@pytest.mark.parametrize("key", [c.key for c in CLAIMS])
def test_paper_claim(claims, key):
    """Each empirical claim of the paper (docs/theory.md section 4), decided on these results: passes when
    reproduced, reported as xfail ("x", a finding, not a broken suite) when significantly contradicted
    (Holm-corrected paired bootstrap), skipped with its numbers when inconclusive. What must hold for any
    results is the statistics' consistency: the interval contains the estimate, the MDE is not negative."""
    results = [(d, c[key]) for d, c in claims.items()]
    for _, r in results:
        if r.delta is not None:
            assert r.ci95[0] <= r.delta <= r.ci95[1], r.numbers()
            assert r.mde >= 0, r.numbers()
    if all(r.verdict == "identity" for _, r in results):
        return  # holds by construction in every results folder (identical gradients): nothing to decide
    contradicted = [f"{d}: {r.numbers()}" for d, r in results if r.verdict == "contradicted"]
    if contradicted:
        pytest.xfail("FINDING, the claim is contradicted here: " + "; ".join(contradicted))
    if not any(r.verdict == "reproduced" for _, r in results):
        pytest.skip(
            "inconclusive at this scale: " + "; ".join(f"{d.name}: {r.numbers()}" for d, r in results)
        )


@pytest.fixture(scope="module")
def claim_fixtures(tmp_path_factory) -> Path:
    from tests.empirics.fixtures import write_claim_fixtures

    base = tmp_path_factory.mktemp("claims")
    write_claim_fixtures(base)
    return base


@pytest.mark.parametrize(
    ("fixture", "expected", "pairs"),
    [
        ("reproduced", "reproduced", 800),
        ("contradicted", "contradicted", 800),
        ("inconclusive", "inconclusive", 200),
        ("replicates", "inconclusive", 4000),
    ],
)
def test_claim_verdict_logic_on_built_fixtures(claim_fixtures, fixture, expected, pairs):
    """The verdict logic itself, on results built to give each verdict (reverse vs forward KL, 3 seeds): 75 %
    vs 65 % on 800 pairs must be reproduced, 62 % vs 72 % contradicted, 70 % vs 69 % on 200 pairs
    inconclusive; and reverse KL 73, 69, 74 % vs forward KL 70 % on 4,000 pairs inconclusive -- where the
    former pair-only interval (seeds as fixed strata) excludes 0, as checked here."""
    from empirics.readers.claims import Runs, claim_cells, claim_matrix
    from empirics.readers.inference import pair_only_interval

    folder = claim_fixtures / fixture
    result = {c.key: c for c in evaluate_claims(folder)}["reverse_kl_beats_forward_kl"]
    assert result.verdict == expected, result.numbers()
    assert (result.seeds, result.pairs) == (3, pairs)
    if fixture == "replicates":
        claim = next(c for c in CLAIMS if c.key == "reverse_kl_beats_forward_kl")
        runs = Runs(load_runs(folder))
        lo, _ = pair_only_interval(claim_matrix(claim, runs, claim_cells(claim, runs))["d"])
        assert lo > 0, "the pair-only interval should have called this reproduced"
        assert result.ci95[0] < 0 < result.ci95[1]
