"""Decoder features with each pair's shared start computed once (``--extraction shared-prefix``).

The two texts of a preference pair share their prompt. In a causal decoder a token's hidden state depends on
the tokens before it only, so the tokens the two texts share at their start (the longest common prefix of
their token ids, leaving each text at least one token of its own) can run once and each text's rest read them
from the key / value cache. Mathematically this gives the per-text pass's features; numerically they agree to
float rounding (tests/empirics/test_shared_prefix.py checks both).

Two stages per window of pairs, so that neither pads much: the prefixes, sorted by length, run in batches
(left-padded, explicit positions); then the rests of both texts, sorted by their own length, run in batches
whose cache is gathered from their pairs' prefixes (left-padded, masked). Encoders attend both ways: this
pass refuses them (:func:`empirics.inputs.features.pair_features` runs them per text). Windows are
independent, so a stopped split resumes after its last saved window (:mod:`empirics.inputs.partial`)."""

from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from core.errors import ConfigError

from .models import last_token_index
from .precision import inference_autocast

WINDOW_PAIRS = 256  # pairs whose prefix caches are held at once (about 1 GB for the ladder's models)


def common_prefix(a: list[int], b: list[int]) -> int:
    """Length of the shared start of two token-id lists, leaving each at least one token of its own."""
    n, i = min(len(a), len(b)) - 1, 0
    while i < n and a[i] == b[i]:
        i += 1
    return max(i, 0)


def _padded(rows: list[list[int]], pad: int, left: bool) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        cols = slice(width - len(r), width) if left else slice(0, len(r))
        ids[i, cols] = torch.tensor(r, dtype=torch.long)
        mask[i, cols] = 1
    return ids, mask


def _prefix_caches(backbone, prefixes: list[list[int]], pad: int, per_batch: int, bf16: bool) -> list:
    """Each prefix's per-layer (keys, values), trimmed of padding: [pair][layer] -> (k, v) of shape
    (heads, length, head_dim). A prefix of length 0 has empty tensors."""
    from transformers import DynamicCache

    out: list = [None] * len(prefixes)
    order = np.argsort([-len(p) for p in prefixes], kind="stable")
    for start in range(0, len(order), per_batch):
        idx = order[start : start + per_batch]
        rows = [prefixes[i] or [pad] for i in idx]  # an empty prefix runs one masked token
        ids, mask = _padded(rows, pad, left=True)
        for r, i in enumerate(idx):
            if not prefixes[i]:
                mask[r] = 0
        cache = DynamicCache(config=backbone.config)
        with inference_autocast(bf16):
            backbone(
                input_ids=ids,
                attention_mask=mask,
                position_ids=(mask.cumsum(1) - 1).clamp_min(0),
                cache=cache,
                use_cache=True,
            )
        width = ids.shape[1]
        for r, i in enumerate(idx):
            n = len(prefixes[i])
            out[i] = [(ly.keys[r, :, width - n :], ly.values[r, :, width - n :]) for ly in cache.layers]
    return out


def _rest_batch(backbone, rests, caches, starts, pad: int, bf16: bool) -> torch.Tensor:
    """Pooled last-token states of a batch of rests, each reading its own prefix cache."""
    from transformers import DynamicCache

    p_max = max(starts)
    layers = []
    for layer in range(len(caches[0])):
        k0, v0 = caches[0][layer]
        keys = k0.new_zeros((len(rests), k0.shape[0], p_max, k0.shape[-1]))
        values = v0.new_zeros((len(rests), v0.shape[0], p_max, v0.shape[-1]))
        for r, c in enumerate(caches):
            k, v = c[layer]
            keys[r, :, p_max - k.shape[1] :], values[r, :, p_max - v.shape[1] :] = k, v
        layers.append((keys, values))
    ids, rest_mask = _padded(rests, pad, left=False)
    prefix_mask = torch.zeros((len(rests), p_max), dtype=torch.long)
    for r, p in enumerate(starts):
        prefix_mask[r, p_max - p :] = 1
    positions = torch.tensor(starts).unsqueeze(1) + torch.arange(ids.shape[1]).unsqueeze(0)
    cache = DynamicCache(ddp_cache_data=layers, config=backbone.config) if p_max else None
    mask = torch.cat([prefix_mask, rest_mask], 1)
    with inference_autocast(bf16):
        hidden = backbone(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            cache=cache,
            use_cache=cache is not None,
        ).last_hidden_state
    return hidden[torch.arange(len(rests)), last_token_index(rest_mask)].float()


@torch.no_grad()
def embed_pairs_shared_prefix(
    backbone,
    tokenizer,
    kind: str,
    first: list[list[int]],
    second: list[list[int]],
    batch_size: int = 16,
    desc: str = "features",
    bf16: bool = False,
    partial=None,
) -> tuple[np.ndarray, np.ndarray]:
    """(phi(first), phi(second)) from token ids, each pair's shared start run once; `batch_size` texts per
    forward pass (prefixes: half as many); with `partial`
    (:class:`empirics.inputs.partial.PartialExtraction`), resumed from and saved to it window by window."""
    if kind != "decoder":
        raise ConfigError(f"--extraction shared-prefix needs a decoder (causal attention), not an {kind}")
    backbone.eval()
    n, width = len(first), backbone.config.hidden_size
    out = np.zeros((2, n, width), np.float32)
    done = partial.resume(out) if partial else 0
    pad = tokenizer.pad_token_id
    shared = [common_prefix(a, b) for a, b in zip(first, second, strict=True)]
    with tqdm(total=2 * n, desc=desc, unit="text", leave=False) as bar:
        for w, w0 in enumerate(range(0, n, WINDOW_PAIRS)):
            pairs = range(w0, min(n, w0 + WINDOW_PAIRS))
            if w < done:
                bar.update(2 * len(pairs))
                continue
            caches = _prefix_caches(
                backbone, [first[i][: shared[i]] for i in pairs], pad, batch_size // 2, bf16
            )
            rests = [
                (j, side, (first, second)[side][i][shared[i] :])
                for j, i in enumerate(pairs)
                for side in (0, 1)
            ]
            rests.sort(key=lambda r: -len(r[2]))  # stable: ties keep pair order
            for start in range(0, len(rests), batch_size):
                chunk = rests[start : start + batch_size]
                feats = _rest_batch(
                    backbone,
                    [r[2] for r in chunk],
                    [caches[j] for j, _, _ in chunk],
                    [shared[w0 + j] for j, _, _ in chunk],
                    pad,
                    bf16,
                )
                for (j, side, _), f in zip(chunk, feats.cpu().numpy(), strict=True):
                    out[side, w0 + j] = f
                bar.update(len(chunk))
            if partial:
                partial.reached(w + 1, out)
    return out[0], out[1]
