"""The committed reference replication: a finished results folder packed small enough to live in the
repository, and unpacked back into a results folder that every reader (summary, claims, audit) reads as is.

Packed form (``paper_checks/reference/<regime>/``): ``sweep.json``, ``timing.json``, the summary, the audit
folder (JSON, Markdown, plots) and the simplex designs, copied; ``data.npz`` with each split's pair ids and
labels; per run, ``config.json``, ``metrics.json`` (and a fine-tuning run's ``train_log.json``) copied and
``logits.npz`` with the run's logits on train_w2s and test as float32 (compressed). Everything else in a
predictions row is derived: the probability is sigmoid(logit); a student's weak_prob is its teacher's
probability; its target is the teacher's probability after the run's noise (:meth:`Noise.apply`, seeded); its
fit / held-out part is the run's :func:`empirics.inputs.partition.partition`. The planted-truth inputs (the
weak model's features) are not packed (tens of MB); the planted result is kept in the audit folder.

An exact snapshot (``pack(..., exact=True)``: float64 logits, no audit needed) of a sweep still running
unpacks into byte-identical predictions files, so a long regime can be carried to another machine and resumed.
Unpacking rebuilds every ``predictions_<split>.jsonl``; float32 logits move probabilities by ~1e-7, so
recomputed metrics agree with the saved ones to a relative 1e-6 (accuracies exactly unless a probability lies
within 1e-7 of 1/2, which the check reports)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from core.errors import DataError, InvalidInputError
from core.io import atomic_save_npz, atomic_write_text, jsonl_text, read_json, read_npz
from core.numerics import sigmoid

from ..inputs.partition import mark_training_rows, run_partition
from ..inputs.streams import RunStreams
from ..plans.experiment import Sweep
from ..registries.noise import Noise
from .records import load_checked_runs
from .run_folder import SPLITS

COPIED = ("sweep.json", "timing.json", "summary.json", "summary.md", "FINDINGS.md")
COPIED_FOLDERS = ("audit", "simplex_design")


def pack(results: str | Path, dest: str | Path, exact: bool = False) -> dict:
    """Pack a finished results folder into `dest` (created; must not hold anything else). Returns sizes.
    `exact`: a snapshot of a sweep still running (no audit needed), logits kept as float64, from which
    :func:`unpack` rebuilds every predictions file byte for byte, so the sweep resumes from it exactly."""
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
    data = {}
    for rec in runs:
        d = dest / rec.name
        d.mkdir()
        shutil.copy2(rec.dir / "config.json", d / "config.json")
        shutil.copy2(rec.dir / "metrics.json", d / "metrics.json")
        if (rec.dir / "train_log.json").is_file():  # a fine-tuning run's per-step log (the audit plots it)
            shutil.copy2(rec.dir / "train_log.json", d / "train_log.json")
        arrays = {}
        for split in SPLITS:
            rows = rec.predictions(split)
            ids, labels = [r["id"] for r in rows], [r["label"] for r in rows]
            data.setdefault(split, (ids, labels))  # the same in every run (load_checked_runs verified it)
            arrays[split] = np.array([r["logit"] for r in rows], np.float64 if exact else np.float32)
        atomic_save_npz(d / "logits.npz", **arrays)
    atomic_save_npz(
        dest / "data.npz",
        **{f"ids_{s}": np.array(data[s][0]) for s in SPLITS},
        **{f"labels_{s}": np.array(data[s][1], np.int8) for s in SPLITS},
    )
    size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    return {"runs": len(runs), "bytes": size}


def unpack(reference: str | Path, dest: str | Path) -> Path:
    """Rebuild a results folder from a packed reference (see the module doc); returns `dest`."""
    reference, dest = Path(reference), Path(dest)
    if not (reference / "data.npz").is_file():
        raise InvalidInputError(f"{reference} is not a packed reference (no data.npz)")
    sweep = Sweep.from_json(reference / "sweep.json")
    exp = sweep.experiment
    hint = f"the packed reference is damaged: restore {reference} from git"
    z = read_npz(reference / "data.npz", [f"{k}_{s}" for k in ("ids", "labels") for s in SPLITS], hint)
    ids = {s: [str(i) for i in z[f"ids_{s}"]] for s in SPLITS}
    labels = {s: z[f"labels_{s}"].astype(int) for s in SPLITS}
    shutil.copytree(reference, dest, ignore=shutil.ignore_patterns("logits.npz", "data.npz"))
    runs = {}
    for cfg_path in sorted(reference.glob("*/config.json")):
        cfg = read_json(cfg_path)
        logits = {
            s: a.astype(np.float64) for s, a in read_npz(cfg_path.parent / "logits.npz", SPLITS, hint).items()
        }
        runs[cfg_path.parent.name] = (cfg["run"], logits)
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
