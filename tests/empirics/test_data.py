"""Preference-pair data: records, seeded order swap, sources, and every bad-input case."""

import json

import pytest

from empirics.inputs import data as D
from empirics.registries import datasets as R


def test_pairs_are_single_records_with_stored_seeded_swap(data_dir):
    a = D.load_split("jsonl", "train_gt", data_dir, seed=0)
    b = D.load_split("jsonl", "train_gt", data_dir, seed=0)
    c = D.load_split("jsonl", "train_gt", data_dir, seed=1)
    assert a == b
    assert len(a) == 24
    assert [p.swapped for p in a] != [p.swapped for p in c]
    raw = [json.loads(line) for line in (data_dir / "train_gt.jsonl").read_text().splitlines()]
    for p, r in zip(a, raw, strict=True):
        chosen = p.second if p.swapped else p.first
        assert chosen == r["chosen"]
        assert p.label == (0 if p.swapped else 1)
    assert 0 < sum(p.label for p in a) < 24


def test_env_var_and_n(data_dir, monkeypatch):
    monkeypatch.setenv(D.DATA_DIR_ENV, str(data_dir))
    assert len(D.load_split("hh-rlhf-harmless", "test", n=5)) == 5
    with pytest.warns(UserWarning, match="only 24"):
        assert len(D.load_split("jsonl", "test", n=50)) == 24


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"chosen": "a"', "line 2: malformed JSON"),
        ('{"chosen": "a"}', "line 2: missing field"),
        ("[1, 2]", "line 2: expected a JSON object"),
        ('{"chosen": 1, "rejected": "b"}', "must be strings"),
    ],
)
def test_bad_lines_are_reported_with_their_line_number(tmp_path, line, message):
    (tmp_path / "test.jsonl").write_text('{"chosen": "x", "rejected": "y"}\n' + line + "\n")
    with pytest.raises(D.DataError, match=message):
        D.load_split("jsonl", "test", tmp_path)


def test_empty_and_identical_texts_are_counted_skips_with_a_warning(tmp_path):
    rows = [
        {"chosen": "a", "rejected": "b"},
        {"chosen": "  ", "rejected": "b"},
        {"chosen": "c", "rejected": "c"},
    ]
    (tmp_path / "test.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    with pytest.warns(
        UserWarning,
        match=r"skipped 1 rows with an empty text \(lines 2\) and 1 with identical .* using 1 of 1",
    ):
        assert len(D.load_split("jsonl", "test", tmp_path)) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dataset": "imdb", "split": "test"}, "unknown dataset 'imdb'; known datasets: hh-rlhf-harmless"),
        ({"dataset": "jsonl", "split": "validation"}, "unknown split 'validation'; known splits: train_gt"),
        ({"dataset": "jsonl", "split": "test", "data_dir": "/no/such/dir"}, "data directory not found"),
        ({"dataset": "jsonl", "split": "test"}, "needs --data-dir"),
        ({"dataset": "jsonl", "split": "test", "n": 0}, "must be positive"),
    ],
)
def test_bad_options(kwargs, message):
    with pytest.raises(D.DataError, match=message):
        D.load_split(**kwargs)


def test_missing_split_file(tmp_path):
    with pytest.raises(D.DataError, match="no such file"):
        D.load_split("jsonl", "train_w2s", tmp_path)


def test_cai_rows_use_revision_as_chosen_and_hh_keeps_single_turn():
    rows = R.cai_rows([{"init_prompt": "Hi?", "init_response": "bad", "revision_response": "good"}])
    assert rows[0][1]["chosen"].endswith("good")
    assert rows[0][1]["rejected"].endswith("bad")
    assert R.is_single_turn(rows[0][1]["chosen"])
    multi = "\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant: d"
    kept = R.hh_rows(
        [
            {"chosen": "\n\nHuman: a\n\nAssistant: b", "rejected": "\n\nHuman: a\n\nAssistant: c"},
            {"chosen": multi, "rejected": multi + "!"},
        ]
    )
    assert len(kept) == 1
    with pytest.raises(D.DataError, match="missing field"):
        R.cai_rows([{"init_prompt": "x"}])


def test_splits_are_deterministic_and_disjoint():
    train = list(range(20000))
    gt, w2s = D.split_rows(train, [], "train_gt"), D.split_rows(train, [], "train_w2s")
    assert len(gt) == len(w2s) == 4000
    assert not set(gt) & set(w2s)
    assert gt == D.split_rows(train, [], "train_gt")


def test_hub_failure_is_one_clear_error(monkeypatch):
    import datasets

    def offline(*a, **k):
        raise ConnectionError("no network")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(D.DataError, match="could not load Anthropic/hh-rlhf from the hub.*--data-dir"):
        D.load_split("hh-rlhf-harmless", "test")
    with pytest.raises(D.DataError, match="cai-conversation-harmless"):
        D.load_split("cai-harmless", "test")


def test_cai_hub_loader_on_rows_in_its_schema(monkeypatch):
    """The CAI-Harmless loader end to end on small rows built here (the hub is unreachable in tests)."""
    import datasets

    rows = [
        {"init_prompt": f"q{i}", "init_response": f"bad {i}", "revision_response": f"good {i}"}
        for i in range(30)
    ]
    monkeypatch.setattr(
        datasets, "load_dataset", lambda name, **k: {"train_prefs": rows, "test_prefs": rows[:10]}
    )
    train_gt = D.load_split("cai-harmless", "train_gt")
    test = D.load_split("cai-harmless", "test")
    assert len(train_gt) == 30
    assert len(test) == 10
    assert all((p.second if p.swapped else p.first).split()[-2:][0] == "good" for p in test)
