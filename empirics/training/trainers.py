"""Training one run on its labels: a last-layer head (logistic or simplex) on frozen features, full
fine-tuning, or top-block fine-tuning from the run's own linear probe. Each returns ({split: logits}, what the
run records); the fit / held-out part comes from :mod:`empirics.inputs.partition`."""

from __future__ import annotations

import numpy as np

from core.numerics import logit, sigmoid

from ..inputs.partition import agreement, choose_l2, run_partition
from ..inputs.streams import RunStreams
from ..plans.experiment import Experiment
from ..readers.metrics import accuracy
from ..registries.losses import CONVEX_FIXED_OBJECTIVES
from ..registries.models import trained_on
from . import heads
from .finetune import finetune, finetune_top, predict_logits, predict_top
from .losses import get_loss
from .run_inputs import RunInputs

# a feature whose sigma is below this times the median sigma is constant up to float rounding
CONSTANT_FEATURE_REL = 1e-6


class Trainer:
    """Fits runs of one Experiment on the inputs it is given."""

    def __init__(self, exp: Experiment, inputs: RunInputs):
        self.exp, self.inputs = exp, inputs
        self.bf16, self.timed = inputs.bf16, inputs.timer.timed

    def loss(self, name: str):
        c = self.exp.loss
        return get_loss(
            name,
            c.gamma,
            alpha_max=c.confidence_alpha_max,
            warmup_frac=c.confidence_warmup_frac,
            schedule=c.confidence_schedule,
        )

    def fit_predict(self, model, head, train_split, labels, loss, seed, checkpoints=None, tracking=None):
        """Train on the seed's fit part of `train_split` with soft labels (the L2 chosen on its held-out part,
        :mod:`empirics.inputs.partition`); return ({split: logits}, extra metrics). `checkpoints`
        (:class:`empirics.training.checkpoints.RunCheckpoints`) makes full fine-tuning resumable inside the
        run; heads and top-block runs (minutes) start over. `tracking`
        (:class:`empirics.training.tracking.RunTracking`) logs each fine-tuning step to the trackers asked
        for."""
        e, streams = self.exp, RunStreams(seed)
        part = run_partition(model, streams, len(labels), e.data.heldout_frac)
        if e.mode == "finetune" and head == "full" and e.finetune.trainable_blocks:
            return self._top_block(model, train_split, labels, loss, streams, part, tracking)
        if e.mode == "finetune" and head == "full":
            return self._full_finetune(model, train_split, labels, loss, streams, part, checkpoints, tracking)
        return self._last_layer(model, head, train_split, labels, loss, part)

    def _full_finetune(
        self, model, train_split, labels, loss, streams, part, checkpoints=None, tracking=None
    ):
        e, base = self.exp, trained_on(model)[0]
        pairs = self.inputs.split(train_split)
        with self.timed("fine-tuning"):
            rm, tok, _, loop = finetune(
                base,
                [pairs[i] for i in part.fit],
                labels[part.fit],
                self.loss(loss),
                e.finetune,
                e.setup.max_length,
                streams,
                desc=f"{model} {loss}",
                bf16=self.bf16,
                checkpoints=checkpoints,
                tracking=tracking,
            )
        splits = ("train_w2s", "test", train_split)  # the weak model and the ceiling: train_gt too
        with self.timed("evaluation"):
            logits = {
                s: predict_logits(
                    rm, tok, self.inputs.split(s), e.setup.max_length, e.setup.eval_batch_size, bf16=self.bf16
                )
                for s in dict.fromkeys(splits)
            }
        record = self._fit_record(part, train_split, labels, logits.pop("train_gt", logits[train_split]))
        return logits, record | {"train_log": loop.pop("train_log"), "loop": loop}

    def _last_layer(self, model, head, train_split, labels, loss, part):
        """A head on frozen features: deterministic given its fit part (the run's seed enters through it)."""
        base = trained_on(model)[0]
        self.inputs.standardized(base)  # the features first: reading them may extract them (every thread)
        with heads.one_thread():
            logits, extra = LAST_LAYER_FITTERS[head](self, base, train_split, labels, loss, part)
        record = self._fit_record(part, train_split, labels, logits[train_split])
        return {s: logits[s] for s in ("train_w2s", "test")}, extra | record

    def logistic_head(self, base, train_split, labels, loss, part):
        h, u = self.exp.head, self.inputs.standardized(base)
        x, y = u[train_split], labels
        if loss in CONVEX_FIXED_OBJECTIVES:  # second order, certified by its gradient norm
            l2, chosen, scores = heads.fit_logistic_heldout(x, y, loss, self.exp.gamma, h.head_l2, part)
            v, extra = chosen.v, chosen.metrics()
        else:  # batch statistics (the confidence losses): full-batch Adam from zero

            def fit(l2):
                w = heads.train_logistic(
                    x[part.fit], y[part.fit], self.loss(loss), h.head_steps, h.head_lr, l2
                )
                return w, sigmoid(x[part.heldout] @ w)

            l2, v, scores = choose_l2(h.head_l2, fit, y[part.heldout])
            extra = {"head_solver": "adam", "head_steps": h.head_steps}
        extra |= {"head_l2": l2, "heldout_agreement_per_l2": scores}
        return {s: u[s] @ v for s in ("train_w2s", "test", train_split)}, extra

    def simplex_head(self, base, train_split, labels, loss, part):
        """A box-constrained class: no penalty to choose, and no seed beyond the run's fit part."""
        design = self.inputs.simplex_design(base)
        sol = heads.fit_simplex_head(design[train_split][part.fit], labels[part.fit], loss, self.exp.gamma)
        extra = {
            "simplex_certificate_gap": sol.gap,
            "simplex_certified": sol.certified,
            "simplex_objective": sol.value,
            "simplex_w": sol.w.tolist(),
        }
        return {s: logit(0.5 + design[s] @ sol.w) for s in ("train_w2s", "test", train_split)}, extra

    def _probe(self, model: str, train_split: str, labels: np.ndarray, loss: str, part) -> tuple:
        """The run's own linear probe on the frozen model's pooled features (the last-layer logistic head, its
        L2 chosen on the held-out part), as a head weight on raw pooled features; the top-block runs start
        from it. The batch-statistics losses start from forward CE's probe."""
        base = trained_on(model)[0]
        x, probe_loss = self.inputs.standardized(base)[train_split], loss
        if probe_loss not in CONVEX_FIXED_OBJECTIVES:
            probe_loss = "forward_ce"
        # a feature constant up to float rounding (all-MiniLM-L6-v2 has three, the smallest sigma 9e-10) is
        # noise that standardising blows up; as a weight on the raw feature it would be ~1e6 and turn the
        # first steps' tiny changes of that feature into logit jumps: such features are left out of the probe
        scale = self.inputs.scale[base]
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

    def _top_block(self, model, train_split, labels, loss, streams, part, tracking=None):
        """Fine-tune the top blocks on cached lower states, starting from the run's linear probe."""
        e, base = self.exp, trained_on(model)[0]
        with self.timed("heads"):
            weight, probe = self._probe(model, train_split, labels, loss, part)
        states = self.inputs.lower_states(base, train_split)
        with self.timed("fine-tuning"):
            rm, record = finetune_top(
                base,
                states,
                part.fit,
                labels,
                part.heldout,
                self.loss(loss),
                e.finetune,
                weight,
                streams,
                desc=f"{model} {loss}",
                bf16=self.bf16,
                tracking=tracking,
            )
        with self.timed("evaluation"):
            logits = {
                s: predict_top(
                    rm, self.inputs.lower_states(base, s), batch_pairs=e.setup.eval_batch_size, bf16=self.bf16
                )
                for s in dict.fromkeys(("train_w2s", "test", train_split))
            }
        fit_record = self._fit_record(part, train_split, labels, logits[train_split])
        return {s: logits[s] for s in ("train_w2s", "test")}, probe | record | fit_record

    def _fit_record(self, part, train_split: str, labels: np.ndarray, z: np.ndarray) -> dict:
        """What the run saw and how well it fit: parts, agreement with its own training labels on the fit
        and held-out parts, and ground-truth accuracy on the fit part (against test: overfitting shows)."""
        prob, truth = sigmoid(z), self.inputs.labels(train_split)
        out = {"train_split": train_split, **part.record()}
        out["fit_agreement"] = agreement(prob[part.fit], labels[part.fit])
        out["fit_accuracy"] = float(accuracy(prob[part.fit], truth[part.fit]).mean())
        if len(part.heldout):
            out["heldout_agreement"] = agreement(prob[part.heldout], labels[part.heldout])
        return {"fit": out}


# the fitter of each last-layer head of empirics.registries.heads (a test checks both name the same heads)
LAST_LAYER_FITTERS = {"logistic": Trainer.logistic_head, "simplex": Trainer.simplex_head}
