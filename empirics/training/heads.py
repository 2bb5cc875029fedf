"""Heads trained on frozen pair features (the last-layer mode: the setting of the paper's last-layer theorem).

- Logistic head: z = v . u, u = (phi(first) - phi(second)) / sigma (sigma: per-feature std of the training
  texts; a shared centring cancels in the difference, so swapping the texts negates z exactly). Trained
  full-batch with Adam (cosine decay) on float64, for any loss of :mod:`empirics.training.losses`, plus an L2
  penalty (reverse CE is unbounded without one). Confidence losses use the whole training set as their batch.
- Simplex head (docs/theory.md R4's convex class): a fixed map h(u) into the simplex Delta_d, fit on
  *unlabelled* train_w2s features: k-means centroids c_l of {u, -u} (symmetric), h_l(u) = softmax_l(-|u -
  c_l|^2 / tau) with tau the median squared distance to the nearest centroid. The head is order-antisymmetric,
  F = 1/2 [W h(u)] + 1/2 flip[W h(-u)], i.e. F_1 = 1/2 + 1/2 sum_l w_l (h_l(u) - h_l(-u)), w in [gamma,
  1-gamma]^d: linear in W, so the class stays convex. Fit by the certified solver of core.binary_head for
  forward/reverse KL and CE; the Frank-Wolfe gap is returned with the head."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from scipy.cluster.vq import kmeans2
from scipy.spatial.distance import cdist
from threadpoolctl import threadpool_limits

from core.binary_head import BinarySolution, solve_binary
from core.errors import LossError
from core.numerics import gamma_floor, sigmoid, xlogy
from core.tolerances import LOGISTIC_GRAD_TOL

from ..inputs.partition import Partition, choose_l2
from ..registries.losses import CONVEX_FIXED_OBJECTIVES, LOSS_REGISTRY, LogitTerms
from .losses import Loss


@contextmanager
def one_thread() -> Iterator[None]:
    """Heads run on one thread (torch's pool, and the BLAS and OpenMP libraries through threadpoolctl): at
    their size (thousands of pairs, hundreds of features) threads cost more than they give (measured on a
    2-core CPU, 4,000 x 640 features: five heads 7.7 s on one thread, 16.1 s on two), and one thread makes
    their numbers independent of the core count (on two, logits move by ~4e-9). The thread counts come back
    after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(before)


@dataclass
class Standardizer:
    scale: np.ndarray

    @classmethod
    def fit(cls, first: np.ndarray, second: np.ndarray) -> "Standardizer":
        return cls(np.concatenate([first, second]).std(axis=0).astype(np.float64) + 1e-8)

    def __call__(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        return (first.astype(np.float64) - second.astype(np.float64)) / self.scale


def train_logistic(
    u: np.ndarray,
    labels: np.ndarray,
    fn: Loss,
    steps: int = 1500,
    lr: float = 0.05,
    l2: float = 1e-3,
) -> np.ndarray:
    """Full-batch Adam on mean loss `fn` + l2/2 |v|^2 from v = 0 (deterministic: nothing is drawn); returns
    v."""
    x = torch.tensor(u, dtype=torch.float64)
    y = torch.tensor(labels, dtype=torch.float64)
    v = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([v], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for t in range(steps):
        opt.zero_grad()
        obj = fn(x @ v, y, t / steps) + 0.5 * l2 * (v @ v)
        if not torch.isfinite(obj):
            raise FloatingPointError(
                f"logistic head: non-finite objective {obj.item()} at step {t + 1} of {steps}"
            )
        obj.backward()
        opt.step()
        sched.step()
    return v.detach().numpy()


@dataclass
class LogisticFit:
    v: np.ndarray
    objective: float
    grad_inf: float  # the certificate: max |dJ/dv| at the returned v
    iterations: int
    solver: str

    @property
    def certified(self) -> bool:
        return self.grad_inf <= LOGISTIC_GRAD_TOL

    def metrics(self) -> dict:
        return {
            "head_solver": self.solver,
            "head_objective": self.objective,
            "head_grad_inf": self.grad_inf,
            "head_certified": self.certified,
            "head_iterations": self.iterations,
        }


def logistic_objective(loss: str, gamma: float, u: np.ndarray, y: np.ndarray, l2: float):
    """J(v) = mean_i L(y_i, sigmoid(u_i . v)) + l2/2 |v|^2 and its gradient, in float64, from the loss
    entry's logit-space terms (the same values as :mod:`empirics.training.losses`; gradients docs/theory.md
    section 2)."""
    entry = LOSS_REGISTRY.get(loss)
    if entry is None or entry.logit_terms is None:
        raise LossError(f"{loss!r} is not one of the fixed objectives {CONVEX_FIXED_OBJECTIVES}")
    y = np.asarray(y, np.float64)
    yg = gamma_floor(y, gamma)  # the reverse losses read the floored weak label
    log_y, log_1y = np.log(yg), np.log1p(-yg)
    teacher_entropy = float(np.mean(-(xlogy(y, y) + xlogy(1 - y, 1 - y))))

    def value_and_grad(v: np.ndarray) -> tuple[float, np.ndarray]:
        z = u @ v
        log_s, log_1s = -np.logaddexp(0.0, -z), -np.logaddexp(0.0, z)
        batch = LogitTerms(z, np.exp(log_s), log_s, log_1s, y, log_y, log_1y, teacher_entropy)
        per, dz = entry.logit_terms(batch)
        value = float(per.mean() + 0.5 * l2 * (v @ v))
        return value, u.T @ dz / len(z) + l2 * v

    return value_and_grad


def fit_logistic(u: np.ndarray, labels: np.ndarray, loss: str, gamma: float, l2: float) -> LogisticFit:
    """The logistic head of a fixed objective by L-BFGS (strong-Wolfe line search) from v = 0, in float64,
    to a gradient-norm certificate. Deterministic: no seed is involved."""
    from scipy.optimize import minimize

    u = np.asarray(u, np.float64)
    fun = logistic_objective(loss, gamma, u, labels, l2)
    res = minimize(
        fun,
        np.zeros(u.shape[1]),
        jac=True,
        method="L-BFGS-B",
        options={
            "maxiter": 20_000,
            "maxfun": 40_000,
            "ftol": 0.0,
            "gtol": LOGISTIC_GRAD_TOL / 10,
            "maxcor": 30,
        },
    )
    value, grad = fun(res.x)
    if not np.isfinite(value):
        raise FloatingPointError(f"logistic head ({loss}): non-finite objective {value}")
    return LogisticFit(res.x, value, float(np.max(np.abs(grad))), int(res.nit), "lbfgs")


def fit_logistic_heldout(
    u: np.ndarray, labels: np.ndarray, loss: str, gamma: float, l2_grid: list[float], part: Partition
) -> tuple[float, LogisticFit, dict[str, float]]:
    """The suite's one rule for a fixed objective's logistic head: fit on ``part.fit`` once per candidate L2
    (:func:`fit_logistic`, certified), keep the L2 whose held-out predictions agree best with the held-out
    labels (:func:`empirics.inputs.partition.choose_l2`). Returns (chosen L2, its fit, held-out agreement per
    L2)."""

    def fit(l2):
        f = fit_logistic(u[part.fit], labels[part.fit], loss, gamma, l2)
        return f, sigmoid(u[part.heldout] @ f.v)

    return choose_l2(l2_grid, fit, labels[part.heldout])


@dataclass
class SimplexMap:
    centroids: np.ndarray  # (d, dim)
    tau: float

    @classmethod
    def fit(cls, u_unlabelled: np.ndarray, d: int = 64, seed: int = 0) -> "SimplexMap":
        sym = np.concatenate([u_unlabelled, -u_unlabelled])
        centroids, _ = kmeans2(sym, min(d, len(sym)), seed=seed, minit="++", iter=30)
        dist = cdist(sym, centroids, "sqeuclidean")  # (2n, d): no (2n, d, features) intermediate
        return cls(centroids, float(np.median(dist.min(axis=1))) + 1e-12)

    def __call__(self, u: np.ndarray) -> np.ndarray:
        dist = cdist(u, self.centroids, "sqeuclidean") / self.tau
        z = -dist - (-dist).max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def design(self, u: np.ndarray) -> np.ndarray:
        """G with F_1 = 1/2 + G w: (h(u) - h(-u)) / 2."""
        return 0.5 * (self(u) - self(-u))


def fit_simplex_head(G: np.ndarray, labels: np.ndarray, loss: str, gamma: float) -> BinarySolution:
    """The certified projection of the weak labels onto the simplex head's class by the loss entry's
    probability-space objective."""
    entry = LOSS_REGISTRY.get(loss)
    if entry is None or entry.prob_objective is None:
        raise LossError(
            f"the simplex head supports {', '.join(CONVEX_FIXED_OBJECTIVES)}; {loss!r} has no objective in "
            "probability space (batch statistics: use the logistic head)"
        )
    y = gamma_floor(labels, gamma)  # the gamma-floor of the targets
    return solve_binary(0.5, G, y, gamma, entry.prob_objective)
