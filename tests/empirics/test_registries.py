"""The head and data-set registries: every reader follows them (grid, validation, pipeline, audit, trainer,
loader, ``list``), and each entry's facts are checked against what is written here, not read back from it."""

import dataclasses

import pytest

from core.errors import ConfigError, DataError
from empirics import cli
from empirics.inputs import data as D
from empirics.plans.experiment import Sweep
from empirics.plans.grid import student_specs
from empirics.plans.options import SECTIONS, GridConfig
from empirics.plans.spec import RunSpec
from empirics.readers.audit import hypotheses_failing
from empirics.registries.datasets import DATASET_REGISTRY
from empirics.registries.heads import HEAD_REGISTRY, HEADS
from empirics.registries.losses import LOSS_REGISTRY
from empirics.runs.validate import check_sweep
from empirics.training.trainers import LAST_LAYER_FITTERS, Trainer

# the losses a simplex head can fit, from the losses' own flag: the batch-statistics losses (hardening) are
# not fixed convex objectives of F, so the certified box solver cannot take them
FIXED = sorted(n for n, e in LOSS_REGISTRY.items() if not e.batch_statistics)


def test_the_last_layer_heads_are_logistic_and_simplex_and_each_has_a_fitter():
    assert HEADS == ("logistic", "simplex")
    assert set(LAST_LAYER_FITTERS) == set(HEADS)
    for name, fit in LAST_LAYER_FITTERS.items():
        assert fit is getattr(Trainer, f"{name}_head")


def test_the_grid_pairs_each_head_only_with_the_losses_it_fits():
    grid = GridConfig(pairs=["w:s"], heads=list(HEADS), losses=list(LOSS_REGISTRY), seeds=[0])
    got = {(s.head, s.loss) for s in student_specs(grid, "last_layer")}
    want = {("logistic", loss) for loss in LOSS_REGISTRY} | {("simplex", loss) for loss in FIXED}
    assert got == want
    assert {s.head for s in student_specs(grid, "finetune")} == {"full"}


def test_a_head_that_fits_none_of_the_losses_is_refused_by_name():
    batch_only = sorted(set(LOSS_REGISTRY) - set(FIXED))
    sw = Sweep().with_options({"mode": "last_layer", "heads": ["simplex"], "losses": batch_only})
    with pytest.raises(ConfigError, match="the simplex head takes only forward_ce, forward_kl, reverse_ce"):
        check_sweep(sw)
    check_sweep(sw.with_options({"heads": ["logistic", "simplex"]}))  # the logistic head fits them


def test_an_unknown_head_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match="unknown head 'mlp'; choose from logistic, simplex"):
        GridConfig(heads=["mlp"])


def test_the_audit_reads_each_heads_convexity_from_the_registry():
    run = RunSpec("student", "m", head="logistic", loss="reverse_kl", weak_model="w")
    softmax = "softmax head (convex in logit space only)"
    assert softmax in hypotheses_failing(run, "train_w2s", "last_layer")
    simplex = dataclasses.replace(run, head="simplex")
    # Theorem 2 in sample on the simplex head with reverse KL: only the one-hot truth is out of the class
    assert hypotheses_failing(simplex, "train_w2s", "last_layer") == [
        "non-realizability (one-hot F* is not in the student's class)"
    ]
    assert [n for n, e in HEAD_REGISTRY.items() if e.saved_design] == ["simplex"]


@pytest.mark.parametrize("cls", SECTIONS)
def test_each_section_is_found_by_its_class(cls):
    section = Sweep().section(cls)
    assert type(section) is cls
    first = dataclasses.fields(cls)[0].name
    assert Sweep().with_options({first: getattr(section, first)}) == Sweep()


# the hub sources of the paper's data sets, written out here
HUB = {
    "hh-rlhf-harmless": ("Anthropic/hh-rlhf", {"data_dir": "harmless-base"}, ("train", "test")),
    "hh-rlhf-helpful": ("Anthropic/hh-rlhf", {"data_dir": "helpful-base"}, ("train", "test")),
    "cai-harmless": ("HuggingFaceH4/cai-conversation-harmless", {}, ("train_prefs", "test_prefs")),
}


@pytest.mark.parametrize("name", sorted(HUB))
def test_each_hub_data_set_is_read_from_its_source_and_splits(name, monkeypatch):
    hub_id, kwargs, (train, test) = HUB[name]
    calls = []

    def records(tag, n):
        if name == "cai-harmless":
            return [
                {"init_prompt": f"{tag} q{i}", "init_response": f"bad {i}", "revision_response": f"ok {i}"}
                for i in range(n)
            ]
        return [
            {
                "chosen": f"\n\nHuman: {tag} {i}\n\nAssistant: ok",
                "rejected": f"\n\nHuman: {tag} {i}\n\nAssistant: no",
            }
            for i in range(n)
        ]

    def fake_hub(hub, **kw):
        calls.append((hub, kw))
        return {train: records("TRAIN", 12), test: records("TEST", 5)}

    monkeypatch.setattr(D, "_hub", fake_hub)
    pairs = D.load_split(name, "test")
    assert calls == [(hub_id, kwargs)]
    assert len(pairs) == 5
    assert all("TEST" in p.first for p in pairs)
    assert all("TRAIN" in p.first for p in D.load_split(name, "train_gt"))


def test_the_local_only_data_set_needs_a_folder_and_every_entry_is_listed(capsys, monkeypatch):
    monkeypatch.delenv(D.DATA_DIR_ENV, raising=False)
    assert [n for n, e in DATASET_REGISTRY.items() if e.hub_id is None] == ["jsonl"]
    with pytest.raises(DataError, match="dataset 'jsonl' needs --data-dir"):
        D.load_split("jsonl", "test")
    assert cli.main(["list", "datasets"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert listed == ["hh-rlhf-harmless", "hh-rlhf-helpful", "cai-harmless", "jsonl"]
