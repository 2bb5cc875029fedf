"""Grid expansion: the students of a sweep and the weak and ceiling runs they depend on (pure, no I/O)."""

from __future__ import annotations

from core.errors import ConfigError

from ..inputs.baselines import RULES
from ..registries.heads import HEAD_REGISTRY
from ..registries.models import trained_on
from .options import GridConfig
from .spec import RunSpec


def student_specs(grid: GridConfig, mode: str) -> list[RunSpec]:
    """The grid of students: each head with the losses it can fit (the simplex head only the fixed convex
    objectives); fine-tuning uses "full"."""
    heads = ["full"] if mode == "finetune" else list(grid.heads)
    out = []
    for weak, strong in grid.model_pairs:
        for head in heads:
            for loss in grid.losses:
                if not HEAD_REGISTRY[head].fits(loss):
                    continue
                for seed in grid.seeds:
                    for noise in grid.noise_list:
                        if grid.runs_with(loss, noise):
                            out.append(RunSpec("student", strong, seed, head, loss, weak, noise))
    return out


def weak_spec(student: RunSpec, mode: str, teacher_head: str = "same") -> RunSpec:
    """The student's teacher run: a logistic head in last-layer mode; in fine-tuning mode fine-tuned like the
    students, or a logistic head on frozen features with ``teacher_head="logistic"``."""
    logistic = mode == "last_layer" or teacher_head == "logistic"
    return RunSpec("weak", student.weak_model, student.seed, "logistic" if logistic else "full")


def ceiling_spec(student: RunSpec) -> RunSpec:
    return RunSpec("ceiling", student.model, student.seed, student.head)


def dependencies(spec: RunSpec, mode: str, teacher_head: str = "same") -> list[RunSpec]:
    """What must be finished before `spec` runs."""
    return [weak_spec(spec, mode, teacher_head), ceiling_spec(spec)] if spec.role == "student" else []


def baseline_specs() -> list[RunSpec]:
    """The rules that read no model (empirics.inputs.baselines), once per sweep."""
    return [RunSpec("baseline", rule, 0, "rule") for rule in RULES]


def with_dependencies(students: list[RunSpec], mode: str, teacher_head: str = "same") -> list[RunSpec]:
    """Baselines, then seed by seed (in the grid's order) its weak runs, its ceilings and its students, each
    run once: a sweep stopped part way leaves whole seeds finished, each a complete replicate."""
    out = baseline_specs()
    for seed in dict.fromkeys(s.seed for s in students):
        mine = [s for s in students if s.seed == seed]
        out += list(dict.fromkeys(weak_spec(s, mode, teacher_head) for s in mine))
        out += list(dict.fromkeys(ceiling_spec(s) for s in mine)) + mine
    return out


def planned_runs(sweep) -> list[RunSpec]:
    """Every run of a sweep, dependencies first."""
    mode = sweep.experiment.mode
    teacher_head = sweep.experiment.finetune.teacher_head
    return with_dependencies(student_specs(sweep.grid, mode), mode, teacher_head)


def sweep_models(grid: GridConfig) -> list[str]:
    """The models a sweep reads features of, in the grid's order (MODEL@N counts as MODEL)."""
    return list(dict.fromkeys(trained_on(m)[0] for pair in grid.model_pairs for m in pair))


def check_stage(grid: GridConfig, models) -> tuple[str, ...]:
    """``--only-models``: names of this sweep's models (MODEL, not MODEL@N), at least one, each once."""
    models, known = tuple(models), sweep_models(grid)
    if not models:
        raise ConfigError("--only-models needs at least one model")
    unknown = [m for m in models if m not in known]
    if unknown:
        raise ConfigError(
            f"--only-models: {', '.join(unknown)} is not a model of this sweep "
            f"(its models: {', '.join(known)})"
        )
    return tuple(dict.fromkeys(models))


def stage_runs(
    runs: list[RunSpec], models, mode: str, teacher_head: str = "same", finished=lambda run: False
) -> list[RunSpec]:
    """A stage of a sweep (``--only-models``): the runs, in order, of these models (a run reads its own
    model's features only, MODEL@N counting as MODEL; a student reads its teacher's saved predictions) whose
    dependencies are in the stage or `finished`, and the rules, which read no model. A student whose
    teacher is neither waits for a later stage."""
    keep, out = set(models), {}
    for r in runs:  # planned order: dependencies first
        mine = r.role == "baseline" or trained_on(r.model)[0] in keep
        if mine and all(d in out or finished(d) for d in dependencies(r, mode, teacher_head)):
            out[r] = None
    return list(out)
