"""Configuration from one place: every dataclass field is a CLI option, overrides reach every stage, presets
and sweep.json round-trip, and bad options are one-line errors."""

import dataclasses
import json
import subprocess
import sys

import pytest

from core.errors import ConfigError
from empirics import cli
from empirics.plans.experiment import Sweep
from empirics.plans.options import SECTIONS
from empirics.plans.presets import PRESETS
from empirics.runs.pipeline import Pipeline

# a value different from every preset's, for each option: the test fails when a field has no entry here
OTHER_VALUES = {
    "dataset": ("jsonl", "jsonl"),
    "data_dir": ("/tmp/d", "/tmp/d"),
    "n_pairs": ("7", 7),
    "train_gt_pairs": ("9", 9),
    "train_w2s_pairs": ("10", 10),
    "data_seed": ("3", 3),
    "allow_split_overlap": ("true", True),
    "heldout_frac": ("0.3", 0.3),
    "mode": ("finetune", "finetune"),
    "max_length": ("37", 37),
    "eval_batch_size": ("6", 6),
    "extraction": ("shared-prefix", "shared-prefix"),
    "gamma": ("0.02", 0.02),
    "confidence_alpha_max": ("0.3", 0.3),
    "confidence_warmup_frac": ("0.4", 0.4),
    "confidence_schedule": ("burns", "burns"),
    "head_steps": ("11", 11),
    "head_lr": ("0.3", 0.3),
    "head_l2": ("0.7", [0.7]),
    "simplex_dim": ("5", 5),
    "lr": ("0.002", 0.002),
    "batch_size": ("3", 3),
    "epochs": ("2.5", 2.5),
    "bf16": ("on", "on"),
    "gradient_checkpointing": ("off", "off"),
    "group_pairs": ("9", 9),
    "trainable_blocks": ("1", 1),
    "checkpoints_per_epoch": ("3", 3),
    "teacher_head": ("logistic", "logistic"),
    "warmup": ("0.25", 0.25),
    "max_grad_norm": ("1.5", 1.5),
    "grad_accumulation": ("2", 2),
    "pairs": ("tiny-bert:tiny-gpt2", ["tiny-bert:tiny-gpt2"]),
    "losses": ("reverse_kl", ["reverse_kl"]),
    "heads": ("simplex", ["simplex"]),
    "seeds": ("4", [4]),
    "noises": ("flip:0.35", ["flip:0.35"]),
    "noise_losses": ("forward_kl", ["forward_kl"]),
}


def _parse(*argv) -> Sweep:
    return cli.sweep_of(cli.build_parser().parse_args(["sweep", *argv]))


def test_every_field_of_every_section_is_an_option():
    assert sorted(cli.option_names()) == sorted(OTHER_VALUES)


@pytest.mark.parametrize("name", sorted(OTHER_VALUES))
@pytest.mark.parametrize("preset", ["cpu-demo", "tiny"])
def test_each_option_overrides_its_field_and_nothing_else(name, preset):
    text, value = OTHER_VALUES[name]
    base = PRESETS[preset]
    sw = _parse("--preset", preset, f"--{name.replace('_', '-')}", text)
    for cls in SECTIONS:
        before, after = base.section(cls), sw.section(cls)
        for f in dataclasses.fields(cls):
            expected = value if f.name == name else getattr(before, f.name)
            assert getattr(after, f.name) == expected, (name, f.name)


def test_an_unset_option_keeps_the_preset_value():
    assert _parse("--preset", "tiny") == PRESETS["tiny"]
    assert _parse("--preset", "cpu-demo", "--gamma", "0.01").experiment.data.n_pairs == 800


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--no-such-option", "1"], "unrecognized arguments: --no-such-option"),
        (["--max-length", "abc"], "argument --max-length: invalid int value: 'abc'"),
        (["--mode", "zero_shot"], "invalid choice: 'zero_shot'"),
        (["--lr", "-1"], "--lr must be a positive finite number, got -1.0"),
        (["--lr", "inf"], "--lr must be a finite number, got inf"),
        (["--gamma", "0.7"], "gamma = 0.7 is outside (0, 1/2)"),
        (["--losses", "hinge"], "unknown loss 'hinge'"),
        (["--losses", "forward_ce", "--noise-losses", "reverse_kl"], "--noise-losses names 'reverse_kl'"),
        (["--pairs", "gpt2"], "bad --pairs 'gpt2'"),
        (["--confidence-schedule", "cubic"], "invalid choice: 'cubic'"),
        (["--from-sweep", "/no/such/sweep.json"], "--from-sweep and --preset both given"),
    ],
)
def test_bad_options_are_one_line_errors(argv, message, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "empirics.cli", "sweep", "--preset", "tiny", *argv, "--dry-run"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    assert message in lines[0], out.stderr


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_round_trip_through_json(name):
    sw = PRESETS[name]
    assert Sweep.from_json(json.loads(json.dumps(sw.to_json()))) == sw


def test_sweep_json_is_read_back_and_malformed_json_is_refused(tmp_path):
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps(PRESETS["cpu-demo"].to_json()))
    assert Sweep.from_json(path) == PRESETS["cpu-demo"]
    assert _parse("--from-sweep", str(path), "--seeds", "5").grid.seeds == [5]
    path.write_text('{"experiment": {"setup": {"max_length": 0}}}')
    with pytest.raises(ConfigError, match=r"--max-length must lie in \[8, 131072\], got 0"):
        Sweep.from_json(path)
    path.write_text('{"experiment": {"nonsense": 1}}')
    with pytest.raises(ConfigError, match="unknown field"):
        Sweep.from_json(path)
    path.write_text("{")
    with pytest.raises(ConfigError, match="malformed JSON"):
        Sweep.from_json(path)


def _complete(**change):
    record = PRESETS["tiny"].to_json()
    for path, value in change.items():
        *parents, leaf = path.split("__")
        target = record
        for part in parents:
            target = target[part]
        if value is None:
            del target[leaf]
        else:
            target[leaf] = value
    return record


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{}", "missing field(s) experiment, grid, description, notes"),
        (json.dumps(_complete(experiment__setup=None)), "missing field(s) experiment.setup"),
        (
            json.dumps(_complete(experiment__finetune__warmup=None)),
            "missing field(s) experiment.finetune.warmup",
        ),
        (json.dumps(_complete(grid__seeds="0")), "--seeds takes a list of int values"),
        (json.dumps(_complete(experiment__setup__bogus=1)), "unknown field(s) bogus"),
        ("[]", "expected an object, got list"),
        ("null", "expected an object, got NoneType"),
        ('{"experiment": "x"}', "missing field(s) grid"),
        ("[" * 200_000 + "]" * 200_000, "nested too deeply"),
        ('{"grid": {"seeds": [' + "9" * 5000 + "]}}", "unreadable JSON"),
        (b"\xff\xfe not text", "not UTF-8 text"),
        ("FOLDER", "cannot read"),
        ("MISSING", "no such file"),
    ],
)
def test_from_sweep_takes_a_complete_sweep_of_this_version_only(content, message, tmp_path):
    path = tmp_path / "sweep.json"
    if content == "FOLDER":
        path.mkdir()
    elif content == "MISSING":
        pass
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    out = subprocess.run(
        [sys.executable, "-m", "empirics.cli", "sweep", "--from-sweep", str(path), "--dry-run"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    assert message in lines[0], lines


def test_from_sweep_and_preset_together_are_refused_and_a_complete_sweep_runs(tmp_path):
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps(PRESETS["tiny"].to_json()))
    assert _parse("--from-sweep", str(path)) == PRESETS["tiny"]
    with pytest.raises(ConfigError, match="--from-sweep and --preset both given"):
        _parse("--from-sweep", str(path), "--preset", "tiny")
    assert _parse() == PRESETS["cpu-demo"]  # no preset, no saved sweep: the default preset


def test_confidence_schedule_reaches_the_loss(tmp_path):
    sw = _parse(
        "--preset",
        "tiny",
        "--confidence-schedule",
        "burns",
        "--confidence-alpha-max",
        "0.4",
        "--confidence-warmup-frac",
        "0.5",
    )
    loss = Pipeline(sw.experiment, tmp_path).trainer.loss("confidence")
    assert (loss.schedule, loss.alpha_max, loss.warmup_frac) == ("burns", 0.4, 0.5)
    assert loss.alpha(0.25) == pytest.approx(0.4 * 0.25)
    assert loss.alpha(0.6) == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("mode", "pair"), [("finetune", "tiny-gpt2:tiny-qwen2"), ("last_layer", "tiny-bert:tiny-qwen2")]
)
def test_max_length_override_reaches_every_stage(mode, pair, data_dir, tmp_path, monkeypatch):
    """--max-length must reach feature extraction, fine-tuning and prediction alike (it once stopped at the
    experiment record while fine-tuning and prediction used their own 512)."""
    import empirics.inputs.features as features
    import empirics.training.finetune as finetune

    seen = []

    def spy(module, name):
        original = getattr(module, name)

        def wrapped(*args, **kw):
            seen.append((name, args[{"embed_texts": 4, "tokenize_pairs": 3, "batch_pair_logits": 4}[name]]))
            return original(*args, **kw)

        monkeypatch.setattr(module, name, wrapped)

    spy(features, "embed_texts")
    spy(finetune, "tokenize_pairs")
    spy(finetune, "batch_pair_logits")
    assert (
        cli.main(
            [
                "sweep",
                "--preset",
                "tiny",
                "--data-dir",
                str(data_dir),
                "--mode",
                mode,
                "--pairs",
                pair,
                "--heads",
                "logistic" if mode == "last_layer" else "full",
                "--losses",
                "forward_ce",
                "--noises",
                "none",
                "--n-pairs",
                "8",
                "--max-length",
                "19",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 0
    )
    stages = {name for name, _ in seen}
    assert stages == ({"embed_texts"} if mode == "last_layer" else {"tokenize_pairs", "batch_pair_logits"})
    assert {value for _, value in seen} == {19}
    cfg = json.loads(next((tmp_path / "o").glob("ceiling__*/config.json")).read_text())
    assert cfg["experiment"]["setup"]["max_length"] == 19


@pytest.mark.parametrize(("task", "sizes"), [("harmless", (50, 400)), ("helpful", (12, 100))])
def test_the_ladder_preset_is_the_committed_plan(task, sizes):
    """The ladder's design as docs/findings.md fixes it before its runs: three pairs whose student is the
    larger decoder, teachers weak by their sample (harmless: SmolLM2 on 50, Gemma on 400 train_gt pairs;
    helpful, under the plan's amendment: 12 and 100), every loss on the logistic head, forward and reverse KL
    under 20 % flips, 33 seeds, fp32, each pair's shared prompt run once."""
    from empirics.plans.grid import planned_runs
    from empirics.registries.models import MODELS, trained_on

    sw = PRESETS[f"ladder-{task}"]
    e, g = sw.experiment, sw.grid
    assert (e.data.dataset, e.mode, e.setup.bf16, e.setup.max_length, e.setup.extraction) == (
        f"hh-rlhf-{task}",
        "last_layer",
        "off",
        256,
        "shared-prefix",
    )
    assert g.pairs == [
        f"smollm2-135m-instruct-q4@{sizes[0]}:gemma-3-270m",
        f"smollm2-135m-instruct-q4@{sizes[0]}:qwen2.5-coder-0.5b-instruct-q4",
        f"gemma-3-270m@{sizes[1]}:qwen2.5-coder-0.5b-instruct-q4",
    ]
    size = {"smollm2-135m-instruct-q4": 135, "gemma-3-270m": 268, "qwen2.5-coder-0.5b-instruct-q4": 494}
    for pair in g.pairs:
        weak, strong = pair.split(":")
        assert size[trained_on(weak)[0]] < size[strong]
        assert MODELS[strong].source == MODELS[trained_on(weak)[0]].source == "package"
    assert (g.heads, g.seeds, g.noises, g.noise_losses) == (
        ["logistic"],
        list(range(33)),
        ["none", "flip:0.2"],
        ["forward_kl", "reverse_kl"],
    )
    assert len(planned_runs(sw)) == 3 + 33 * (2 + 2 + 3 * 7 + 3 * 2)
