"""Presets, the sweep runner (resumable), and the summary table of a results folder."""

from __future__ import annotations

import json
import math
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from theory.divergences import InvalidInputError

from .finetune import FinetuneConfig
from .losses import LOSSES
from .pipeline import Experiment, Noise, Pipeline, atomic_write, process_roles, student_specs, with_dependencies

FOUR = ("forward_ce", "forward_kl", "reverse_ce", "reverse_kl")


@dataclass(frozen=True)
class Sweep:
    experiment: Experiment
    pairs: tuple[tuple[str, str], ...]
    losses: tuple[str, ...] = LOSSES
    heads: tuple[str, ...] = ("logistic",)
    seeds: tuple[int, ...] = (0,)
    noises: tuple[Noise, ...] = (Noise(),)
    description: str = ""
    notes: tuple[str, ...] = field(default=())


def _paper(pairs, description):
    return Sweep(Experiment(mode="finetune"), pairs, FOUR + ("confidence", "reverse_confidence_mix",
                                                             "reverse_confidence_target"),
                 ("full",), (0, 1, 2), (Noise(), *[Noise("flip", r) for r in (0.1, 0.2, 0.3, 0.4)]), description)


PRESETS: dict[str, Sweep] = {
    "cpu-demo": Sweep(
        Experiment(n_pairs=800, mode="last_layer"), (("all-MiniLM-L6-v2", "gemma-3-270m"),), LOSSES,
        ("logistic", "simplex"), (0,), (Noise(), Noise("flip", 0.3)),
        "real packaged models (weak all-MiniLM-L6-v2, strong Gemma-3-270M) on 800 HH-RLHF harmless pairs per split, "
        "last-layer mode: exercises the pipeline on real models and data; not expected to decide the paper's claims",
        ("needs --data-dir or $W2S_DATA_DIR (the HH-RLHF harmless JSONL splits) unless the hub is reachable",)),
    "cpu-full": Sweep(
        Experiment(mode="last_layer"), (("all-MiniLM-L6-v2", "gemma-3-270m"),), LOSSES, ("logistic", "simplex"),
        (0, 1, 2), (Noise(), *[Noise("flip", r) for r in (0.1, 0.2, 0.3, 0.4)]),
        "all 4,000 pairs per split, 3 seeds, noise 0-40 %: hours on a 2-core CPU (resumable)"),
    "paper-gpt2": _paper((("gpt2", "gpt2-medium"), ("gpt2", "gpt2-large"), ("gpt2-medium", "gpt2-large"),
                          ("gpt2", "gpt2-xl")), "the paper's GPT-2 grid, full fine-tuning (GPU)"),
    "paper-pythia": _paper((("EleutherAI/pythia-70m", "EleutherAI/pythia-410m"),
                            ("EleutherAI/pythia-160m", "EleutherAI/pythia-1b"),
                            ("EleutherAI/pythia-410m", "EleutherAI/pythia-2.8b")),
                           "the paper's Pythia grid, full fine-tuning (GPU)"),
    "paper-qwen": _paper((("Qwen/Qwen2.5-0.5B", "Qwen/Qwen2.5-1.5B"), ("Qwen/Qwen2.5-3B", "Qwen/Qwen2.5-7B"),
                          ("Qwen/Qwen2.5-3B", "Qwen/Qwen2.5-14B"), ("Qwen/Qwen2.5-7B", "Qwen/Qwen2.5-14B")),
                         "the paper's Qwen2.5 grid, full fine-tuning (GPUs; FSDP via accelerate for 7B-14B)"),
    "tiny": Sweep(
        Experiment(n_pairs=24, mode="finetune", max_length=64,
                   finetune=FinetuneConfig(lr=1e-3, batch_size=8, epochs=1, max_length=64, eval_batch_size=16)),
        (("tiny-gpt2", "tiny-qwen2"),), LOSSES, ("full",), (0,), (Noise(), Noise("flip", 0.25)),
        "tiny random models on a few pairs: the pipeline end to end in seconds (tests, smoke runs)"),
}


def preset(name: str) -> Sweep:
    if name not in PRESETS:
        raise InvalidInputError(f"unknown preset {name!r}; known presets: {', '.join(PRESETS)}")
    return PRESETS[name]


def run_sweep(sw: Sweep, out: str | Path, log=print) -> dict:
    """Run every run of the sweep that is not finished; a failing run is recorded and the sweep goes on."""
    out = Path(out)
    main, barrier = process_roles()
    check_same_experiment(sw, out)
    if main:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / "sweep.json", json.dumps(sweep_to_json(sw), indent=2))
    pipe = Pipeline(sw.experiment, out, log=lambda m: tqdm.write(m) if main else None)
    runs = with_dependencies(student_specs(sw.pairs, sw.losses, sw.heads, sw.seeds, sw.noises), pipe)
    done = sum(pipe.finished(r) for r in runs)
    log(f"{len(runs)} runs ({done} already finished) -> {out}")
    failures, t0 = [], time.time()
    for r in tqdm(runs, desc="sweep", unit="run", disable=not main):
        if pipe.finished(r):
            continue
        try:
            pipe.run(r)
        except InvalidInputError:
            raise
        except Exception as exc:  # keep going: what finished stays finished
            failures.append({"run": r.name, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()})
            if main:
                atomic_write(out / "failures.json", json.dumps(failures, indent=2))
            log(f"run {r.name} failed: {type(exc).__name__}: {exc}")
    barrier()
    summary = summarize(out) if main else {"rows": [], "warnings": [], "runs": 0, "not_main_process": True}
    summary["wall_seconds"] = time.time() - t0
    summary["failures"] = len(failures)
    return summary


def check_same_experiment(sw: Sweep, out: Path) -> None:
    """Run names do not encode experiment-wide settings (data, pair count, mode, gamma, ...): resuming into a folder
    made by a different experiment would take its runs for finished ones. The grid itself may grow."""
    path = out / "sweep.json"
    if not path.is_file():
        return
    old = json.loads(path.read_text()).get("experiment")
    new = json.loads(json.dumps(sweep_to_json(sw)))["experiment"]
    if old is not None and old != new:
        changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        raise InvalidInputError(f"{out} holds runs of a different experiment (differs in {', '.join(changed)}); "
                                "use another --out, or the same settings to resume")


def sweep_to_json(sw: Sweep) -> dict:
    from dataclasses import asdict

    d = asdict(sw)
    d["noises"] = [n.tag for n in sw.noises]
    return d


# ---------------------------------------------------------------------------------------------- summary
def _load_runs(out: Path) -> list[dict]:
    runs = []
    for m in sorted(out.glob("*/metrics.json")):
        cfg = json.loads((m.parent / "config.json").read_text())
        runs.append({"metrics": json.loads(m.read_text()), "run": cfg["run"], "dir": m.parent.name})
    return runs


def _ci(values: list[float], ses: list[float]) -> tuple[float, float]:
    """Mean and 95 % half-width: over seeds when there are several, else the binomial SE of the single run."""
    if len(values) > 1:
        from scipy import stats

        return float(np.mean(values)), float(stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1)
                                             / math.sqrt(len(values)))
    return values[0], 1.96 * ses[0]


def summarize(out: str | Path) -> dict:
    """summary.json and summary.md: weak, ceiling and every student's test accuracy with a 95 % interval, per
    (weak -> strong, head, noise); warns when the weak model is not really weaker (ceiling - weak < 2 SE)."""
    out = Path(out)
    runs = _load_runs(out)
    acc = lambda r: r["metrics"]["test"]["accuracy"]  # noqa: E731
    se = lambda r: r["metrics"]["test"]["accuracy_se"]  # noqa: E731
    weak = {(r["run"]["model"], r["run"]["seed"]): r for r in runs if r["run"]["role"] == "weak"}
    ceil = {(r["run"]["model"], r["run"]["head"], r["run"]["seed"]): r for r in runs if r["run"]["role"] == "ceiling"}
    groups: dict[tuple, dict[str, list]] = {}
    for r in runs:
        if r["run"]["role"] != "student":
            continue
        s = r["run"]
        noise = "none" if s["noise"]["kind"] == "none" else f"{s['noise']['kind']}{s['noise']['level']:g}"
        g = groups.setdefault((s["weak_model"], s["model"], s["head"], noise), {})
        g.setdefault(s["loss"], []).append(r)
        g.setdefault("_weak", []).append(weak.get((s["weak_model"], s["seed"])))
        g.setdefault("_ceiling", []).append(ceil.get((s["model"], s["head"], s["seed"])))
    rows, warnings = [], []
    for (w, st, head, noise), g in sorted(groups.items()):
        row = {"weak_model": w, "strong_model": st, "head": head, "noise": noise}
        for name in ("_weak", "_ceiling"):
            rs = list({id(x): x for x in g[name] if x}.values())
            if rs:
                row[name[1:]] = _ci([acc(x) for x in rs], [se(x) for x in rs])
        if "weak" in row and "ceiling" in row:
            wr = [x for x in g["_weak"] if x][0]
            cr = [x for x in g["_ceiling"] if x][0]
            gap, gse = acc(cr) - acc(wr), math.sqrt(se(cr) ** 2 + se(wr) ** 2)
            row["weak_really_weaker"] = gap >= 2 * gse
            if gap < 2 * gse:
                warnings.append(f"{w} -> {st} ({head}): ceiling - weak = {gap:.4f} < 2 SE = {2 * gse:.4f}; the weak "
                                "model is not clearly weaker on this test split")
        for loss in LOSSES:
            if loss in g:
                row[loss] = _ci([acc(x) for x in g[loss]], [se(x) for x in g[loss]])
        rows.append(row)
    summary = {"rows": rows, "warnings": list(dict.fromkeys(warnings)), "runs": len(runs)}
    atomic_write(out / "summary.json", json.dumps(summary, indent=2))
    atomic_write(out / "summary.md", summary_markdown(summary))
    return summary


def summary_markdown(summary: dict) -> str:
    cols = ["weak", "ceiling", *LOSSES]
    lines = ["| weak -> strong | head | noise | " + " | ".join(cols) + " |", "|" + " --- |" * (3 + len(cols))]
    for r in summary["rows"]:
        cells = [f"{100 * r[c][0]:.1f} +- {100 * r[c][1]:.1f}" if c in r else "" for c in cols]
        lines.append(f"| {r['weak_model']} -> {r['strong_model']} | {r['head']} | {r['noise']} | " + " | ".join(cells) + " |")
    text = "Test accuracy (%) with 95 % intervals (over seeds, or binomial for one seed).\n\n" + "\n".join(lines) + "\n"
    if summary["warnings"]:
        text += "\n" + "\n".join(f"- WARNING: {w}" for w in summary["warnings"]) + "\n"
    return text


def override(sw: Sweep, **kw) -> Sweep:
    """A preset with command-line overrides (None leaves a field as it is)."""
    exp_fields = {k: v for k, v in kw.items() if k in Experiment.__dataclass_fields__ and v is not None}
    ft_fields = {k: v for k, v in kw.items() if k in FinetuneConfig.__dataclass_fields__ and v is not None
                 and k not in exp_fields}
    exp = replace(sw.experiment, **exp_fields)
    if ft_fields:
        exp = replace(exp, finetune=replace(exp.finetune, **ft_fields))
    sweep_fields = {k: tuple(v) for k, v in kw.items() if k in ("pairs", "losses", "heads", "seeds", "noises")
                    and v is not None}
    return replace(sw, experiment=exp, **sweep_fields)
