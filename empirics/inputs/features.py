"""Frozen features, extracted once per (model, data, max length) and cached on disk, and checked when read.

For every pair, the pooled final hidden state of each text (last real token for decoders, mean for
encoders) is stored as float32 in ``<cache>/features/<key>.npz`` with the pair ids, a record of what made it
(the model's identity, including a fingerprint of its weight and tokenizer files or its hub revision; the
library versions; max length; pooling; the split's content hash) and a checksum of the arrays. The key
hashes that record. A file that does not match it, does not verify, is truncated or holds non-finite values
is a cache miss with a warning, never reused. Texts are tokenized once and batched by token length, longest
first, so a batch pads to nearly its own length (sorting by characters left 18 % of Gemma-3's tokens as
padding on HH-RLHF at max length 256; by tokens 0.1 %); files are written atomically. A split stopped part way
resumes from its last saved batch or window (:mod:`empirics.inputs.partial`)."""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from core.io import atomic_save_npz, package_versions

from ..registries.models import cache_dir, spec
from . import shared_prefix
from .data import PreferencePair, content_hash
from .models import load_backbone, model_identity, pool
from .partial import PartialExtraction, read_seconds, stored_seconds
from .precision import inference_autocast
from .shared_prefix import embed_pairs_shared_prefix

SIDES = ("first", "second")

# bump when the extraction itself changes. 3: batches by token length (2: by characters; a batch's padding
# changes its floating-point sums, so features differ in the last bits)
FEATURE_VERSION = 3


def feature_record(
    model: str, pairs: list[PreferencePair], max_length: int, bf16: bool = False, extraction: str = "per-text"
) -> dict:
    """Everything that makes a feature file: the cache key is its hash, and the file carries it. The
    extraction is recorded when it is not the per-text pass (so the per-text files keep their keys)."""
    shared = {"extraction": extraction} if extraction != "per-text" else {}
    return shared | {
        "feature_version": FEATURE_VERSION,
        "model": model_identity(model),
        "pooling": spec(model).kind,
        "max_length": max_length,
        "precision": "bf16 autocast" if bf16 else "fp32",
        "content_hash": content_hash(pairs),
        "pairs": len(pairs),
        "versions": package_versions(("torch", "transformers", "tokenizers")),
    }


def feature_key(record: dict) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:20]


def array_checksum(ids: np.ndarray, first: np.ndarray, second: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in (ids.astype(str), first, second):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def read_cached(path: Path, record: dict, ids: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """The cached arrays if the file verifies against `record` and `ids`; otherwise None, with a warning
    saying why (the caller recomputes)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta, first, second, saved_ids = str(z["record"]), z["first"], z["second"], z["ids"]
            checksum = str(z["checksum"])
    except Exception as exc:  # truncated or not an npz: never trusted
        why = f"unreadable ({type(exc).__name__})"
    else:
        n = len(ids)
        if json.loads(meta) != json.loads(json.dumps(record)):
            why = "made by another model, tokenizer, library version or setting"
        elif checksum != array_checksum(saved_ids, first, second):
            why = "checksum mismatch (the file was changed)"
        elif list(saved_ids) != ids or first.shape[0] != n or second.shape != first.shape:
            why = "ids or shapes do not match the pairs"
        elif not (np.all(np.isfinite(first)) and np.all(np.isfinite(second))):
            why = "non-finite values"
        else:
            return first, second
    warnings.warn(f"feature cache {path}: {why}; recomputing", stacklevel=3)
    return None


def token_ids(tokenizer, texts: list[str], max_length: int) -> list[list[int]]:
    """Each text's token ids, truncated at `max_length` (special tokens included, no padding)."""
    return tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]


def by_token_length(
    tokenizer, ids: list[list[int]], batch_size: int, desc: str, skip: int = 0
) -> Iterator[tuple[np.ndarray, dict]]:
    """(indices, padded batch) over all texts, longest first (ties in text order), each batch padded to its
    longest text, with a progress bar; the first `skip` batches (done before a stop) left out."""
    lengths = np.array([len(i) for i in ids], dtype=np.int64)
    order = np.argsort(-lengths, kind="stable")
    starts = range(0, len(ids), batch_size)
    for start in tqdm(starts[skip:], desc=desc, unit="batch", leave=False, initial=skip, total=len(starts)):
        idx = order[start : start + batch_size]
        yield idx, tokenizer.pad({"input_ids": [ids[i] for i in idx]}, return_tensors="pt")


@torch.no_grad()
def embed_texts(
    backbone,
    tokenizer,
    kind: str,
    texts: list[str],
    max_length: int,
    batch_size: int = 16,
    desc: str = "features",
    bf16: bool = False,
    partial: PartialExtraction | None = None,
) -> np.ndarray:
    """Pooled final hidden states (n, hidden) in the order of `texts`, batched by token length; with
    `partial`, resumed from and saved to it batch by batch (:mod:`empirics.inputs.partial`)."""
    backbone.eval()
    out = np.zeros((len(texts), backbone.config.hidden_size), np.float32)
    done = partial.resume(out) if partial else 0
    device = next(backbone.parameters()).device
    ids = token_ids(tokenizer, texts, max_length)
    for b, (idx, enc) in enumerate(by_token_length(tokenizer, ids, batch_size, desc, skip=done), start=done):
        enc = enc.to(device)
        with inference_autocast(bf16):
            hidden = backbone(
                input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]
            ).last_hidden_state
        out[idx] = pool(hidden, enc["attention_mask"], kind).float().cpu().numpy()
        if partial:
            partial.reached(b + 1, out)
    return out


def pair_features(
    model: str,
    pairs: list[PreferencePair],
    max_length: int,
    split: str = "",
    backbone=None,
    batch_size: int = 16,
    bf16: bool = False,
    extraction: str = "per-text",
    measured: dict | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(phi(first), phi(second)), each (n, hidden), from the cache or computed and cached. `backbone` is a
    loaded (model, tokenizer, spec) triple, or a callable returning one (called only on a cache miss).
    `extraction`: "per-text" (each text its own pass) or "shared-prefix" (:mod:`empirics.inputs.shared_prefix`
    for a decoder; an encoder, whose attention looks both ways, runs per text: the same file as per-text).
    `measured`, when given, is filled with what the features cost: {"texts", "seconds" (the wall time that
    made them, over every process of a resumed split, model loading excluded; None when unknown), "cached"
    (read from the cache, not computed now)}, the seconds kept in the cache file."""
    if spec(model).kind != "decoder":
        extraction = "per-text"
    record = feature_record(model, pairs, max_length, bf16, extraction)
    path = cache_dir() / "features" / f"{feature_key(record)}.npz"
    ids = [p.id for p in pairs]
    if path.is_file():
        cached = read_cached(path, record, ids)
        if cached is not None:
            if measured is not None:
                measured |= {"texts": 2 * len(pairs), "seconds": cached_seconds(path), "cached": True}
            return cached
    if backbone is None:
        backbone = load_backbone(model)
    bb, tok, s = backbone() if callable(backbone) else backbone
    desc = f"{model} {split}".strip()
    # what a unit of the extraction is: a stopped split resumes only into the same units
    unit = {"window_pairs": shared_prefix.WINDOW_PAIRS} if extraction == "shared-prefix" else {}
    partial = PartialExtraction(path.with_suffix(".partial.npz"), record | unit | {"batch_size": batch_size})
    if extraction == "shared-prefix":
        first, second = embed_pairs_shared_prefix(
            bb,
            tok,
            s.kind,
            *(token_ids(tok, [getattr(p, side) for p in pairs], max_length) for side in SIDES),
            batch_size,
            desc,
            bf16,
            partial,
        )
    else:
        texts = [p.first for p in pairs] + [p.second for p in pairs]
        emb = embed_texts(bb, tok, s.kind, texts, max_length, batch_size, desc, bf16, partial)
        first, second = emb[: len(pairs)], emb[len(pairs) :]
    if not (np.all(np.isfinite(first)) and np.all(np.isfinite(second))):
        raise FloatingPointError(f"{model} {split}: the backbone produced non-finite features")
    id_array, seconds = np.array(ids), partial.seconds()
    atomic_save_npz(
        path,
        ids=id_array,
        first=first,
        second=second,
        record=np.array(json.dumps(record)),
        checksum=np.array(array_checksum(id_array, first, second)),
        seconds=stored_seconds(seconds),
    )
    partial.finish()
    if measured is not None:
        measured |= {"texts": 2 * len(pairs), "seconds": seconds, "cached": False}
    return first, second


def cached_seconds(path: Path) -> float | None:
    """The wall seconds a cache file's features took (None: a file from before they were kept)."""
    with np.load(path, allow_pickle=False) as z:
        return read_seconds(z)
