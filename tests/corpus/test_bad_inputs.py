"""The bad-input corpus: every case must end with its exit status, exactly one error line that names the
problem, and no traceback. Never a silent acceptance (exit 0) and never a raw exception.

Cases run in-process through each CLI's main (what a user's shell runs, minus the interpreter start); a few
go through real subprocesses in test_cli.py / test_cli_theory.py as well."""

import json
import os
import stat

import pytest

from empirics import cli as empirics_cli
from tests.empirics.fixtures import pair, write_splits
from theory import cli as theory_cli

DATA = "@DATA"  # replaced by the case's data folder
TMP = "@TMP"  # replaced by the test's temporary folder


def run(main, argv, capsys) -> tuple[int, str]:
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse's usage errors exit here: the exit status is the observable
        rc = exc.code
    return rc, capsys.readouterr().err


def assert_one_line_error(rc, err, status, message, prog):
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith(f"{prog}: error:")]
    assert rc == status, err
    assert len(errors) == 1, err
    assert message in errors[0], err


# ------------------------------------------------------------------------------------------- empirics options
SWEEP = ["sweep", "--preset", "tiny", "--data-dir", DATA, "--out", f"{TMP}/out"]
OPTION_CASES = [
    (["--bogus", "1"], "unrecognized arguments: --bogus"),
    (["--preset", "gpu-giant"], "unknown preset 'gpu-giant'"),
    (["--max-length", "abc"], "invalid int value: 'abc'"),
    (["--max-length", "0"], "--max-length must lie in [8, 131072], got 0"),
    (["--max-length", "-5"], "--max-length must lie in [8, 131072], got -5"),
    (["--max-length", "10000000"], "--max-length must lie in [8, 131072]"),
    (["--max-length", "2.5"], "invalid int value: '2.5'"),
    (["--lr", "0"], "--lr must be a positive finite number, got 0.0"),
    (["--lr=-1e-3"], "--lr must be a positive finite number, got -0.001"),
    (["--lr", "inf"], "--lr must be a finite number, got inf"),
    (["--lr", "nan"], "--lr must be a finite number, got nan"),
    (["--lr", "fast"], "invalid float value: 'fast'"),
    (["--epochs", "0"], "--epochs must be a positive finite number"),
    (["--epochs", "0.5"], "--epochs must be >= 1"),
    (["--epochs", "inf"], "--epochs must be a finite number"),
    (["--batch-size", "0"], "--batch-size must be a positive finite number"),
    (["--batch-size", "-5"], "--batch-size must be a positive finite number, got -5"),
    (["--batch-size", "1", "--losses", "confidence"], "--batch-size must be >= 2 for losses with batch"),
    (["--group-pairs", "0"], "--group-pairs must be a positive finite number"),
    (["--eval-batch-size", "1"], "--eval-batch-size must lie in [2, 65536]"),
    (["--n-pairs", "0"], "--n-pairs must be a positive finite number, got 0"),
    (["--n-pairs", "-3"], "--n-pairs must be a positive finite number"),
    (["--n-pairs", "many"], "invalid int value: 'many'"),
    (["--train-gt-pairs", "0"], "--train-gt-pairs must be a positive finite number, got 0"),
    (["--train-w2s-pairs", "-2"], "--train-w2s-pairs must be a positive finite number, got -2"),
    (["--data-seed", "-1"], "--data-seed must be >= 0"),
    (["--seeds", "-1"], "seeds must be >= 0, got -1"),
    (["--seeds", "x"], "invalid int value: 'x'"),
    (["--gamma", "0"], "gamma = 0.0 is outside (0, 1/2)"),
    (["--gamma", "0.5"], "gamma = 0.5 is outside (0, 1/2)"),
    (["--gamma", "-0.1"], "gamma = -0.1 is outside"),
    (["--gamma", "nan"], "--gamma must be a finite number, got nan"),
    (["--confidence-alpha-max", "1.5"], "--confidence-alpha-max must lie in [0, 1]"),
    (["--confidence-warmup-frac", "-0.1"], "--confidence-warmup-frac must lie in [0, 1]"),
    (["--confidence-schedule", "cubic"], "invalid choice: 'cubic'"),
    (["--head-steps", "0"], "--head-steps must be a positive finite number"),
    (["--head-lr", "0"], "--head-lr must be a positive finite number"),
    (["--head-l2", "-1"], "--head-l2 values must be finite numbers >= 0"),
    (["--head-l2", "0.1", "0.1"], "--head-l2 lists a value twice"),
    (["--head-l2", "0.1", "1", "--heldout-frac", "0"], "--heldout-frac is 0: nothing to choose on"),
    (["--heldout-frac", "0.95"], "--heldout-frac must lie in [0.0, 0.9]"),
    (["--simplex-dim", "1"], "--simplex-dim must lie in [2, 100000]"),
    (["--mode", "zero_shot"], "invalid choice: 'zero_shot'"),
    (["--dataset", "imdb"], "invalid choice: 'imdb'"),
    (["--bf16", "maybe"], "invalid choice: 'maybe'"),
    (["--gradient-checkpointing", "yes"], "invalid choice: 'yes'"),
    (["--losses", "hinge"], "unknown loss 'hinge'"),
    (["--losses"], "expected at least one argument"),
    (["--pairs", "tiny-gpt2"], "bad --pairs 'tiny-gpt2'; use WEAK:STRONG"),
    (["--pairs", ":tiny-gpt2"], "bad --pairs ':tiny-gpt2'"),
    (["--pairs", "tiny-gpt2:gpt-17"], "unknown model 'gpt-17'"),
    (["--pairs", "gpt-0:tiny-gpt2"], "unknown model 'gpt-0'"),
    (["--pairs", "tiny-gpt2:tiny-gpt2"], "the weak and the strong model are the same"),
    (["--pairs", "tiny-gpt2@10:tiny-qwen2"], "tiny-gpt2@10 trains on 10 pairs, but train_gt has 8"),
    (
        ["--pairs", "tiny-gpt2:tiny-qwen2@12"],
        "tiny-qwen2@12 trains on 12 pairs, but train_gt has 8, train_w2s has 8",
    ),
    (["--mode", "last_layer", "--heads", "x/../../escaped"], "unknown head 'x/../../escaped'"),
    (["--mode", "last_layer", "--heads", "full"], "last-layer mode trains a head"),
    (["--mode", "last_layer", "--heads", "simplex", "--losses", "confidence"], "the simplex head takes only"),
    (["--noises", "flip:7"], "flip fraction must lie in [0, 1], got 7.0"),
    (["--noises", "shrink:-3"], "shrink factor must lie in [-1, 1]"),
    (["--noises", "blur:0.1"], "unknown noise kind 'blur'"),
    (["--noises", "flip:x"], "bad noise 'flip:x'"),
    (["--from-sweep", "/no/such/sweep.json"], "--from-sweep and --preset both given"),
    (["--allow-split-overlap", "perhaps"], "Truthy value expected"),
]


@pytest.mark.parametrize(("extra", "message"), OPTION_CASES, ids=[" ".join(c[0]) for c in OPTION_CASES])
def test_bad_sweep_option(extra, message, tmp_path, capsys):
    data = write_splits(tmp_path / "data", n=8)
    argv = [a.replace(DATA, str(data)).replace(TMP, str(tmp_path)) for a in SWEEP + extra]
    assert_one_line_error(*run(empirics_cli.main, argv, capsys), 2, message, "w2s-empirics")
    assert not (tmp_path / "out" / "sweep.json").exists()  # written only after validation


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"experiment": {"setup": {"max_length": 0}}}', "--max-length must lie in [8, 131072], got 0"),
        ('{"experiment": {"nonsense": 1}}', "unknown field(s) nonsense"),
        ('{"grid": {"losses": "forward_ce"}}', "--losses takes a list of str values, got 'forward_ce'"),
        ('{"grid": {"losses": []}}', "--losses needs at least one value"),
        ('{"grid": {"seeds": [1.5]}}', "--seeds takes int values"),
        ('{"experiment": {"data": {"n_pairs": "ten"}}}', "--n-pairs must be a int, got 'ten'"),
        ("{", "malformed JSON"),
        ("[1, 2]", "expected an object, got list"),
    ],
)
def test_bad_sweep_json(content, message, tmp_path, capsys):
    """Each fault in an otherwise complete saved sweep (--from-sweep takes complete sweeps only)."""
    from empirics.plans.presets import PRESETS

    def merged(base, change):
        out = dict(base)
        for k, v in change.items():
            out[k] = merged(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
        return out

    try:
        fault = json.loads(content)
    except json.JSONDecodeError:
        fault = None
    complete = merged(PRESETS["tiny"].to_json(), fault) if isinstance(fault, dict) else None
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps(complete) if complete else content)
    rc, err = run(empirics_cli.main, ["sweep", "--from-sweep", str(path), "--dry-run"], capsys)
    assert_one_line_error(rc, err, 2, message, "w2s-empirics")


# ------------------------------------------------------------------------------------------- empirics data
def _rows(n=8, start=0):
    return [pair(start + i) for i in range(n)]


def _write(folder, split, lines):
    (folder / f"{split}.jsonl").write_bytes(lines if isinstance(lines, bytes) else "".join(lines).encode())


SPLITS = ("train_gt", "train_w2s", "test")
DATA_CASES = {
    "missing folder": (lambda d: d / "nope", "data directory not found"),
    "folder is a file": (
        lambda d: (d / "file.txt").write_text("x") and d / "file.txt",
        "data directory not found",
    ),
    "missing split": (lambda d: (d / "test.jsonl").unlink() or d, "no such file"),
    "split is a folder": (
        lambda d: ((d / "test.jsonl").unlink(), (d / "test.jsonl").mkdir()) and d,
        "is a folder",
    ),
    "empty file": (lambda d: _write(d, "test", []) or d, "test.jsonl: no usable pairs"),
    "blank lines only": (
        lambda d: _write(d, "train_gt", ["\n", "  \n"]) or d,
        "train_gt.jsonl: no usable pairs",
    ),
    "all texts empty": (
        lambda d: _write(d, "test", [json.dumps({"chosen": " ", "rejected": "b"}) + "\n"] * 3) or d,
        "test.jsonl: no usable pairs (skipped 3 with an empty text",
    ),
    "all texts identical": (
        lambda d: _write(d, "test", [json.dumps({"chosen": "a", "rejected": "a"}) + "\n"]) or d,
        "skipped 0 with an empty text and 1 with identical texts",
    ),
    "malformed JSON": (
        lambda d: _write(d, "test", ['{"chosen": "a", "rejected": "b"}\n', "{oops\n"]) or d,
        "test.jsonl, line 2: malformed JSON",
    ),
    "not an object": (
        lambda d: _write(d, "test", ['["a", "b"]\n']) or d,
        "line 1: expected a JSON object, got list",
    ),
    "missing chosen": (
        lambda d: _write(d, "test", ['{"rejected": "b"}\n']) or d,
        "line 1: missing field(s) ['chosen']",
    ),
    "missing both": (lambda d: _write(d, "test", ["{}\n"]) or d, "missing field(s) ['chosen', 'rejected']"),
    "chosen not a string": (
        lambda d: _write(d, "test", ['{"chosen": 3, "rejected": "b"}\n']) or d,
        "line 1: 'chosen' and 'rejected' must be strings",
    ),
    "bad id type": (
        lambda d: _write(d, "test", ['{"id": [1], "chosen": "a", "rejected": "b"}\n']) or d,
        "line 1: 'id' must be a string or an integer, got list",
    ),
    "duplicate ids": (
        lambda d: _write(d, "test", [json.dumps({"id": "x", **r}) + "\n" for r in _rows(2, 500)]) or d,
        "test.jsonl, line 2: duplicate id 'x' (first on line 1)",
    ),
    "two pairs per split": (
        lambda d: (
            [_write(d, sp, [json.dumps(r) + "\n" for r in _rows(2, k * 100)]) for k, sp in enumerate(SPLITS)]
            and d
        ),
        "trains on 2 pairs of train_gt: holding out 0.2 of them leaves an empty fit or held-out part",
    ),
    "lone surrogate": (
        lambda d: _write(d, "test", ['{"chosen": "a\\ud800", "rejected": "b"}\n']) or d,
        "test.jsonl, line 1: a string with a lone surrogate",
    ),
    "nested 200k deep": (
        lambda d: _write(d, "test", ["[" * 200_000 + "]" * 200_000 + "\n"]) or d,
        "test.jsonl, line 1: nested too deeply",
    ),
    "5,000-digit id": (
        lambda d: _write(d, "test", ['{"id": ' + "9" * 5000 + ', "chosen": "a", "rejected": "b"}\n']) or d,
        "test.jsonl, line 1: unreadable JSON",
    ),
    "invalid UTF-8": (
        lambda d: (
            _write(d, "test", b'{"chosen": "a", "rejected": "b"}\n{"chosen": "\xff\xfe", "rejected": "b"}\n')
            or d
        ),
        "test.jsonl, line 2: not valid UTF-8",
    ),
    "byte-order mark": (
        lambda d: _write(d, "test", b'\xef\xbb\xbf{"chosen": "a", "rejected": "b"}\n') or d,
        "test.jsonl, line 1: malformed JSON",
    ),
    "same pair in two splits": (
        lambda d: _write(d, "test", [json.dumps(r) + "\n" for r in _rows(8, 0)]) or d,
        "the same pair is in train_gt (id train_gt-1) and test (id test-1)",
    ),
    "same pair with other ids": (
        lambda d: (
            _write(d, "train_w2s", [json.dumps({"id": f"z{i}", **r}) + "\n" for i, r in enumerate(_rows(3))])
            or d
        ),
        "the same pair is in train_gt (id train_gt-1) and train_w2s (id z0)",
    ),
    "truncated last line": (
        lambda d: (
            _write(d, "test", [json.dumps(r) + "\n" for r in _rows(3, 2000)] + ['{"chosen": "a", "rej']) or d
        ),
        "test.jsonl, line 4: malformed JSON",
    ),
}


@pytest.mark.parametrize("case", sorted(DATA_CASES))
def test_bad_data(case, tmp_path, capsys):
    base = tmp_path / "data"
    write_splits(base, n=8)
    make, message = DATA_CASES[case]
    folder = make(base)
    argv = ["sweep", "--preset", "tiny", "--data-dir", str(folder), "--out", str(tmp_path / "out")]
    assert_one_line_error(*run(empirics_cli.main, argv, capsys), 2, message, "w2s-empirics")
    assert not (tmp_path / "out" / "sweep.json").exists()


def test_jsonl_dataset_needs_a_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("W2S_DATA_DIR", raising=False)
    argv = ["sweep", "--preset", "tiny", "--dataset", "jsonl", "--out", str(tmp_path / "o")]
    assert_one_line_error(*run(empirics_cli.main, argv, capsys), 2, "needs --data-dir", "w2s-empirics")


# ------------------------------------------------------------------------------------------- empirics paths
def _damaged_results(tmp_path, damage):
    res = tmp_path / "res"
    run_dir = res / "student__x"
    run_dir.mkdir(parents=True)
    (res / "sweep.json").write_text("{}")
    spec = {"role": "student", "model": "s", "weak_model": "w", "noise": {"kind": "none", "level": 0.0}}
    (run_dir / "config.json").write_text(json.dumps({"run": spec}))
    (run_dir / "metrics.json").write_text(json.dumps({"test": {"n": 2, "accuracy": 0.5}}))
    (run_dir / "predictions_test.jsonl").write_text('{"id": "a"}\n{"id": "b"}\n')
    damage(run_dir)
    return res


PATH_CASES = [
    (lambda t: ["summarize", str(t / "nope")], 2, "results folder not found"),
    (lambda t: ["summarize", str(t)], 2, "holds no finished run"),
    (
        lambda t: ["summarize", str(_damaged_results(t, lambda d: (d / "metrics.json").write_text("{")))],
        2,
        "metrics.json: damaged or not JSON",
    ),
    (
        lambda t: [
            "summarize",
            str(_damaged_results(t, lambda d: (d / "predictions_test.jsonl").write_text('{"id": "a"}\n'))),
        ],
        2,
        "predictions_test.jsonl: damaged (1 rows, the run recorded 2)",
    ),
    (
        lambda t: ["summarize", str(_damaged_results(t, lambda d: (d / "predictions_test.jsonl").unlink()))],
        2,
        "predictions_test.jsonl",
    ),
    (
        lambda t: ["summarize", str(_damaged_results(t, lambda d: (d / "config.json").write_text("[]")))],
        2,
        "config.json: damaged (no run spec)",
    ),
    (
        lambda t: [
            "summarize",
            str(
                _damaged_results(t, lambda d: (d / "config.json").write_text('{"run": {"role": "student"}}'))
            ),
        ],
        2,
        "config.json: not a run spec",
    ),
    (
        lambda t: [
            "summarize",
            str(
                _damaged_results(
                    t,
                    lambda d: (d / "config.json").write_text(
                        '{"run": {"role": "weak", "model": "m", "noise": {"kind": "blur", "level": 0}}}'
                    ),
                )
            ),
        ],
        2,
        "unknown noise kind 'blur'",
    ),
    (lambda t: ["audit", str(t / "nope")], 2, "is not a sweep's results folder"),
    (
        lambda t: [
            "audit",
            str(_damaged_results(t, lambda d: (d / "predictions_test.jsonl").write_text("x\n"))),
        ],
        2,
        "predictions_test.jsonl, line 1: malformed JSON",
    ),
    (lambda t: ["prepare", "gpt2"], 2, "nothing to prepare for 'gpt2'"),
    (lambda t: ["list", "everything"], 2, "invalid choice: 'everything'"),
    (lambda t: ["frobnicate"], 2, "invalid choice: 'frobnicate'"),
    (lambda t: [], 2, "the following arguments are required: command"),
]


@pytest.mark.parametrize(
    ("argv", "status", "message"), PATH_CASES, ids=[str(i) for i in range(len(PATH_CASES))]
)
def test_bad_results_and_commands(argv, status, message, tmp_path, capsys):
    assert_one_line_error(*run(empirics_cli.main, argv(tmp_path), capsys), status, message, "w2s-empirics")


@pytest.mark.parametrize("where", ["file", "under a file", "in /proc"])
def test_unwritable_out_is_one_line(where, tmp_path, capsys):
    data = write_splits(tmp_path / "data", n=8)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    out = {"file": blocker, "under a file": blocker / "out", "in /proc": "/proc/no-such/out"}[where]
    argv = ["sweep", "--preset", "tiny", "--data-dir", str(data), "--out", str(out)]
    rc, err = run(empirics_cli.main, argv, capsys)
    assert_one_line_error(rc, err, 3, "cannot use", "w2s-empirics")


# ------------------------------------------------------------------------------------------- theory CLI
THEORY_CASES = [
    (["constant", "-1", "--gamma", "0.01"], 2, "constant must be a positive finite number"),
    (["constant", "0", "--gamma", "0.01"], 2, "constant must be a positive finite number"),
    (["constant", "nan", "--gamma", "0.01"], 2, "constant must be a positive finite number"),
    (["constant", "inf", "--gamma", "0.01"], 2, "constant must be a positive finite number"),
    (["constant", "abc", "--gamma", "0.01"], 2, "invalid float value: 'abc'"),
    (["constant", "40"], 2, "the following arguments are required: --gamma"),
    (["constant", "40", "--gamma", "0"], 2, "gamma = 0.0 is outside (0, 1/k)"),
    (["constant", "40", "--gamma", "0.5"], 2, "gamma = 0.5 is outside"),
    (["constant", "40", "--gamma", "-1"], 2, "gamma = -1.0 is outside"),
    (["constant", "40", "--gamma", "nan"], 2, "gamma = nan is outside"),
    (["constant", "1", "--gamma", "0.01", "--witness-out", "@BLOCKER/w.json"], 3, "cannot write"),
    # a destination that exists and is not a regular file is never replaced (as root, a rename would
    # replace a device node such as /dev/full with the JSON file)
    (["constant", "1", "--gamma", "0.01", "--witness-out", "@FIFO"], 3, "is not a regular file"),
    (["constant", "1", "--gamma", "0.01", "--witness-out", "@FOLDER"], 3, "is not a regular file"),
    (["figure1", "--weights", "1"], 2, "give --weights, --means and --stds together"),
    (["figure1", "--weights", "0.5", "0.6", "--means", "-3", "3", "--stds", "1", "1"], 2, "sum to 1"),
    (
        ["figure1", "--weights", "-0.5", "1.5", "--means", "-3", "3", "--stds", "1", "1"],
        2,
        "weights must be positive",
    ),
    (
        ["figure1", "--weights", "0.5", "0.5", "--means", "-3", "3", "--stds", "1", "0"],
        2,
        "stds must be positive",
    ),
    (
        ["figure1", "--weights", "0.5", "0.5", "--means", "-3", "3", "--stds", "1e-200", "1"],
        2,
        "stds must lie in [0.001, 1000]",
    ),
    (
        ["figure1", "--weights", "0.5", "0.5", "--means", "-3", "3", "--stds", "1e300", "1"],
        2,
        "stds must lie in [0.001, 1000]",
    ),
    (
        ["figure1", "--weights", "0.5", "0.5", "--means", "1e9", "3", "--stds", "1", "1"],
        2,
        "|means| <= 1000",
    ),
    (
        ["figure1", "--weights", "0.5", "0.5", "--means", "-3", "3", "--stds", "0.002", "900"],
        2,
        "stds differ by a factor",
    ),
    (
        ["figure1", "--weights", "0.5", "0.5", "--means", "nan", "3", "--stds", "1", "1"],
        2,
        "means must be finite",
    ),
    (
        ["figure1", "--weights", "0.5", "0.5", "--means", "-3", "--stds", "1", "1"],
        2,
        "the same non-zero length",
    ),
    (["figure1", "--out", "@BLOCKER/fig"], 3, "blocker"),
    (["counterexamples", "--out", "@BLOCKER/cx"], 3, "blocker"),
    (["counterexamples", "--seed", "x"], 2, "expected an integer, got 'x'"),
    (["counterexamples", "--seed=-1"], 2, "must lie in [0, inf], got -1"),
    (
        ["figure1", "--weights", *["0.02"] * 50, "--means", *map(str, range(50)), "--stds", *["1"] * 50],
        2,
        "at most 8 components",
    ),
    (["report", "--bogus"], 2, "unrecognized arguments: --bogus"),
    (["report", "--out", "@BLOCKER/rep"], 3, "cannot write into"),  # refused before the checks run
    (["prove-everything"], 2, "invalid choice: 'prove-everything'"),
]


@pytest.mark.parametrize(
    ("argv", "status", "message"), THEORY_CASES, ids=[" ".join(c[0]) for c in THEORY_CASES]
)
def test_bad_theory_input(argv, status, message, tmp_path, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    fifo, folder = tmp_path / "fifo", tmp_path / "folder"
    os.mkfifo(fifo)
    folder.mkdir()
    where = {"@BLOCKER": blocker, "@FIFO": fifo, "@FOLDER": folder}
    argv = [where[a] if a in ("@FIFO", "@FOLDER") else a.replace("@BLOCKER", str(blocker)) for a in argv]
    assert_one_line_error(
        *run(theory_cli.main, [str(a) for a in argv], capsys), status, message, "w2s-theory"
    )
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # left as they were
    assert folder.is_dir()


# ------------------------------------------------------------------------------------- saved arrays (.npz)
@pytest.fixture(scope="module")
def last_layer_results(tmp_path_factory):
    """One tiny last-layer sweep with a simplex head: its planted inputs and simplex design are damaged
    below, each case in a copy."""
    from empirics.runs.sweep import run_sweep
    from tests.empirics.fixtures import tiny_sweep

    root = tmp_path_factory.mktemp("npz")
    mp = pytest.MonkeyPatch()
    mp.setenv("W2S_CACHE", str(root / "cache"))
    try:
        sw = tiny_sweep(
            write_splits(root / "data"), "last_layer", 24, ["tiny-bert:tiny-qwen2"], ["reverse_kl"]
        )
        run_sweep(sw.with_options({"heads": ["simplex"]}), root / "res")
    finally:
        mp.undo()
    return root / "res"


def _npz_damage(kind: str):
    import numpy as np

    def nan(path, key):
        arrays = dict(np.load(path))
        arrays[key] = arrays[key].astype(np.float64)
        arrays[key].flat[3] = np.nan
        np.savez(path, **arrays)

    def truncate(path, key):
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    def drop(path, key):
        arrays = dict(np.load(path))
        del arrays[key]
        np.savez(path, **arrays)

    return {"nan": nan, "truncated": truncate, "missing key": drop}[kind]


NPZ_CASES = [
    ("planted_inputs", "u_train_gt", "nan", "array 'u_train_gt' holds 1 non-finite value(s)"),
    ("planted_inputs", "strong_u_test", "nan", "array 'strong_u_test' holds 1 non-finite value(s)"),
    ("planted_inputs", "u_test", "truncated", "is damaged or from another version (BadZipFile)"),
    ("planted_inputs", "labels_test", "missing key", "is damaged or from another version (KeyError)"),
    ("simplex_design", "test", "nan", "array 'test' holds 1 non-finite value(s)"),
    ("simplex_design", "test", "truncated", "is damaged or from another version (BadZipFile)"),
    ("simplex_design", "train_w2s", "missing key", "is damaged or from another version (KeyError)"),
]


@pytest.mark.parametrize(
    ("folder", "key", "kind", "message"), NPZ_CASES, ids=[" ".join(c[:3]) for c in NPZ_CASES]
)
def test_damaged_saved_arrays_are_one_line(folder, key, kind, message, last_layer_results, tmp_path, capsys):
    import shutil

    res = tmp_path / "res"
    shutil.copytree(last_layer_results, res)
    (path,) = (res / folder).glob("*.npz")
    _npz_damage(kind)(path, key)
    rc, err = run(empirics_cli.main, ["audit", str(res), "--planted"], capsys)
    assert_one_line_error(rc, err, 2, message, "w2s-empirics")
    assert str(path) in err
