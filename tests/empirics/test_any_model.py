"""Any model, not only the registry's: a local model folder of each supported architecture (saved here from a
tiny random config) loads, pools as its kind says and trains in a sweep; Hub ids and folders that cannot work
are refused in one line before any work."""

import json

import pytest
import torch

from core.errors import ConfigError, ModelError
from empirics.inputs.models import RewardModel, load_backbone, model_identity, tiny_tokenizer, tokenize_pairs
from empirics.registries.models import external_spec, spec
from empirics.runs.sweep import run_sweep
from empirics.runs.validate import check_sweep

from .fixtures import tiny_sweep

SMALL = {"vocab_size": 512, "pad_token_id": 256, "bos_token_id": 257, "eos_token_id": 258}
LAYERS = {"num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 128}


def _config(arch: str):
    import transformers as tf

    return {
        "gpt2": lambda: tf.GPT2Config(n_embd=64, n_layer=2, n_head=4, **SMALL),
        "gpt_neox": lambda: tf.GPTNeoXConfig(hidden_size=64, **LAYERS, **SMALL),
        "qwen2": lambda: tf.Qwen2Config(hidden_size=64, num_key_value_heads=2, **LAYERS, **SMALL),
        "llama": lambda: tf.LlamaConfig(hidden_size=64, num_key_value_heads=2, **LAYERS, **SMALL),
        "gemma3_text": lambda: tf.Gemma3TextConfig(
            hidden_size=64, num_key_value_heads=2, head_dim=16, sliding_window=32, **LAYERS, **SMALL
        ),
        "bert": lambda: tf.BertConfig(hidden_size=64, **LAYERS, **SMALL),
    }[arch]()


def save_tiny(folder, arch: str):
    """A random tiny model of `arch` and the byte-level tokenizer, saved as a Hugging Face model folder."""
    import transformers as tf

    torch.manual_seed(0)
    tf.AutoModel.from_config(_config(arch)).save_pretrained(folder)
    tiny_tokenizer().save_pretrained(folder)
    return folder


KINDS = {"gpt2": "decoder", "gpt_neox": "decoder", "qwen2": "decoder", "llama": "decoder"}
KINDS |= {"gemma3_text": "decoder", "bert": "encoder"}


@pytest.mark.parametrize("arch", sorted(KINDS))
def test_a_local_folder_of_each_architecture_loads_and_pools_by_its_kind(arch, tmp_path):
    folder = save_tiny(tmp_path / f"my-{arch}", arch)
    s = spec(str(folder))
    assert (s.kind, s.source, s.model_type, s.path) == (KINDS[arch], "local", arch, str(folder.resolve()))
    backbone, tok, _ = load_backbone(str(folder))
    rm = RewardModel(backbone, s.kind)
    texts = ["a short answer", "a much longer answer with more words in it"]
    enc = tokenize_pairs(tok, texts, texts[::-1], 32)
    z = rm.pair_logits(enc["input_ids"], enc["attention_mask"])
    assert torch.allclose(z[0], -z[1], atol=1e-5)  # the same two texts swapped: the reward difference flips
    assert float(z.detach().abs().max()) > 0
    ident = model_identity(str(folder))
    assert ident["source"] == "local"
    (folder / "extra.txt").write_text("changed")  # another folder content is another model
    assert model_identity(str(folder))["files_sha256"] != ident["files_sha256"]


def test_a_sweep_trains_local_models_also_as_model_at_n(data_dir, tmp_path):
    weak = save_tiny(tmp_path / "weak-llama", "llama")
    strong = save_tiny(tmp_path / "strong-qwen2", "qwen2")
    sw = tiny_sweep(data_dir, "last_layer", pairs=[f"{weak}@12:{strong}"], heads=["logistic"])
    assert run_sweep(sw, tmp_path / "res")["failures"] == 0
    configs = [json.loads(p.read_text()) for p in (tmp_path / "res").glob("*/config.json")]
    assert {c["run"]["role"] for c in configs} == {"baseline", "weak", "ceiling", "student"}
    pairs = [f"{weak}:{strong}"]
    # qwen2: top-block fine-tuning is offered
    check_sweep(tiny_sweep(data_dir, "finetune", pairs=pairs, trainable_blocks=1, teacher_head="logistic"))


def test_models_that_cannot_work_are_refused_before_any_work(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    external_spec.cache_clear()
    (tmp_path / "empty").mkdir()
    t5 = tmp_path / "t5"
    t5.mkdir()
    (t5 / "config.json").write_text(json.dumps({"model_type": "t5", "is_encoder_decoder": True}))
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "config.json").write_text(json.dumps({"model_type": "my_own_arch"}))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    cases = {
        str(tmp_path / "empty"): "not a model folder",
        str(tmp_path / "nowhere"): "not a model folder",
        str(t5): "encoder-decoder",
        str(odd): "architecture 'my_own_arch'",
        str(tmp_path / "broken"): "not readable JSON",
        "my-org/no-such-model": "could not be read from the Hub",
        "bert-large": "not a Hub id (ORG/NAME)",
    }
    for name, message in cases.items():
        with pytest.raises(ModelError, match=message.replace("(", r"\(").replace(")", r"\)")):
            check_sweep(tiny_sweep(data_dir, "last_layer", pairs=[f"tiny-bert:{name}"], heads=["logistic"]))
    gpt2 = save_tiny(tmp_path / "my-gpt2", "gpt2")
    with pytest.raises(ConfigError, match="not .*my-gpt2 \\(gpt2\\)"):
        check_sweep(tiny_sweep(data_dir, "finetune", pairs=[f"tiny-bert:{gpt2}"], trainable_blocks=1))


def test_the_cli_lists_what_else_is_accepted(capsys):
    from empirics.cli import main

    assert main(["list", "models"]) == 0
    out = capsys.readouterr().out
    assert "Also accepted: any Hugging Face Hub id (ORG/NAME) or local model folder" in out
    assert "llama" in out
