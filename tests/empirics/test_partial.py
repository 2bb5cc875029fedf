"""A feature split stopped part way resumes after its last saved unit (a batch of the per-text pass, a window
of the shared-prefix pass): the features equal an uninterrupted run's bit for bit, and the resumed run does
only the units left. A damaged partial file, or one from other units, is set aside with a warning."""

import numpy as np
import pytest

from empirics.inputs import models as M
from empirics.inputs import partial, shared_prefix
from empirics.inputs.data import PreferencePair
from empirics.inputs.features import pair_features
from empirics.inputs.partial import PartialExtraction

PROMPT = "Human: what should I plant in a shady corner?\n\nAssistant:"
PAIRS = [
    PreferencePair(
        f"p{i}",
        PROMPT + f" Ferns, hostas{', moss' * i}.",
        PROMPT + " Nothing grows there." * (i + 1),
        1,
        False,
    )
    for i in range(7)
]


class Stop(Exception):
    """The process stopping part way (a crash, a session's end)."""


def _counting_backbone(calls: list):
    def load():
        bb, tok, s = M.load_backbone("tiny-qwen2")
        bb.register_forward_pre_hook(lambda *_: calls.append(1))
        return bb, tok, s

    return load


def _extract(extraction: str, calls: list):
    return pair_features(
        "tiny-qwen2", PAIRS, 64, backbone=_counting_backbone(calls), batch_size=2, extraction=extraction
    )


@pytest.fixture
def every_unit(monkeypatch):
    monkeypatch.setattr(partial, "CHECKPOINT_SECONDS", 0.0)  # save after every unit
    monkeypatch.setattr(shared_prefix, "WINDOW_PAIRS", 2)  # four windows of the seven pairs


@pytest.mark.parametrize("extraction", ["per-text", "shared-prefix"])
def test_a_stopped_split_resumes_with_the_uninterrupted_features(
    extraction, every_unit, monkeypatch, tmp_path
):
    full_calls = []
    full = _extract(extraction, full_calls)
    for f in (tmp_path / "cache").rglob("*.npz"):
        f.unlink()  # a cold cache again

    reached = PartialExtraction.reached

    def stop_after_two(self, done, out):
        reached(self, done, out)
        if done == 2:
            raise Stop

    monkeypatch.setattr(PartialExtraction, "reached", stop_after_two)
    before = []
    with pytest.raises(Stop):
        _extract(extraction, before)
    (saved,) = (tmp_path / "cache").rglob("*.partial.npz")
    monkeypatch.setattr(PartialExtraction, "reached", reached)
    after = []
    resumed = _extract(extraction, after)
    for a, b in zip(full, resumed, strict=True):
        assert np.array_equal(a, b)
    assert 0 < len(before) < len(full_calls)
    assert len(before) + len(after) == len(full_calls)  # only the units left were run
    assert not saved.exists()  # the split is cached whole; its partial file is gone
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 1


def test_a_damaged_or_foreign_partial_file_is_set_aside(every_unit, monkeypatch, tmp_path):
    full = _extract("per-text", [])
    (cached,) = (tmp_path / "cache").rglob("*.npz")
    cached.unlink()
    target = cached.with_suffix(".partial.npz")
    target.write_bytes(b"not an npz")
    with pytest.warns(UserWarning, match="unreadable.*starting the split over"):
        again = _extract("per-text", [])
    assert all(np.array_equal(a, b) for a, b in zip(full, again, strict=True))
    # a partial file of other units (batch size 3): its batches are not these
    cached.unlink()
    other = PartialExtraction(target, {"another": "extraction"}, every=0.0)
    other.reached(1, np.ones((2 * len(PAIRS), 64), np.float32))
    with pytest.warns(UserWarning, match="another extraction"):
        again = _extract("per-text", [])
    assert all(np.array_equal(a, b) for a, b in zip(full, again, strict=True))
