"""A feature extraction part way, kept on disk so that a stopped split resumes where it stopped.

An extraction runs in units that do not depend on each other (a batch of texts of the per-text pass, a window
of pairs of the shared-prefix pass), always in the same order; after a unit, at most every
``CHECKPOINT_SECONDS``, the features so far are saved beside the cache file (``<key>.partial.npz``) with the
number of units done. A later run of the same extraction (the same record: model, pairs, settings, and the
same unit) starts after them, so its features are the uninterrupted run's, bit for bit; a file that does not
verify is set aside with a warning and the split starts over. The file also keeps the wall seconds that made
its units, so a resumed split knows what the whole extraction took (:meth:`PartialExtraction.seconds`)."""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.io import atomic_save_npz

CHECKPOINT_SECONDS = 60.0


def stored_seconds(seconds: float | None) -> np.ndarray:
    """Seconds as an .npz keeps them (NaN: unknown); :func:`read_seconds` reads them back."""
    return np.array(float("nan") if seconds is None else seconds)


def read_seconds(z) -> float | None:
    """The seconds an open .npz keeps (None: unknown, or a file from before they were kept)."""
    seconds = float(z["seconds"]) if "seconds" in z.files else float("nan")
    return None if np.isnan(seconds) else seconds


def _checksum(done: int, out: np.ndarray) -> str:
    return hashlib.sha256(str(done).encode() + np.ascontiguousarray(out).tobytes()).hexdigest()


@dataclass
class PartialExtraction:
    """`record`: everything that makes the features (the cache record and the unit); `every`: seconds
    between saves (0: after every unit)."""

    path: Path
    record: dict
    every: float | None = None  # None: CHECKPOINT_SECONDS, read when a unit ends
    _saved_at: float = field(default_factory=lambda: time.monotonic(), init=False)
    _started: float = field(default_factory=lambda: time.monotonic(), init=False)
    # wall seconds that made the resumed units (earlier processes); None: unknown (a file without them)
    spent_before: float | None = field(default=0.0, init=False)

    def seconds(self) -> float | None:
        """Wall seconds of the extraction so far: the resumed units' and this process's (None: unknown)."""
        if self.spent_before is None:
            return None
        return self.spent_before + time.monotonic() - self._started

    def resume(self, out: np.ndarray) -> int:
        """Units already done, their features copied into `out` (0 and `out` untouched when none verify)."""
        if not self.path.is_file():
            return 0
        try:
            with np.load(self.path, allow_pickle=False) as z:
                record, done, saved = json.loads(str(z["record"])), int(z["done"]), z["out"]
                spent = read_seconds(z)
                ok = record == json.loads(json.dumps(self.record)) and saved.shape == out.shape
                ok = ok and str(z["checksum"]) == _checksum(done, saved)
        except Exception as exc:  # truncated, not an npz, damaged: never trusted
            ok, why = False, f"unreadable ({type(exc).__name__})"
        else:
            why = "made by another extraction, or changed"
        if not ok:
            warnings.warn(f"partial features {self.path}: {why}; starting the split over", stacklevel=2)
            return 0
        out[...] = saved
        self.spent_before = spent
        return done

    def reached(self, done: int, out: np.ndarray) -> None:
        """`done` units are in `out`: saved when the last save is `every` seconds old."""
        every = CHECKPOINT_SECONDS if self.every is None else self.every
        if time.monotonic() - self._saved_at >= every:
            atomic_save_npz(
                self.path,
                record=np.array(json.dumps(self.record)),
                done=np.array(done),
                out=out,
                checksum=np.array(_checksum(done, out)),
                seconds=stored_seconds(self.seconds()),
            )
            self._saved_at = time.monotonic()

    def finish(self) -> None:
        """The split is complete (and cached): the partial file goes."""
        self.path.unlink(missing_ok=True)
