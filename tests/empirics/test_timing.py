"""timing.json keeps what each model's features cost per split across invocations: an entry computed in this
folder is never replaced by a later read of the same cache file, and a known cost never by an unknown one."""

import json

from empirics.readers.findings import timing_section
from empirics.runs.sweep import TimingRecord


def _cost(seconds, cached):
    return {"texts": 200, "seconds": seconds, "cached": cached}


def test_feature_costs_merge_across_invocations(tmp_path):
    TimingRecord(tmp_path).save({"extraction": 50.0}, 60.0, {"m": {"test": _cost(40.0, False), "train": {}}})
    later = {"m": {"test": _cost(40.0, True), "train": _cost(None, True)}, "n": {"test": _cost(9.0, True)}}
    TimingRecord(tmp_path).save({"heads": 5.0}, 6.0, later)
    data = json.loads((tmp_path / "timing.json").read_text())
    assert data["features"] == {
        "m": {"test": _cost(40.0, False), "train": _cost(None, True)},  # made here: kept; unknown: filled
        "n": {"test": _cost(9.0, True)},
    }
    TimingRecord(tmp_path).save({}, 1.0, {"m": {"train": _cost(12.0, True)}})  # known beats unknown
    data = json.loads((tmp_path / "timing.json").read_text())
    assert data["features"]["m"]["train"] == _cost(12.0, True)
    assert data["total"]["wall"] == 67.0
    assert len(data["invocations"]) == 3

    lines = timing_section(data)
    assert "| m | test | 200 | 40 | 5.00 |  |" in lines
    assert "| m | train | 200 | 12 | 16.67 | cache |" in lines
    TimingRecord(tmp_path).save({}, 1.0, {"x": {"test": _cost(None, False)}})
    data = json.loads((tmp_path / "timing.json").read_text())
    assert "| x | test | 200 | unknown |  |  |" in timing_section(data)
