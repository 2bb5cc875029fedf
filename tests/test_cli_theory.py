"""The w2s-theory command line: help, one-line errors (never a traceback), outputs."""

import json
import subprocess
import sys

import pytest

from theory.cli import main


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "theory.cli", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    "args", [["--help"], ["report", "--help"], ["figure1", "--help"], ["constant", "--help"]]
)
def test_help(args):
    out = _run(*args)
    assert out.returncode == 0
    assert "usage" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["figure1", "--weights", "0.5", "0.6", "--means", "-3", "3", "--stds", "1", "1"],
            "weights must be positive",
        ),
        (
            ["figure1", "--weights", "0.5", "0.5", "--means", "-3", "3", "--stds", "1", "-1"],
            "stds must be positive",
        ),
        (["figure1", "--weights", "1"], "together"),
        (["constant", "40", "--gamma", "0.7"], "gamma"),
        (["constant", "nan", "--gamma", "0.01"], "constant must be"),
    ],
)
def test_bad_input_gives_one_line_error(args, message):
    out = _run(*args)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert message in out.stderr


def test_figure1_command_writes_png_pdf_json(tmp_path, capsys):
    assert (
        main(
            [
                "figure1",
                "--weights",
                "0.5",
                "0.5",
                "--means",
                "-3.5",
                "3.5",
                "--stds",
                "1",
                "1",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    fit = json.loads((tmp_path / "figure1.json").read_text())
    assert fit["mixture"]["means"] == [-3.5, 3.5]
    assert (tmp_path / "figure1.png").exists()
    assert (tmp_path / "figure1.pdf").exists()
    assert "reverse fit global minimum" in capsys.readouterr().out


def test_constant_command_refutes_a_too_small_constant(tmp_path, capsys):
    assert main(["constant", "40", "--gamma", "0.001", "--witness-out", str(tmp_path / "w.json")]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["verdict"] == "refuted"
    assert (tmp_path / "w.json").exists()


def test_counterexamples_command_writes_rechecked_fixtures(tmp_path, capsys):
    from theory.counterexamples import recheck

    assert main(["counterexamples", "--out", str(tmp_path)]) == 0
    files = sorted(tmp_path.glob("*.json"))
    assert len(files) == 3
    for f in files:
        assert recheck(json.loads(f.read_text()))["violated"]
    assert "violated = True" in capsys.readouterr().out


def test_a_saved_witness_refutes_a_constant_one_float_step_below_c_sharp(tmp_path, capsys):
    """The witness is saved at full working precision with an eps its digits resolve: re-read from the file
    alone, it still refutes a C one float step below C* (a 15-digit file would hold F_sw = F_w there)."""
    import numpy as np

    from theory.bounds import c_sharp, witness_file_ratio

    c = float(np.nextafter(c_sharp(1e-3), 0))
    path = tmp_path / "witness.json"
    assert main(["constant", repr(c), "--gamma", "1e-3", "--witness-out", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "refuted"
    saved = json.loads(path.read_text())
    assert saved["F_sw"] != saved["F_w"]
    assert witness_file_ratio(path) > c


def test_a_reader_that_leaves_early_is_no_error(tmp_path):
    """`w2s-... | head`: the pipe closes under the command's output; it stops without a word (exit 141, the
    shell's SIGPIPE status), not with an error line or a traceback."""
    import subprocess
    import sys

    code = (
        "import sys\nfrom core.cli import run_command\n"
        "sys.exit(run_command('x', lambda: [print(i) for i in range(10**6)] and 0))"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()  # the reader leaves
    assert proc.wait(timeout=60) == 141
    assert proc.stderr.read() == b""
