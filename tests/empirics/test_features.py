"""Feature extraction: batches by token length (no padding where lengths allow none), and each text's
features, in the order of the texts, equal its features computed alone."""

import numpy as np
import pytest
import torch

from empirics.inputs import models as M
from empirics.inputs.features import embed_texts

# byte-level tokens: "é" is two bytes, so character and token lengths order these texts differently
# (by characters 8, 6, 4, 3: every batch of two would mix 8 and 6 tokens)
TEXTS = ["ééé", "aaaaaaaa", "aaaaaa", "éééé"]  # tokens 6, 8, 6, 8


@pytest.mark.parametrize("name", ["tiny-gpt2", "tiny-bert"])
def test_batches_by_token_length_and_keeps_the_text_order(name):
    backbone, tok, s = M.load_backbone(name)
    masks = []
    backbone.register_forward_pre_hook(
        lambda _m, _a, kwargs: masks.append(kwargs["attention_mask"].clone()), with_kwargs=True
    )
    batched = embed_texts(backbone, tok, s.kind, TEXTS, max_length=64, batch_size=2)
    assert [m.shape for m in masks] == [(2, 8), (2, 6)]  # longest first, each batch padded to itself
    assert all(bool(m.all()) for m in masks)  # ... which here leaves no padding at all
    with torch.no_grad():
        alone = np.stack([embed_texts(backbone, tok, s.kind, [t], max_length=64)[0] for t in TEXTS])
    np.testing.assert_allclose(batched, alone, rtol=1e-5, atol=1e-6)
    assert np.abs(alone[0] - alone[1]).max() > 1e-3  # the texts' features differ: the order is tested
