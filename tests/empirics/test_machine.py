"""What the machine may change, and what it may not: the bf16 reading behind --bf16 auto (forced both ways by
$W2S_NATIVE_BF16, so that a machine of either kind runs both paths), the reference presets pinned to fp32,
and PyTorch's thread count and CPU instruction set, which move fp32 logits in the last bits only."""

import json
import os
import subprocess
import sys

import numpy as np
import torch

from empirics.inputs import precision
from empirics.plans.presets import preset
from empirics.runs.sweep import run_sweep

from .fixtures import tiny_sweep

# tiny models in the reference presets' shapes: top-block fine-tuning from a teacher probe, last-layer heads
REFERENCE_TINY = {
    "replication-finetune": {
        "pairs": ["tiny-bert@10:tiny-qwen2"],
        "losses": ["forward_ce"],
        "noise_losses": ["forward_ce"],
    },
    "replication-last-layer": {
        "pairs": ["tiny-bert:tiny-qwen2"],
        "losses": ["forward_ce"],
        "heads": ["logistic"],
    },
}
TINY_DATA = {"dataset": "jsonl", "n_pairs": 16, "max_length": 48, "seeds": [0], "noises": ["none"]}


def _config(out) -> dict:
    return json.loads(next(out.glob("ceiling__*/config.json")).read_text())


def _logits(out) -> dict[str, np.ndarray]:
    return {
        f.parent.name: np.array([json.loads(x)["logit"] for x in f.open()])
        for f in sorted(out.glob("*__*/predictions_test.jsonl"))
    }


def test_the_override_decides_what_auto_takes_the_hardware_to_have(monkeypatch, request):
    request.addfinalizer(precision.detected_native_bf16.cache_clear)  # faked readings die with the test
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for flags, native in ((["avx2", "avx512_bf16"], True), (["avx2", "amx_bf16"], True), (["avx2"], False)):
        monkeypatch.setattr(precision, "cpu_flags", lambda f=flags: f)
        precision.detected_native_bf16.cache_clear()
        monkeypatch.delenv(precision.NATIVE_BF16_ENV, raising=False)
        assert precision.native_bf16() is native, flags
        assert precision.resolve_bf16("auto") is native
        for forced in (True, False):
            monkeypatch.setenv(precision.NATIVE_BF16_ENV, "1" if forced else "0")
            assert precision.native_bf16() is forced
            assert precision.resolve_bf16("auto") is forced
            assert precision.resolve_bf16("on")
            assert not precision.resolve_bf16("off")
            assert precision.precision_provenance()["native_bf16_detected"] is native
            assert precision.precision_provenance()["native_bf16_forced"] is forced


def test_a_malformed_override_is_one_line_error(monkeypatch, data_dir, tmp_path, capsys):
    from empirics import cli

    monkeypatch.setenv(precision.NATIVE_BF16_ENV, "yes")
    rc = cli.main(["sweep", "--preset", "tiny", "--data-dir", str(data_dir), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err
    assert [ln for ln in err.splitlines() if ln.startswith("w2s-empirics: error:")] == [
        "w2s-empirics: error: $W2S_NATIVE_BF16 must be 1 or 0 (or unset), got 'yes'"
    ]
    assert not list((tmp_path / "o").glob("*/metrics.json"))


def test_auto_follows_the_reading_and_the_reference_presets_pin_fp32(forced_native_bf16, data_dir, tmp_path):
    auto = tmp_path / "auto"
    assert run_sweep(tiny_sweep(data_dir), auto)["failures"] == 0
    cfg = _config(auto)
    assert cfg["experiment"]["setup"]["bf16"] == "auto"
    assert cfg["precision"] == ("bf16 autocast" if forced_native_bf16 else "fp32")
    assert cfg["environment"]["hardware"]["native_bf16_forced"] is forced_native_bf16
    for name, grid in REFERENCE_TINY.items():
        sw = preset(name).with_options({**TINY_DATA, "data_dir": str(data_dir), **grid})
        out = tmp_path / name
        assert run_sweep(sw, out)["failures"] == 0
        assert {json.loads(c.read_text())["precision"] for c in out.glob("*__*/config.json")} == {"fp32"}, (
            name
        )
    # --bf16 on still overrides a reference preset
    on = preset("replication-last-layer").with_options(
        {**TINY_DATA, "data_dir": str(data_dir), **REFERENCE_TINY["replication-last-layer"], "bf16": "on"}
    )
    assert run_sweep(on, tmp_path / "on")["failures"] == 0
    assert _config(tmp_path / "on")["precision"] == "bf16 autocast"


def test_thread_count_moves_fine_tuning_logits_in_the_last_bits_only_and_is_recorded(data_dir, tmp_path):
    """Measured: fp32 fine-tuning logits differ by ~1e-5 between 1 and 2 PyTorch threads (reduction order),
    last-layer runs not at all. Either way no prediction changes side, and each run records its count."""
    sw = tiny_sweep(data_dir, losses=["forward_ce", "reverse_kl"], bf16="off")
    before = torch.get_num_threads()
    runs = {}
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            out = tmp_path / f"t{threads}"
            assert run_sweep(sw, out)["failures"] == 0
            assert _config(out)["environment"]["hardware"]["torch_threads"] == threads
            runs[threads] = _logits(out)
    finally:
        torch.set_num_threads(before)
    assert set(runs[1]) == set(runs[2])
    for name, z in runs[1].items():
        np.testing.assert_allclose(runs[2][name], z, rtol=1e-4, atol=1e-4, err_msg=name)
        assert np.array_equal(runs[2][name] > 0, z > 0), name


def test_cpu_instruction_set_moves_logits_in_the_last_bits_only_and_is_recorded(data_dir, tmp_path):
    """The same sweep with PyTorch's CPU kernels lowered to their portable (non-vector) build, in a fresh
    process ($ATEN_CPU_CAPABILITY=default), against this machine's own instruction set."""
    script = (
        "import sys; from empirics.runs.sweep import run_sweep;"
        " from tests.empirics.fixtures import tiny_sweep;"
        "sw = tiny_sweep(sys.argv[1], 'last_layer', pairs=['tiny-bert:tiny-qwen2'], heads=['logistic'],"
        " losses=['forward_ce', 'reverse_kl'], bf16='off');"
        "sys.exit(run_sweep(sw, sys.argv[2])['failures'])"
    )
    runs, capability = {}, {}
    for isa in ("default", None):
        env = {k: v for k, v in os.environ.items() if k != "ATEN_CPU_CAPABILITY"}
        if isa:
            env["ATEN_CPU_CAPABILITY"] = isa
        out = tmp_path / (isa or "native")
        proc = subprocess.run(
            [sys.executable, "-c", script, str(data_dir), str(out)], capture_output=True, text=True, env=env
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        hardware = _config(out)["environment"]["hardware"]
        capability[isa] = hardware["torch_cpu_capability"]
        assert hardware["numerics_env"].get("ATEN_CPU_CAPABILITY") == isa
        runs[isa] = _logits(out)
    assert capability["default"] == "DEFAULT"
    assert capability[None] == torch.backends.cpu.get_cpu_capability()
    for name, z in runs[None].items():
        np.testing.assert_allclose(runs["default"][name], z, rtol=1e-4, atol=1e-4, err_msg=name)
        assert np.array_equal(runs["default"][name] > 0, z > 0), name
