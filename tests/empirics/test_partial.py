"""A feature split stopped part way resumes after its last saved unit (a batch of the per-text pass, a window
of the shared-prefix pass): the features equal an uninterrupted run's bit for bit, and the resumed run does
only the units left. A damaged partial file, or one from other units, is set aside with a warning."""

from types import SimpleNamespace

import numpy as np
import pytest

from empirics.inputs import models as M
from empirics.inputs import partial, shared_prefix
from empirics.inputs.data import PreferencePair
from empirics.inputs.features import cached_seconds, pair_features
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


def test_the_cache_file_keeps_what_the_split_took_over_both_processes(every_unit, monkeypatch, tmp_path):
    """The seconds saved with the units done before a stop and the seconds of the resumed process add up in
    the cache file, and a later read from the cache reports them; a partial file from before seconds were
    kept makes them unknown, never a wrong number."""
    clock = [0.0]
    monkeypatch.setattr(partial, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    reached = PartialExtraction.reached

    def first_process(self, done, out):  # 30 s for the first two batches, then the stop
        if done == 2:
            clock[0] = 30.0
        reached(self, done, out)
        if done == 2:
            raise Stop

    def second_process(self, done, out):  # 4 s a batch from 500 s on
        clock[0] = 500.0 + 4 * (done - 2)
        reached(self, done, out)

    monkeypatch.setattr(PartialExtraction, "reached", first_process)
    with pytest.raises(Stop):
        _extract("per-text", [])
    (saved,) = (tmp_path / "cache").rglob("*.partial.npz")
    kept = dict(np.load(saved))
    clock[0] = 500.0
    monkeypatch.setattr(PartialExtraction, "reached", second_process)
    measured = {}
    pair_features("tiny-qwen2", PAIRS, 64, backbone=_counting_backbone([]), batch_size=2, measured=measured)
    batches = -(-2 * len(PAIRS) // 2)
    assert measured == {"texts": 2 * len(PAIRS), "seconds": 30.0 + 4 * (batches - 2), "cached": False}
    (cached,) = (tmp_path / "cache").rglob("*.npz")
    assert cached_seconds(cached) == measured["seconds"]
    again = {}
    pair_features("tiny-qwen2", PAIRS, 64, backbone=_counting_backbone([]), batch_size=2, measured=again)
    assert again == measured | {"cached": True}

    cached.unlink()  # the same stop, its partial file written before seconds were kept
    np.savez(saved, **{k: v for k, v in kept.items() if k != "seconds"})
    unknown = {}
    pair_features("tiny-qwen2", PAIRS, 64, backbone=_counting_backbone([]), batch_size=2, measured=unknown)
    assert unknown == {"texts": 2 * len(PAIRS), "seconds": None, "cached": False}
    (cached,) = (tmp_path / "cache").rglob("*.npz")
    assert cached_seconds(cached) is None
