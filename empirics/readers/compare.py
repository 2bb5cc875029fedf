"""Two results folders compared run by run: does a rerun (another commit, machine or extraction) give the
runs and the claims of a reference? (``w2s-empirics compare A B``; packed references are unpacked first.)

For every run both hold (by run name): its test accuracy in each, the test pairs whose prediction (the sign
of the logit) differs, and the largest |logit| difference; for every claim both decided, the per-seed
differences of the seeds both have. Runs held by one folder only are listed, not compared."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.io import read_json

from .run_folder import RunRecord, load_runs


def _test_logits(rec: RunRecord) -> tuple[list[str], np.ndarray]:
    rows = rec.predictions("test")
    return [r["id"] for r in rows], np.array([r["logit"] for r in rows], np.float64)


def _run_row(a: RunRecord, b: RunRecord) -> dict:
    ids_a, za = _test_logits(a)
    ids_b, zb = _test_logits(b)
    row = {"run": a.name, "accuracy_a": a.test["accuracy"], "accuracy_b": b.test["accuracy"]}
    if ids_a != ids_b:  # other test pairs: the accuracies say all there is
        return row | {"same_test_pairs": False}
    return row | {
        "same_test_pairs": True,
        "n": len(ids_a),
        "predictions_differing": int(np.sum((za > 0) != (zb > 0))),
        "max_abs_logit_diff": float(np.max(np.abs(za - zb))) if len(za) else 0.0,
    }


def _claims(results: Path) -> dict[str, dict]:
    path = results / "audit" / "claims.json"
    return {c["key"]: c for c in read_json(path)} if path.is_file() else {}


def _seed_ids(claim: dict) -> list[int]:
    return claim.get("seed_ids") or list(range(len(claim.get("per_seed") or [])))


def _claim_row(key: str, a: dict, b: dict) -> dict:
    """A claim's verdicts and per-seed differences on the seeds both decided (a claims.json without
    seed_ids, written before they were recorded, numbers its per_seed 0, 1, ...: seeds 0.. when none was
    left out)."""
    per_a, per_b = (dict(zip(_seed_ids(c), c.get("per_seed") or [], strict=True)) for c in (a, b))
    seeds = sorted(set(per_a) & set(per_b))
    return {
        "claim": key,
        "verdict_a": a.get("verdict"),
        "verdict_b": b.get("verdict"),
        "seeds_compared": seeds,
        "max_abs_per_seed_diff": max((abs(per_b[k] - per_a[k]) for k in seeds), default=None),
    }


def compare_results(a: str | Path, b: str | Path) -> dict:
    """Run by run and claim by claim (module doc): {"totals", "only_a", "only_b", "runs", "claims"}."""
    a, b = Path(a), Path(b)
    runs_a = {r.name: r for r in load_runs(a)}
    runs_b = {r.name: r for r in load_runs(b)}
    both = sorted(set(runs_a) & set(runs_b))
    rows = [_run_row(runs_a[n], runs_b[n]) for n in both]
    claims_a, claims_b = _claims(a), _claims(b)
    claims = [_claim_row(k, claims_a[k], claims_b[k]) for k in sorted(set(claims_a) & set(claims_b))]
    paired = [r for r in rows if r.get("same_test_pairs")]
    totals = {
        "runs_compared": len(rows),
        "runs_with_a_differing_prediction": sum(r["predictions_differing"] > 0 for r in paired),
        "predictions_differing": sum(r["predictions_differing"] for r in paired),
        "predictions_compared": sum(r["n"] for r in paired),
        "max_abs_accuracy_diff": max((abs(r["accuracy_b"] - r["accuracy_a"]) for r in rows), default=None),
        "max_abs_logit_diff": max((r["max_abs_logit_diff"] for r in paired), default=None),
        "verdicts_changed": [c["claim"] for c in claims if c["verdict_a"] != c["verdict_b"]],
    }
    return {
        "a": str(a),
        "b": str(b),
        "totals": totals,
        "only_a": sorted(set(runs_a) - set(runs_b)),
        "only_b": sorted(set(runs_b) - set(runs_a)),
        "runs": rows,
        "claims": claims,
    }


def _num(x, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)


def compare_markdown(report: dict) -> str:
    t = report["totals"]
    lines = [
        f"# {report['b']} against {report['a']}",
        "",
        f"{t['runs_compared']} runs compared ({len(report['only_a'])} only in the first, "
        f"{len(report['only_b'])} only in the second). Test predictions that differ: "
        f"{t['predictions_differing']} of {t['predictions_compared']}, in "
        f"{t['runs_with_a_differing_prediction']} runs; largest |accuracy difference| "
        f"{_num(t['max_abs_accuracy_diff'], '.6f')}; largest |logit difference| "
        f"{_num(t['max_abs_logit_diff'], '.3g')}. Verdicts changed: "
        f"{', '.join(t['verdicts_changed']) or 'none'}.",
        "",
        "| claim | verdict (first) | verdict (second) | seeds compared | max per-seed difference (pts) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for c in report["claims"]:
        d = c["max_abs_per_seed_diff"]
        lines.append(
            f"| {c['claim']} | {c['verdict_a']} | {c['verdict_b']} | {len(c['seeds_compared'])} | "
            f"{_num(None if d is None else 100 * d, '.3f')} |"
        )
    moved = [r for r in report["runs"] if r.get("predictions_differing") or not r["same_test_pairs"]]
    if moved:
        lines += ["", "| run | accuracy (first) | accuracy (second) | predictions differing |"]
        lines += ["| --- | --- | --- | --- |"]
        for r in moved:
            lines.append(
                f"| {r['run']} | {r['accuracy_a']:.4f} | {r['accuracy_b']:.4f} | "
                f"{r.get('predictions_differing', 'other test pairs')} |"
            )
    return "\n".join(lines) + "\n"
