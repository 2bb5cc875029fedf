"""Several workers on one results folder (empirics.runs.leases, empirics.runs.workers): every run made once,
the results byte-identical to one process's; a killed worker's run taken over after its lease, nothing
mixed; a live claim never taken; another sweep's options refused; storage errors in one line."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.errors import InvalidInputError, StorageError
from empirics.plans.grid import planned_runs
from empirics.runs.leases import CLAIMS, LEASE_ENV, WORKER_LOGS, Claims, Worker
from empirics.runs.sweep import run_sweep
from empirics.runs.workers import THREAD_VARIABLES
from empirics.training.checkpoints import CHECKPOINT_FOLDER

from .fixtures import run_files, tiny_sweep

ROOT = Path(__file__).resolve().parents[2]
TIMING = ("timing.json", "summary.json", "summary.md")  # wall seconds: the one content that may differ


def _options(data_dir, mode="last_layer", **kw) -> list[str]:
    opts = {
        "dataset": "jsonl", "data-dir": str(data_dir), "n-pairs": "16", "max-length": "48",
        "eval-batch-size": "32", "bf16": "off", "mode": mode, "seeds": ["0", "1", "2"], "noises": ["none"],
        "pairs": ["tiny-bert@10:tiny-qwen2"], "losses": ["forward_ce", "reverse_kl", "confidence"],
        "heads": ["logistic"], "head-steps": "100",
    } | kw  # fmt: skip
    return [x for k, v in opts.items() for x in (f"--{k}", *(v if isinstance(v, list) else [v]))]


def _cli(args, env=None, **kw):
    return subprocess.Popen(
        [sys.executable, "-m", "empirics.cli", "-q", "sweep", *args], cwd=ROOT, env=env or os.environ.copy(),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw,
    )  # fmt: skip


def _events(out: Path) -> list[dict]:
    return [
        json.loads(line)
        for f in sorted((out / WORKER_LOGS).glob("*.jsonl"))
        for line in f.read_text().splitlines()
    ]


def test_three_workers_make_every_run_once_and_match_one_process(data_dir, tmp_path):
    serial, shared = tmp_path / "serial", tmp_path / "shared"
    p = _cli([*_options(data_dir), "--out", str(shared), "--workers", "3"])  # first: a cold feature cache
    assert p.wait(timeout=600) == 0, p.stdout.read()
    assert _cli([*_options(data_dir), "--out", str(serial)]).wait(timeout=600) == 0
    assert run_files(shared) == run_files(serial)
    assert len(run_files(serial)) > 40
    finished = [e["run"] for e in _events(shared) if e["event"] == "finished"]
    grid = {"pairs": ["tiny-bert@10:tiny-qwen2"], "losses": ["forward_ce", "reverse_kl", "confidence"]}
    sw = tiny_sweep(data_dir, "last_layer", heads=["logistic"], seeds=[0, 1, 2], **grid)
    assert sorted(finished) == sorted(r.name for r in planned_runs(sw))  # every run exactly once
    assert len(list((shared / WORKER_LOGS).glob("*.jsonl"))) == 3  # three workers, each with its log
    assert not list((shared / CLAIMS).glob("*.json"))  # no claim left behind
    assert (shared / "summary.json").is_file()
    timing = json.loads((shared / "timing.json").read_text())  # one entry per worker, none lost
    # and one of the launch, which read or extracted every model's features before the workers started
    assert len({t["worker"] for t in timing["invocations"]}) == len(timing["invocations"]) == 4
    (first,) = [t for t in timing["invocations"] if t["worker"].endswith("-features")]
    assert first["extraction"] > 0
    assert set(timing["features"]) == {"tiny-bert", "tiny-qwen2"}
    made = [m for splits in timing["features"].values() for m in splits.values()]
    assert len(made) == 6
    assert not any(m["cached"] for m in made)  # extracted by this launch
    worker_logs = [f.read_text() for f in (shared / WORKER_LOGS).glob("worker-*.log")]
    assert len(worker_logs) == 3
    assert not any("tiny-qwen2 train_gt" in log for log in worker_logs)  # no worker extracted
    assert timing["total"]["wall"] == pytest.approx(sum(t["wall"] for t in timing["invocations"]), abs=0.05)
    peaks = [t["peak_rss_mib"] for t in timing["invocations"]]  # each process's own
    assert min(peaks) > 50  # a worker that loaded torch and a model holds more than 50 MiB
    assert timing["total"]["peak_rss_mib"] == max(peaks)


def test_a_killed_worker_is_taken_over_after_its_lease_and_nothing_is_mixed(data_dir, tmp_path):
    """kill -9 while a fine-tuning run is claimed: its claim stays; its process being gone from this machine,
    two new workers take it over at once (not after the 120 s lease) and finish the sweep from the run's
    checkpoint; every file equals one uninterrupted process's."""
    opts = _options(
        data_dir, "finetune", pairs=["tiny-gpt2:tiny-qwen2"], losses=["forward_ce"], heads=["full"],
        seeds=["0"], epochs="40", **{"batch-size": "4", "lr": "1e-3"},
    )  # fmt: skip
    serial, shared = tmp_path / "serial", tmp_path / "shared"
    # fine-tuning's last bits follow the thread count (docs/empirics.md): one thread everywhere
    env = os.environ | dict.fromkeys(THREAD_VARIABLES, "1")
    assert _cli([*opts, "--out", str(serial), "--checkpoint-every", "5"], env=env).wait(timeout=600) == 0
    victim = _cli([*opts, "--out", str(shared), "--checkpoint-every", "5"], env=env)
    deadline = time.time() + 120
    while not list((shared / CHECKPOINT_FOLDER).glob("*/*")) and time.time() < deadline:
        time.sleep(0.05)
    claims = [json.loads(p.read_text()) for p in (shared / CLAIMS).glob("*.json")]
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    assert [c["state"] for c in claims] == ["running"]  # it died holding a run
    assert (
        _cli([*opts, "--out", str(shared), "--workers", "2", "--checkpoint-every", "5"], env=env).wait(
            timeout=600
        )
        == 0
    )
    assert run_files(shared) == run_files(serial)
    took = [e for e in _events(shared) if e["event"] == "took over"]
    assert [e["run"] for e in took] == [claims[0]["run"]]
    assert took[0]["after"] < 60  # well inside the default lease


def test_a_live_claim_is_never_taken_and_a_silent_one_only_after_its_lease(tmp_path):
    a, b = Worker("launch-a", "a", lease=0.6), Worker("launch-b", "b", lease=0.6)
    ca, cb = Claims(tmp_path, a), Claims(tmp_path, b)
    assert ca.try_claim("run1")
    assert not cb.try_claim("run1")
    with ca.held("run1"):  # a live worker: its heartbeat renews the claim
        time.sleep(1.5)
        assert not cb.try_claim("run1")
    assert cb.try_claim("run1")  # released: free at once
    claimed_at = time.time()
    while not ca.try_claim("run1"):  # b went silent: a waits out the lease
        time.sleep(0.05)
    assert time.time() - claimed_at >= 0.6 - 0.05
    ca.fail("run1", "ValueError: x", "trace")
    assert ca.failed_here("run1")
    assert not cb.failed_here("run1")
    assert not Claims(tmp_path, Worker("launch-a", "a2", 0.6)).try_claim("run1")  # its launch does not retry
    assert cb.try_claim("run1")  # another launch does


def test_a_claim_of_a_dead_process_on_this_machine_is_free_at_once(tmp_path):
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    claims = Claims(tmp_path, Worker("launch-a", "a", lease=3600))
    assert claims.try_claim("run1")
    body = json.loads((tmp_path / CLAIMS / "run1.json").read_text())
    other = Claims(tmp_path, Worker("launch-b", "b", lease=3600))
    assert not other.try_claim("run1")  # alive (this very process): its hour-long lease holds
    (tmp_path / CLAIMS / "run1.json").write_text(json.dumps(body | {"pid": int(gone.stdout)}))
    assert other.try_claim("run1")  # its process is gone: no hour to wait
    (tmp_path / CLAIMS / "run1.json").write_text(json.dumps(body | {"host": "elsewhere", "worker": "x"}))
    assert not Claims(tmp_path, Worker("launch-c", "c", lease=3600)).try_claim("run1")  # another node: lease


def test_a_worker_with_another_sweeps_options_is_refused(data_dir, tmp_path):
    out = tmp_path / "o"
    run_sweep(tiny_sweep(data_dir, "last_layer", heads=["logistic"]), out)
    Claims(out, Worker("other", "busy", 60)).try_claim("student__x")  # a worker still at work
    with pytest.raises(InvalidInputError, match="holds runs of a different experiment"):
        run_sweep(tiny_sweep(data_dir, "last_layer", heads=["logistic"], gamma=0.01), out)
    p = _cli(["--dataset", "jsonl", "--data-dir", str(data_dir), "--n-pairs", "16", "--mode", "last_layer",
              "--gamma", "0.01", "--out", str(out), "--workers", "2"])  # fmt: skip
    assert p.wait(timeout=600) == 2
    lines = p.stdout.read().strip().splitlines()
    assert len(lines) == 1
    assert "different experiment" in lines[0]


def test_an_unwritable_folder_ends_the_launch_in_one_line(data_dir, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    p = _cli([*_options(data_dir), "--out", str(blocked / "o"), "--workers", "2"])
    assert p.wait(timeout=600) == 3  # storage, as for one process
    lines = p.stdout.read().strip().splitlines()
    assert len(lines) == 1
    assert "cannot use" in lines[0]


def test_a_full_disk_stops_a_worker_in_one_line_and_frees_its_run(data_dir, tmp_path, monkeypatch):
    import errno

    out, real = tmp_path / "o", Path.write_text

    def full(self, *a, **k):  # the disk fills when the first model run writes its metrics
        if str(self).startswith(str(out)) and "metrics.json" in self.name and "__logistic__" in str(self):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(StorageError, match="No space left"):
        run_sweep(tiny_sweep(data_dir, "last_layer", heads=["logistic"]), out)
    assert not list((out / CLAIMS).glob("*.json"))  # the run it held is free for the other workers


def test_submitit_array_workers_match_one_process(data_dir, tmp_path):
    submitit = pytest.importorskip("submitit")
    from empirics.runs.workers import submit_array

    sw = tiny_sweep(data_dir, "last_layer", heads=["logistic"], seeds=[0, 1])
    serial, shared = tmp_path / "serial", tmp_path / "shared"
    run_sweep(sw, serial)
    jobs = submit_array(sw, shared, 2, submitit.LocalExecutor(folder=str(tmp_path / "jobs")))
    assert [j.result() for j in jobs] == [0, 0]
    assert run_files(shared) == run_files(serial)
    runs = [json.loads((d / "summary.json").read_text())["runs"] for d in (shared, serial)]
    assert runs[0] == runs[1]


@pytest.mark.parametrize("bad", ["abc", "0", "-5", "nan", "1e9"])
def test_a_bad_lease_is_refused_in_one_line(bad, monkeypatch):
    from core.errors import ConfigError
    from empirics.runs.leases import lease_seconds

    monkeypatch.setenv(LEASE_ENV, bad)
    with pytest.raises(ConfigError, match=r"\$W2S_LEASE_SECONDS must be a number of seconds"):
        lease_seconds()
    monkeypatch.setenv(LEASE_ENV, "2.5")
    assert lease_seconds() == 2.5


def test_a_launch_whose_every_run_failed_reports_them_as_one_process_does(tmp_path):
    """No run finished, two failed: the launcher's summary is empty and counts the failures (the CLI exits 1,
    as after one process), not a 'holds no finished run' error."""
    from empirics.runs.workers import _launch_summary

    (tmp_path / "failures.json").write_text(json.dumps([{"run": "a"}, {"run": "b"}]))
    summary = _launch_summary(tmp_path, 1.5)
    assert (summary["rows"], summary["failures"], summary["wall_seconds"]) == ([], 2, 1.5)
