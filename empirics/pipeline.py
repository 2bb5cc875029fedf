"""One run of a weak-to-strong experiment, whose dependencies are finished: train it, predict, write its
folder.

The weak model and the ceiling train on ground truth (train_gt); a student trains on the weak model's saved
predictions for train_w2s (after noise). Every run writes its folder (see :mod:`empirics.run_folder`);
features and weak labels are cached by content hash as well. Config types live in :mod:`empirics.config`, the
grid in :mod:`empirics.grid`, the loop over a grid in :mod:`empirics.sweep`."""

from __future__ import annotations

import json
import os
import platform
import re
import time
from contextlib import contextmanager
from dataclasses import asdict
from functools import cache
from pathlib import Path

import numpy as np

from core.errors import DataError, InvalidInputError
from core.io import BASE_PACKAGES, EMPIRICS_PACKAGES, atomic_save_npz, environment, jsonl_text
from core.numerics import logit, sigmoid

from . import heads
from .baselines import RULES, rule_probabilities
from .config import CONVEX_FIXED_OBJECTIVES, HEADS, LOSSES, Experiment, RunSpec
from .data import SPLITS, PreferencePair, content_hash, data_source, load_split
from .features import pair_features
from .finetune import finetune, finetune_top, predict_logits, predict_top
from .frozen import cached_lower_states
from .grid import ceiling_spec, dependencies, weak_spec
from .logs import get_logger
from .losses import get_loss
from .metrics import accuracy, pgr, run_metrics
from .models import load_backbone
from .partition import agreement, choose_l2, mark_training_rows, run_partition
from .precision import forced_native_bf16, precision_provenance, resolve_bf16
from .registry import spec, trained_on
from .run_folder import RunFolders, process_roles, simplex_design_file

log = get_logger(__name__)

NUMERICS_ENV = (
    "ATEN_CPU_CAPABILITY",
    "MKL_ENABLE_INSTRUCTIONS",
    "MKL_CBWR",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "W2S_NATIVE_BF16",
)
# a feature whose sigma is below this times the median sigma is constant up to float rounding
CONSTANT_FEATURE_REL = 1e-6


class TrainingDiverged(RuntimeError):
    """A run produced a non-finite loss, prediction or metric: it fails instead of reporting numbers."""


def check_finite(metrics: dict, run: str, path: str = "") -> None:
    """Every number in a run's metrics is finite (never NaN or inf in metrics.json)."""
    for key, value in metrics.items():
        where = f"{path}.{key}" if path else key
        if isinstance(value, dict):
            check_finite(value, run, where)
        elif isinstance(value, float) and not np.isfinite(value):
            raise TrainingDiverged(f"run {run}: metric {where} is {value}")


def run_environment() -> dict:
    """Provenance of a run: commit, versions, and the hardware it trained on -- with what can move its numbers
    in the last bits (measured on tiny models in fp32, tests/empirics/test_machine.py: logits move by up to
    ~3e-5 between PyTorch's thread counts in fine-tuning and between CPU instruction sets in both modes; the
    thread count changes nothing in last-layer mode) and what decides its precision (--bf16 auto)."""
    import torch

    env = environment(BASE_PACKAGES + EMPIRICS_PACKAGES)
    env["hardware"] = {
        "machine": platform.machine(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        **precision_provenance(),
        "blas": dict(blas_libraries()),
        # variables that choose kernels or threads, where set (each can move fp32 results in the last bits)
        "numerics_env": {k: os.environ[k] for k in NUMERICS_ENV if k in os.environ},
    }
    return env


@cache
def blas_libraries() -> dict:
    """The BLAS behind torch (its build) and behind numpy / scipy (the heads, the audit); read once."""
    import torch

    torch_blas = re.findall(r"BLAS_INFO=(\w+)", torch.__config__.show())
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        numpy_blas = f"{blas.get('name')} {blas.get('version')}".strip()
    except (KeyError, TypeError, AttributeError):  # numpy < 1.26 prints its config only
        numpy_blas = None
    return {"torch": torch_blas[0] if torch_blas else None, "numpy": numpy_blas}


class Pipeline:
    """Runs RunSpecs of one Experiment into an output folder, with in-memory and on-disk caches."""

    def __init__(self, exp: Experiment, out: str | Path):
        self.exp, self.out = exp, Path(out)
        forced_native_bf16()  # a malformed $W2S_NATIVE_BF16 is refused before any work, whatever --bf16 says
        self.bf16 = resolve_bf16(exp.setup.bf16)  # the precision every stage runs in, recorded with each run
        self.folders = RunFolders(out)
        self._hashes: dict[str, str] | None = None
        self._splits: dict[str, list[PreferencePair]] = {}
        self._std: dict[str, dict[str, np.ndarray]] = {}  # standardised features per model and split
        self._design: dict[str, dict[str, np.ndarray]] = {}
        self._feats: dict[str, dict] = {}
        self._scale: dict[str, np.ndarray] = {}  # the standardiser's sigma per model
        self._lower: dict = {}  # frozen lower-block states per (model, split) (top-block fine-tuning)
        self._backbones: dict = {}  # backbones loaded to compute them (only on a cache miss)
        self.timing: dict[str, float] = {}  # seconds per stage in this process (the sweep saves them)

    @contextmanager
    def timed(self, stage: str):
        """Adds the wall time of the block to `stage` (nested blocks count in their own stage only)."""
        t0, before = time.perf_counter(), sum(self.timing.values())
        try:
            yield
        finally:
            inner = sum(self.timing.values()) - before
            self.timing[stage] = self.timing.get(stage, 0.0) + time.perf_counter() - t0 - inner

    # ------------------------------------------------------------------------------------------ data
    def split(self, name: str) -> list[PreferencePair]:
        if name not in self._splits:
            d = self.exp.data
            self._splits[name] = load_split(d.dataset, name, d.data_dir, d.n_pairs, d.data_seed)
        return self._splits[name]

    def labels(self, split: str) -> np.ndarray:
        return np.array([p.label for p in self.split(split)], dtype=np.float64)

    def features(self, model: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Frozen features of every split: extracted once (the backbone is loaded only if something is
        missing), cached on disk by content hash and kept in memory for the following runs. ``MODEL@N`` has
        MODEL's features."""
        model = trained_on(model)[0]
        if model not in self._feats:
            loaded = []

            def backbone():
                if not loaded:
                    loaded.append(load_backbone(model))
                return loaded[0]

            setup = self.exp.setup
            with self.timed("extraction"):
                self._feats[model] = {
                    s: pair_features(
                        model, self.split(s), setup.max_length, s, backbone, setup.eval_batch_size, self.bf16
                    )
                    for s in SPLITS
                }
        return self._feats[model]

    def standardized(self, model: str) -> dict[str, np.ndarray]:
        """u = (phi(first) - phi(second)) / sigma per split; sigma fit on unlabelled train_w2s features."""
        model = trained_on(model)[0]
        if model not in self._std:
            feats = self.features(model)
            std = heads.Standardizer.fit(*feats["train_w2s"])
            self._scale[model] = std.scale
            self._std[model] = {s: std(*feats[s]) for s in SPLITS}
        return self._std[model]

    def simplex_design(self, model: str) -> dict[str, np.ndarray]:
        """The simplex head's class for `model`: G per split, P(first chosen) = 1/2 + G w. The fixed map h is
        fit on unlabelled train_w2s features; the design is saved once per model so audits can compute in the
        class."""
        model = trained_on(model)[0]
        if model not in self._design:
            u = self.standardized(model)
            h = heads.SimplexMap.fit(u["train_w2s"], self.exp.head.simplex_dim, seed=self.exp.data.data_seed)
            self._design[model] = {s: h.design(u[s]) for s in SPLITS}
            path = simplex_design_file(self.out, model)
            if not path.is_file() and process_roles()[0]:
                atomic_save_npz(path, **self._design[model])
        return self._design[model]

    # ------------------------------------------------------------------------------------------ training
    def _loss(self, name: str):
        c = self.exp.loss
        return get_loss(
            name,
            c.gamma,
            alpha_max=c.confidence_alpha_max,
            warmup_frac=c.confidence_warmup_frac,
            schedule=c.confidence_schedule,
        )

    def _fit_predict(self, model: str, head: str, train_split: str, labels: np.ndarray, loss: str, seed: int):
        """Train on the seed's fit part of `train_split` with soft labels (the L2 chosen on its held-out part,
        :mod:`empirics.partition`); return ({split: logits}, extra metrics)."""
        e = self.exp
        base = trained_on(model)[0]
        part = run_partition(model, seed, len(labels), e.data.heldout_frac)
        if e.mode == "finetune" and head == "full" and e.finetune.trainable_blocks:
            return self._fit_predict_top(model, train_split, labels, loss, seed, part)
        if e.mode == "finetune" and head == "full":
            pairs = self.split(train_split)
            with self.timed("fine-tuning"):
                rm, tok, _, loop = finetune(
                    base,
                    [pairs[i] for i in part.fit],
                    labels[part.fit],
                    self._loss(loss),
                    e.finetune,
                    e.setup.max_length,
                    seed,
                    desc=f"{model} {loss}",
                    bf16=self.bf16,
                )
            splits = ("train_w2s", "test", train_split)  # the weak model and the ceiling: train_gt too
            with self.timed("evaluation"):
                logits = {
                    s: predict_logits(
                        rm, tok, self.split(s), e.setup.max_length, e.setup.eval_batch_size, bf16=self.bf16
                    )
                    for s in dict.fromkeys(splits)
                }
            record = self._fit_record(part, train_split, labels, logits.pop("train_gt", logits[train_split]))
            return logits, record | {"train_log": loop.pop("train_log"), "loop": loop}
        u = self.standardized(base)
        x, y = u[train_split], labels
        if head == "logistic":
            h = e.head
            if loss in CONVEX_FIXED_OBJECTIVES:  # second order, certified by its gradient norm
                l2, chosen, scores = heads.fit_logistic_heldout(x, y, loss, e.gamma, h.head_l2, part)
                v, extra = chosen.v, chosen.metrics()
            else:  # batch statistics (the confidence losses): full-batch Adam

                def fit(l2):
                    w = heads.train_logistic(
                        x[part.fit], y[part.fit], self._loss(loss), h.head_steps, h.head_lr, l2, seed
                    )
                    return w, sigmoid(x[part.heldout] @ w)

                l2, v, scores = choose_l2(h.head_l2, fit, y[part.heldout])
                extra = {"head_solver": "adam", "head_steps": h.head_steps}
            extra |= {"head_l2": l2, "heldout_agreement_per_l2": scores}
            logits = {s: u[s] @ v for s in ("train_w2s", "test", train_split)}
        else:  # the simplex head: a box-constrained class, no penalty to choose
            design = self.simplex_design(base)
            sol = heads.fit_simplex_head(design[train_split][part.fit], y[part.fit], loss, e.gamma)
            extra = {
                "simplex_certificate_gap": sol.gap,
                "simplex_certified": sol.certified,
                "simplex_objective": sol.value,
                "simplex_w": sol.w.tolist(),
            }
            logits = {s: logit(0.5 + design[s] @ sol.w) for s in ("train_w2s", "test", train_split)}
        record = self._fit_record(part, train_split, labels, logits[train_split])
        return {s: logits[s] for s in ("train_w2s", "test")}, extra | record

    def lower_states(self, model: str, split: str):
        """The frozen lower blocks' states of a split's texts (empirics.frozen): cached on disk, kept here."""
        key = (trained_on(model)[0], split)
        if key not in self._lower:

            def backbone():
                if key[0] not in self._backbones:
                    self._backbones[key[0]] = load_backbone(key[0])
                return self._backbones[key[0]]

            setup = self.exp.setup
            with self.timed("extraction"):
                self._lower[key] = cached_lower_states(
                    key[0],
                    self.split(split),
                    setup.max_length,
                    self.exp.finetune.trainable_blocks,
                    split,
                    backbone,
                    setup.eval_batch_size,
                    self.bf16,
                )
        return self._lower[key]

    def _probe(self, model: str, train_split: str, labels: np.ndarray, loss: str, part) -> tuple:
        """The run's own linear probe on the frozen model's pooled features (the last-layer logistic head, its
        L2 chosen on the held-out part), as a head weight on raw pooled features; the top-block runs start
        from it. The batch-statistics losses start from forward CE's probe."""
        base = trained_on(model)[0]
        x, probe_loss = self.standardized(base)[train_split], loss
        if probe_loss not in CONVEX_FIXED_OBJECTIVES:
            probe_loss = "forward_ce"
        # a feature constant up to float rounding (all-MiniLM-L6-v2 has one with sigma 9e-10) is noise that
        # standardising blows up; as a weight on the raw feature it would be ~1e6 and turn the first steps'
        # tiny changes of that feature into logit jumps: such features are left out of the probe
        scale = self._scale[base]
        kept = scale > CONSTANT_FEATURE_REL * np.median(scale)
        l2, chosen, _ = heads.fit_logistic_heldout(
            x * kept, labels, probe_loss, self.exp.gamma, self.exp.head.head_l2, part
        )
        # z = u . v with u = (phi(first) - phi(second)) / sigma: the reward's weight on phi is v / sigma
        weight = np.where(kept, chosen.v / scale, 0.0)
        return weight, {
            "probe_loss": probe_loss,
            "probe_l2": l2,
            "probe_features_left_out": int((~kept).sum()),
        }

    def _fit_predict_top(self, model, train_split, labels, loss, seed, part):
        """Fine-tune the top blocks on cached lower states, starting from the run's linear probe."""
        e, base = self.exp, trained_on(model)[0]
        with self.timed("heads"):
            weight, probe = self._probe(model, train_split, labels, loss, part)
        states = self.lower_states(base, train_split)
        with self.timed("fine-tuning"):
            rm, record = finetune_top(
                base,
                states,
                part.fit,
                labels,
                part.heldout,
                self._loss(loss),
                e.finetune,
                weight,
                seed,
                desc=f"{model} {loss}",
                bf16=self.bf16,
            )
        with self.timed("evaluation"):
            logits = {
                s: predict_top(
                    rm, self.lower_states(base, s), batch_pairs=e.setup.eval_batch_size, bf16=self.bf16
                )
                for s in dict.fromkeys(("train_w2s", "test", train_split))
            }
        fit_record = self._fit_record(part, train_split, labels, logits[train_split])
        return {s: logits[s] for s in ("train_w2s", "test")}, probe | record | fit_record

    def _fit_record(self, part, train_split: str, labels: np.ndarray, z: np.ndarray) -> dict:
        """What the run saw and how well it fit: parts, agreement with its own training labels on the fit
        and held-out parts, and ground-truth accuracy on the fit part (against test: overfitting shows)."""
        prob, truth = sigmoid(z), self.labels(train_split)
        out = {"train_split": train_split, **part.record()}
        out["fit_agreement"] = agreement(prob[part.fit], labels[part.fit])
        out["fit_accuracy"] = float(accuracy(prob[part.fit], truth[part.fit]).mean())
        if len(part.heldout):
            out["heldout_agreement"] = agreement(prob[part.heldout], labels[part.heldout])
        return {"fit": out}

    def check(self, s: RunSpec) -> None:
        """Names and combinations a run needs, before any work."""
        if s.role == "baseline":
            if s.model not in RULES:
                raise InvalidInputError(f"unknown baseline rule {s.model!r}; rules: {', '.join(RULES)}")
            return
        spec(s.model)
        if s.loss not in LOSSES:
            get_loss(s.loss)  # raises with the known names
        if self.exp.mode == "last_layer" and s.head not in HEADS:
            raise InvalidInputError(f"unknown head {s.head!r}; choose one of {HEADS}")
        if s.head == "simplex" and s.loss not in CONVEX_FIXED_OBJECTIVES:
            raise InvalidInputError(f"the simplex head supports {CONVEX_FIXED_OBJECTIVES}, not {s.loss!r}")
        if s.role not in ("weak", "ceiling", "student", "baseline"):
            raise InvalidInputError(f"unknown role {s.role!r}")

    def prepare(self) -> None:
        """Read and check every split (empty, duplicate ids, pairs shared between splits), once; run folders
        then verify their row counts against the splits."""
        if not self.folders.split_sizes:
            from .validate import load_checked_splits

            splits = load_checked_splits(self)
            self.folders.split_sizes = {name: len(pairs) for name, pairs in splits.items()}

    def data_hashes(self) -> dict[str, str]:
        """Content hash of every split this experiment reads (recorded with each run); computed once, since
        the splits never change after they are read."""
        if self._hashes is None:
            self._hashes = {name: content_hash(self.split(name)) for name in SPLITS}
        return self._hashes

    def teacher_predictions(self, s: RunSpec) -> dict[str, np.ndarray]:
        """The weak model's saved P(first chosen) for a student's splits, checked to be for exactly its pairs:
        the same data (content hashes) and the same ids in the same order."""
        weak = weak_spec(s, self.exp.mode, self.exp.finetune.teacher_head)
        recorded = self.folders.metrics(weak).get("data")
        if recorded != self.data_hashes():
            raise DataError(
                f"run {weak.name} was made on other data than this sweep's; rerun it into a new --out"
            )
        out = {}
        for split in ("train_w2s", "test"):
            rows = self.folders.predictions(weak, split)
            if [r["id"] for r in rows] != [p.id for p in self.split(split)]:
                raise DataError(
                    f"{self.folders.dir(weak)}/predictions_{split}.jsonl: ids differ from the {split} pairs"
                )
            out[split] = np.array([r["prob"] for r in rows], dtype=np.float64)
        return out

    def run_record(self, s: RunSpec) -> dict:
        """What made a run's numbers, as its config.json records it (the environment aside)."""
        e = self.exp
        return {
            "experiment": asdict(e),
            "run": asdict(s),
            "name": s.name,
            "gamma": e.gamma,
            "precision": "bf16 autocast" if self.bf16 else "fp32",
            "data": {**data_source(e.data.dataset, e.data.data_dir), "content_hash": self.data_hashes()},
        }

    def run(self, s: RunSpec) -> dict:
        """Run one spec whose dependencies are finished; returns its metrics (a finished run is read back)."""
        self.prepare()
        folders = self.folders
        if folders.finished(s):
            return folders.metrics(s)
        e = self.exp
        self.check(s)
        missing = [
            d.name for d in dependencies(s, e.mode, e.finetune.teacher_head) if not folders.finished(d)
        ]
        if missing:
            raise RuntimeError(f"run {s.name} needs finished runs first: {', '.join(missing)}")
        weak_prob = {}
        if s.role == "student":
            weak_prob = self.teacher_predictions(s)
            train_split, labels = "train_w2s", s.noise.apply(weak_prob["train_w2s"], s.seed)
        else:
            train_split, labels = "train_gt", self.labels("train_gt")
        log.info("run %s", s.name)
        folders.discard(s)  # a half-written or damaged folder of this run: nothing of it is kept
        try:
            if s.role == "baseline":  # a rule: no model, no training
                logits = {
                    sp: logit(rule_probabilities(s.model, self.split(sp), e.gamma))
                    for sp in ("train_w2s", "test")
                }
                extra = {"rule": s.model}
            else:
                with self.timed("heads" if s.head != "full" else "fine-tuning"):
                    logits, extra = self._fit_predict(s.model, s.head, train_split, labels, s.loss, s.seed)
        except FloatingPointError as exc:
            raise TrainingDiverged(f"run {s.name}: {exc}") from None
        for split, z in logits.items():
            if not np.all(np.isfinite(z)):
                raise TrainingDiverged(
                    f"run {s.name}: {int(np.sum(~np.isfinite(z)))} non-finite {split} predictions"
                )
        d = folders.dir(s)
        record = {**self.run_record(s), "environment": run_environment()}
        files = {d / "config.json": json.dumps(record, indent=2)}
        steps, loop = extra.pop("train_log", None), extra.pop("loop", None)
        if steps is not None:  # fine-tuning: the loop's settings and its per-step log
            files[d / "train_log.json"] = json.dumps({"loop": loop, "steps": steps}, indent=1)
        metrics = {"run": s.name, "role": s.role, **extra, "data": self.data_hashes()}
        for split, z in logits.items():
            prob = sigmoid(z)
            wp = weak_prob.get(split)
            rows = [
                {
                    "id": p.id,
                    "label": p.label,
                    "weak_prob": None if wp is None else float(wp[i]),
                    "prob": float(prob[i]),
                    "logit": float(z[i]),
                }
                for i, p in enumerate(self.split(split))
            ]
            if split == train_split:
                mark_training_rows(
                    rows, labels, run_partition(s.model, s.seed, len(labels), e.data.heldout_frac)
                )
            files[d / f"predictions_{split}.jsonl"] = jsonl_text(rows)
            metrics[split] = run_metrics(prob, self.labels(split), e.gamma, wp)
        if s.role == "student":
            weak = weak_spec(s, e.mode, e.finetune.teacher_head)
            weak_m, ceil_m = folders.metrics(weak), folders.metrics(ceiling_spec(s))
            metrics["test"].update(pgr(metrics["test"], weak_m["test"], ceil_m["test"]))
            metrics["weak_run"], metrics["ceiling_run"] = weak.name, ceiling_spec(s).name
        check_finite(metrics, s.name)
        files[d / "metrics.json"] = json.dumps(metrics, indent=2)  # last: a run is finished once this exists
        with self.timed("writing"):
            folders.write(files)
        return metrics
