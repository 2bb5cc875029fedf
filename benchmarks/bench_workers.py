"""Benchmark: one grid with one worker against N workers on one results folder (``w2s-empirics sweep
--workers N``), on tiny models and a tiny data set this script writes.

Reports each launch's wall time and throughput (runs per second), the results' equality (every run's files,
their environment aside), and the claim overhead per run: a worker's time not spent inside a run (claiming,
checking dependencies, waiting, timing.json), from its event log, divided by the runs it made. Writes
OUT/workers.json. Run it on a quiet machine: ``python benchmarks/bench_workers.py --workers 2``."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.cli import COUNT  # noqa: E402
from empirics.runs.leases import WORKER_LOGS  # noqa: E402
from tests.empirics.fixtures import run_files, write_splits  # noqa: E402


def grid(data: Path, seeds: int, steps: int) -> list[str]:
    return [
        *("--dataset", "jsonl", "--data-dir", str(data), "--n-pairs", "16", "--max-length", "48"),
        *(
            "--bf16",
            "off",
            "--mode",
            "last_layer",
            "--pairs",
            "tiny-bert@10:tiny-qwen2",
            "--heads",
            "logistic",
        ),
        *("--noises", "none", "--head-steps", str(steps), "--seeds", *map(str, range(seeds))),
    ]


def launch(args: list[str], out: Path, workers: int, cache: Path) -> float:
    env = dict(os.environ, W2S_CACHE=str(cache))
    cmd = [
        sys.executable,
        "-m",
        "empirics.cli",
        "-q",
        "sweep",
        *args,
        "--out",
        str(out),
        "--workers",
        str(workers),
    ]
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - t0


def overhead(out: Path) -> dict:
    """Per worker: runs made, seconds inside runs, seconds between them (its life from its first start to its
    last finish, minus its runs)."""
    per = {}
    for log in sorted((out / WORKER_LOGS).glob("*.jsonl")):
        events = [json.loads(line) for line in log.read_text().splitlines()]
        starts = {e["run"]: e["time"] for e in events if e["event"] == "started"}
        spans = [e["time"] - starts[e["run"]] for e in events if e["event"] == "finished"]
        life = max(e["time"] for e in events) - min(e["time"] for e in events)
        per[log.stem] = {
            "runs": len(spans),
            "inside": round(sum(spans), 3),
            "between": round(life - sum(spans), 3),
        }
    runs = sum(w["runs"] for w in per.values())
    return {"workers": per, "between_per_run_s": round(sum(w["between"] for w in per.values()) / runs, 4)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", type=COUNT, default=2)
    p.add_argument("--seeds", type=COUNT, default=6)
    p.add_argument("--head-steps", type=COUNT, default=1500, help="confidence heads' Adam steps (run length)")
    p.add_argument("--out", type=Path, default=ROOT / "results" / "benchmarks")
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        args = grid(write_splits(tmp / "data"), a.seeds, a.head_steps)
        launch([*args, "--seeds", "0"], tmp / "warm", 1, tmp / "cache")  # features cached, imports warm
        one = launch(args, tmp / "one", 1, tmp / "cache")
        many = launch(args, tmp / "many", a.workers, tmp / "cache")
        same = run_files(tmp / "one") == run_files(tmp / "many")
        n = len({p.parent for p in (tmp / "one").glob("*__*/metrics.json")})
        result = {
            "runs": n,
            "one_worker": {"wall_s": round(one, 2), "runs_per_s": round(n / one, 3), **overhead(tmp / "one")},
            f"{a.workers}_workers": {
                "wall_s": round(many, 2),
                "runs_per_s": round(n / many, 3),
                **overhead(tmp / "many"),
            },
            "speedup": round(one / many, 3),
            "results_identical": same,
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
            },
            "command": " ".join(["python", "benchmarks/bench_workers.py", *(argv or sys.argv[1:])]),
        }
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "workers.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
