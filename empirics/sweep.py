"""The sweep runner: every run of a grid that is not finished, in dependency order, resumably."""

from __future__ import annotations

import json
import time
import traceback
from pathlib import Path

from tqdm.auto import tqdm

from core.errors import InvalidInputError
from core.io import atomic_write_text

from .config import Sweep
from .grid import student_specs, with_dependencies
from .logs import get_logger
from .pipeline import Pipeline
from .run_folder import process_roles
from .summary import summarize

log = get_logger(__name__)


def planned_runs(sw: Sweep):
    return with_dependencies(student_specs(sw.grid, sw.experiment.mode), sw.experiment.mode)


def run_sweep(sw: Sweep, out: str | Path) -> dict:
    """Run every run of the sweep that is not finished; a failing run is recorded and the sweep goes on."""
    out = Path(out)
    main, barrier = process_roles()
    check_same_experiment(sw, out)
    if main:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "sweep.json", json.dumps(sw.to_json(), indent=2))
    pipe = Pipeline(sw.experiment, out)
    runs = planned_runs(sw)
    done = sum(pipe.folders.finished(r) for r in runs)
    log.info("%d runs (%d already finished) -> %s", len(runs), done, out)
    failures, t0 = [], time.time()
    for r in tqdm(runs, desc="sweep", unit="run", disable=not main):
        if pipe.folders.finished(r):
            continue
        try:
            pipe.run(r)
        except InvalidInputError:
            raise
        except Exception as exc:  # keep going: what finished stays finished
            failures.append(
                {"run": r.name, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
            )
            if main:
                atomic_write_text(out / "failures.json", json.dumps(failures, indent=2))
            log.error("run %s failed: %s: %s", r.name, type(exc).__name__, exc)
    barrier()
    summary = summarize(out) if main else {"rows": [], "warnings": [], "runs": 0, "not_main_process": True}
    summary["wall_seconds"] = time.time() - t0
    summary["failures"] = len(failures)
    return summary


def check_same_experiment(sw: Sweep, out: Path) -> None:
    """Run names do not encode experiment-wide settings (data, pair count, mode, gamma, ...): resuming into a
    folder made by a different experiment would take its runs for finished ones. The grid itself may grow."""
    path = out / "sweep.json"
    if not path.is_file():
        return
    old = json.loads(path.read_text()).get("experiment")
    new = json.loads(json.dumps(sw.to_json()))["experiment"]
    if old is not None and old != new:
        old, new = _flat(old), _flat(new)
        changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        raise InvalidInputError(
            f"{out} holds runs of a different experiment (differs in {', '.join(changed)}); "
            "use another --out, or the same settings to resume"
        )


def _flat(d: dict, prefix: str = "") -> dict:
    """{"data": {"n_pairs": 8}} -> {"n_pairs": 8}: option names, as the CLI spells them (with underscores)."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, prefix))
        else:
            out[prefix + k] = v
    return out
