"""core/: the numerics vocabulary (NumPy and torch twins agree), I/O errors, and the import boundaries."""

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)
# what json reads one way and a fast parser might read another: NaN and infinities, integers past 64 bits,
# duplicate keys, escapes (surrogates among them), a BOM, deep nesting, a bare number, trailing whitespace
EDGE_LINES = [
    b'{"p": NaN}',
    b'{"p": Infinity, "q": -Infinity}',
    b'{"p": 1e400}',
    b'{"n": 123456789012345678901234567890}',
    b'{"a": 1, "a": 2}',
    b'{"s": "\\ud800"}',
    b'{"s": "\\ud83d\\ude00 \\u00e9"}',
    b"\xef\xbb\xbf{}",
    b"[" * 3000 + b"]" * 3000,
    b"-0",
    b'{"x": 0.1}\r',
    b'{"s": "a\tb"}',
    b'{"a": 1,}',
    b'{"a": 1}garbage',
    b"01",
    b'{"x": 0.1000000000000000055511151231257827, "y": 9223372036854775807, "z": 18446744073709551616}',
    b'{"x": 0.123456789012345678, "y": 1.00000000000000011, "z": 9007199254740993.0}',
    b'{"x": 2.2250738585072011e-308, "y": 4.9406564584124654e-324, "z": 1.7976931348623157e308}',
]


@settings(max_examples=300, deadline=None)
@given(value=JSON_VALUES, ensure_ascii=st.booleans())
def test_the_fast_jsonl_parser_reads_what_json_reads(tmp_path_factory, value, ensure_ascii):
    """Each line, through the fast parser (orjson) or its fallback, gives what json.loads gives, or the same
    error; NaN and infinities compare by their repr."""
    line = json.dumps(value, ensure_ascii=ensure_ascii).encode()
    _same_as_json(tmp_path_factory.mktemp("j") / "x.jsonl", line)


@pytest.mark.parametrize("line", EDGE_LINES, ids=range(len(EDGE_LINES)))
def test_the_fast_jsonl_parser_matches_json_on_edge_lines(tmp_path, line):
    _same_as_json(tmp_path / "x.jsonl", line)


def _same_as_json(path, line: bytes) -> None:
    path.write_bytes(line + b"\n")
    try:
        expected = json.loads(line.decode("utf-8"))
    except (ValueError, RecursionError):
        with pytest.raises(DataError, match="x.jsonl, line 1"):
            read_jsonl_rows(path)
        return
    try:
        json.dumps(expected, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: refused, by name
        with pytest.raises(DataError, match="lone surrogate"):
            read_jsonl_rows(path)
        return
    (got,) = read_jsonl_rows(path)
    assert repr(got) == repr(expected)
    assert [type(x) for x in _leaves(got)] == [type(x) for x in _leaves(expected)]


def _leaves(v):
    if isinstance(v, dict):
        return [x for k in v for x in [k, *_leaves(v[k])]]
    if isinstance(v, list):
        return [x for item in v for x in _leaves(item)]
    return [v]


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
