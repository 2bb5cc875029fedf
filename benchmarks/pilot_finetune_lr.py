"""Pilot: the fine-tuning regime's learning rate, chosen without a test label.

The `replication-finetune` preset trains its runs at one learning rate (empirics.plans.presets.LR_FINETUNE),
the same for every loss. It was chosen by this pilot: for each candidate rate, the strong model's ceiling run
(seed 0: its top block trained on ground truth, on the fit part of train_gt, from its own linear probe) is
trained exactly as the preset trains it, and the rate whose kept checkpoint (the run's best held-out one)
agrees best with ground truth on the held-out part of train_gt wins (ties go to the smaller rate). Test labels
are never read by the choice (the run folders hold test metrics, as every run's do; this script does not open
them).

Each rate's run lands in OUT/lr-<rate>/ as a normal run folder with its sweep.json, so an interrupted pilot
resumes where it stopped, and a folder made by another configuration or on other data is refused. Writes
OUT/lr_pilot.json (the rows, the choice, whether it is the preset's rate) and prints a table.

    python benchmarks/pilot_finetune_lr.py --data-dir ../shared/data/hh-rlhf-harmless
        [--lrs 1e-5 3e-5 1e-4 3e-4] [--seed 0] [--out results/benchmarks/lr_pilot]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from core.cli import OneLineErrorParser, number, run_command
from core.errors import InvalidInputError
from core.io import atomic_write_text, environment
from empirics.plans.presets import LR_FINETUNE, PRESETS
from empirics.plans.spec import RunSpec
from empirics.runs.pipeline import Pipeline
from empirics.runs.sweep import check_same_experiment, folder_lock, provenance

PRESET = "replication-finetune"


def choose(rows: list[dict]) -> dict:
    """The row with the best held-out agreement at its kept checkpoint; ties go to the smaller rate."""
    return max(sorted(rows, key=lambda r: r["lr"]), key=lambda r: (r["best_heldout_agreement"], -r["lr"]))


def pilot(args) -> int:
    if any(not (0 < lr < 1) for lr in args.lrs):
        raise InvalidInputError(f"--lrs: every rate must lie in (0, 1), got {args.lrs}")
    if args.seed < 0:
        raise InvalidInputError(f"--seed must be >= 0, got {args.seed}")
    sweep = PRESETS[PRESET]
    exp = replace(sweep.experiment, data=replace(sweep.experiment.data, data_dir=args.data_dir))
    strong = sweep.grid.model_pairs[0][1]
    rows = []
    for lr in sorted(args.lrs):
        exp_lr = replace(exp, finetune=replace(exp.finetune, lr=lr))
        grid = replace(sweep.grid, losses=["forward_ce"], seeds=[args.seed], noises=["none"])
        out = args.out / f"lr-{lr:g}"
        pipe = Pipeline(exp_lr, out)
        pipe.prepare()
        record = {**replace(sweep, experiment=exp_lr, grid=grid).to_json(), "provenance": provenance(pipe)}
        with folder_lock(out):  # a folder made by another configuration or other data is refused, not reused
            check_same_experiment(record, out)
            atomic_write_text(out / "sweep.json", json.dumps(record, indent=2))
            m = pipe.run(RunSpec("ceiling", strong, args.seed, "full"))
        per = m["heldout_agreement_per_checkpoint"]
        kept = m["checkpoint_epochs"]  # the checkpoint the run kept (the probe itself, epoch 0, never is)
        rows.append(
            {
                "lr": lr,
                "heldout_agreement_per_checkpoint": per,
                "best_checkpoint_epochs": kept,
                "best_heldout_agreement": per[f"{kept:g}"],
                "n_heldout": m["fit"]["n_heldout"],
            }
        )
        print(f"lr {lr:<8g} held-out agreement by checkpoint {per}  kept {per[f'{kept:g}']:.5f}", flush=True)
    chosen = choose(rows)
    result = {
        "preset": PRESET,
        "model": strong,
        "seed": args.seed,
        "rule": "best held-out agreement (ground truth, held-out part of train_gt) at the kept checkpoint; "
        "ties to the smaller rate; no test label read",
        "rows": rows,
        "chosen_lr": chosen["lr"],
        "preset_lr": LR_FINETUNE,
        "preset_lr_is_chosen": chosen["lr"] == LR_FINETUNE,
        "environment": environment(),
    }
    atomic_write_text(args.out / "lr_pilot.json", json.dumps(result, indent=2))
    same = (
        "the preset's rate" if result["preset_lr_is_chosen"] else f"NOT the preset's rate ({LR_FINETUNE:g})"
    )
    print(f"chosen lr {chosen['lr']:g} (held-out agreement {chosen['best_heldout_agreement']:.5f}): {same}")
    return 0


def main(argv=None) -> int:
    p = OneLineErrorParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", required=True, help="the HH-RLHF harmless JSONL splits")
    p.add_argument("--lrs", type=number(float, 0, open_low=True), nargs="+", default=[1e-5, 3e-5, 1e-4, 3e-4])
    p.add_argument("--seed", type=number(int, 0), default=0)
    p.add_argument("--out", type=Path, default=Path("results") / "benchmarks" / "lr_pilot")
    args = p.parse_args(argv)
    return run_command("pilot_finetune_lr", lambda: pilot(args), "interrupted; finished rates are kept")


if __name__ == "__main__":
    sys.exit(main())
