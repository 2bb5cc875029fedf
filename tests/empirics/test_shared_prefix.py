"""Shared-prefix extraction: the features of the per-text pass (to float rounding) from fewer tokens, on every
tiny decoder; an encoder runs per text under it (the per-text file); cached under its own key."""

import numpy as np
import pytest
import torch

from core.errors import ConfigError
from empirics.inputs import models as M
from empirics.inputs import shared_prefix
from empirics.inputs.data import PreferencePair
from empirics.inputs.features import embed_texts, feature_key, feature_record, pair_features, token_ids
from empirics.inputs.shared_prefix import common_prefix, embed_pairs_shared_prefix

PROMPT = "Human: how do I bake bread at home?\n\nAssistant:"
PAIRS = [
    (PROMPT + " Mix flour, water, yeast and salt.", PROMPT + " I would rather not say."),
    (PROMPT + " Knead it.", PROMPT + " Knead it for ten minutes, then let it rise."),  # one starts the other
    ("Human: hi\n\nAssistant: hello", "Something else entirely"),  # nothing shared
    ("same start, then A", "same start, then B and a longer tail of text"),
    (PROMPT * 3 + " a long one, cut on the left", PROMPT * 3 + " another long one, cut on the left"),
]
DECODERS = ["tiny-gpt2", "tiny-gpt-neox", "tiny-qwen2"]


def _ids(tok, max_length=96):
    return [token_ids(tok, [p[side] for p in PAIRS], max_length) for side in (0, 1)]


def _tokens_run(backbone) -> list[int]:
    """Real (unmasked) new tokens of each forward pass, recorded by a hook."""
    seen = []

    def hook(_m, _a, kwargs):
        ids, mask = kwargs["input_ids"], kwargs["attention_mask"]
        seen.append(int(mask[:, -ids.shape[1] :].sum()))

    backbone.register_forward_pre_hook(hook, with_kwargs=True)
    return seen


@pytest.mark.parametrize("name", DECODERS)
@pytest.mark.parametrize("window", [256, 2])  # one window, and windows of two pairs
def test_matches_the_per_text_pass_with_fewer_tokens(name, window, monkeypatch):
    monkeypatch.setattr(shared_prefix, "WINDOW_PAIRS", window)
    backbone, tok, s = M.load_backbone(name)
    first, second = _ids(tok)
    per_text = embed_texts(backbone, tok, s.kind, [p[0] for p in PAIRS] + [p[1] for p in PAIRS], 96, 4)
    seen = _tokens_run(backbone)
    a, b = embed_pairs_shared_prefix(backbone, tok, s.kind, first, second, batch_size=4)
    np.testing.assert_allclose(np.concatenate([a, b]), per_text, rtol=1e-5, atol=1e-5)
    assert np.abs(per_text[0] - per_text[len(PAIRS)]).max() > 1e-3  # a pair's two texts differ: order tested
    shared = [common_prefix(x, y) for x, y in zip(first, second, strict=True)]
    total = sum(map(len, first)) + sum(map(len, second))
    assert sum(seen) == total - sum(shared)  # each shared start ran once
    assert sum(shared) > 0.2 * total


def test_the_shared_start_leaves_each_text_a_token():
    assert common_prefix([1, 2, 3], [1, 2, 3]) == 2
    assert common_prefix([1, 2], [1, 2, 3, 4]) == 1
    assert common_prefix([5, 2], [1, 2]) == 0
    assert common_prefix([1, 2, 3, 9], [1, 2, 3, 8, 8]) == 3
    assert common_prefix([7], [7, 8]) == 0


def test_an_encoder_runs_per_text_under_it(tmp_path):
    """An encoder's attention looks both ways, so a shared start has no state to share: under shared-prefix
    it runs per text, into the per-text cache file (computed once for both settings); the low-level pass
    itself refuses an encoder."""
    pairs = [PreferencePair(f"p{i}", a, b, 1, False) for i, (a, b) in enumerate(PAIRS)]
    calls = []

    def backbone():
        calls.append(1)
        return M.load_backbone("tiny-bert")

    shared = pair_features("tiny-bert", pairs, 64, backbone=backbone, extraction="shared-prefix")
    per_text = pair_features("tiny-bert", pairs, 64, backbone=backbone)
    assert len(calls) == 1  # the per-text call read the file the shared-prefix call wrote
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 1
    for a, b in zip(shared, per_text, strict=True):
        assert np.array_equal(a, b)
    bb, tok, s = M.load_backbone("tiny-bert")
    with pytest.raises(ConfigError, match="needs a decoder"):
        embed_pairs_shared_prefix(bb, tok, s.kind, *_ids(tok))


def test_cached_under_its_own_key_and_read_back():
    pairs = [PreferencePair(f"p{i}", a, b, 1, False) for i, (a, b) in enumerate(PAIRS)]
    per_text = feature_record("tiny-qwen2", pairs, 96)
    shared = feature_record("tiny-qwen2", pairs, 96, extraction="shared-prefix")
    assert "extraction" not in per_text  # the per-text files keep their keys
    assert shared["extraction"] == "shared-prefix"
    assert feature_key(per_text) != feature_key(shared)
    calls = []

    def backbone():
        calls.append(1)
        return M.load_backbone("tiny-qwen2")

    a1, b1 = pair_features(
        "tiny-qwen2", pairs, 96, backbone=backbone, batch_size=4, extraction="shared-prefix"
    )
    a2, b2 = pair_features(
        "tiny-qwen2", pairs, 96, backbone=backbone, batch_size=4, extraction="shared-prefix"
    )
    assert len(calls) == 1  # the second call read the cache
    assert np.array_equal(a1, a2)
    assert np.array_equal(b1, b2)
    with torch.no_grad():
        a3, b3 = pair_features("tiny-qwen2", pairs, 96, backbone=backbone, batch_size=4)
    assert len(calls) == 2  # the per-text pass is another file
    np.testing.assert_allclose(np.concatenate([a1, b1]), np.concatenate([a3, b3]), rtol=1e-5, atol=1e-5)


def test_a_sweep_runs_encoders_per_text_and_decoders_to_rounding(data_dir, tmp_path):
    """In a pipeline: an encoder's ceiling under shared-prefix is the per-text one, logit for logit; a
    decoder's gives the per-text pass's test logits to float rounding."""
    from core.io import read_jsonl_rows
    from empirics.plans.spec import RunSpec
    from empirics.runs.pipeline import Pipeline

    from .fixtures import tiny_sweep

    def ceiling(extraction, model, out):
        exp = tiny_sweep(data_dir, "last_layer", extraction=extraction).experiment
        Pipeline(exp, tmp_path / out).run(RunSpec("ceiling", model, head="logistic"))
        (folder,) = (tmp_path / out).glob("ceiling__*")
        return np.array([r["logit"] for r in read_jsonl_rows(folder / "predictions_test.jsonl")])

    assert np.array_equal(
        ceiling("shared-prefix", "tiny-bert", "bert-shared"), ceiling("per-text", "tiny-bert", "bert")
    )
    np.testing.assert_allclose(
        ceiling("shared-prefix", "tiny-qwen2", "shared"),
        ceiling("per-text", "tiny-qwen2", "per-text"),
        atol=1e-4,
    )
