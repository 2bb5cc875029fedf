"""Run-level claims with leases: any number of workers (processes, GPUs, nodes on one filesystem) share the
results folder of one sweep.

A worker claims a run before starting it: ``<out>/.claims/<run>.json``, written under that run's
``filelock`` lock, so two workers never both take a free run. While it works a heartbeat thread renews the
claim (its file's modification time) every quarter lease; the claim is removed once the run is written. A
claim whose heartbeat stopped (the worker was killed, its node lost) expires after the lease (at once when its
process is gone from this machine), and another worker takes the run over, from its checkpoint where it has
one. A run that fails is marked failed for its launch (one ``--workers`` or Slurm array): the launch's other
workers do not retry it, a later launch does.
Workers on several nodes need clocks that agree to well within the lease."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock

from core.errors import ConfigError, StorageError
from core.io import atomic_write_text

from ..processes import pid_alive

CLAIMS = ".claims"
WORKER_LOGS = ".workers"
LEASE_ENV = "W2S_LEASE_SECONDS"  # how long a silent claim stays someone's (default DEFAULT_LEASE)
LAUNCH_ENV = "W2S_LAUNCH"  # the launch a worker belongs to (set by --workers and the Slurm array)
DEFAULT_LEASE = 120.0


def lease_seconds() -> float:
    raw = os.environ.get(LEASE_ENV)
    if raw is None:
        return DEFAULT_LEASE
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0.5 <= value <= 86_400:
        raise ConfigError(f"${LEASE_ENV} must be a number of seconds in [0.5, 86400], got {raw!r}")
    return value


@dataclass
class Worker:
    """One worker: its launch (shared by the workers started together), its own name, its lease."""

    launch: str = field(default_factory=lambda: os.environ.get(LAUNCH_ENV) or uuid.uuid4().hex[:12])
    name: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    lease: float = field(default_factory=lease_seconds)


def _dead_here(claim: dict) -> bool:
    """The claim's worker ran on this machine and its process is gone (kill -9): no need to wait its lease."""
    if claim.get("host") != socket.gethostname() or not isinstance(claim.get("pid"), int):
        return False
    return claim["pid"] != os.getpid() and not pid_alive(claim["pid"])


class Claims:
    """The claims of one results folder, as seen by one worker."""

    def __init__(self, out: Path, worker: Worker):
        self.dir, self.worker = Path(out) / CLAIMS, worker
        self.log_path = Path(out) / WORKER_LOGS / f"{worker.launch}-{worker.name}.jsonl"
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self.log_path.parent.mkdir(exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot use {out} as a results folder: {exc.strerror or exc}") from None
        self.log("joined", "", lease=worker.lease)

    def _file(self, run: str) -> Path:
        return self.dir / f"{run}.json"

    def _read(self, run: str) -> tuple[dict | None, float]:
        """(the claim, its age in seconds); (None, inf) when there is none or it cannot be read."""
        path = self._file(run)
        try:
            return json.loads(path.read_text()), time.time() - path.stat().st_mtime
        except (OSError, ValueError):
            return None, float("inf")

    def failed_here(self, run: str) -> bool:
        """The run failed in this worker's launch (its other workers do not retry it)."""
        claim, _ = self._read(run)
        return bool(claim and claim.get("state") == "failed" and claim.get("launch") == self.worker.launch)

    def try_claim(self, run: str) -> bool:
        """Take `run` if nobody holds it: no claim, an expired one, or one failed in another launch."""
        with FileLock(str(self._file(run)) + ".lock", timeout=self.worker.lease):
            claim, age = self._read(run)
            if claim is not None:
                state, age_out = claim.get("state"), age > self.worker.lease or _dead_here(claim)
                elsewhere = claim.get("launch") != self.worker.launch
                if not ((state == "failed" and elsewhere) or (state == "running" and age_out)):
                    return False
                if state == "running":
                    self.log("took over", run, after=round(age, 1), from_worker=claim.get("worker"))
            self._write(run, "running")
        return True

    def _write(self, run: str, state: str, **extra) -> None:
        body = {"run": run, "state": state, "worker": self.worker.name, "launch": self.worker.launch}
        body |= {"host": socket.gethostname(), "pid": os.getpid()} | extra
        atomic_write_text(self._file(run), json.dumps(body))

    def _still_mine(self, run: str) -> bool:
        claim, _ = self._read(run)
        return bool(claim and claim.get("worker") == self.worker.name and claim.get("state") == "running")

    @contextmanager
    def held(self, run: str):
        """Inside: the claim on `run` renewed every quarter lease. Leaving normally removes it (the run is
        written), unless :meth:`fail` marked it; leaving with an error removes it too, so that another worker
        may take the run at once."""
        stop = threading.Event()

        def beat():
            while not stop.wait(self.worker.lease / 4):
                try:
                    if self._still_mine(run):
                        os.utime(self._file(run))
                except OSError:  # removed between the check and the touch: the run is over
                    pass

        thread = threading.Thread(target=beat, name=f"lease {run}", daemon=True)
        thread.start()
        self.log("started", run)
        try:
            yield
        except BaseException:
            self.release(run)
            raise
        finally:
            stop.set()
            thread.join()
        if self._still_mine(run):
            self.release(run)
            self.log("finished", run)

    def release(self, run: str) -> None:
        if self._still_mine(run):
            self._file(run).unlink(missing_ok=True)

    def fail(self, run: str, error: str, trace: str) -> None:
        self._write(run, "failed", error=error, traceback=trace)
        self.log("failed", run, error=error)

    def failures(self) -> list[dict]:
        """Every run failed in this launch (by any of its workers), in run-name order."""
        out = []
        for path in sorted(self.dir.glob("*.json")):
            claim, _ = self._read(path.stem)
            if claim and claim.get("state") == "failed" and claim.get("launch") == self.worker.launch:
                out.append({k: claim[k] for k in ("run", "error", "traceback", "worker") if k in claim})
        return out

    def log(self, event: str, run: str, **extra) -> None:
        """One line per event in this worker's own log (.workers/<launch>-<worker>.jsonl)."""
        line = {"time": round(time.time(), 3), "event": event, "run": run} | extra
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
