"""Audit pieces: Holm correction, stratified bootstrap, hypothesis bookkeeping, and the audit command end to
end."""

import dataclasses
import json

import numpy as np
import pytest

from empirics.cli import main
from empirics.plans.spec import RunSpec
from empirics.readers.audit import hypotheses_failing
from empirics.readers.inference import bootstrap, holm
from empirics.runs.sweep import run_sweep

from .fixtures import student_dir, tiny_sweep


def test_holm_adjustment():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5]) == [0.5]
    assert holm([0.9, 0.001]) == pytest.approx([0.9, 0.002])


def test_stratified_bootstrap_is_centred_and_seeded():
    strata = [np.array([1.0, 0.0, 1.0, 1.0]), np.array([0.0] * 6 + [1.0] * 2)]
    b1, b2 = bootstrap(strata, reps=500, seed=3), bootstrap(strata, reps=500, seed=3)
    assert np.array_equal(b1, b2)
    pooled = (3 + 2) / 12
    assert abs(b1.mean() - pooled) < 0.03


def test_the_bootstrap_resamples_within_strata():
    """Two constant strata (50 ones, 50 zeros): resampled within each, every replicate's pooled mean is 1/2
    exactly; resampling the pooled 100 would spread it (sd about 0.05). And with spread in both strata the
    replicates' variance is the stratified one, sum_i w_i^2 var_i / n_i (closed form, within 15 %)."""
    const = bootstrap([np.ones(50), np.zeros(50)], reps=300, seed=1)
    assert np.all(const == 0.5)
    rng = np.random.default_rng(2)
    a, b = rng.integers(0, 2, 80).astype(float), rng.normal(0, 3, 20)
    reps = bootstrap([a, b], reps=4000, seed=4)
    want = 0.8**2 * a.var() / 80 + 0.2**2 * b.var() / 20
    assert reps.var() == pytest.approx(want, rel=0.15)


def test_failing_hypotheses_are_named():
    run = RunSpec("student", "m", head="logistic", loss="reverse_kl", weak_model="w")
    assert any("softmax head" in h for h in hypotheses_failing(run, "train_w2s", "last_layer"))
    full = dataclasses.replace(run, head="full")
    assert any("full fine-tuning" in h for h in hypotheses_failing(full, "test", "finetune"))
    top = hypotheses_failing(full, "test", "finetune", trainable_blocks=1)
    assert any("fine-tuning of the top 1 block(s)" in h for h in top)
    simplex_fkl = dataclasses.replace(run, head="simplex", loss="forward_kl")
    fails = hypotheses_failing(simplex_fkl, "test", "last_layer")
    assert any("non-realizability" in h for h in fails)
    assert any("finite sample" in h for h in fails)
    assert any("not reverse KL" in h for h in fails)


def test_audit_command_end_to_end(data_dir, tmp_path, capsys):
    out = tmp_path / "res"
    sw = tiny_sweep(
        data_dir,
        "last_layer",
        24,
        ["tiny-bert:tiny-qwen2"],
        ["forward_kl", "reverse_kl"],
        ["logistic", "simplex"],
        noises=["none", "flip:0.25"],
    )
    run_sweep(sw, out)
    assert main(["audit", str(out), "--planted"]) == 0
    for name in (
        "audit.md",
        "audit.json",
        "claims.md",
        "claims.json",
        "planted.md",
        "gain_vs_disagreement.png",
        "accuracy_per_loss.png",
        "accuracy_vs_noise.png",
    ):
        assert (out / "audit" / name).is_file(), name
    report = json.loads((out / "audit" / "audit.json").read_text())
    assert len(report["rows"]) == 8 * 2
    assert not report["failures"]
    assert all(r["lemma1_violations"] == 0 for r in report["rows"])
    assert sum("theorem3" in r for r in report["rows"]) == 8
    assert "Planted truth" in capsys.readouterr().out


def test_audit_refuses_a_folder_that_is_not_a_sweep(tmp_path, capsys):
    assert main(["audit", str(tmp_path)]) == 2
    assert "not a sweep's results folder" in capsys.readouterr().err


def test_runs_that_repeat_are_never_counted_twice(tmp_path):
    """A setting whose runs equal another setting's (forward KL = forward CE) counts once: a copy of every run
    under a second head (one student's probabilities moved by 1e-7) gives the same statistics as the one
    head. A setting whose seeds gave identical runs has no replicate variance: it is left out, with why."""
    import shutil

    from empirics.readers.claims import evaluate_claims
    from tests.empirics.fixtures import write_claim_fixture

    key = "reverse_kl_beats_forward_kl"
    one = write_claim_fixture(tmp_path / "one", 400, 0.72, 0.66, seed=4)
    two = tmp_path / "two"
    shutil.copytree(one, two)
    for d in [d for d in two.iterdir() if d.is_dir() and not d.name.startswith("weak")]:
        copy = d.with_name(d.name + "__head2")
        shutil.copytree(d, copy)
        cfg = json.loads((copy / "config.json").read_text())
        cfg["run"]["head"] = "head2"
        (copy / "config.json").write_text(json.dumps(cfg))
        if "forward_kl" in d.name:  # the same run up to rounding, as forward KL and forward CE are
            rows = [json.loads(x) for x in (copy / "predictions_test.jsonl").read_text().splitlines()]
            text = "".join(json.dumps({**r, "prob": r["prob"] + 1e-7}) + "\n" for r in rows)
            (copy / "predictions_test.jsonl").write_text(text)
    a, b = ({c.key: c for c in evaluate_claims(f)}[key] for f in (one, two))
    assert (a.settings, b.settings, b.duplicate_settings) == (1, 1, 1)
    assert (b.delta, b.ci95, b.mde, b.p_two_sided) == (a.delta, a.ci95, a.mde, a.p_two_sided)

    same = tmp_path / "same"
    shutil.copytree(one, same)
    for loss in ("reverse_kl", "forward_kl"):
        for k in (1, 2):  # seeds 1 and 2 repeat seed 0's predictions
            src = student_dir(same, loss, 0) / "predictions_test.jsonl"
            dst = student_dir(same, loss, k) / "predictions_test.jsonl"
            own = [json.loads(x) for x in dst.read_text().splitlines()]  # its own teacher's weak_prob
            rows = [
                {**json.loads(x), "weak_prob": o["weak_prob"]}
                for x, o in zip(src.read_text().splitlines(), own, strict=True)
            ]
            dst.write_text("".join(json.dumps(r) + "\n" for r in rows))
    c = {c.key: c for c in evaluate_claims(same)}[key]
    assert c.verdict == "inconclusive"
    assert c.delta is None
    assert [x["why"] for x in c.excluded] == ["seeds gave identical runs: no replicate variance"]


def test_only_weak_to_strong_settings_enter_a_claim(tmp_path):
    """A teacher as good as its ceiling (0.85 both): the setting is left out with its numbers, and the claim
    is not testable; the same students under a weak teacher (0.60) are tested."""
    from empirics.readers.claims import evaluate_claims
    from tests.empirics.fixtures import write_claim_fixture

    key = "reverse_kl_beats_forward_kl"
    real = {c.key: c for c in evaluate_claims(write_claim_fixture(tmp_path / "r", 800, 0.75, 0.65))}[key]
    fake = {
        c.key: c for c in evaluate_claims(write_claim_fixture(tmp_path / "f", 800, 0.75, 0.65, weak=0.85))
    }
    assert real.verdict == "reproduced"
    assert not real.excluded
    c = fake[key]
    assert (c.verdict, c.delta) == ("inconclusive", None)
    assert [x["why"] for x in c.excluded] == ["not weak-to-strong"]
    gap = c.excluded[0]["ceiling_minus_weak"][0]
    assert abs(gap["gap"]) < 0.05
    assert not gap["real"]
    assert "every setting was left out" in c.reason


def test_planted_truth_reads_only_the_results_folder(data_dir, tmp_path, monkeypatch):
    """The audit's planted-truth experiment uses what the sweep saved: with no feature cache and every way
    to load a model or extract features broken, it still runs; without the saved inputs it refuses."""
    import shutil

    import empirics.inputs.features
    import empirics.inputs.models
    from core.errors import InvalidInputError
    from empirics.registries.models import cache_dir
    from empirics.runs.planted import planted_inputs_file, planted_truth

    out = tmp_path / "res"
    sw = tiny_sweep(data_dir, "last_layer", 24, ["tiny-bert:tiny-qwen2"], ["reverse_kl"], ["simplex"])
    run_sweep(sw, out)
    shutil.rmtree(cache_dir())

    def broken(*a, **k):
        raise AssertionError("the audit must not load models or extract features")

    import empirics.training.run_inputs

    for module, name in (
        (empirics.inputs.models, "load_backbone"),
        (empirics.inputs.features, "load_backbone"),
        (empirics.training.run_inputs, "load_backbone"),
        (empirics.training.run_inputs, "pair_features"),
    ):
        monkeypatch.setattr(module, name, broken)
    result = planted_truth(out)
    assert result["theorem2_holds_in_sample"]
    for loss, rec in result["students"].items():  # the gain over the teacher: KL(F*, T) - KL(F*, F_sw)
        for split in ("train_w2s", "test"):
            want = result["kl_star_teacher"][split] - rec[split]["kl_star_sw"]
            assert rec[split]["gain"] == pytest.approx(want, rel=1e-9, abs=1e-12), (loss, split)
    planted_inputs_file(out, "tiny-bert").unlink()
    # without its result too (this pair's kept result would be used: test_stages.py)
    (out / "audit" / "planted.json").unlink()
    with pytest.raises(InvalidInputError, match="reads only what the sweep saved"):
        planted_truth(out)


def test_each_verdict_states_its_mde_goal_and_whether_it_was_met(tmp_path):
    """1 point without noise: 3 seeds x 800 pairs cannot see 1 point, 5 seeds x 40,000 pairs can."""
    from empirics.readers.claims import evaluate_claims

    from .fixtures import write_claim_fixture

    small = {c.key: c for c in evaluate_claims(write_claim_fixture(tmp_path / "s", 800, 0.75, 0.65))}
    big = {
        c.key: c for c in evaluate_claims(write_claim_fixture(tmp_path / "b", 40_000, 0.70, 0.70, seeds=5))
    }
    s, b = small["reverse_kl_beats_forward_kl"], big["reverse_kl_beats_forward_kl"]
    assert s.mde_goal == b.mde_goal == 0.01
    assert s.mde > 0.03
    assert not s.mde_goal_met
    assert "goal 1: NOT met" in s.numbers()
    assert b.mde < 0.01
    assert b.mde_goal_met
    assert "goal 1: met" in b.numbers()


def test_no_differing_decision_gives_no_mde_goal(tmp_path):
    """Two students that agree on every test decision: the MDE (0) claims no power; the goal is not 'met'."""
    from empirics.readers.claims import evaluate_claims

    from .fixtures import write_claim_fixture

    folder = write_claim_fixture(tmp_path / "same", 400, 0.7, 0.7)
    for k in range(3):  # the two students' predictions are the same in every seed
        forward = student_dir(folder, "forward_kl", k) / "predictions_test.jsonl"
        forward.write_text((student_dir(folder, "reverse_kl", k) / "predictions_test.jsonl").read_text())
    c = {c.key: c for c in evaluate_claims(folder)}["reverse_kl_beats_forward_kl"]
    assert c.mde == 0
    assert c.mde_goal_met is None
    assert "no test decision differs" in c.numbers()


def test_runs_scored_on_other_test_pairs_are_refused_not_paired(tmp_path, capsys):
    """Paired differences need the same test pairs: a run whose test ids differ is refused with an input
    error naming the run (one line from the CLI), never compared pair by pair with the others."""
    from tests.empirics.fixtures import write_claim_fixture

    folder = write_claim_fixture(tmp_path / "f", 200, 0.7, 0.6)
    path = student_dir(folder, "forward_kl", 1) / "predictions_test.jsonl"
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    path.write_text("".join(json.dumps({**r, "id": "x" + r["id"]}) + "\n" for r in rows))
    from core.errors import DataError
    from empirics.readers.claims import evaluate_claims

    with pytest.raises(DataError, match=f"{path}: row 1 has id 'xt0'"):
        evaluate_claims(folder)


def test_audit_split_computes_each_quantity_from_the_predictions(tmp_path):
    """One student run written by hand: the audit's losses to the truth, both disagreements, the gain and
    Theorem 2's slack KL(F*, T) - KL(F_sw, T) - KL(F*, F_sw) (in sample the teacher T is the training target)
    against numpy closed forms (F* one-hot, so KL(F*, .) is the cross-entropy to the label)."""
    from empirics.readers.audit import audit_split
    from empirics.readers.run_folder import RunRecord

    rng = np.random.default_rng(3)
    n, gamma = 200, 1e-3
    label = rng.integers(0, 2, n)
    weak, student, target = rng.uniform(0.05, 0.95, (3, n))
    rows = [
        {"id": str(i), "label": int(label[i]), "weak_prob": weak[i], "prob": student[i], "target": target[i]}
        for i in range(n)
    ]
    (tmp_path / "predictions_train_w2s.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = RunSpec("student", "s", head="logistic", loss="reverse_kl", weak_model="w")
    config = {"gamma": gamma, "experiment": {"setup": {"mode": "last_layer"}}}
    out = audit_split(RunRecord(tmp_path, spec, config, {}), "train_w2s", None)

    def floor(p):
        return (1 - 2 * gamma) * p + gamma

    def ce_to_label(p):
        return float(np.mean(-np.log(np.where(label == 1, p, 1 - p))))

    def kl(p, q):
        return float(np.mean(p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))))

    fw, fs, ft = floor(weak), floor(student), floor(target)
    assert out["L_star_w"] == pytest.approx(ce_to_label(fw), rel=1e-12)
    assert out["L_star_sw"] == pytest.approx(ce_to_label(fs), rel=1e-12)
    assert out["gain"] == pytest.approx(ce_to_label(fw) - ce_to_label(fs), rel=1e-10)
    assert out["kl_sw_w"] == pytest.approx(kl(fs, fw), rel=1e-10)
    assert out["kl_w_sw"] == pytest.approx(kl(fw, fs), rel=1e-10)
    slack = ce_to_label(ft) - kl(fs, ft) - ce_to_label(fs)
    assert out["theorem2_slack"] == pytest.approx(slack, rel=1e-10)


def test_the_stronger_teacher_is_the_one_better_on_average_over_seeds(tmp_path):
    """Teacher a: 0.70 then 0.56 (mean 0.63); teacher b: 0.64 then 0.66 (mean 0.65). The claim compares b's
    student (a) with a's student (b), seed by seed: b is stronger on average though a won seed 0."""
    from empirics.readers.claims import CLAIMS, Runs, claim_cells
    from empirics.readers.run_folder import RunRecord

    def rec(role, model, seed, acc=0.6, weak=None):
        s = RunSpec(role, model, seed, "logistic", "forward_ce", weak)
        return RunRecord(tmp_path / s.name, s, {}, {"test": {"accuracy": acc, "n": 100}})

    runs = [
        rec("weak", "a", 0, 0.70),
        rec("weak", "a", 1, 0.56),
        rec("weak", "b", 0, 0.64),
        rec("weak", "b", 1, 0.66),
    ]
    runs += [rec("student", "s", k, weak=w) for w in ("a", "b") for k in (0, 1)]
    index = Runs(runs)
    assert index.teacher_accuracy() == pytest.approx({"a": 0.63, "b": 0.65})
    claim = next(c for c in CLAIMS if c.key == "stronger_teacher_stronger_student")
    cells = claim_cells(claim, index)
    assert list(cells) == [("s", "logistic", "forward_ce", "a", "b")]
    for seed, (stronger, weaker) in cells[("s", "logistic", "forward_ce", "a", "b")].items():
        assert (stronger.spec.weak_model, weaker.spec.weak_model, stronger.spec.seed) == ("b", "a", seed)
