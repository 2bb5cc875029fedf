"""Model registry, pooling at the last real token, one forward pass per pair, antisymmetry."""

import pytest
import torch

from empirics.inputs import models as M
from empirics.registries import models as registry


def test_unknown_model_lists_the_known_ones():
    known = r"unknown model 'gpt5': not in the registry \(gpt2, gpt2-medium"
    with pytest.raises(registry.ModelError, match=known):
        registry.spec("gpt5")
    assert {
        "gpt2-xl",
        "EleutherAI/pythia-2.8b",
        "Qwen/Qwen2.5-14B",
        "all-MiniLM-L6-v2",
        "gemma-3-270m",
    } <= set(registry.MODELS)


def test_last_token_index_uses_the_mask_not_token_ids():
    mask = torch.tensor([[1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [1, 0, 0, 0, 0]])
    assert M.last_token_index(mask).tolist() == [2, 4, 0]
    hidden = torch.arange(3 * 5 * 2, dtype=torch.float32).reshape(3, 5, 2)
    assert torch.equal(M.pool(hidden, mask, "decoder"), hidden[[0, 1, 2], [2, 4, 0]])
    assert torch.allclose(M.pool(hidden, mask, "encoder")[0], hidden[0, :3].mean(0))


@torch.no_grad()
def test_a_decoder_reads_its_last_real_token_even_when_its_id_is_0():
    """Id 0 is a real token (GPT-2's "!"): a reward read at the last non-zero id would read the wrong
    token."""
    backbone, _, s = M.load_backbone("tiny-gpt2")
    model = M.RewardModel(backbone, s.kind).eval()
    ids = torch.tensor([[5, 7, 0, 256, 256], [9, 0, 0, 4, 0]])  # row 0 ends in token 0, then right padding
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    batched = model.features(ids, mask)
    for row, n in ((0, 3), (1, 5)):
        alone = model.features(ids[row : row + 1, :n], mask[row : row + 1, :n])
        torch.testing.assert_close(batched[row], alone[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["tiny-gpt2", "tiny-gpt-neox", "tiny-qwen2", "tiny-bert"])
def test_pair_logits_one_forward_pass_and_antisymmetric(name):
    backbone, tok, s = M.load_backbone(name)
    model = M.RewardModel(backbone, s.kind).eval()
    calls = []
    backbone.register_forward_hook(lambda *a: calls.append(1))
    a, b = ["short text", "a somewhat longer second text here"], ["another one", "x"]
    enc = M.tokenize_pairs(tok, a, b, 64)
    z = model.pair_logits(enc["input_ids"], enc["attention_mask"])
    assert len(calls) == 1
    assert z.shape == (2,)
    enc2 = M.tokenize_pairs(tok, b, a, 64)
    z2 = model.pair_logits(enc2["input_ids"], enc2["attention_mask"])
    assert torch.allclose(z, -z2, atol=1e-5)
    assert all(m.p == 0.0 for m in model.modules() if isinstance(m, torch.nn.Dropout))


def test_tiny_models_are_the_same_whatever_the_global_random_state():
    torch.manual_seed(3)
    a = M.tiny_backbone("tiny-qwen2")
    torch.manual_seed(4)
    b = M.tiny_backbone("tiny-qwen2")
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))


def test_left_truncation_keeps_the_end_of_long_texts():
    _, tok, _ = M.load_backbone("tiny-gpt2")
    enc = tok(["0123456789" * 10 + "END"], truncation=True, max_length=8)
    assert tok.decode(enc["input_ids"][0]).endswith("END")
