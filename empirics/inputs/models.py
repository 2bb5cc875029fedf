"""Loading models (hub, packaged, tiny random) and the pairwise reward model.

Names come from the registry (:mod:`empirics.registries.models`); Gemma-3-270M's GGUF package is converted
once and cached. Reward model = backbone + scalar linear head, read at the last real token (found from the
attention mask) for decoders, mean-pooled for encoders; both texts of a pair go through one forward pass and
z = r(first) - r(second).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from torch import nn

from core.io import atomic_write_text, hash_file

from ..logs import get_logger
from ..registries.models import ModelError, cache_dir, spec
from .packaged import package_path
from .streams import WEIGHTS_SEED, fixed_torch_rng

log = get_logger(__name__)


# ---------------------------------------------------------------------------------------------- tiny models
def tiny_tokenizer():
    """A byte-level tokenizer built in code (256 byte tokens + <pad>, <bos>, <eos>): no download."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {c: i for i, c in enumerate(alphabet)}
    for special in ("<pad>", "<bos>", "<eos>"):
        vocab[special] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", bos_token="<bos>", eos_token="<eos>"
    )


def tiny_backbone(name: str):
    """Random small configs (vocab 512, width 64, 2 layers) of GPT-2, GPT-NeoX (Pythia), Qwen2 and BERT: the
    same weights every time (drawn from WEIGHTS_SEED, the stand-in for a pretrained checkpoint), the caller's
    random state untouched."""
    import transformers as tf

    common = {"vocab_size": 512, "pad_token_id": 256, "bos_token_id": 257, "eos_token_id": 258}
    configs = {
        "tiny-gpt2": lambda: tf.GPT2Config(n_embd=64, n_layer=2, n_head=4, n_positions=1024, **common),
        "tiny-gpt-neox": lambda: tf.GPTNeoXConfig(
            hidden_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=128,
            max_position_embeddings=1024,
            **common,
        ),
        "tiny-qwen2": lambda: tf.Qwen2Config(
            hidden_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            intermediate_size=128,
            max_position_embeddings=1024,
            **common,
        ),
        "tiny-bert": lambda: tf.BertConfig(
            hidden_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=128,
            max_position_embeddings=1024,
            **common,
        ),
    }
    with fixed_torch_rng(WEIGHTS_SEED):
        return tf.AutoModel.from_config(configs[name]())


# ---------------------------------------------------------------------------------------------- packaged
def files_fingerprint(folder: Path) -> str:
    """sha256 over every file of a model folder (names and contents), cached by (name, size, mtime) so that a
    1 GB folder is hashed once, not on every run."""
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file() and not p.name.startswith("."))
    stamp = json.dumps([[str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns] for p in files])
    memo = (
        cache_dir()
        / "fingerprints"
        / (hashlib.sha256(f"{folder}|{stamp}".encode()).hexdigest()[:24] + ".txt")
    )
    if memo.is_file():
        return memo.read_text().strip()
    h = hashlib.sha256()
    for p in files:
        h.update(str(p.relative_to(folder)).encode())
        hash_file(h, p)
    digest = h.hexdigest()
    atomic_write_text(memo, digest)
    return digest


def model_identity(name: str) -> dict:
    """What a model's outputs depend on, known without loading it: packaged models by a fingerprint of their
    weight and tokenizer files; hub models by the cached snapshot's revision; tiny models by their recipe."""
    s = spec(name)
    if s.first_blocks:
        base, k = s.first_blocks
        return {**model_identity(base), "name": name, "first_blocks": k}
    if s.source == "tiny":
        return {"name": name, "source": "tiny", "seed": WEIGHTS_SEED}
    if s.source == "package":
        folder = package_path(name)
        return {"name": name, "source": "package", "files_sha256": files_fingerprint(folder)}
    if s.source == "local":  # a model folder: its files are its identity, wherever it lies
        return {"name": name, "source": "local", "files_sha256": files_fingerprint(Path(s.path))}
    revision = None
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(s.hub_id, "config.json")
        revision = Path(cached).parent.name if isinstance(cached, str) else None
    except Exception:  # no hub library or no cache: the revision stays unknown
        revision = None
    return {"name": name, "source": "hub", "hub_id": s.hub_id, "revision": revision}


def load_backbone(name: str, dtype: torch.dtype = torch.float32):
    """(backbone, tokenizer, spec). Tokenizers pad on the right and truncate on the left. Loading draws from
    no run's stream and leaves torch's global random state as it was: whatever a checkpoint lacks is drawn
    from WEIGHTS_SEED, as the tiny models are."""
    with fixed_torch_rng(WEIGHTS_SEED):
        return _load_backbone(name, dtype)


def _load_backbone(name: str, dtype: torch.dtype):
    s = spec(name)
    from transformers import AutoModel, AutoTokenizer

    if s.first_blocks:  # a base model cut after its first k blocks (BERT encoders)
        base, k = s.first_blocks
        model, tok, _ = _load_backbone(base, dtype)
        model.encoder.layer = model.encoder.layer[:k]
        model.config.num_hidden_layers = k
        return model, tok, s
    if s.source == "tiny":
        model, tok = tiny_backbone(name), tiny_tokenizer()
    else:
        path = package_path(name) if s.source == "package" else (s.path or s.hub_id)
        try:
            tok = AutoTokenizer.from_pretrained(str(path))
            model = AutoModel.from_pretrained(str(path), dtype=dtype)
        except OSError as exc:
            raise ModelError(
                f"could not load {name} ({str(exc).splitlines()[0][:200]}); hub models need network "
                "access or a populated Hugging Face cache"
            ) from None
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side, tok.truncation_side = "right", "left"
    disable_dropout(model)
    return model, tok, s


def disable_dropout(model: nn.Module) -> None:
    """The protocol trains without dropout: dropout modules, and the attention dropout rate that some
    decoders (Qwen2, Llama, Gemma) keep as a number and pass to their attention function."""
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
        if isinstance(getattr(module, "attention_dropout", None), float):
            module.attention_dropout = 0.0


def last_token_index(attention_mask: torch.Tensor) -> torch.Tensor:
    """Index of the last real token of each row, from the attention mask (works for left and right padding;
    never from token ids, since id 0 is a real token in GPT-2 and Qwen2.5)."""
    positions = torch.arange(attention_mask.shape[1], device=attention_mask.device)
    return (attention_mask.long() * (positions + 1)).argmax(dim=1)


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "decoder":
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last_token_index(attention_mask)]
    m = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp_min(1.0)


class RewardModel(nn.Module):
    """Backbone + scalar linear head; pair_logits gives z = r(first) - r(second) from one forward pass. The
    head's weights are drawn from `init` (a run's ``init`` stream, empirics.inputs.streams; None:
    WEIGHTS_SEED), never from torch's global generator."""

    def __init__(self, backbone: nn.Module, kind: str, init: torch.Generator | None = None):
        super().__init__()
        self.backbone, self.kind = backbone, kind
        hidden = backbone.config.hidden_size
        with fixed_torch_rng(WEIGHTS_SEED):  # nn.Linear's own default draws: replaced just below
            self.head = nn.Linear(hidden, 1)
        if init is None:
            init = torch.Generator().manual_seed(WEIGHTS_SEED)
        nn.init.normal_(self.head.weight, std=1.0 / hidden**0.5, generator=init)
        nn.init.zeros_(self.head.bias)

    def features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        out = self.backbone(input_ids=input_ids, attention_mask=attention_mask)
        return pool(out.last_hidden_state, attention_mask, self.kind)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, pairs: bool = False
    ) -> torch.Tensor:
        """Rewards r (N,); with pairs=True, input_ids stacks B first texts then B second texts and the result
        is z = r(first) - r(second) (B,) from one forward pass. Going through forward keeps DDP/FSDP
        wrappers in charge of gradient synchronisation."""
        feats = self.features(input_ids, attention_mask)
        r = self.head(feats.to(self.head.weight.dtype)).squeeze(-1)
        if not pairs:
            return r
        b = r.shape[0] // 2
        return r[:b] - r[b:]

    def pair_logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self(input_ids, attention_mask, pairs=True)


def tokenize_pairs(tokenizer, firsts: list[str], seconds: list[str], max_length: int) -> dict:
    """Tokenise first texts then second texts in one padded batch (dynamic padding, left truncation)."""
    return tokenizer(
        list(firsts) + list(seconds),
        truncation=True,
        max_length=max_length,
        padding="longest",
        return_tensors="pt",
    )


def batch_pair_logits(
    model: nn.Module,
    tokenizer,
    firsts: list[str],
    seconds: list[str],
    max_length: int,
    group_pairs: int | None = None,
) -> torch.Tensor:
    """z for a whole batch of pairs. With group_pairs = g, pairs are sorted by length and run g at a time,
    each group padded only to its own longest text (both texts of a pair still share one forward pass); the
    logits come back in the batch's order, so the loss sees the whole batch and one backward follows. On CPU
    this removes most padding waste. None: one forward pass for the whole batch (needed under DDP: one forward
    per backward)."""
    if not group_pairs or group_pairs >= len(firsts):
        enc = tokenize_pairs(tokenizer, firsts, seconds, max_length)
        dev = next(model.parameters()).device
        return model(enc["input_ids"].to(dev), enc["attention_mask"].to(dev), pairs=True)
    lengths = [max(len(a), len(b)) for a, b in zip(firsts, seconds, strict=True)]
    order = sorted(range(len(firsts)), key=lengths.__getitem__)
    z = [None] * len(firsts)
    for start in range(0, len(order), group_pairs):
        idx = order[start : start + group_pairs]
        zg = batch_pair_logits(
            model, tokenizer, [firsts[i] for i in idx], [seconds[i] for i in idx], max_length
        )
        for j, i in enumerate(idx):
            z[i] = zg[j]
    return torch.stack(z)
