"""The committed reference replication: a finished results folder packed small enough to live in the
repository, and unpacked back into a results folder that every reader (summary, claims, audit) reads as is.

Packed form (``paper_checks/reference/<regime>/``): ``sweep.json``, ``timing.json``, the summary, the audit
folder (JSON, Markdown, plots) and the simplex designs, copied; ``pack.json`` (the format and the logits'
precision); ``data.npz`` with each split's pair ids and labels; ``runs.json.gz`` with each run's
``config.json``, ``metrics.json`` (and a fine-tuning run's ``train_log.json``) verbatim; ``logits.npz`` with
every run's logits on train_w2s and test, one (runs x pairs) array per split (compressed), the runs named in
``runs``. Everything else in a predictions row is derived: the probability is sigmoid(logit); a student's
weak_prob is its teacher's probability; its target is the teacher's probability after the run's noise
(:meth:`Noise.apply`, seeded); its fit / held-out part is the run's
:func:`empirics.inputs.partition.partition`. The planted-truth inputs (the weak model's features) are not
packed (tens of MB); the planted result is kept in the audit folder.

Precision: a reference keeps its logits as float16 (half the bytes of float32: what lets several regimes of
33 seeds stay under the repository's budget). Rounding moves a logit by at most a relative 2**-11, a
probability by at most 1.1e-4; the sign of every logit is kept exactly (a nonzero logit that would round to 0
is stored as the smallest float16 of its sign), so every accuracy, agreement and claim recomputed from a
reference is exactly the one the runs measured; probability-based metrics (CE, KL, the audit's bounds) agree
to the tolerances of :func:`metric_tolerance`. An exact snapshot (``pack(..., precision="float64")``, no audit
needed) of a sweep still running unpacks into byte-identical predictions files, so a long regime can be
carried to another machine and resumed."""

from __future__ import annotations

import gzip
import json
import shutil
import zlib
from pathlib import Path

import numpy as np

from core.errors import DataError, InvalidInputError
from core.io import (
    atomic_save_npz,
    atomic_write_bytes,
    atomic_write_text,
    jsonl_text,
    read_json,
    read_npz,
)
from core.numerics import sigmoid

from ..inputs.partition import mark_training_rows, run_partition
from ..inputs.streams import RunStreams
from ..plans.experiment import Sweep
from ..registries.noise import Noise
from .records import load_checked_runs
from .run_folder import SPLITS

COPIED = ("sweep.json", "timing.json", "summary.json", "summary.md", "FINDINGS.md")
COPIED_FOLDERS = ("audit", "simplex_design")
RUN_FILES = ("config.json", "metrics.json", "train_log.json")  # train_log: a fine-tuning run's per-step log
PACKED = ("pack.json", "data.npz", "runs.json.gz", "logits.npz")  # the packed form's own files
FORMAT = 2
# a logit's largest relative rounding error at each precision a pack may keep
UNIT_ROUNDOFF = {"float16": 2.0**-11, "float32": 2.0**-24, "float64": 2.0**-53}
MAX_SLOPE = 0.2241  # max over z of |z| sigmoid'(z): a probability moves by at most this times the roundoff


def metric_tolerance(precision: str) -> dict[str, float]:
    """How closely what is recomputed from a reference packed at `precision` matches what the runs saved:
    ``prob`` (absolute, a probability), ``rel`` / ``abs`` (a metric: a mean of losses or probabilities, each
    moved by the probability's error times at most 1/gamma). Measured on the 12-seed last-layer regime's 543
    runs repacked at float16: accuracies equal; AUROC, cross-entropy and both KLs within a relative 5e-5; the
    audit's bound terms within 1.6e-5 absolute."""
    prob = MAX_SLOPE * UNIT_ROUNDOFF[precision]
    return {"prob": prob, "rel": max(1e-6, 10 * prob), "abs": max(1e-9, prob)}


def _rounded(logits: np.ndarray, precision: str) -> np.ndarray:
    """`logits` at `precision`, each sign kept (module doc); a logit outside the precision's range refused."""
    out = logits.astype(precision)
    if not np.all(np.isfinite(out)):
        raise InvalidInputError(f"a logit of magnitude {np.max(np.abs(logits)):.3g} overflows {precision}")
    lost = (out == 0) & (logits != 0)
    out[lost] = np.copysign(np.finfo(precision).smallest_subnormal, logits[lost])
    return out


def pack(results: str | Path, dest: str | Path, precision: str = "float16") -> dict:
    """Pack a finished results folder into `dest` (created; must not hold anything else). Returns sizes.
    ``precision="float64"``: an exact snapshot, possibly of a sweep still running (no audit needed), from
    which :func:`unpack` rebuilds every predictions file byte for byte: the sweep resumes from it exactly."""
    if precision not in UNIT_ROUNDOFF:
        raise InvalidInputError(f"unknown precision {precision!r}; one of {', '.join(UNIT_ROUNDOFF)}")
    exact = precision == "float64"
    results, dest = Path(results), Path(dest)
    runs = load_checked_runs(results, complete=not exact)
    if not exact and not (results / "audit" / "claims.json").is_file():
        raise InvalidInputError(f"{results} has no audit yet: run `w2s-empirics audit {results}` first")
    if dest.exists() and any(dest.iterdir()):
        raise InvalidInputError(f"{dest} is not empty; remove it first (the reference is rebuilt whole)")
    dest.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        if (results / name).is_file():
            shutil.copy2(results / name, dest / name)
    for folder in COPIED_FOLDERS:
        if (results / folder).is_dir():
            shutil.copytree(
                results / folder, dest / folder, ignore=shutil.ignore_patterns(".*", "planted_inputs")
            )
    files, logits, data = {}, {s: [] for s in SPLITS}, {}
    for rec in runs:
        files[rec.name] = {f: (rec.dir / f).read_text() for f in RUN_FILES if (rec.dir / f).is_file()}
        for split in SPLITS:
            rows = rec.predictions(split)
            data.setdefault(split, ([r["id"] for r in rows], [r["label"] for r in rows]))  # same in every run
            logits[split].append(_rounded(np.array([r["logit"] for r in rows], np.float64), precision))
    text = json.dumps(files, sort_keys=True).encode()
    atomic_write_bytes(dest / "runs.json.gz", gzip.compress(text, compresslevel=9, mtime=0))
    atomic_save_npz(
        dest / "logits.npz",
        compress=True,
        runs=np.array([rec.name for rec in runs]),
        **{s: np.stack(logits[s]) for s in SPLITS},  # load_checked_runs: at least one run
    )
    atomic_save_npz(
        dest / "data.npz",
        compress=True,
        **{f"ids_{s}": np.array(data[s][0]) for s in SPLITS},
        **{f"labels_{s}": np.array(data[s][1], np.int8) for s in SPLITS},
    )
    atomic_write_text(dest / "pack.json", json.dumps({"format": FORMAT, "precision": precision}) + "\n")
    size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    return {"runs": len(runs), "bytes": size}


def packed_precision(reference: str | Path) -> str:
    """The precision a packed reference keeps its logits at (its pack.json)."""
    reference = Path(reference)
    if not (reference / "pack.json").is_file():
        raise InvalidInputError(f"{reference} is not a packed reference (no pack.json)")
    meta = read_json(reference / "pack.json")
    ok = isinstance(meta, dict) and meta.get("format") == FORMAT and meta.get("precision") in UNIT_ROUNDOFF
    if not ok:
        raise DataError(f"{reference}/pack.json: not a format-{FORMAT} reference ({meta}); repack it")
    return meta["precision"]


def _run_files(reference: Path, hint: str) -> dict[str, dict[str, str]]:
    try:
        files = json.loads(gzip.decompress((reference / "runs.json.gz").read_bytes()))
    except FileNotFoundError:
        raise DataError(f"{reference}/runs.json.gz is missing; {hint}") from None
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        raise DataError(f"{reference}/runs.json.gz is damaged ({type(exc).__name__}); {hint}") from None
    ok = isinstance(files, dict) and all(
        isinstance(f, dict) and "config.json" in f and all(isinstance(t, str) for t in f.values())
        for f in files.values()
    )
    if not ok:
        raise DataError(f"{reference}/runs.json.gz: not each run's files as text; {hint}")
    return files


def unpack(reference: str | Path, dest: str | Path) -> Path:
    """Rebuild a results folder from a packed reference (see the module doc); returns `dest`."""
    reference, dest = Path(reference), Path(dest)
    packed_precision(reference)  # a packed reference of this format, or a one-line error
    sweep = Sweep.from_json(reference / "sweep.json")
    exp = sweep.experiment
    hint = f"the packed reference is damaged: restore {reference} from git"
    z = read_npz(reference / "data.npz", [f"{k}_{s}" for k in ("ids", "labels") for s in SPLITS], hint)
    ids = {s: [str(i) for i in z[f"ids_{s}"]] for s in SPLITS}
    labels = {s: z[f"labels_{s}"].astype(int) for s in SPLITS}
    arrays = read_npz(reference / "logits.npz", ("runs", *SPLITS), hint)
    names = [str(n) for n in arrays["runs"]]
    files = _run_files(reference, hint)
    if sorted(files) != sorted(names) or any(arrays[s].shape != (len(names), len(ids[s])) for s in SPLITS):
        raise DataError(f"{reference}: logits.npz does not match runs.json.gz and data.npz; {hint}")
    shutil.copytree(reference, dest, ignore=shutil.ignore_patterns(*PACKED))
    runs = {}
    for k, name in enumerate(names):
        (dest / name).mkdir()
        for f, text in files[name].items():
            atomic_write_text(dest / name / f, text)
        run = json.loads(files[name]["config.json"])["run"]
        runs[name] = (run, {s: arrays[s][k].astype(np.float64) for s in SPLITS})
    teachers = {
        (run["model"], run["seed"]): {s: sigmoid(z[s]) for s in SPLITS}
        for run, z in runs.values()
        if run["role"] == "weak"
    }
    for name, (run, logits) in runs.items():
        weak = None
        if run["role"] == "student":
            weak = teachers.get((run["weak_model"], run["seed"]))
            if weak is None:
                raise DataError(f"{reference}/{name}: its weak run is not in the reference")
        for split in SPLITS:
            prob = sigmoid(logits[split])
            rows = [
                {
                    "id": i,
                    "label": int(y),
                    "weak_prob": None if weak is None else float(weak[split][k]),
                    "prob": float(prob[k]),
                    "logit": float(logits[split][k]),
                }
                for k, (i, y) in enumerate(zip(ids[split], labels[split], strict=True))
            ]
            if weak is not None and split == "train_w2s":  # what the student trained on, and which rows
                noise, streams = Noise(**run["noise"]), RunStreams(run["seed"])
                part = run_partition(run["model"], streams, len(rows), exp.data.heldout_frac)
                mark_training_rows(rows, noise.apply(weak[split], streams.numpy("label_noise")), part)
            atomic_write_text(dest / name / f"predictions_{split}.jsonl", jsonl_text(rows))
    return dest
