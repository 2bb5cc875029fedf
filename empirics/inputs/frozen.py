"""Fine-tuning the top blocks of a pretrained model with the rest frozen: the frozen part runs once per text.

The backbone's transformer blocks split at block ``L - K``: the lower part (embeddings and the first L - K
blocks) is frozen, so its output for each text (one vector per real token) is computed once, cached on disk
like the frozen features (:mod:`empirics.inputs.features`), and reused by every run, for training and for
evaluation alike; the top K blocks, the pooling and the scalar head are trained. A run then costs K blocks per
text, not L. The split is exact: the top blocks read the cached states through the backbone's own
``inputs_embeds`` path with the embedding module bypassed, so r(text) equals the whole backbone's reward
(checked per architecture by the tests). Supported: the architectures where that equality was checked, BERT
encoders (all-MiniLM-L6-v2: exact to the last bit), Qwen2 and GPT-NeoX (exact on tiny configs). Others are
refused: GPT-2 adds position embeddings to ``inputs_embeds``; Gemma-3 gave rewards 0.03 away from its whole
forward (cause not investigated), so it is not exact and not offered."""

from __future__ import annotations

import hashlib
import json
import warnings

import numpy as np
import torch
from torch import nn

from core.errors import ModelError
from core.io import atomic_save_npz

from ..registries.models import cache_dir
from .features import by_token_length, feature_key, feature_record, token_ids
from .models import RewardModel, load_backbone
from .precision import inference_autocast

FROZEN_VERSION = 1  # bump when the lower part's computation or its storage changes


EXACT = {"BertModel": ("encoder", "layer"), "Qwen2Model": (None, "layers"), "GPTNeoXModel": (None, "layers")}


def blocks(backbone: nn.Module) -> tuple[nn.Module, str]:
    """(module, attribute) holding the backbone's ModuleList of transformer blocks."""
    kind = type(backbone).__name__
    if kind not in EXACT:
        raise ModelError(
            f"--trainable-blocks is offered for {', '.join(EXACT)} (where the split is exact), not {kind}; "
            "fine-tune this model whole (no --trainable-blocks)"
        )
    owner, attr = EXACT[kind]
    return (getattr(backbone, owner) if owner else backbone), attr


def n_blocks(backbone: nn.Module) -> int:
    owner, attr = blocks(backbone)
    return len(getattr(owner, attr))


class _PassThrough(nn.Module):
    """Stands in for a BERT embedding module: the cached states are already the blocks' input."""

    def forward(self, input_ids=None, token_type_ids=None, position_ids=None, inputs_embeds=None, **_):
        return inputs_embeds


def split_at(backbone: nn.Module, k: int) -> tuple[nn.ModuleList, nn.ModuleList]:
    owner, attr = blocks(backbone)
    layers = getattr(owner, attr)
    if not 1 <= k < len(layers):
        raise ModelError(
            f"--trainable-blocks {k}: the model has {len(layers)} blocks; train 1 to {len(layers) - 1} "
            "of them (all of them: full fine-tuning, no --trainable-blocks)"
        )
    return nn.ModuleList(layers[: len(layers) - k]), nn.ModuleList(layers[len(layers) - k :])


class TopRewardModel(RewardModel):
    """The top K blocks (+ final norm, pooling, scalar head) of a backbone, reading cached lower states: its
    forward takes (states (N, T, d), attention mask (N, T)) where RewardModel takes token ids."""

    def __init__(self, backbone: nn.Module, kind: str, k: int):
        owner, attr = blocks(backbone)
        _, top = split_at(backbone, k)
        setattr(owner, attr, top)
        if hasattr(backbone, "embeddings"):  # BERT: the only module that would touch inputs_embeds
            backbone.embeddings = _PassThrough()
        if hasattr(backbone.config, "num_hidden_layers"):
            backbone.config.num_hidden_layers = k
        super().__init__(backbone, kind)
        self.k = k

    def features(self, states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        from .models import pool

        out = self.backbone(inputs_embeds=states, attention_mask=attention_mask, use_cache=False)
        return pool(out.last_hidden_state, attention_mask, self.kind)


@torch.no_grad()
def lower_states(
    backbone: nn.Module,
    tok,
    texts: list[str],
    max_length: int,
    layer: int,
    batch_size: int = 16,
    desc: str = "frozen blocks",
    bf16: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The input of block `layer` (0-based) for every real token of every text: (flat (tokens, d) float32,
    offsets (n + 1,)); text i is flat[offsets[i]:offsets[i + 1]]. Batched by token length; only the first
    `layer` blocks run."""
    owner, attr = blocks(backbone)
    full = getattr(owner, attr)
    ids = token_ids(tok, texts, max_length)
    lengths = np.array([len(i) for i in ids], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    flat = np.zeros((int(offsets[-1]), backbone.config.hidden_size), np.float32)
    captured = []
    hook = full[layer - 1].register_forward_hook(
        lambda _m, _i, out: captured.append(out[0] if isinstance(out, tuple) else out)
    )
    setattr(owner, attr, nn.ModuleList(full[:layer]))
    backbone.eval()
    try:
        for idx, batch in by_token_length(tok, ids, batch_size, desc):
            captured.clear()
            with inference_autocast(bf16):
                backbone(
                    input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False
                )
            h = captured[-1].float().cpu().numpy()
            for row, i in enumerate(idx):
                flat[offsets[i] : offsets[i + 1]] = h[row, : lengths[i]]
    finally:
        hook.remove()
        setattr(owner, attr, full)
    return flat, offsets


def padded(flat: np.ndarray, offsets: np.ndarray, idx) -> tuple[torch.Tensor, torch.Tensor]:
    """States of texts `idx`, right-padded with zeros to the longest, and their attention mask."""
    lengths = [int(offsets[i + 1] - offsets[i]) for i in idx]
    out = np.zeros((len(idx), max(lengths), flat.shape[1]), np.float32)
    mask = np.zeros((len(idx), max(lengths)), np.int64)
    for row, (i, n) in enumerate(zip(idx, lengths, strict=True)):
        out[row, :n] = flat[offsets[i] : offsets[i] + n]
        mask[row, :n] = 1
    return torch.from_numpy(out), torch.from_numpy(mask)


class LowerStates:
    """Cached lower-block states of every text of some pairs: texts 0..n-1 are the first texts, n..2n-1 the
    second texts."""

    def __init__(self, flat: np.ndarray, offsets: np.ndarray, n_pairs: int):
        self.flat, self.offsets, self.n = flat, offsets, n_pairs

    def length(self, text: int) -> int:
        return int(self.offsets[text + 1] - self.offsets[text])

    def pair_batch(self, pairs) -> tuple[torch.Tensor, torch.Tensor]:
        """First texts then second texts of `pairs` (indices), padded together (one forward pass)."""
        pairs = list(pairs)
        return padded(self.flat, self.offsets, pairs + [self.n + i for i in pairs])


def _checksum(flat: np.ndarray, offsets: np.ndarray) -> str:
    h = hashlib.sha256(np.ascontiguousarray(offsets).tobytes())
    h.update(np.ascontiguousarray(flat).tobytes())
    return h.hexdigest()


def cached_lower_states(
    model: str,
    pairs,
    max_length: int,
    k: int,
    split: str = "",
    backbone=None,
    batch_size: int = 16,
    bf16=False,
) -> LowerStates:
    """The lower part's states for `pairs` when the top `k` blocks train: from the cache, or computed and
    cached (``<cache>/frozen/<key>.npz``, keyed like the features plus the split point). A file that does not
    verify is recomputed with a warning."""
    if backbone is None:
        backbone = load_backbone(model)
    record = feature_record(model, pairs, max_length, bf16) | {"frozen_version": FROZEN_VERSION, "top": k}
    path = cache_dir() / "frozen" / f"{feature_key(record)}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                same = json.loads(str(z["record"])) == json.loads(json.dumps(record))
                flat, offsets, checksum = z["flat"], z["offsets"], str(z["checksum"])
            if same and checksum == _checksum(flat, offsets) and len(offsets) == 2 * len(pairs) + 1:
                return LowerStates(flat, offsets, len(pairs))
            why = "made by another setting, or changed"
        except Exception as exc:  # truncated or not an npz: never trusted
            why = f"unreadable ({type(exc).__name__})"
        warnings.warn(f"frozen-state cache {path}: {why}; recomputing", stacklevel=2)
    bb, tok, _ = backbone() if callable(backbone) else backbone
    layer = n_blocks(bb) - k
    texts = [p.first for p in pairs] + [p.second for p in pairs]
    flat, offsets = lower_states(
        bb, tok, texts, max_length, layer, batch_size, f"{model} {split} lower {layer} blocks".strip(), bf16
    )
    if not np.all(np.isfinite(flat)):
        raise FloatingPointError(f"{model} {split}: the frozen blocks produced non-finite states")
    atomic_save_npz(
        path,
        flat=flat,
        offsets=offsets,
        record=np.array(json.dumps(record)),
        checksum=np.array(_checksum(flat, offsets)),
    )
    return LowerStates(flat, offsets, len(pairs))
