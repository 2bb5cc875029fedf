"""The packed reference round-trips: a tiny last-layer sweep, audited, packed and unpacked, gives back every
predictions row (derived fields exactly, probabilities to float32); the packed folder holds no row data."""

import json

import numpy as np
import pytest

from core.errors import DataError, InvalidInputError
from core.io import read_jsonl_rows
from empirics.readers.audit import audit
from empirics.readers.claims import write_claims
from empirics.readers.reference import pack, unpack
from empirics.runs.sweep import run_sweep

from .fixtures import tiny_sweep


def test_pack_then_unpack_gives_back_every_row(data_dir, tmp_path):
    out = tmp_path / "res"
    sw = tiny_sweep(
        data_dir,
        "last_layer",
        pairs=["tiny-bert@12:tiny-qwen2"],
        losses=["forward_ce", "reverse_kl"],
        heads=["logistic", "simplex"],
        seeds=[0, 1],
        noises=["none", "flip:0.25"],
    )
    assert run_sweep(sw, out)["failures"] == 0
    with pytest.raises(InvalidInputError, match="no audit"):
        pack(out, tmp_path / "early")
    audit(out)
    write_claims(out)
    packed = tmp_path / "packed"
    sizes = pack(out, packed)
    assert sizes["runs"] == len(list(out.glob("*/metrics.json")))
    assert not list(packed.glob("*/predictions_*"))
    with pytest.raises(InvalidInputError, match="not empty"):
        pack(out, packed)
    back = unpack(packed, tmp_path / "back")
    compared = 0
    for metrics in out.glob("*/metrics.json"):
        name = metrics.parent.name
        assert (back / name / "metrics.json").read_bytes() == metrics.read_bytes()
        for split in ("train_w2s", "test"):
            a = read_jsonl_rows(out / name / f"predictions_{split}.jsonl")
            b = read_jsonl_rows(back / name / f"predictions_{split}.jsonl")
            assert len(a) == len(b)
            for ra, rb in zip(a, b, strict=True):
                assert set(ra) == set(rb)
                assert (ra["id"], ra["label"], ra.get("part")) == (rb["id"], rb["label"], rb.get("part"))
                for key in ("prob", "logit", "weak_prob", "target"):
                    if ra.get(key) is None:
                        assert rb.get(key) is None
                    else:
                        assert rb[key] == pytest.approx(ra[key], rel=1e-6, abs=1e-6), (name, split, key)
                compared += 1
    assert compared > 100
    sweep = json.loads((back / "sweep.json").read_text())
    assert sweep["grid"]["pairs"] == ["tiny-bert@12:tiny-qwen2"]
    assert np.load(packed / "data.npz")["labels_test"].dtype == np.int8


def test_an_exact_snapshot_unpacks_byte_for_byte_and_the_sweep_resumes_from_it(data_dir, tmp_path):
    """A snapshot of a sweep part way (float64 logits, no audit) unpacks into the same files, byte for byte,
    and the sweep finishes from it with the numbers of an uninterrupted sweep."""
    kw = dict(pairs=["tiny-bert@12:tiny-qwen2"], losses=["forward_ce", "reverse_kl"], heads=["logistic"])
    kw |= dict(noises=["none", "flip:0.25"])
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert run_sweep(tiny_sweep(data_dir, "last_layer", seeds=[0, 1], **kw), whole)["failures"] == 0
    assert run_sweep(tiny_sweep(data_dir, "last_layer", seeds=[0], **kw), part)["failures"] == 0
    # as a sweep of seeds 0-1 stopped after seed 0: its sweep.json plans runs it has not made yet
    (part / "sweep.json").write_text((whole / "sweep.json").read_text().replace(str(whole), str(part)))
    with pytest.raises(DataError, match="missing or unfinished"):
        pack(part, tmp_path / "whole-only", exact=False)  # a reference must be complete
    pack(part, tmp_path / "snap", exact=True)
    back = unpack(tmp_path / "snap", tmp_path / "back")
    # every run folder's files (the workers' own logs, .workers/, are not part of a reference)
    files = sorted(p.relative_to(part) for p in part.glob("*__*/*") if p.suffix in (".json", ".jsonl"))
    assert len(files) > 20
    for f in files:
        assert (back / f).read_bytes() == (part / f).read_bytes(), f
    assert run_sweep(tiny_sweep(data_dir, "last_layer", seeds=[0, 1], **kw), back)["failures"] == 0
    for f in sorted(p.relative_to(whole) for p in whole.glob("*__*/*") if p.name != "config.json"):
        assert (back / f).read_bytes() == (whole / f).read_bytes(), f
