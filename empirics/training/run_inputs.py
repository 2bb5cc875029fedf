"""What a sweep's runs read, loaded once per process: the splits, the frozen features and their standardised
differences, the simplex head's design, and the frozen lower blocks' states for top-block fine-tuning. Each is
cached on disk by content (features, lower states) and kept in memory for the following runs; the time spent
is added to the stage timer."""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from core.io import atomic_save_npz

from ..inputs.data import SPLITS, PreferencePair, content_hash, load_split
from ..inputs.features import pair_features
from ..inputs.frozen import cached_lower_states
from ..inputs.models import load_backbone
from ..plans.experiment import Experiment
from ..processes import process_roles
from ..readers.run_folder import simplex_design_file
from ..registries.models import trained_on
from . import heads


class StageTimer:
    """Wall seconds per stage (extraction, heads, fine-tuning, evaluation, writing) in this process."""

    def __init__(self) -> None:
        self.timing: dict[str, float] = {}
        # each model's features per split: {"texts", "seconds", "cached"} (empirics.inputs.features)
        self.features: dict[str, dict[str, dict]] = {}

    @contextmanager
    def timed(self, stage: str):
        """Adds the wall time of the block to `stage` (nested blocks count in their own stage only)."""
        t0, before = time.perf_counter(), sum(self.timing.values())
        try:
            yield
        finally:
            inner = sum(self.timing.values()) - before
            self.timing[stage] = self.timing.get(stage, 0.0) + time.perf_counter() - t0 - inner


class RunInputs:
    """The splits and every model's features of one Experiment (``MODEL@N`` reads MODEL's)."""

    def __init__(self, exp: Experiment, out: Path, bf16: bool, timer: StageTimer):
        self.exp, self.out, self.bf16, self.timer = exp, out, bf16, timer
        self._hashes: dict[str, str] | None = None
        self._splits: dict[str, list[PreferencePair]] = {}
        self._std: dict[str, dict[str, np.ndarray]] = {}  # standardised features per model and split
        self._design: dict[str, dict[str, np.ndarray]] = {}
        self._feats: dict[str, dict] = {}
        self.scale: dict[str, np.ndarray] = {}  # the standardiser's sigma per model
        self._lower: dict = {}  # frozen lower-block states per (model, split) (top-block fine-tuning)
        self._backbones: dict = {}  # backbones loaded to compute them (only on a cache miss)

    def split(self, name: str) -> list[PreferencePair]:
        if name not in self._splits:
            d = self.exp.data
            self._splits[name] = load_split(d.dataset, name, d.data_dir, d.pairs(name), d.data_seed)
        return self._splits[name]

    def labels(self, split: str) -> np.ndarray:
        return np.array([p.label for p in self.split(split)], dtype=np.float64)

    def data_hashes(self) -> dict[str, str]:
        """Content hash of every split this experiment reads (recorded with each run); computed once, since
        the splits never change after they are read."""
        if self._hashes is None:
            self._hashes = {name: content_hash(self.split(name)) for name in SPLITS}
        return self._hashes

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

            setup, measured = self.exp.setup, {s: {} for s in SPLITS}
            with self.timer.timed("extraction"):
                self._feats[model] = {
                    s: pair_features(
                        model,
                        self.split(s),
                        setup.max_length,
                        s,
                        backbone,
                        setup.eval_batch_size,
                        self.bf16,
                        setup.extraction,
                        measured[s],
                    )
                    for s in SPLITS
                }
            self.timer.features[model] = measured
        return self._feats[model]

    def standardized(self, model: str) -> dict[str, np.ndarray]:
        """u = (phi(first) - phi(second)) / sigma per split; sigma fit on unlabelled train_w2s features."""
        model = trained_on(model)[0]
        if model not in self._std:
            feats = self.features(model)
            std = heads.Standardizer.fit(*feats["train_w2s"])
            self.scale[model] = std.scale
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

    def lower_states(self, model: str, split: str):
        """The frozen lower blocks' states of a split's texts (empirics.inputs.frozen): cached on disk, kept
        here."""
        key = (trained_on(model)[0], split)
        if key not in self._lower:

            def backbone():
                if key[0] not in self._backbones:
                    self._backbones[key[0]] = load_backbone(key[0])
                return self._backbones[key[0]]

            setup = self.exp.setup
            with self.timer.timed("extraction"):
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
