"""Every preference data set as one registry entry: its name, what it is, where the hub keeps it and how its
records become (chosen, rejected) pairs. Adding a data set is adding one entry here (and its test); the
config, ``list datasets`` and the loader (:mod:`empirics.inputs.data`) read this table. Nothing here imports
``datasets``: the hub is only reached by the loader, and offline every entry reads a local JSONL folder."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from core.errors import DataError

HH_TURN, ASSISTANT_TURN = "\n\nHuman:", "\n\nAssistant:"


def is_single_turn(text: str) -> bool:
    return text.count(HH_TURN) == 1 and text.count(ASSISTANT_TURN) == 1


def hh_rows(records: Iterable[dict]) -> list[tuple[int, dict]]:
    """Keep single-turn dialogues (both texts) from Anthropic/hh-rlhf records."""
    return [
        (i, r)
        for i, r in enumerate(records, start=1)
        if is_single_turn(r["chosen"]) and is_single_turn(r["rejected"])
    ]


def cai_rows(records: Iterable[dict]) -> list[tuple[int, dict]]:
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


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    description: str
    hub_id: str | None  # None: local files only (--data-dir)
    hub_kwargs: dict = field(default_factory=dict)  # passed to datasets.load_dataset
    hub_splits: tuple[str, str] = ("train", "test")  # the hub's splits our train_* and test splits come from
    rows: Callable[[Iterable[dict]], list[tuple[int, dict]]] | None = None  # hub records -> (row, pair)


DATASET_REGISTRY: dict[str, DatasetEntry] = {
    e.name: e
    for e in (
        DatasetEntry(
            "hh-rlhf-harmless",
            "Anthropic/hh-rlhf harmless-base, single-turn (hub, or a local JSONL folder)",
            "Anthropic/hh-rlhf",
            {"data_dir": "harmless-base"},
            rows=hh_rows,
        ),
        DatasetEntry(
            "hh-rlhf-helpful",
            "Anthropic/hh-rlhf helpful-base, single-turn (hub, or a local JSONL folder)",
            "Anthropic/hh-rlhf",
            {"data_dir": "helpful-base"},
            rows=hh_rows,
        ),
        DatasetEntry(
            "cai-harmless",
            "HuggingFaceH4/cai-conversation-harmless (hub, or a local JSONL folder)",
            "HuggingFaceH4/cai-conversation-harmless",
            hub_splits=("train_prefs", "test_prefs"),
            rows=cai_rows,
        ),
        DatasetEntry(
            "jsonl",
            "a local folder of train_gt/train_w2s/test.jsonl with chosen/rejected (needs --data-dir)",
            None,
        ),
    )
}

DATASETS = {name: e.description for name, e in DATASET_REGISTRY.items()}  # the choices of --dataset
