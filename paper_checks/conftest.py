"""paper_checks: every claim of the paper as a test that computes both sides.

Each test records its :class:`theory.checks.CheckResult`; at the end of the session the theory report
(Markdown, JSON, tightness plot) is written to --report-dir from what the tests actually computed, and
test_figure1 regenerates Figure 1 there.
"""

import importlib.util
from pathlib import Path

import pytest

_RECORDED = []
HERE = Path(__file__).resolve().parent


# the theory half installed alone (`pip install -e .`, no torch): the checks on real runs need [empirics]
collect_ignore = (
    ["test_empirics.py", "test_reference.py"] if importlib.util.find_spec("torch") is None else []
)


def pytest_addoption(parser):
    parser.addoption(
        "--report-dir",
        default=str(Path("results") / "theory"),
        help="where paper_checks write the theory report and Figure 1 (default results/theory)",
    )
    parser.addoption(
        "--results",
        action="append",
        default=None,
        help="results folder(s) of a sweep for the empirics checks (-m empirics); without it they run "
        "on a tiny-model sweep built for the session",
    )


@pytest.fixture(scope="session")
def report_dir(request) -> Path:
    path = Path(request.config.getoption("--report-dir"))
    path.mkdir(parents=True, exist_ok=True)
    return path


_PARTS = []


@pytest.fixture
def record():
    """Call record(result) with each CheckResult a test computed; it goes into the theory report."""
    return _RECORDED.append


@pytest.fixture
def record_part():
    """Call record_part(part) with a ReportPart (a table or plot of a check) for the report (see
    theory.suite)."""
    return _PARTS.append


_DESELECTED = []


def pytest_deselected(items):
    _DESELECTED.extend(i for i in items if i.get_closest_marker("empirics") is None)


def partial_reason(session) -> str | None:
    """Why this session's report would not be the full one (None when it is): a -k selection, theory checks
    deselected, only some files or tests named, or failures."""
    config = session.config
    if config.option.keyword:
        return f"-k {config.option.keyword}"
    if any("paper_checks" in str(i.fspath) for i in _DESELECTED):
        return "theory checks deselected"
    named = [a for a in config.args if Path(a).resolve() not in (Path(config.rootpath).resolve(), HERE)]
    if named and any(
        Path(a.split("::")[0]).resolve() != Path(config.rootpath, "tests").resolve() for a in named
    ):
        return "only " + ", ".join(named)
    if session.testsfailed:
        return f"{session.testsfailed} failed"
    return None


def pytest_sessionfinish(session, exitstatus):
    if not _RECORDED:
        return
    reason = partial_reason(session)
    from theory.report import write_report

    order = [
        "I1",
        "I2",
        "I3",
        "R3",
        "binary",
        "lemma1",
        "theorem1",
        "figure1",
        "theorem2",
        "forward",
        "theorem3",
        "finite",
        "convexity",
    ]
    results = sorted(
        _RECORDED, key=lambda r: next((i for i, p in enumerate(order) if r.key.startswith(p)), 99)
    )
    out = Path(session.config.getoption("--report-dir"))
    if reason is not None:  # never overwrite the full report with part of it
        out = out / "partial"
    path = write_report(
        results, out, "pytest paper_checks" + (f" (partial: {reason})" if reason else ""), _PARTS
    )
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        note = f" (partial run: {reason}; the full report is left as it was)" if reason else ""
        reporter.write_line(f"theory report: {path}{note}")
