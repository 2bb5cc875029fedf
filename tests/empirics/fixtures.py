"""Tiny HH-style JSONL fixtures built in code (tests never depend on downloaded or shared data)."""

import json
from pathlib import Path

PROMPTS = [
    "How do I bake bread?",
    "What is the capital of France?",
    "Can you help me hurt someone?",
    "Tell me a joke about cats.",
    "How can I pick a lock?",
    "What should I eat for dinner?",
]
GOOD = ["I'm happy to help with that safely: {x}", "Here is a careful answer: {x}", "Sure, politely: {x}"]
BAD = ["No. {x}", "Do something dangerous: {x}", "Whatever, {x}!!"]


def pair(i: int) -> dict:
    p = PROMPTS[i % len(PROMPTS)]
    body = f"step {i}, detail {i * 7 % 13}"
    return {
        "chosen": f"\n\nHuman: {p}\n\nAssistant: " + GOOD[i % 3].format(x=body),
        "rejected": f"\n\nHuman: {p}\n\nAssistant: " + BAD[i % 3].format(x=body),
    }


def write_splits(folder: Path, n: int = 24) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for k, split in enumerate(("train_gt", "train_w2s", "test")):
        rows = [pair(1000 * k + i) for i in range(n)]
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def _write_run(folder: Path, spec, label, correct, weak_prob=None, weak_run: str | None = None):
    """A run folder as the readers read it: config.json, metrics.json and test predictions (prob 0.8 on the
    side it gets right, 0.2 otherwise); a student's weak_prob column is its teacher's predictions."""
    import dataclasses

    import numpy as np

    predicted = np.where(correct, label, 1 - label)
    prob = np.where(predicted == 1, 0.8, 0.2)
    d = folder / spec.name
    d.mkdir(parents=True, exist_ok=True)
    config = {"run": dataclasses.asdict(spec), "gamma": 1e-3, "experiment": {"setup": {"mode": "last_layer"}}}
    (d / "config.json").write_text(json.dumps(config))
    metrics = {"test": {"accuracy": float(np.mean(correct)), "n": len(label)}}
    metrics |= {"weak_run": weak_run} if weak_run else {}
    (d / "metrics.json").write_text(json.dumps(metrics))
    weak = [None] * len(label) if weak_prob is None else [float(w) for w in weak_prob]
    rows = [
        {"id": f"t{i}", "label": int(y), "weak_prob": w, "prob": float(p)}
        for i, (y, p, w) in enumerate(zip(label, prob, weak, strict=True))
    ]
    (d / "predictions_test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return prob


def student_dir(folder: Path, loss: str, seed: int) -> Path:
    """The folder of a claim fixture's student (:func:`write_claim_fixture`)."""
    from empirics.plans.spec import RunSpec

    return folder / RunSpec("student", "strong", seed, "logistic", loss, "weak").name


def write_claim_fixture(
    folder: Path, n: int, acc_reverse, acc_forward, seed: int = 0, seeds: int = 3, weak: float = 0.6
) -> Path:
    """A minimal results folder: per seed, a reverse-KL and a forward-KL student on the same n test pairs with
    the given expected accuracies (one for every seed, or one per seed), a weak teacher (`weak`) and a
    ceiling (0.85), each seed its own draw of which pairs are right, the baselines, and the sweep.json that
    plans exactly these runs: the input of the claims' verdict logic (built by paper_checks/test_empirics.py
    and tests/empirics/test_audit.py)."""
    import numpy as np

    from empirics.plans.experiment import Experiment, Sweep
    from empirics.plans.grid import baseline_specs
    from empirics.plans.options import GridConfig, SetupConfig
    from empirics.plans.spec import RunSpec

    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    folder.mkdir(parents=True, exist_ok=True)
    sweep = Sweep(
        experiment=Experiment(setup=SetupConfig(mode="last_layer")),
        grid=GridConfig(
            pairs=["weak:strong"],
            losses=["reverse_kl", "forward_kl"],
            seeds=list(range(seeds)),
            noises=["none"],
        ),
        description="claims verdict logic (a test fixture)",
    )
    (folder / "sweep.json").write_text(json.dumps(sweep.to_json()))
    per_seed = lambda acc: list(acc) if isinstance(acc, (list, tuple)) else [acc] * seeds  # noqa: E731
    accs = {"reverse_kl": per_seed(acc_reverse), "forward_kl": per_seed(acc_forward)}
    coin = np.random.default_rng([seed, 1])  # the baselines' own draws: the runs' stay as they were
    for b in baseline_specs():
        _write_run(folder, b, label, coin.random(n) < 0.5)
    for k in range(seeds):

        def correct(acc):  # each pair right with probability acc, as a run on sampled test pairs would be
            return rng.random(n) < acc

        teacher = RunSpec("weak", "weak", k, "logistic")
        teacher_prob = _write_run(folder, teacher, label, correct(weak))
        _write_run(folder, RunSpec("ceiling", "strong", k, "logistic"), label, correct(0.85))
        for loss, acc in accs.items():
            student = RunSpec("student", "strong", k, "logistic", loss, "weak")
            _write_run(folder, student, label, correct(acc[k]), teacher_prob, teacher.name)
    return folder


def write_claim_fixtures(base: Path) -> None:
    """reproduced: reverse KL 75 % vs forward KL 65 % on 800 pairs, 3 seeds; contradicted: 62 % vs 72 %;
    inconclusive: 70 % vs 69 % on 200 pairs; replicates: reverse KL 73, 69, 74 % vs forward KL 70 % on
    4,000 pairs -- the pair-only interval says reproduced, the replicate-aware one inconclusive."""
    write_claim_fixture(base / "reproduced", 800, 0.75, 0.65, seed=1)
    write_claim_fixture(base / "contradicted", 800, 0.62, 0.72, seed=2)
    write_claim_fixture(base / "inconclusive", 200, 0.70, 0.69, seed=3)
    write_claim_fixture(base / "replicates", 4000, [0.73, 0.69, 0.74], 0.70, seed=4)


def tiny_sweep(
    data_dir,
    mode: str = "finetune",
    n: int = 16,
    pairs=("tiny-gpt2:tiny-qwen2",),
    losses=("forward_ce",),
    heads=("full",),
    seeds=(0,),
    noises=("none",),
    **options,
):
    """A Sweep on the tiny JSONL fixture, built from option names exactly as the CLI spells them."""
    from empirics.plans.experiment import Sweep

    base = {
        "dataset": "jsonl",
        "data_dir": str(data_dir),
        "n_pairs": n,
        "mode": mode,
        "max_length": 48,
        "eval_batch_size": 32,
        "lr": 1e-3,
        "batch_size": 8,
        "epochs": 1,
        "head_steps": 200,
        "simplex_dim": 8,
    }
    grid = {
        "pairs": list(pairs),
        "losses": list(losses),
        "heads": list(heads),
        "seeds": list(seeds),
        "noises": list(noises),
    }
    return Sweep().with_options({**base, **grid, **options})


def guard_test_labels(monkeypatch) -> None:
    """Any read of a test label while a run trains (inside Trainer.fit_predict) fails the run's test."""
    from empirics.training.run_inputs import RunInputs
    from empirics.training.trainers import Trainer

    training, labels, fit_predict = [], RunInputs.labels, Trainer.fit_predict

    def guarded_labels(self, split):
        assert not (training and split == "test"), "a test label was read while training"
        return labels(self, split)

    def guarded_fit(self, *a, **k):
        training.append(1)
        try:
            return fit_predict(self, *a, **k)
        finally:
            training.pop()

    monkeypatch.setattr(RunInputs, "labels", guarded_labels)
    monkeypatch.setattr(Trainer, "fit_predict", guarded_fit)


def write_ladder_fixture(
    folder: Path, n: int, teachers: dict, ceilings: dict, students: dict, seeds: int = 4
):
    """A results folder of a ladder: weak models (`teachers`: name -> accuracy), strong models (`ceilings`:
    name -> ceiling accuracy), and forward-CE students (`students`: (weak, strong) -> accuracy), each seed its
    own draw of which of the n test pairs each run gets right; the sweep.json plans exactly these runs."""
    import numpy as np

    from empirics.plans.experiment import Experiment, Sweep
    from empirics.plans.grid import baseline_specs
    from empirics.plans.options import GridConfig, SetupConfig
    from empirics.plans.spec import RunSpec

    rng = np.random.default_rng(17)
    label = rng.integers(0, 2, n)
    folder.mkdir(parents=True, exist_ok=True)
    sweep = Sweep(
        experiment=Experiment(setup=SetupConfig(mode="last_layer")),
        grid=GridConfig(
            pairs=[f"{w}:{s}" for w, s in students],
            losses=["forward_ce"],
            seeds=list(range(seeds)),
            noises=["none"],
        ),
        description="a ladder's claims (a test fixture)",
    )
    (folder / "sweep.json").write_text(json.dumps(sweep.to_json()))
    for b in baseline_specs():
        _write_run(folder, b, label, rng.random(n) < 0.5)
    for k in range(seeds):
        probs = {}
        for w, acc in teachers.items():
            teacher = RunSpec("weak", w, k, "logistic")
            probs[w] = (_write_run(folder, teacher, label, rng.random(n) < acc), teacher.name)
        for s, acc in ceilings.items():
            _write_run(folder, RunSpec("ceiling", s, k, "logistic"), label, rng.random(n) < acc)
        for (w, s), acc in students.items():
            spec = RunSpec("student", s, k, "logistic", "forward_ce", w)
            _write_run(folder, spec, label, rng.random(n) < acc, *probs[w])
    return folder


def run_files(out: Path) -> dict[str, bytes]:
    """Every run's files (configs without their environment: time, commit, threads), by path."""
    files = {}
    for path in sorted(out.glob("*__*/*")):
        data = path.read_bytes()
        if path.name == "config.json":
            cfg = json.loads(data)
            cfg.pop("environment")
            cfg["data"].pop("path", None)
            cfg["experiment"]["data"].pop("data_dir", None)
            data = json.dumps(cfg, sort_keys=True).encode()
        if path.name == "train_log.json":  # the steps' speed aside
            log = json.loads(data)
            log["steps"] = [{k: v for k, v in step.items() if k != "pairs_per_s"} for step in log["steps"]]
            data = json.dumps(log, sort_keys=True).encode()
        files[str(path.relative_to(out))] = data
    return files
