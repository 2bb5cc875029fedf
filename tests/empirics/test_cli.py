"""The w2s-empirics command line: help, listings, one-line errors, a dry run."""

import subprocess
import sys
from pathlib import Path

import pytest

from empirics.cli import build_parser, main


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "empirics.cli", *args], capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    "args",
    [["--help"], ["sweep", "--help"], ["summarize", "--help"], ["list", "--help"], ["prepare", "--help"]],
)
def test_help(args):
    out = _run(*args)
    assert out.returncode == 0
    assert "usage" in out.stdout


@pytest.mark.parametrize(
    ("what", "expect"),
    [
        ("models", "gemma-3-270m"),
        ("datasets", "cai-harmless"),
        ("losses", "reverse_confidence_target"),
        ("presets", "paper-qwen"),
    ],
)
def test_listings(what, expect, capsys):
    assert main(["list", what]) == 0
    assert expect in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sweep", "--preset", "gpu-giant"], "unknown preset"),
        (["sweep", "--preset", "tiny", "--pair", "tiny-gpt2"], "bad --pair"),
        (["sweep", "--preset", "tiny", "--noise", "flip:7"], "flip fraction"),
        (["sweep", "--preset", "tiny", "--data-dir", "/no/such/folder"], "data directory not found"),
        (["summarize", "/no/such/results"], "results folder not found"),
        (["prepare", "gpt2"], "nothing to prepare"),
    ],
)
def test_bad_input_one_line_error(args, message, tmp_path):
    out = _run(*args, *(["--out", str(tmp_path / "o")] if args[0] == "sweep" else []))
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    assert message in out.stderr
    assert len([line for line in out.stderr.splitlines() if line.startswith("w2s-empirics: error")]) == 1


def test_unknown_model_in_a_sweep_is_a_one_line_error(data_dir, tmp_path):
    out = _run(
        "sweep",
        "--preset",
        "tiny",
        "--pair",
        "tiny-gpt2:gpt-17",
        "--data-dir",
        str(data_dir),
        "--out",
        str(tmp_path / "o"),
    )
    assert out.returncode == 2
    assert "unknown model 'gpt-17'" in out.stderr
    assert "Traceback" not in out.stderr


def test_dry_run_lists_runs(capsys, tmp_path):
    assert main(["sweep", "--preset", "cpu-demo", "--dry-run", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "weak__all-MiniLM-L6-v2__logistic__s0" in text
    assert "runs" in text


def test_the_data_note_is_printed_only_when_no_data_folder_is_given(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("W2S_DATA_DIR", raising=False)
    assert main(["sweep", "--preset", "cpu-demo", "--dry-run", "--out", str(tmp_path)]) == 0
    assert "needs --data-dir" in capsys.readouterr().err
    assert main(["sweep", "--preset", "cpu-demo", "--dry-run", "--data-dir", str(tmp_path)]) == 0
    assert "needs --data-dir" not in capsys.readouterr().err


def test_run_folders_stay_inside_the_results_folder(tmp_path):
    from core.errors import InvalidInputError
    from empirics.plans.spec import RunSpec
    from empirics.runs.run_folders import RunFolders

    folders = RunFolders(tmp_path / "out")
    assert folders.dir(RunSpec("weak", "org/model-x")).parent == tmp_path / "out"  # model names are slugs
    with pytest.raises(InvalidInputError, match="leaves the results folder"):
        folders.dir(RunSpec("ceiling", "tiny-gpt2", head="x/../../escaped"))


def test_an_unknown_name_fails_before_torch_is_even_imported(tmp_path):
    """Unknown names are refused in well under two seconds: before any data, model or torch is loaded."""
    code = (
        "import sys; from empirics.cli import main; "
        "rc = main(['sweep', '--preset', 'tiny', '--pairs', 'tiny-gpt2:gpt-17', "
        f"'--out', {str(tmp_path)!r}]); "
        "print(rc, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["2", "False"], out.stderr
    assert "unknown model 'gpt-17'" in out.stderr


def test_every_regime_of_replicate_names_a_preset_with_its_mode():
    from empirics.cli import REGIMES
    from empirics.plans.presets import PRESETS

    modes = {"last-layer": "last_layer", "finetune": "finetune", "ladder-harmless": "last_layer"}
    modes["ladder-helpful"] = "last_layer"
    assert set(REGIMES) == set(modes)
    for regime, name in REGIMES.items():
        assert PRESETS[name].experiment.mode == modes[regime]


def test_log_lines_go_to_the_current_stderr_and_other_libraries_stay_at_warning(monkeypatch):
    """A library's log line after the stderr the CLI started with was closed (a test's capture; matplotlib's
    "generated new fontManager" on a machine with no font cache yet) is written, not a logging traceback;
    the project's INFO lines show, another library's INFO lines do not."""
    import io
    import logging

    from empirics.cli import setup_logging

    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    setup_logging(verbose=0, quiet=False)  # as every CLI call does (its handler stays: it holds no stream)
    first.close()
    monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("matplotlib.font_manager").warning("a library warning")
    logging.getLogger("matplotlib.font_manager").info("a library info line")
    logging.getLogger("empirics.runs.sweep").info("a project info line")
    assert second.getvalue().splitlines() == ["a library warning", "a project info line"]


def test_replicate_and_counterexamples_never_write_committed_files_by_default(tmp_path, monkeypatch):
    """Run from a checkout's root, the defaults land under results/, not in paper_checks/ (which an editable
    install would overwrite); the committed copies are refreshed only when named."""
    import empirics.cli as cli
    from theory.cli import build_parser as theory_parser

    monkeypatch.chdir(tmp_path)
    packed = []
    monkeypatch.setattr(cli, "_cmd_sweep", lambda args: 0)
    monkeypatch.setattr(cli, "_cmd_audit", lambda args: 0)
    monkeypatch.setattr(
        "empirics.readers.reference.pack", lambda out, dest: packed.append(dest) or {"runs": 0, "bytes": 0}
    )
    assert cli.main(["replicate", "--regime", "finetune", "--results-root", "r"]) == 0
    assert packed == [Path("r") / "reference" / "finetune"]
    assert cli.main(["replicate", "--regime", "finetune", "--reference", "elsewhere"]) == 0
    assert packed[-1] == Path("elsewhere") / "finetune"
    out = theory_parser().parse_args(["counterexamples"]).out
    assert out == Path("results") / "theory" / "counterexamples"


def test_replicate_gives_each_regime_its_own_datasets_folder(tmp_path, monkeypatch, capsys):
    """--data-root DIR: each regime reads DIR/<its dataset>; one --data-dir (or $W2S_DATA_DIR) for regimes
    of two datasets is refused in one line (it would feed harmless pairs to the helpful regime)."""
    import empirics.cli as cli

    swept, workers = [], []

    def sweep(args):
        swept.append((args.preset, args.data_dir))
        workers.append(args.workers)
        return 0

    monkeypatch.setattr(cli, "_cmd_sweep", sweep)
    monkeypatch.setattr(cli, "_cmd_audit", lambda args: 0)
    monkeypatch.setattr("empirics.readers.reference.pack", lambda out, dest: {"runs": 0, "bytes": 0})
    monkeypatch.delenv("W2S_DATA_DIR", raising=False)
    root = tmp_path / "data"
    for d in ("hh-rlhf-harmless", "hh-rlhf-helpful"):
        (root / d).mkdir(parents=True)
    args = ["replicate", "--results-root", str(tmp_path / "r"), "--data-root", str(root)]
    assert cli.main(args) == 0
    assert dict(swept) == {
        "replication-last-layer": str(root / "hh-rlhf-harmless"),
        "replication-finetune": str(root / "hh-rlhf-harmless"),
        "ladder-harmless": str(root / "hh-rlhf-harmless"),
        "ladder-helpful": str(root / "hh-rlhf-helpful"),
    }
    one = ["replicate", "--results-root", str(tmp_path / "r"), "--data-dir", str(root / "hh-rlhf-harmless")]
    assert cli.main([*one, "--regime", "ladder-harmless"]) == 0
    assert swept[-1] == ("ladder-harmless", str(root / "hh-rlhf-harmless"))
    assert cli.main([*one, "--regime", "ladder-harmless", "--workers", "2"]) == 0
    assert workers[-2:] == [1, 2]  # passed to the regime's sweep
    n = len(swept)
    with pytest.raises(SystemExit) as stop:  # refused by the parser, in one line
        cli.main([*one, "--regime", "ladder-harmless", "--workers", "0"])
    assert stop.value.code == 2
    assert "--workers" in capsys.readouterr().err
    for bad, message in (
        (one, "cannot hold both; give --data-root"),
        ([*one, "--data-root", str(root)], "both given"),
        (["replicate", "--data-root", str(tmp_path)], "has no folder"),
    ):
        assert cli.main(bad) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err
        assert message in err[0], err
    monkeypatch.setenv("W2S_DATA_DIR", str(root / "hh-rlhf-harmless"))
    assert cli.main(["replicate", "--results-root", str(tmp_path / "r")]) == 2
    assert "$W2S_DATA_DIR" in capsys.readouterr().err
    assert len(swept) == n  # nothing ran after a refusal


def test_options_are_spelled_one_way_in_help_and_errors(capsys):
    """Help and usage show --data-dir, never --data_dir (the underscored alias is still accepted)."""
    import re

    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    text = capsys.readouterr().out
    assert "--data-dir" in text
    assert re.findall(r"--[a-z0-9]+_[a-z0-9_]+", text) == []
    assert main(["sweep", "--preset", "tiny", "--max-length", "-3"]) == 2
    assert "--max-length must lie in [8, 131072], got -3" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["sweep", "--preset", "tiny", "--max-length", "x"])
    assert "argument --max-length: invalid int value" in capsys.readouterr().err
    args = build_parser().parse_args(["sweep", "--data_dir", "x", "--max_length", "64"])
    assert (args.data_dir, args.max_length) == ("x", 64)
