"""core/: the numerics vocabulary (NumPy and torch twins agree), I/O errors, and the import boundaries."""

import subprocess
import sys

import numpy as np
import pytest

from core import numerics as nx
from core.errors import DataError
from core.io import atomic_write_text, read_jsonl_rows


def _dists(seed, m=50, k=4):
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.ones(k), m), rng.dirichlet(np.ones(k), m)


def test_torch_twins_agree_with_numpy():
    torch = pytest.importorskip("torch", reason="the torch twins need the [empirics] extra")
    from core import torch_numerics as tx

    p, q = _dists(0)
    p[0] = [1, 0, 0, 0]  # a one-hot row: 0 log 0 = 0 in both
    tp, tq = torch.tensor(p), torch.tensor(q)
    np.testing.assert_allclose(tx.kl_from_log(tp, tq.log()).numpy(), nx.kl(p, q), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(tx.ce_from_log(tp, tq.log()).numpy(), nx.ce(p, q), rtol=1e-13)
    np.testing.assert_allclose(tx.entropy(tp).numpy(), nx.entropy(p), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(tx.gamma_floor(tp, 0.01).numpy(), nx.gamma_floor(p, 0.01, k=4), rtol=0, atol=0)


def test_binary_helpers_match_the_two_class_forms():
    rng = np.random.default_rng(1)
    p, q = rng.uniform(0.01, 0.99, 200), rng.uniform(0.01, 0.99, 200)
    two = lambda x: np.stack([1 - x, x], axis=1)  # noqa: E731
    np.testing.assert_allclose(nx.binary_kl(p, q), nx.kl(two(p), two(q)), rtol=1e-10, atol=1e-15)
    label = rng.integers(0, 2, 200)
    np.testing.assert_allclose(nx.binary_ce_onehot(label, q), nx.ce(np.eye(2)[label], two(q)), rtol=1e-12)
    np.testing.assert_allclose(
        nx.logit(nx.sigmoid([-30.0, -2.0, 0.0, 5.0])), [-30.0, -2.0, 0.0, 5.0], rtol=1e-9
    )
    np.testing.assert_allclose(
        nx.expected_kl(two(p), two(q), np.full(200, 1 / 200)), nx.binary_kl(p, q).mean()
    )
    # the floor keeps k-class rows normalised and at least gamma
    f = nx.gamma_floor(two(p), 0.05)
    assert np.allclose(f.sum(axis=1), 1)
    assert f.min() >= 0.05


def test_jsonl_errors_name_file_and_line(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2\n')
    with pytest.raises(DataError, match=r"x.jsonl, line 3: malformed JSON"):
        read_jsonl_rows(path)
    with pytest.raises(DataError, match="no such file"):
        read_jsonl_rows(tmp_path / "missing.jsonl")
    atomic_write_text(tmp_path / "sub" / "y.jsonl", '{"a": 1}\n')
    assert read_jsonl_rows(tmp_path / "sub" / "y.jsonl") == [{"a": 1}]
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["y.jsonl"]  # no temporary file left


@pytest.mark.parametrize(
    ("modules", "forbidden"),
    [
        ("theory.last_layer, theory.convexity, theory.finite_sample, theory.noise", "sympy"),
        ("theory.cli, theory.suite, theory.report, theory.checks, core.io, core.cli", "torch"),
    ],
)
def test_import_boundaries(modules, forbidden):
    """The last-layer checks never load sympy; the theory half runs without torch installed (`pip install -e
    .`). (The empirics packages that never load torch: tests/test_layering.py.)"""
    code = f"import sys, {modules}; print({forbidden!r} in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_without_torch_the_gradient_check_is_reported_as_not_run(tmp_path, monkeypatch):
    """The theory half installed alone: the one check that needs torch says so, and the report lists it as
    not run (never as passed)."""
    from core.errors import MissingDependencyError
    from theory import checks
    from theory.report import write_report

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(MissingDependencyError, match=r"needs torch: .*\[empirics\]"):
        checks.binary_gradient_check()
    path = write_report([], tmp_path, "test", [], ["binary gradients: needs torch"])
    assert "**Not run**" in path.read_text()
    assert "- binary gradients: needs torch" in path.read_text()
