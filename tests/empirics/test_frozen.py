"""Top-block fine-tuning on cached lower-block states (empirics.inputs.frozen, finetune_top, the pipeline's
top-block runs)."""

import json
import warnings

import numpy as np
import pytest
import torch

from core.errors import ConfigError, ModelError
from empirics.inputs.frozen import TopRewardModel, cached_lower_states, lower_states, n_blocks
from empirics.inputs.models import RewardModel, load_backbone, tokenize_pairs
from empirics.inputs.partition import agreement
from empirics.inputs.streams import RunStreams
from empirics.plans.options import FinetuneConfig
from empirics.plans.spec import RunSpec
from empirics.runs.pipeline import Pipeline
from empirics.runs.sweep import run_sweep
from empirics.training import heads
from empirics.training.finetune import finetune_top, predict_top
from empirics.training.losses import get_loss

from .fixtures import guard_test_labels, pair, tiny_sweep

FIRSTS = [pair(i)["chosen"] for i in range(5)] + ["\n\nHuman: hi\n\nAssistant: no"]
SECONDS = [pair(i)["rejected"] for i in range(5)] + ["\n\nHuman: a much longer question, " * 3]


@pytest.mark.parametrize("name", ["tiny-bert", "tiny-qwen2", "tiny-gpt-neox"])
def test_top_blocks_on_cached_states_give_the_whole_models_rewards(name):
    """r(first) - r(second) from the top block reading cached lower states equals the whole backbone's, for
    texts of different lengths padded together."""
    bb, tok, s = load_backbone(name)
    torch.manual_seed(0)
    whole = RewardModel(bb, s.kind).eval()
    enc = tokenize_pairs(tok, FIRSTS, SECONDS, 48)
    with torch.no_grad():
        expected = whole.pair_logits(enc["input_ids"], enc["attention_mask"]).numpy()
    bb2, tok2, _ = load_backbone(name)
    flat, offsets = lower_states(bb2, tok2, FIRSTS + SECONDS, 48, n_blocks(bb2) - 1, batch_size=4)
    from empirics.inputs.frozen import LowerStates

    top = TopRewardModel(bb2, s.kind, 1)
    top.head.load_state_dict(whole.head.state_dict())
    z = predict_top(top, LowerStates(flat, offsets, len(FIRSTS)), batch_pairs=3)
    np.testing.assert_allclose(z, expected, rtol=0, atol=1e-5)
    assert np.ptp(expected) > 1e-3  # the rewards differ across pairs: a constant would not pass


def test_architectures_where_the_split_is_not_exact_and_bad_block_counts_are_refused():
    with pytest.raises(ModelError, match="GPT2Model"):
        TopRewardModel(load_backbone("tiny-gpt2")[0], "decoder", 1)
    for k in (0, 2):  # tiny models have 2 blocks: 1 is the only top part that leaves a frozen one
        with pytest.raises(ModelError, match="train 1 to 1"):
            TopRewardModel(load_backbone("tiny-bert")[0], "encoder", k)
    with pytest.raises(ConfigError, match="trainable-blocks"):
        FinetuneConfig(trainable_blocks=0)


def test_lower_states_are_cached_verified_and_recomputed_when_changed(data_dir):
    from empirics.inputs.data import load_split

    pairs = load_split("jsonl", "test", str(data_dir), 8, 0)
    first = cached_lower_states("tiny-bert", pairs, 48, 1)

    def no_backbone():
        raise AssertionError("the backbone was loaded although the states are cached")

    again = cached_lower_states("tiny-bert", pairs, 48, 1, backbone=no_backbone)
    np.testing.assert_array_equal(again.flat, first.flat)
    (path,) = (p for p in (data_dir.parent / "cache" / "frozen").glob("*.npz"))
    with np.load(path) as z:
        arrays = dict(z)
    arrays["flat"] = arrays["flat"] + 1.0  # changed after it was written
    np.savez(path, **arrays)
    with pytest.warns(UserWarning, match="recomputing"):
        redone = cached_lower_states("tiny-bert", pairs, 48, 1)
    np.testing.assert_array_equal(redone.flat, first.flat)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cached_lower_states("tiny-bert", pairs, 48, 1, backbone=no_backbone)  # rewritten and trusted again


def test_the_kept_checkpoint_is_the_best_on_held_out_and_the_head_starts_from_the_given_weight(data_dir):
    from empirics.inputs.data import load_split
    from empirics.inputs.frozen import LowerStates

    pairs = load_split("jsonl", "train_w2s", str(data_dir), 24, 0)
    states = cached_lower_states("tiny-bert", pairs, 48, 1)
    labels = np.random.default_rng(3).uniform(0.05, 0.95, len(pairs))
    fit, heldout = np.arange(16), np.arange(16, 24)
    weight = np.random.default_rng(4).normal(size=64)
    cfg = FinetuneConfig(
        lr=3e-3, batch_size=4, epochs=3, group_pairs=2, trainable_blocks=1, checkpoints_per_epoch=2
    )
    model, record = finetune_top(
        "tiny-bert", states, fit, labels, heldout, get_loss("forward_ce"), cfg, weight, RunStreams(1)
    )
    scores = record["heldout_agreement_per_checkpoint"]
    assert list(scores) == ["0", "0.5", "1", "1.5", "2", "2.5", "3"]
    trained = {float(k): v for k, v in scores.items() if k != "0"}
    assert record["checkpoint_epochs"] == min(k for k, v in trained.items() if v == max(trained.values()))
    kept = agreement(1 / (1 + np.exp(-predict_top(model, states, heldout))), labels[heldout])
    assert kept == pytest.approx(max(trained.values()))
    assert record["checkpoint_epochs"] != 3, "this seed's best checkpoint is the last: choose another seed"
    # the untrained model with that head: its held-out agreement is the recorded checkpoint 0
    bb, _, s = load_backbone("tiny-bert")
    start = TopRewardModel(bb, s.kind, 1)
    with torch.no_grad():
        start.head.weight.copy_(torch.as_tensor(weight, dtype=torch.float32).view(1, -1))
        start.head.bias.zero_()
    z0 = predict_top(start, LowerStates(states.flat, states.offsets, states.n), heldout)
    assert agreement(1 / (1 + np.exp(-z0)), labels[heldout]) == scores["0"]


def _top_sweep(data_dir, **kw):
    return tiny_sweep(
        data_dir,
        "finetune",
        pairs=["tiny-bert@10:tiny-qwen2"],
        losses=["forward_ce", "reverse_kl"],
        seeds=[0, 1],
        trainable_blocks=1,
        checkpoints_per_epoch=2,
        **kw,
    )


def test_a_top_block_run_starts_from_its_own_probe_and_never_reads_a_test_label(
    data_dir, tmp_path, monkeypatch
):
    """The head starts from the run's last-layer probe (same predictions as the logistic head before any
    step); training never reads a test label; seeds give different runs."""
    guard_test_labels(monkeypatch)
    sw = _top_sweep(data_dir, bf16="off")  # the probe is recomputed in fp32 below, whatever the CPU
    out = tmp_path / "res"
    assert run_sweep(sw, out)["failures"] == 0
    p = Pipeline(sw.experiment, tmp_path / "probe")
    for seed in (0, 1):
        run = RunSpec("student", "tiny-qwen2", seed, "full", "reverse_kl", "tiny-bert@10")
        m = json.loads((out / run.name / "metrics.json").read_text())
        assert m["probe_loss"] == "reverse_kl"
        assert m["trainable_blocks"] == 1
        assert float(m["checkpoint_epochs"]) in (0.5, 1.0)
        # checkpoint 0 is the probe: recompute the probe's held-out agreement as the last-layer head would
        from empirics.inputs.partition import run_partition

        rows = [
            json.loads(x) for x in (out / run.name / "predictions_train_w2s.jsonl").read_text().splitlines()
        ]
        target = np.array([r["target"] for r in rows])
        part = run_partition(run.model, RunStreams(seed), len(rows), sw.experiment.data.heldout_frac)
        weight, probe = p.trainer._probe(run.model, "train_w2s", target, "reverse_kl", part)
        assert probe["probe_l2"] == m["probe_l2"]
        u = p.inputs.standardized("tiny-qwen2")["train_w2s"]
        v = heads.fit_logistic(u[part.fit], target[part.fit], "reverse_kl", 1e-3, m["probe_l2"]).v
        z_probe = u @ v  # the last-layer head of this run's loss, labels and part
        expected = agreement(1 / (1 + np.exp(-z_probe[part.heldout])), target[part.heldout])
        assert m["heldout_agreement_per_checkpoint"]["0"] == pytest.approx(expected)
        start = TopRewardModel(*(lambda b: (b[0], b[2].kind))(load_backbone("tiny-qwen2")), 1)
        with torch.no_grad():
            start.head.weight.copy_(torch.as_tensor(weight, dtype=torch.float32).view(1, -1))
            start.head.bias.zero_()
        z_top = predict_top(start, p.inputs.lower_states("tiny-qwen2", "train_w2s"))
        np.testing.assert_allclose(z_top, z_probe, rtol=1e-4, atol=1e-4)
    probs = [
        [json.loads(x)["prob"] for x in (out / r.name / "predictions_test.jsonl").read_text().splitlines()]
        for r in (RunSpec("student", "tiny-qwen2", s, "full", "forward_ce", "tiny-bert@10") for s in (0, 1))
    ]
    assert not np.allclose(probs[0], probs[1], atol=1e-6)


def test_a_folder_made_before_an_option_existed_resumes_and_a_changed_option_is_refused(data_dir, tmp_path):
    from core.errors import InvalidInputError

    sw = tiny_sweep(data_dir, "last_layer", pairs=["tiny-bert:tiny-qwen2"], heads=["logistic"])
    out = tmp_path / "res"
    assert run_sweep(sw, out)["failures"] == 0
    record = json.loads((out / "sweep.json").read_text())
    for option in ("trainable_blocks", "checkpoints_per_epoch"):  # as written before the options existed
        del record["experiment"]["finetune"][option]
    (out / "sweep.json").write_text(json.dumps(record))
    assert run_sweep(sw, out)["failures"] == 0
    changed = tiny_sweep(
        data_dir, "last_layer", pairs=["tiny-bert:tiny-qwen2"], heads=["logistic"], trainable_blocks=1
    )
    with pytest.raises(InvalidInputError, match="trainable_blocks"):
        run_sweep(changed, out)


def test_a_feature_constant_up_to_rounding_is_left_out_of_the_probe(data_dir, tmp_path):
    """A feature with sigma ~1e-9 (all-MiniLM-L6-v2 has one) standardises to pure rounding noise; as a weight
    on the raw feature it would be ~1e6 (the first fine-tuning steps then move logits by units): the probe
    gives it weight 0, and its predictions are those of the top model it starts."""
    sw = _top_sweep(data_dir)
    p = Pipeline(sw.experiment, tmp_path / "res")
    p.inputs.standardized("tiny-qwen2")
    rng = np.random.default_rng(0)
    p.inputs.scale["tiny-qwen2"][5] = 1e-9 + 1e-8  # as the standardiser would find it
    u = p.inputs._std["tiny-qwen2"]["train_w2s"]
    u[:, 5] = rng.normal(size=len(u))  # rounding noise blown up to unit variance
    labels = (u[:, 5] > 0).astype(float)  # ... and the labels follow the noise: the fit would use it
    from empirics.inputs.partition import run_partition

    part = run_partition("tiny-qwen2", RunStreams(0), len(labels), 0.2)
    weight, record = p.trainer._probe("tiny-qwen2", "train_w2s", labels, "forward_ce", part)
    assert record["probe_features_left_out"] == 1
    assert weight[5] == 0
    assert np.all(np.isfinite(weight))
    assert np.abs(weight).max() < 1e4


def test_a_model_cut_after_its_first_blocks_is_the_base_models_lower_part():
    """minilm-l3 is all-MiniLM-L6-v2's first three blocks; on the tiny model: tiny-bert-first1's output is
    tiny-bert's hidden state after block 1."""
    from empirics.inputs.models import model_identity

    cut, tok, _ = load_backbone("tiny-bert-first1")
    base, _, _ = load_backbone("tiny-bert")
    assert n_blocks(cut) == 1
    assert n_blocks(base) == 2
    enc = tokenize_pairs(tok, FIRSTS, SECONDS, 48)
    with torch.no_grad():
        mine = cut(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
        ref = base(**enc, output_hidden_states=True).hidden_states[1]
    torch.testing.assert_close(mine, ref, rtol=0, atol=1e-6)
    assert model_identity("tiny-bert-first1") == {
        "name": "tiny-bert-first1",
        "source": "tiny",
        "seed": 0,
        "first_blocks": 1,
    }


def test_a_probe_teacher_in_a_fine_tuning_sweep(data_dir, tmp_path):
    """--teacher-head logistic: the weak model is a logistic head on its frozen features (its L2 chosen on its
    held-out part); the students fine-tune their top block on its labels and name it as their teacher."""
    sw = tiny_sweep(
        data_dir,
        "finetune",
        pairs=["tiny-bert-first1@10:tiny-qwen2"],
        losses=["forward_ce"],
        trainable_blocks=1,
        teacher_head="logistic",
    )
    out = tmp_path / "res"
    assert run_sweep(sw, out)["failures"] == 0
    weak = json.loads((out / "weak__tiny-bert-first1-10__logistic__s0" / "metrics.json").read_text())
    assert weak["head_l2"] in sw.experiment.head.head_l2
    assert "trainable_blocks" not in weak  # not fine-tuned
    student = RunSpec("student", "tiny-qwen2", 0, "full", "forward_ce", "tiny-bert-first1@10")
    m = json.loads((out / student.name / "metrics.json").read_text())
    assert m["weak_run"] == "weak__tiny-bert-first1-10__logistic__s0"
    assert m["trainable_blocks"] == 1
    rows = [
        json.loads(x) for x in (out / student.name / "predictions_train_w2s.jsonl").read_text().splitlines()
    ]
    teacher = [
        json.loads(x) for x in (out / m["weak_run"] / "predictions_train_w2s.jsonl").read_text().splitlines()
    ]
    assert [r["weak_prob"] for r in rows] == [t["prob"] for t in teacher]
