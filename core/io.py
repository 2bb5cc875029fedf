"""Files: atomic writes (text, arrays), JSONL read and write, loading the runs of a results folder,
provenance.

Every file the suite writes goes through :func:`atomic_write_text`, :func:`atomic_write_bytes` or
:func:`atomic_save_npz`: a temporary file in the same folder, then ``os.replace``, so a crash never leaves a
half-written file under the final name."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from importlib import metadata
from pathlib import Path

import numpy as np

from .errors import DataError, StorageError

try:  # a fast JSON parser for the readers of large results folders; the standard one without it
    import orjson
except ImportError:  # pragma: no cover - installed with [empirics]
    orjson = None

BASE_PACKAGES = ("numpy", "scipy", "sympy", "mpmath", "torch", "matplotlib", "hypothesis")


# ---------------------------------------------------------------------------------------------- writes
@contextmanager
def _atomic(path: Path, tmp_name: str):
    """Write to a temporary file beside `path`, then rename it over `path`; on any failure the temporary file
    is removed and an OSError becomes a StorageError naming the path."""
    tmp = path.with_name(tmp_name)
    if path.exists() and not path.is_file():  # a rename would replace a device, FIFO, socket or folder
        raise StorageError(f"cannot write {path}: it exists and is not a regular file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        with suppress(OSError):
            tmp.unlink(missing_ok=True)


def writable_folder(folder: str | Path) -> Path:
    """Make `folder` (and its parents) and prove a file can be written there, before any long work; a
    StorageError names it otherwise (a file in the way, no permission, a read-only or full disk)."""
    folder = Path(folder)
    probe = folder / f".write-probe.tmp{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
    except OSError as exc:
        raise StorageError(f"cannot write into {folder}: {exc.strerror or exc}") from None
    finally:
        with suppress(OSError):
            probe.unlink(missing_ok=True)
    return folder


def atomic_write_text(path: str | Path, text: str) -> None:
    path = Path(path)
    with _atomic(path, f".{path.name}.tmp{os.getpid()}") as tmp:
        tmp.write_text(text)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    path = Path(path)
    with _atomic(path, f".{path.name}.tmp{os.getpid()}") as tmp:
        tmp.write_bytes(data)


def atomic_save_npz(path: str | Path, *, compress: bool = False, **arrays) -> None:
    path = Path(path)
    with _atomic(path, f".{path.name}.tmp{os.getpid()}.npz") as tmp:
        (np.savez_compressed if compress else np.savez)(tmp, **arrays)


def atomic_savefig(fig, path: str | Path, **kw) -> None:
    """A matplotlib figure saved atomically (its format from the suffix)."""
    path = Path(path)
    with _atomic(path, f".{path.stem}.tmp{os.getpid()}{path.suffix}") as tmp:
        fig.savefig(tmp, **kw)


def write_json_and_markdown(folder: str | Path, stem: str, data, markdown: str) -> None:
    """A result as <stem>.json (machine-readable) beside <stem>.md (for people), both atomic."""
    folder = Path(folder)
    atomic_write_text(folder / f"{stem}.json", json.dumps(data, indent=2, default=float))
    atomic_write_text(folder / f"{stem}.md", markdown)


def jsonl_text(rows: Iterable[dict]) -> str:
    """One JSON object per line, each line ending in a newline."""
    return "".join(json.dumps(r) + "\n" for r in rows)


# ---------------------------------------------------------------------------------------------- reads
def read_jsonl(path: str | Path) -> Iterator[tuple[int, object]]:
    """Yield (line number, object) from a JSONL file; blank lines are allowed; bytes that are not UTF-8 and
    malformed JSON are errors that name the file and line."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a JSONL file")
    if not path.is_file():
        raise DataError(f"no such file: {path}")
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    with fh:
        line_no = 0
        while True:
            try:
                raw = fh.readline()
            except OSError as exc:  # EIO and the like: name the file and where
                raise DataError(f"cannot read {path} after line {line_no}: {exc.strerror or exc}") from None
            if not raw:
                return
            line_no += 1
            if not raw.strip():
                continue
            fast = _fast_line(raw)
            if fast is not _REFUSED:
                yield line_no, fast
                continue
            try:  # what the fast parser refused: the standard one decides, and names the problem
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(f"{path}, line {line_no}: not valid UTF-8 (byte {exc.start + 1})") from None
            yield line_no, _json_line(line, f"{path}, line {line_no}")


_REFUSED = object()
BEYOND_INT64 = 2.0**63  # orjson reads a longer integer as a float (json keeps it exact)


def _fast_line(raw: bytes) -> object:
    """One line parsed by orjson (several times faster than json on a predictions file) when it is installed
    and accepts the line, else _REFUSED. Left to json, so that what this returns is what json.loads returns
    (tests/test_core.py): what orjson rejects (NaN, infinities, invalid UTF-8), a line with an escape
    (json's surrogate checks), and a line orjson read a float of magnitude >= 2**63 from (it may have been
    an integer)."""
    if orjson is None or b"\\u" in raw:
        return _REFUSED
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _REFUSED
    stack = [obj]
    while stack:
        v = stack.pop()
        if type(v) is float:
            if not abs(v) < BEYOND_INT64:
                return _REFUSED
        elif type(v) is dict:
            stack.extend(v.values())
        elif type(v) is list:
            stack.extend(v)
    return obj


def _json_line(line: str, where: str) -> object:
    """One JSON value with every way it can be unusable as one line: malformed, nested too deeply, a number of
    thousands of digits, or a string with a lone surrogate (no UTF-8 encoding exists for it)."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}: malformed JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise DataError(f"{where}: nested too deeply") from None
    except ValueError as exc:  # int("9" * 5000): exceeds the limit for integer string conversion
        raise DataError(f"{where}: unreadable JSON ({str(exc)[:80]})") from None
    if "\\ud" in line.lower():  # a surrogate can only come from an escape (raw ones are not UTF-8)
        try:
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise DataError(f"{where}: a string with a lone surrogate (not encodable as UTF-8)") from None
    return obj


def read_jsonl_rows(path: str | Path) -> list:
    """Every object of a JSONL file, in order."""
    return [obj for _, obj in read_jsonl(path)]


def read_json(path: str | Path) -> object:
    """One JSON file; a missing, unreadable or malformed file is a DataError naming it."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"no such file: {path}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: damaged or not JSON ({exc})") from None


def read_npz(path: str | Path, keys: Iterable[str], hint: str) -> dict[str, np.ndarray]:
    """The named arrays of a saved .npz, checked: readable (no pickles), every key present, every float array
    finite. Otherwise a DataError naming the file and what is wrong, then `hint` (what to do about it)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in keys}
    except FileNotFoundError:
        raise DataError(f"{path} is missing; {hint}") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path} is damaged or from another version ({type(exc).__name__}); {hint}") from None
    for k, a in arrays.items():
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise DataError(
                f"{path}: array {k!r} holds {int((~np.isfinite(a)).sum())} non-finite value(s); {hint}"
            )
    return arrays


def hash_file(h, path: str | Path):
    """`h` (a hashlib object) updated with a file's bytes, read in 1 MiB blocks; returns `h`."""
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h


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
