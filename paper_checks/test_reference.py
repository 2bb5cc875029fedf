"""The committed reference replication (paper_checks/reference/<regime>/), checked from its saved files.

Each regime is unpacked into a results folder (empirics.readers.reference) and then: every run's metrics are
recomputed from its predictions and match metrics.json; the claims recomputed from the predictions give the
committed verdicts, differences and MDEs; the audit recomputed from the predictions finds no bound violated
where its hypotheses hold, and matches the committed audit; the summary's weak, ceiling and student accuracies
match. Regenerate the reference with `w2s-empirics replicate --data-root DIR` (docs/findings.md)."""

import json
from pathlib import Path

import numpy as np
import pytest

from empirics.inputs.partition import agreement
from empirics.readers.audit import audit
from empirics.readers.claims import evaluate_claims
from empirics.readers.metrics import run_metrics
from empirics.readers.reference import metric_tolerance, packed_precision, unpack
from empirics.readers.run_folder import load_runs
from empirics.readers.summary import summarize
from empirics.readers.verdict_table import markdown, shown_in

pytestmark = pytest.mark.empirics
REFERENCE = Path(__file__).parent / "reference"
REGIMES = sorted(p.parent.name for p in REFERENCE.glob("*/data.npz"))
# what is decided by accuracies (every logit's sign is packed exactly): equal up to float summation
RTOL = 1e-6


NONE = [pytest.param(None, marks=pytest.mark.skip(reason="no packed reference in this checkout"))]
BUDGET_BYTES = 80_000_000  # the whole committed reference, every regime together


def test_the_whole_reference_fits_its_budget():
    """Every regime of the reference together stays within 80 MB of the repository (float16 logits,
    runs.json.gz: empirics.readers.reference)."""
    sizes = {p.name: sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) for p in REFERENCE.iterdir()}
    assert sum(sizes.values()) <= BUDGET_BYTES, sizes


def test_the_readme_shows_the_committed_verdicts():
    """The README's verdict tables are the committed reference's claims (`w2s-empirics verdict-table
    --readme README.md` rewrites them), so no number there can drift from what the reference decides."""
    shown = shown_in((REFERENCE.parent.parent / "README.md").read_text())
    assert shown is not None, "README.md lost its verdict-table markers"
    assert shown == markdown(REFERENCE)


@pytest.mark.parametrize("regime", REGIMES or NONE)
def test_each_regime_has_its_verdicts_picture_and_the_readme_shows_it(regime):
    """One picture of each regime's verdicts (every interval against zero, its MDE, the paper's range:
    empirics.readers.plots.verdicts), committed beside its claims and shown in the README."""
    picture = REFERENCE / regime / "audit" / "verdicts.png"
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", picture
    readme = (REFERENCE.parent.parent / "README.md").read_text()
    assert f"(paper_checks/reference/{regime}/audit/verdicts.png)" in readme, regime


@pytest.fixture(scope="module", params=REGIMES or NONE)
def unpacked(request, tmp_path_factory) -> tuple[Path, Path]:
    """(the packed regime, its unpacked results folder)."""
    packed = REFERENCE / request.param
    return packed, unpack(packed, tmp_path_factory.mktemp(request.param) / "results")


def _tolerance(packed: Path) -> dict[str, float]:
    """What probability-based numbers recomputed from `packed` may differ by (its logits' precision)."""
    return metric_tolerance(packed_precision(packed))


def _close(a, b, where: str, tol: dict[str, float]) -> None:
    if isinstance(a, dict):
        assert set(a) == set(b), where
        for k in a:
            _close(a[k], b[k], f"{where}.{k}", tol)
    elif isinstance(a, float) and isinstance(b, float):
        assert b == pytest.approx(a, rel=tol["rel"], abs=tol["abs"]), where
    else:
        assert a == b, where


def test_metrics_recomputed_from_predictions_match(unpacked):
    packed, results = unpacked
    tol = _tolerance(packed)
    runs = load_runs(results)
    assert len(runs) > 10
    for rec in runs:
        gamma = rec.config["gamma"]
        for split in ("train_w2s", "test"):
            rows = rec.predictions(split)
            weak = None if rows[0]["weak_prob"] is None else np.array([r["weak_prob"] for r in rows])
            again = run_metrics(
                np.array([r["prob"] for r in rows]), np.array([r["label"] for r in rows]), gamma, weak
            )
            saved = {k: rec.metrics[split][k] for k in again}
            _close(saved, again, f"{rec.name}.{split}", tol)


def test_claims_recomputed_give_the_committed_verdicts(unpacked):
    packed, results = unpacked
    committed = {c["key"]: c for c in json.loads((packed / "audit" / "claims.json").read_text())}
    again = {c.key: c for c in evaluate_claims(results)}
    assert set(committed) <= set(again)
    for key in set(again) - set(committed):  # a claim added since: untestable here, or regenerate the regime
        assert again[key].delta is None, (key, again[key].numbers())
        assert again[key].reason.startswith("not testable here"), key
    for key, c in ((k, again[k]) for k in committed):
        saved = committed[key]
        assert c.verdict == saved["verdict"], (key, c.numbers())
        for field in ("delta", "se", "df", "p_two_sided", "p_holm", "mde"):
            if saved[field] is None:
                assert getattr(c, field) is None, key
            else:
                assert getattr(c, field) == pytest.approx(saved[field], rel=RTOL, abs=1e-9), (key, field)
        assert c.seeds == saved["seeds"], key
        assert c.per_seed == pytest.approx(saved["per_seed"], rel=RTOL, abs=1e-9), key
        assert [x["setting"] for x in c.excluded] == [x["setting"] for x in saved["excluded"]], key
        if c.verdict in ("reproduced", "contradicted"):  # a verdict's interval excludes 0, after Holm
            assert c.p_holm < 0.05, key
            assert c.ci95[0] > 0 or c.ci95[1] < 0, key
        by_setting = saved["extra"].get("by_setting", {})  # none where the claim is not testable
        assert set(c.extra.get("by_setting", {})) == set(by_setting), key
        for setting, b in c.extra.get("by_setting", {}).items():
            assert b["delta"] == pytest.approx(by_setting[setting]["delta"], rel=RTOL, abs=1e-9), setting


def test_audit_recomputed_finds_no_violation_and_matches(unpacked):
    packed, results = unpacked
    report = audit(results)
    assert report["rows"]
    assert report["failures"] == []
    committed = json.loads((packed / "audit" / "audit.json").read_text())
    tol = _tolerance(packed)
    assert committed["failures"] == []
    by_key = {(r["run"], r["split"]): r for r in committed["rows"]}
    assert set(by_key) == {(r["run"], r["split"]) for r in report["rows"]}
    for r in report["rows"]:
        saved = by_key[(r["run"], r["split"])]
        for key in ("L_star_w", "L_star_sw", "kl_sw_w", "kl_w_sw", "theorem2_slack"):
            assert r[key] == pytest.approx(saved[key], rel=10 * tol["rel"], abs=tol["abs"]), (r["run"], key)


def test_summary_recomputed_matches(unpacked):
    packed, results = unpacked
    committed = json.loads((packed / "summary.json").read_text())
    again = summarize(results)
    assert len(again["rows"]) == len(committed["rows"])
    for a, b in zip(again["rows"], committed["rows"], strict=True):
        for key, value in b.items():
            if isinstance(value, list):
                assert a[key] == pytest.approx(value, rel=RTOL, abs=1e-9), key
            else:
                assert a[key] == value, key


def test_each_runs_training_parts_and_noisy_labels_are_redrawn_from_its_seed(unpacked):
    """The streams of empirics.inputs.streams redraw what the committed runs drew: every run's fit / held-out
    parts
    (its ``sample`` stream) and a student's noisy labels (its ``label_noise`` stream), rebuilt on unpacking,
    give the agreements its metrics.json recorded when it trained. A pair whose float32 logit lies within
    AMBIGUOUS of 0 may fall on the other side of 1/2 after packing: that many pairs is the slack."""
    ambiguous = 1e-5
    _, results = unpacked
    for rec in load_runs(results):
        fit = rec.metrics.get("fit")
        if (
            fit is None or fit["train_split"] != "train_w2s"
        ):  # the teachers' and ceilings' train_gt is not packed
            continue
        rows = rec.predictions("train_w2s")
        parts = {p: [r for r in rows if r["part"] == p] for p in ("fit", "heldout")}
        assert (len(parts["fit"]), len(parts["heldout"])) == (fit["n_fit"], fit["n_heldout"]), rec.name
        for part, key in (("fit", "fit_agreement"), ("heldout", "heldout_agreement")):
            r = parts[part]
            prob, target = np.array([x["prob"] for x in r]), np.array([x["target"] for x in r])
            again = agreement(prob, target)
            slack = np.sum(np.abs([x["logit"] for x in r]) < ambiguous) / len(r)
            assert abs(again - fit[key]) <= slack, (rec.name, part, again, fit[key])
