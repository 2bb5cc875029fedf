"""Preference-pair data: one record per pair, with its seeded order swap stored in the record.

Sources (registry :data:`DATASETS`):
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
from dataclasses import asdict, dataclass
from pathlib import Path

from core.errors import DataError
from core.io import read_jsonl

from .config import DATASETS

SPLITS = ("train_gt", "train_w2s", "test")
SPLIT_SIZE = 4000
DATA_DIR_ENV = "W2S_DATA_DIR"
HH_TURN, ASSISTANT_TURN = "\n\nHuman:", "\n\nAssistant:"


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
    source: str
    kept: int = 0
    skipped_empty: int = 0
    skipped_identical: int = 0

    def warn(self) -> None:
        if self.skipped_empty or self.skipped_identical:
            warnings.warn(
                f"{self.source}: kept {self.kept} pairs, skipped {self.skipped_empty} with an empty text "
                f"and {self.skipped_identical} with identical chosen/rejected texts",
                stacklevel=3,
            )


def pairs_from_rows(rows, seed: int, source: str, id_prefix: str) -> tuple[list[PreferencePair], LoadReport]:
    """Rows are (line_no, dict with chosen, rejected and optional id). Validates, counts skips."""
    report, pairs = LoadReport(source), []
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
            report.skipped_empty += 1
            continue
        if chosen == rejected:
            report.skipped_identical += 1
            continue
        pair_id = str(row.get("id", f"{id_prefix}-{line_no}"))
        pairs.append(make_pair(pair_id, chosen, rejected, seed))
    report.kept = len(pairs)
    report.warn()
    return pairs, report


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; known splits: {', '.join(SPLITS)}")
    return split


def load_jsonl_split(data_dir: str | Path, split: str, seed: int = 0) -> list[PreferencePair]:
    """``<data_dir>/<split>.jsonl`` as pairs."""
    check_split(split)
    base = Path(data_dir)
    if not base.is_dir():
        raise DataError(f"data directory not found: {base}")
    path = base / f"{split}.jsonl"
    pairs, _ = pairs_from_rows(read_jsonl(path), seed, str(path), split)
    return pairs


# ---------------------------------------------------------------------------------------------- hub loaders
def is_single_turn(text: str) -> bool:
    return text.count(HH_TURN) == 1 and text.count(ASSISTANT_TURN) == 1


def hh_rows(records) -> list[tuple[int, dict]]:
    """Keep single-turn dialogues (both texts) from Anthropic/hh-rlhf records."""
    return [
        (i, r)
        for i, r in enumerate(records, start=1)
        if is_single_turn(r["chosen"]) and is_single_turn(r["rejected"])
    ]


def cai_rows(records) -> list[tuple[int, dict]]:
    """HuggingFaceH4/cai-conversation-harmless records as HH-formatted chosen/rejected pairs."""
    out = []
    for i, r in enumerate(records, start=1):
        missing = [k for k in ("init_prompt", "init_response", "revision_response") if k not in r]
        if missing:
            raise DataError(f"cai-harmless record {i}: missing field(s) {missing}")
        prompt = f"{HH_TURN} {r['init_prompt'].strip()}{ASSISTANT_TURN} "
        out.append(
            (
                i,
                {
                    "chosen": prompt + r["revision_response"].strip(),
                    "rejected": prompt + r["init_response"].strip(),
                },
            )
        )
    return out


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


def load_hub_split(dataset: str, split: str, seed: int = 0) -> list[PreferencePair]:
    check_split(split)
    if dataset.startswith("hh-rlhf-"):
        ds = _hub("Anthropic/hh-rlhf", data_dir=f"{dataset.removeprefix('hh-rlhf-')}-base")
        rows = split_rows(hh_rows(ds["train"]), hh_rows(ds["test"]), split)
    elif dataset == "cai-harmless":
        ds = _hub("HuggingFaceH4/cai-conversation-harmless")
        rows = split_rows(cai_rows(ds["train_prefs"]), cai_rows(ds["test_prefs"]), split)
    else:
        raise DataError(f"dataset {dataset!r} has no hub loader")
    pairs, _ = pairs_from_rows(rows, seed, f"{dataset}/{split}", f"{dataset}-{split}")
    return pairs


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
        pairs = load_jsonl_split(local, split, seed)
    elif dataset == "jsonl":
        raise DataError(f"dataset 'jsonl' needs --data-dir or ${DATA_DIR_ENV}")
    else:
        pairs = load_hub_split(dataset, split, seed)
    if n is not None and n > len(pairs):
        warnings.warn(f"{dataset}/{split}: asked for {n} pairs, only {len(pairs)} available", stacklevel=2)
    return pairs[:n] if n is not None else pairs


def content_hash(pairs: list[PreferencePair]) -> str:
    """Hash of the pairs' ids, texts and order: part of every cache key that depends on the data."""
    h = hashlib.sha256()
    for p in pairs:
        h.update(json.dumps([p.id, p.first, p.second, p.label], ensure_ascii=False).encode())
    return h.hexdigest()[:16]
