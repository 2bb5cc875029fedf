"""Pilot: the fine-tuning regime's learning rate, chosen without a test label.

The `replication-finetune` preset trains its runs at one learning rate (empirics.presets.LR_FINETUNE), the
same for every loss. It was chosen by this pilot: for each candidate rate, the strong model's ceiling run
(seed 0: its top block trained on ground truth, on the fit part of train_gt, from its own linear probe) is
trained exactly as the preset trains it, and the rate whose best checkpoint agrees best with ground truth on
the held-out part of train_gt wins (ties go to the smaller rate). Test labels are never read by the choice
(the run folders hold test metrics, as every run's do; this script does not open them).

Each rate's run lands in OUT/lr-<rate>/ as a normal run folder, so an interrupted pilot resumes where it
stopped. Writes OUT/lr_pilot.json (the rows, the choice, whether it is the preset's rate), prints a table.

    python benchmarks/pilot_finetune_lr.py --data-dir ../shared/data/hh-rlhf-harmless
        [--lrs 1e-5 3e-5 1e-4 3e-4] [--seed 0] [--out results/benchmarks/lr_pilot]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from core.cli import OneLineErrorParser, run_command
from core.errors import InvalidInputError
from core.io import atomic_write_text, environment
from empirics.config import RunSpec
from empirics.pipeline import Pipeline
from empirics.presets import LR_FINETUNE, PRESETS

PRESET = "replication-finetune"


def choose(rows: list[dict]) -> dict:
    """The row with the best held-out agreement at its best checkpoint; ties go to the smaller rate."""
    return max(sorted(rows, key=lambda r: r["lr"]), key=lambda r: (r["best_heldout_agreement"], -r["lr"]))


def pilot(args) -> int:
    if any(not (0 < lr < 1) for lr in args.lrs):
        raise InvalidInputError(f"--lrs: every rate must lie in (0, 1), got {args.lrs}")
    sweep = PRESETS[PRESET]
    exp = replace(sweep.experiment, data=replace(sweep.experiment.data, data_dir=args.data_dir))
    strong = sweep.grid.model_pairs[0][1]
    rows = []
    for lr in sorted(args.lrs):
        exp_lr = replace(exp, finetune=replace(exp.finetune, lr=lr))
        m = Pipeline(exp_lr, args.out / f"lr-{lr:g}").run(RunSpec("ceiling", strong, args.seed, "full"))
        per = m["heldout_agreement_per_checkpoint"]
        best = max(per, key=lambda k: (per[k], -float(k)))  # the earlier checkpoint on a tie
        rows.append(
            {
                "lr": lr,
                "heldout_agreement_per_checkpoint": per,
                "best_checkpoint_epochs": float(best),
                "best_heldout_agreement": per[best],
                "n_heldout": m["fit"]["n_heldout"],
            }
        )
        print(f"lr {lr:<8g} held-out agreement by checkpoint {per}  best {per[best]:.5f}", flush=True)
    chosen = choose(rows)
    result = {
        "preset": PRESET,
        "model": strong,
        "seed": args.seed,
        "rule": "best held-out agreement (ground truth, held-out part of train_gt) at the best checkpoint; "
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
    p.add_argument("--lrs", type=float, nargs="+", default=[1e-5, 3e-5, 1e-4, 3e-4])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("results") / "benchmarks" / "lr_pilot")
    args = p.parse_args(argv)
    return run_command("pilot_finetune_lr", lambda: pilot(args), "interrupted; finished rates are kept")


if __name__ == "__main__":
    sys.exit(main())
