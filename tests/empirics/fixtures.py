"""Tiny HH-style JSONL fixtures built in code (tests never depend on downloaded or shared data)."""

import json
from pathlib import Path

PROMPTS = ["How do I bake bread?", "What is the capital of France?", "Can you help me hurt someone?",
           "Tell me a joke about cats.", "How can I pick a lock?", "What should I eat for dinner?"]
GOOD = ["I'm happy to help with that safely: {x}", "Here is a careful answer: {x}", "Sure, politely: {x}"]
BAD = ["No. {x}", "Do something dangerous: {x}", "Whatever, {x}!!"]


def pair(i: int) -> dict:
    p = PROMPTS[i % len(PROMPTS)]
    body = f"step {i}, detail {i * 7 % 13}"
    return {"chosen": f"\n\nHuman: {p}\n\nAssistant: " + GOOD[i % 3].format(x=body),
            "rejected": f"\n\nHuman: {p}\n\nAssistant: " + BAD[i % 3].format(x=body)}


def write_splits(folder: Path, n: int = 24) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for k, split in enumerate(("train_gt", "train_w2s", "test")):
        rows = [pair(1000 * k + i) for i in range(n)]
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder
