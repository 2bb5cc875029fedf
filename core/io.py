"""Files: atomic writes (text, arrays), JSONL read and write, loading the runs of a results folder,
provenance.

Every file the suite writes goes through :func:`atomic_write_text` or :func:`atomic_save_npz`: a temporary
file in the same folder, then ``os.replace``, so a crash never leaves a half-written file under the final
name."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path

import numpy as np

from .errors import DataError

BASE_PACKAGES = ("numpy", "scipy", "sympy", "mpmath", "torch", "matplotlib", "hypothesis")
EMPIRICS_PACKAGES = ("transformers", "datasets", "accelerate", "tokenizers")


# ---------------------------------------------------------------------------------------------- writes
def atomic_write_text(path: str | Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def atomic_save_npz(path: str | Path, **arrays) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def atomic_savefig(fig, path: str | Path, **kw) -> None:
    """A matplotlib figure saved atomically (its format from the suffix)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")
    fig.savefig(tmp, **kw)
    os.replace(tmp, path)


def jsonl_text(rows: Iterable[dict]) -> str:
    """One JSON object per line, each line ending in a newline."""
    return "".join(json.dumps(r) + "\n" for r in rows)


# ---------------------------------------------------------------------------------------------- reads
def read_jsonl(path: str | Path) -> Iterator[tuple[int, object]]:
    """Yield (line number, object) from a JSONL file; blank lines are allowed, malformed JSON is an error that
    names the file and line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no such file: {path}")
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield line_no, json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(
                    f"{path}, line {line_no}: malformed JSON ({exc.msg} at column {exc.colno})"
                ) from None


def read_jsonl_rows(path: str | Path) -> list:
    """Every object of a JSONL file, in order."""
    return [obj for _, obj in read_jsonl(path)]


def load_runs(results: str | Path) -> list[dict]:
    """Every finished run of a results folder (one with metrics.json), in name order: its folder, config.json,
    metrics.json and the run spec (config["run"])."""
    out = []
    for m in sorted(Path(results).glob("*/metrics.json")):
        cfg = json.loads((m.parent / "config.json").read_text())
        out.append({"dir": m.parent, "config": cfg, "metrics": json.loads(m.read_text()), "run": cfg["run"]})
    return out


# ---------------------------------------------------------------------------------------------- provenance
def git_commit() -> str | None:
    try:
        return (
            subprocess.run(
                ["git", "rev-parse", "HEAD"],
                capture_output=True,
                text=True,
                timeout=5,
                cwd=Path(__file__).resolve().parent,
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.SubprocessError):
        return None


def package_versions(packages: Iterable[str]) -> dict[str, str | None]:
    versions = {}
    for pkg in packages:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return versions


def environment(packages: Iterable[str] = BASE_PACKAGES) -> dict:
    """Where and with what a result was made (saved next to it)."""
    return {
        "git_commit": git_commit(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "packages": package_versions(packages),
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
