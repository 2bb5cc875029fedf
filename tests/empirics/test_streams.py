"""What a seed redraws: every named stream of empirics.inputs.streams repeats itself for a seed and differs
between
seeds, the streams of one run differ from each other, the draws the committed references were made with are
kept, loading a model or training a run leaves torch's global random state alone, and a run's seed reaches
what its training draws (the regression test of a dead seed: a model loader that re-seeded the global
generator made every seed's draws after it the same)."""

import numpy as np
import pytest
import torch

import empirics.inputs.models as M
import empirics.training.finetune as F
from empirics.inputs.frozen import cached_lower_states
from empirics.inputs.partition import partition
from empirics.inputs.streams import SALTS, SIZED, RunStreams, StreamError
from empirics.plans.options import FinetuneConfig
from empirics.registries.noise import Noise
from empirics.training.finetune import batches, finetune, finetune_top, predict_logits, predict_top
from empirics.training.losses import get_loss

SIZE = 500


def draws(streams: RunStreams, name: str) -> np.ndarray:
    """What stream `name` gives first: numpy's permutation, and torch's normal draws."""
    size = SIZE if name in SIZED else None
    g = torch.Generator().manual_seed(streams.torch_seed(name)) if size is None else None
    torch_part = np.zeros(0) if g is None else torch.randn(8, generator=g).numpy()
    return np.concatenate([streams.numpy(name, size).permutation(SIZE), torch_part])


@pytest.mark.parametrize("name", sorted(SALTS))
def test_every_stream_repeats_its_seed_and_differs_between_seeds(name):
    a, again, b = draws(RunStreams(0), name), draws(RunStreams(0), name), draws(RunStreams(1), name)
    np.testing.assert_array_equal(a, again)
    assert not np.array_equal(a, b)


def test_the_streams_of_one_run_are_distinct():
    s = RunStreams(7)
    entropies = {n: s.entropy(n, SIZE if n in SIZED else None) for n in SALTS}
    assert len(set(entropies.values())) == len(SALTS)
    firsts = {n: tuple(draws(s, n)[:20]) for n in SALTS}
    assert len(set(firsts.values())) == len(SALTS)


def test_the_committed_references_draws_are_kept():
    """The split, flips and batch order the committed regimes were made with (numbers drawn by the code
    before empirics.inputs.streams, written out here)."""
    assert RunStreams(0).numpy("sample", 4000).permutation(4000)[:6].tolist() == [
        1999,
        1491,
        1672,
        3885,
        2617,
        1295,
    ]
    assert RunStreams(3).numpy("sample", 4000).permutation(4000)[:6].tolist() == [
        1787,
        642,
        1995,
        3461,
        1527,
        1861,
    ]
    assert RunStreams(0).numpy("label_noise").permutation(4000)[:6].tolist() == [
        3799,
        193,
        1984,
        1122,
        1312,
        3445,
    ]
    assert RunStreams(5).numpy("batch_order").permutation(100)[:6].tolist() == [29, 49, 91, 4, 84, 17]


@pytest.mark.parametrize(
    ("name", "size", "why"),
    [
        ("sample", None, "needs size"),
        ("init", 3, "takes no size"),
        ("shuffle", None, "unknown random stream"),
    ],
)
def test_a_stream_asked_for_wrongly_is_refused(name, size, why):
    with pytest.raises(StreamError, match=why):
        RunStreams(0).entropy(name, size)


@pytest.mark.parametrize("seed", [-1, 1.5, True, "0"])
def test_a_seed_that_is_not_a_non_negative_integer_is_refused(seed):
    with pytest.raises(StreamError, match="integer >= 0"):
        RunStreams(seed)


def test_what_draws_takes_its_stream():
    """The consumers: the training sample, the flips and the batch order follow the run's streams."""
    a, b = RunStreams(0), RunStreams(1)
    assert not np.array_equal(
        partition(SIZE, a.numpy("sample", SIZE), 0.2).fit, partition(SIZE, b.numpy("sample", SIZE), 0.2).fit
    )
    np.testing.assert_array_equal(
        partition(SIZE, a.numpy("sample", SIZE), 0.2).fit, partition(SIZE, a.numpy("sample", SIZE), 0.2).fit
    )
    p, flip = np.full(SIZE, 0.9), Noise("flip", 0.3)
    assert not np.array_equal(flip.apply(p, a.numpy("label_noise")), flip.apply(p, b.numpy("label_noise")))
    np.testing.assert_array_equal(
        flip.apply(p, a.numpy("label_noise")), flip.apply(p, a.numpy("label_noise"))
    )
    plan = lambda s: np.concatenate(batches(40, 8, 2, s.numpy("batch_order")))  # noqa: E731
    assert not np.array_equal(plan(a), plan(b))
    np.testing.assert_array_equal(plan(a), plan(a))


def test_the_head_is_drawn_from_the_run_init_stream():
    backbone = M.load_backbone("tiny-gpt2")[0]

    def head(s):
        return M.RewardModel(backbone, "decoder", init=RunStreams(s).torch("init")).head.weight

    assert not torch.equal(head(0), head(1))
    assert torch.equal(head(0), head(0))
    torch.manual_seed(1)
    other_global = M.RewardModel(backbone, "decoder", init=RunStreams(0).torch("init")).head.weight
    assert torch.equal(other_global, head(0))  # the global generator plays no part


@pytest.mark.parametrize("name", ["tiny-bert", "tiny-qwen2", "tiny-bert-first1"])
def test_loading_a_model_leaves_the_global_state_and_does_not_read_it(name):
    torch.manual_seed(11)
    before = torch.get_rng_state()
    a = M.load_backbone(name)[0]
    assert torch.equal(torch.get_rng_state(), before)
    torch.manual_seed(12)
    b = M.load_backbone(name)[0]
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))


@pytest.fixture
def with_dropout(monkeypatch):
    """Dropout left on (the protocol turns it off) and a batch order that is the same for every seed, so
    that the only thing a seed changes in top-block training is what the loop draws."""
    monkeypatch.setattr(M, "disable_dropout", lambda model: None)
    fixed = F.batches
    monkeypatch.setattr(F, "batches", lambda n, b, e, rng: fixed(n, b, e, np.random.default_rng(0)))


@pytest.fixture
def states(data_dir):
    from empirics.inputs.data import load_split

    pairs = load_split("jsonl", "train_w2s", str(data_dir), 16, 0)
    return cached_lower_states("tiny-bert", pairs, 48, 1)


def _top(states, seed) -> np.ndarray:
    cfg = FinetuneConfig(lr=3e-3, batch_size=8, epochs=1, group_pairs=4, trainable_blocks=1)
    labels = np.linspace(0.1, 0.9, states.n)
    weight = np.random.default_rng(4).normal(size=64)
    model, _ = finetune_top(
        "tiny-bert",
        states,
        np.arange(states.n),
        labels,
        np.array([], int),
        get_loss("forward_ce"),
        cfg,
        weight,
        RunStreams(seed),
    )
    return predict_top(model, states)


def test_the_seed_reaches_what_top_block_training_draws(with_dropout, states):
    """The dead seed: tiny-bert keeps dropout 0.1 here, so every training step draws masks; the run's seed
    must reach them (a loader re-seeding the global generator made them the same for every seed)."""
    zero, again, one = _top(states, 0), _top(states, 0), _top(states, 1)
    np.testing.assert_array_equal(zero, again)
    assert np.abs(zero - one).max() > 1e-4


def test_the_protocol_draws_nothing_in_training(states, monkeypatch):
    """Without dropout and with the batch order fixed, top-block training draws nothing: two seeds agree."""
    fixed = F.batches
    monkeypatch.setattr(F, "batches", lambda n, b, e, rng: fixed(n, b, e, np.random.default_rng(0)))
    np.testing.assert_array_equal(_top(states, 0), _top(states, 1))


def test_training_leaves_the_global_state(with_dropout, states, data_dir):
    from empirics.inputs.data import load_split

    torch.manual_seed(5)
    before = torch.get_rng_state()
    _top(states, 0)
    pairs = load_split("jsonl", "train_w2s", str(data_dir), 8, 0)
    cfg = FinetuneConfig(lr=1e-3, batch_size=4, epochs=1)
    model, tok, _, _ = finetune(
        "tiny-qwen2", pairs, np.full(8, 0.7), get_loss("reverse_kl"), cfg, 48, RunStreams(2)
    )
    assert torch.equal(torch.get_rng_state(), before)
    assert np.all(np.isfinite(predict_logits(model, tok, pairs, 48)))
