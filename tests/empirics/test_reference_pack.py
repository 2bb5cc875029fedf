"""The packed reference round-trips: a tiny last-layer sweep, audited, packed and unpacked, gives back every
run file verbatim and every predictions row (derived fields and every logit's sign exactly, probabilities to
the precision's tolerance); the packed folder holds no row data."""

import gzip
import json

import numpy as np
import pytest

from core.errors import DataError, InvalidInputError
from core.io import jsonl_text, read_jsonl_rows
from empirics.readers.audit import audit
from empirics.readers.claims import write_claims
from empirics.readers.reference import metric_tolerance, pack, packed_precision, unpack
from empirics.runs.sweep import run_sweep

from .fixtures import tiny_sweep


@pytest.fixture
def audited(data_dir, tmp_path):
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
    return out


@pytest.mark.parametrize("precision", ["float16", "float32"])
def test_pack_then_unpack_gives_back_every_row(audited, tmp_path, precision):
    out, packed = audited, tmp_path / "packed"
    sizes = pack(out, packed, precision=precision)
    assert packed_precision(packed) == precision
    assert sizes["runs"] == len(list(out.glob("*/metrics.json")))
    assert {"data.npz", "logits.npz", "pack.json", "runs.json.gz", "sweep.json"} <= {
        p.name for p in packed.iterdir()
    }
    assert not [
        p for p in packed.iterdir() if "__" in p.name
    ]  # no run folder: the runs are in the packed files
    assert np.load(packed / "logits.npz")["test"].dtype == np.dtype(precision)
    with pytest.raises(InvalidInputError, match="not empty"):
        pack(out, packed)
    back = unpack(packed, tmp_path / "back")
    tol = metric_tolerance(precision)["prob"]
    compared = 0
    for metrics in out.glob("*/metrics.json"):
        name = metrics.parent.name
        for f in ("config.json", "metrics.json"):
            assert (back / name / f).read_bytes() == (out / name / f).read_bytes(), (name, f)
        for split in ("train_w2s", "test"):
            a = read_jsonl_rows(out / name / f"predictions_{split}.jsonl")
            b = read_jsonl_rows(back / name / f"predictions_{split}.jsonl")
            assert len(a) == len(b)
            for ra, rb in zip(a, b, strict=True):
                assert set(ra) == set(rb)
                assert (ra["id"], ra["label"], ra.get("part")) == (rb["id"], rb["label"], rb.get("part"))
                assert np.sign(rb["logit"]) == np.sign(ra["logit"]), (name, split)
                for key in ("prob", "weak_prob", "target"):
                    if ra.get(key) is None:
                        assert rb.get(key) is None
                    else:
                        assert abs(rb[key] - ra[key]) <= tol, (name, split, key)
                compared += 1
    assert compared > 100
    sweep = json.loads((back / "sweep.json").read_text())
    assert sweep["grid"]["pairs"] == ["tiny-bert@12:tiny-qwen2"]
    assert np.load(packed / "data.npz")["labels_test"].dtype == np.int8


def test_float16_keeps_the_sign_of_a_logit_it_cannot_hold(audited, tmp_path):
    """A logit nearer 0 than float16 reaches (|z| < 3e-8) is stored as the smallest float16 of its sign, so
    the run's accuracy and every claim recomputed from the reference are the ones it measured."""
    out = audited
    name = next(p.parent.name for p in out.glob("student__*/predictions_test.jsonl"))
    path = out / name / "predictions_test.jsonl"
    rows = read_jsonl_rows(path)
    rows[0]["logit"], rows[1]["logit"] = 1e-9, -1e-9
    path.write_text(jsonl_text(rows))
    pack(out, tmp_path / "packed")
    logits = np.load(tmp_path / "packed" / "logits.npz")
    k = list(logits["runs"]).index(name)
    assert logits["test"][k, 0] > 0 > logits["test"][k, 1]


def test_a_damaged_or_foreign_pack_is_one_clear_error(audited, tmp_path):
    packed = tmp_path / "packed"
    pack(audited, packed)
    with pytest.raises(InvalidInputError, match="unknown precision"):
        pack(audited, tmp_path / "p2", precision="float8")
    keep = (packed / "runs.json.gz").read_bytes()
    (packed / "runs.json.gz").write_bytes(gzip.compress(b'{"student__x": {"metrics.json": "{}"}}'))
    with pytest.raises(DataError, match="not each run's files"):
        unpack(packed, tmp_path / "back0")
    one_run_less = dict(list(json.loads(gzip.decompress(keep)).items())[1:])
    (packed / "runs.json.gz").write_bytes(gzip.compress(json.dumps(one_run_less).encode()))
    with pytest.raises(DataError, match="does not match"):
        unpack(packed, tmp_path / "back1")
    (packed / "runs.json.gz").write_bytes(b"not gzip")
    with pytest.raises(DataError, match="runs.json.gz is damaged"):
        unpack(packed, tmp_path / "back")
    (packed / "pack.json").write_text('{"format": 1}')
    with pytest.raises(DataError, match="not a format-2 reference"):
        unpack(packed, tmp_path / "back2")
    with pytest.raises(InvalidInputError, match="no pack.json"):
        unpack(tmp_path, tmp_path / "back3")


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
        pack(part, tmp_path / "whole-only")  # a reference must be complete
    pack(part, tmp_path / "snap", precision="float64")
    back = unpack(tmp_path / "snap", tmp_path / "back")
    # every run folder's files (the workers' own logs, .workers/, are not part of a reference)
    files = sorted(p.relative_to(part) for p in part.glob("*__*/*") if p.suffix in (".json", ".jsonl"))
    assert len(files) > 20
    for f in files:
        assert (back / f).read_bytes() == (part / f).read_bytes(), f
    assert run_sweep(tiny_sweep(data_dir, "last_layer", seeds=[0, 1], **kw), back)["failures"] == 0
    for f in sorted(p.relative_to(whole) for p in whole.glob("*__*/*") if p.name != "config.json"):
        assert (back / f).read_bytes() == (whole / f).read_bytes(), f
