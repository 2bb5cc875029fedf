"""Frozen features, extracted once per (model, data, max length) and cached on disk.

For every pair, the pooled final hidden state of each text (last real token for decoders, mean for encoders)
is stored as float32 in ``<cache>/features/<key>.npz`` with the pair ids; the key hashes the model name, the
split's content hash, the max length and the pooling. Texts are batched by length (least padding), written
atomically."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import torch
from tqdm.auto import tqdm

from core.io import atomic_save_npz

from .data import PreferencePair, content_hash
from .models import cache_dir, load_backbone, pool

FEATURE_VERSION = 1  # bump when the extraction itself changes


def feature_key(model: str, pairs: list[PreferencePair], max_length: int) -> str:
    blob = json.dumps([FEATURE_VERSION, model, content_hash(pairs), max_length])
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


@torch.no_grad()
def embed_texts(
    backbone,
    tokenizer,
    kind: str,
    texts: list[str],
    max_length: int,
    batch_size: int = 16,
    desc: str = "features",
) -> np.ndarray:
    """Pooled final hidden states (n, hidden) in the order of `texts`, batched by token length."""
    backbone.eval()
    lengths = [len(t) for t in texts]
    order = np.argsort(lengths)[::-1]
    out = np.zeros((len(texts), backbone.config.hidden_size), np.float32)
    device = next(backbone.parameters()).device
    for start in tqdm(range(0, len(texts), batch_size), desc=desc, unit="batch", leave=False):
        idx = order[start : start + batch_size]
        enc = tokenizer(
            [texts[i] for i in idx],
            truncation=True,
            max_length=max_length,
            padding="longest",
            return_tensors="pt",
        ).to(device)
        hidden = backbone(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
        out[idx] = pool(hidden, enc["attention_mask"], kind).float().cpu().numpy()
    return out


def pair_features(
    model: str,
    pairs: list[PreferencePair],
    max_length: int,
    split: str = "",
    backbone=None,
    batch_size: int = 16,
) -> tuple[np.ndarray, np.ndarray]:
    """(phi(first), phi(second)), each (n, hidden), from the cache or computed and cached. `backbone` is a
    loaded (model, tokenizer, spec) triple, or a callable returning one (called only on a cache miss)."""
    path = cache_dir() / "features" / f"{feature_key(model, pairs, max_length)}.npz"
    if path.is_file():
        with np.load(path) as z:
            if list(z["ids"]) == [p.id for p in pairs]:
                return z["first"], z["second"]
    if backbone is None:
        backbone = load_backbone(model)
    bb, tok, s = backbone() if callable(backbone) else backbone
    texts = [p.first for p in pairs] + [p.second for p in pairs]
    emb = embed_texts(bb, tok, s.kind, texts, max_length, batch_size, desc=f"{model} {split}".strip())
    first, second = emb[: len(pairs)], emb[len(pairs) :]
    atomic_save_npz(path, ids=np.array([p.id for p in pairs]), first=first, second=second)
    return first, second
