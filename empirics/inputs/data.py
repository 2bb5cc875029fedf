"""Preference-pair data: one record per pair, with its seeded order swap stored in the record.

Sources (one entry each in :mod:`empirics.registries.datasets`):
- ``hh-rlhf-harmless`` / ``hh-rlhf-helpful``: Anthropic/hh-rlhf (data_dir harmless-base / helpful-base) from
  the hub, single-turn dialogues only, deterministic 4,000 / 4,000 / 4,000 splits train_gt / train_w2s / test;
  or, offline, a local directory of ``{train_gt,train_w2s,test}.jsonl`` (``--data-dir`` or ``$W2S_DATA_DIR``).
- ``cai-harmless``: HuggingFaceH4/cai-conversation-harmless from the hub (chosen = revision_response,
  rejected = init_response, prompt = init_prompt), same split sizes.
- ``jsonl``: any local directory of JSONL files with ``chosen`` / ``rejected`` (and optional ``id``).

Nothing is read at import time. Bad input raises :class:`DataError` with the file and line; empty or identical
texts are skipped, counted and warned about (never dropped silently).
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.errors import DataError
from core.io import read_jsonl

from ..registries.datasets import DATASET_REGISTRY, DATASETS

SPLITS = ("train_gt", "train_w2s", "test")
SPLIT_SIZE = 4000
DATA_DIR_ENV = "W2S_DATA_DIR"


@dataclass(frozen=True)
class PreferencePair:
    id: str
    first: str
    second: str
    label: int  # 1 when `first` is the chosen response
    swapped: bool  # True when the stored order is (rejected, chosen)

    def to_json(self) -> dict:
        return asdict(self)


def swap_bit(pair_id: str, seed: int) -> bool:
    """A stable pseudo-random bit per (seed, id): the same pair gets the same order in every process."""
    return hashlib.sha256(f"{seed}:{pair_id}".encode()).digest()[0] & 1 == 1


def make_pair(pair_id: str, chosen: str, rejected: str, seed: int) -> PreferencePair:
    if swap_bit(pair_id, seed):
        return PreferencePair(pair_id, rejected, chosen, 0, True)
    return PreferencePair(pair_id, chosen, rejected, 1, False)


@dataclass
class LoadReport:
    """What a loader read from one source: usable pairs, and the rows it skipped (with their line numbers)."""

    source: str
    kept: int = 0
    skipped_empty: list[int] = field(default_factory=list)
    skipped_identical: list[int] = field(default_factory=list)

    def warn(self, used: int) -> None:
        """Say what was skipped and what is used (a split may use only its first n usable pairs)."""
        if self.skipped_empty or self.skipped_identical:
            warnings.warn(
                f"{self.source}: skipped {len(self.skipped_empty)} rows with an empty text (lines "
                f"{_lines(self.skipped_empty)}) and {len(self.skipped_identical)} with identical texts "
                f"(lines {_lines(self.skipped_identical)}); using {used} of {self.kept} usable pairs",
                stacklevel=3,
            )


def _lines(numbers: list[int], most: int = 5) -> str:
    if not numbers:
        return "none"
    return ", ".join(map(str, numbers[:most])) + (
        f", ... ({len(numbers)} in all)" if len(numbers) > most else ""
    )


def pairs_from_rows(rows, seed: int, source: str, id_prefix: str) -> tuple[list[PreferencePair], LoadReport]:
    """Rows are (line_no, dict with chosen, rejected and optional id). Validates, counts skips."""
    report, pairs, seen = LoadReport(source), [], {}
    for line_no, row in rows:
        where = f"{source}, line {line_no}"
        if not isinstance(row, dict):
            raise DataError(f"{where}: expected a JSON object, got {type(row).__name__}")
        missing = [k for k in ("chosen", "rejected") if k not in row]
        if missing:
            raise DataError(f"{where}: missing field(s) {missing}; each line needs 'chosen' and 'rejected'")
        chosen, rejected = row["chosen"], row["rejected"]
        if not isinstance(chosen, str) or not isinstance(rejected, str):
            raise DataError(f"{where}: 'chosen' and 'rejected' must be strings")
        if not chosen.strip() or not rejected.strip():
            report.skipped_empty.append(line_no)
            continue
        if chosen == rejected:
            report.skipped_identical.append(line_no)
            continue
        pair_id = row.get("id", f"{id_prefix}-{line_no}")
        if not isinstance(pair_id, (str, int)) or isinstance(pair_id, bool):
            raise DataError(f"{where}: 'id' must be a string or an integer, got {type(pair_id).__name__}")
        pair_id = str(pair_id)
        if pair_id in seen:
            raise DataError(
                f"{where}: duplicate id {pair_id!r} (first on line {seen[pair_id]}); ids must be unique"
            )
        seen[pair_id] = line_no
        pairs.append(make_pair(pair_id, chosen, rejected, seed))
    report.kept = len(pairs)
    return pairs, report


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; known splits: {', '.join(SPLITS)}")
    return split


def load_jsonl_split(
    data_dir: str | Path, split: str, seed: int = 0
) -> tuple[list[PreferencePair], LoadReport]:
    """``<data_dir>/<split>.jsonl`` as pairs."""
    check_split(split)
    base = Path(data_dir)
    if not base.is_dir():
        raise DataError(f"data directory not found: {base}")
    path = base / f"{split}.jsonl"
    pairs, report = pairs_from_rows(read_jsonl(path), seed, str(path.resolve()), split)
    return pairs, report


# ---------------------------------------------------------------------------------------------- hub loaders
def split_rows(
    train_rows: list, test_rows: list, split: str, size: int = SPLIT_SIZE, shuffle_seed: int = 0
) -> list:
    """Deterministic splits: train_gt and train_w2s are the first and second `size` rows of the shuffled
    training rows, test the first `size` of the shuffled test rows."""
    import random

    check_split(split)
    rows = list(test_rows if split == "test" else train_rows)
    random.Random(shuffle_seed).shuffle(rows)
    start = size if split == "train_w2s" else 0
    return rows[start : start + size]


def _hub(name: str, **kw):
    try:
        from datasets import load_dataset

        return load_dataset(name, **kw)
    except Exception as exc:  # offline, unknown revision, ...: one clear line, the local route named
        raise DataError(
            f"could not load {name} from the hub ({type(exc).__name__}: {str(exc)[:200]}). Offline, pass "
            f"--data-dir or set ${DATA_DIR_ENV} to a folder with train_gt/train_w2s/test.jsonl"
        ) from None


def load_hub_split(dataset: str, split: str, seed: int = 0) -> tuple[list[PreferencePair], LoadReport]:
    check_split(split)
    entry = DATASET_REGISTRY.get(dataset)
    if entry is None or entry.hub_id is None:
        raise DataError(f"dataset {dataset!r} has no hub loader")
    ds = _hub(entry.hub_id, **entry.hub_kwargs)
    train, test = entry.hub_splits
    rows = split_rows(entry.rows(ds[train]), entry.rows(ds[test]), split)
    return pairs_from_rows(rows, seed, f"{dataset}/{split}", f"{dataset}-{split}")


def resolve_data_dir(data_dir: str | Path | None) -> Path | None:
    chosen = data_dir or os.environ.get(DATA_DIR_ENV)
    return Path(chosen) if chosen else None


def load_split(
    dataset: str, split: str, data_dir: str | Path | None = None, n: int | None = None, seed: int = 0
) -> list[PreferencePair]:
    """Pairs of one split. A data directory (argument or $W2S_DATA_DIR) takes precedence over the hub."""
    if dataset not in DATASETS:
        raise DataError(f"unknown dataset {dataset!r}; known datasets: {', '.join(DATASETS)}")
    check_split(split)
    if n is not None and n <= 0:
        raise DataError(f"number of pairs must be positive, got {n}")
    local = resolve_data_dir(data_dir)
    if local is not None:
        pairs, report = load_jsonl_split(local, split, seed)
    elif DATASET_REGISTRY[dataset].hub_id is None:
        raise DataError(f"dataset {dataset!r} needs --data-dir or ${DATA_DIR_ENV}")
    else:
        pairs, report = load_hub_split(dataset, split, seed)
    used = pairs[:n] if n is not None else pairs
    if not used:
        raise DataError(
            f"{report.source}: no usable pairs (skipped {len(report.skipped_empty)} with an empty text and "
            f"{len(report.skipped_identical)} with identical texts)"
        )
    report.warn(len(used))
    if n is not None and n > len(pairs):
        warnings.warn(f"{report.source}: asked for {n} pairs, only {len(pairs)} usable", stacklevel=2)
    return used


def data_source(dataset: str, data_dir: str | Path | None) -> dict:
    """What a split is really read from: a local JSONL folder (absolute path) or a hub dataset."""
    local = resolve_data_dir(data_dir)
    if local is not None:
        return {"kind": "jsonl", "path": str(Path(local).resolve()), "asked_for": dataset}
    return {"kind": "hub", "dataset": dataset}


def pair_key(p: PreferencePair) -> str:
    """A pair by content, whatever its id and stored order: the hash of (chosen, rejected)."""
    chosen, rejected = (p.first, p.second) if p.label == 1 else (p.second, p.first)
    return hashlib.sha256(json.dumps([chosen, rejected], ensure_ascii=False).encode()).hexdigest()


def check_overlap(splits: dict[str, list[PreferencePair]], allow: bool = False) -> None:
    """The same pair (by content) in two splits leaks labels between them: refused unless allowed."""
    if allow:
        return
    first_seen = {}
    for name, pairs in splits.items():
        for p in pairs:
            other = first_seen.setdefault(pair_key(p), (name, p.id))
            if other[0] != name:
                raise DataError(
                    f"the same pair is in {other[0]} (id {other[1]}) and {name} (id {p.id}); splits must not "
                    "overlap (pass --allow-split-overlap to accept it)"
                )


def content_hash(pairs: list[PreferencePair]) -> str:
    """Hash of the pairs' ids, texts and order: part of every cache key that depends on the data."""
    h = hashlib.sha256()
    for p in pairs:
        h.update(json.dumps([p.id, p.first, p.second, p.label], ensure_ascii=False).encode())
    return h.hexdigest()[:16]
