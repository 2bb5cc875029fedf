"""paper_checks: every claim of the paper as a test that computes both sides.

Each test records its :class:`theory.checks.CheckResult`; at the end of the session the theory report
(Markdown, JSON, tightness plot) is written to --report-dir from what the tests actually computed, and
test_figure1 regenerates Figure 1 there.
"""

from pathlib import Path

import pytest

_RECORDED = []


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


def pytest_sessionfinish(session, exitstatus):
    if not _RECORDED:
        return
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
    path = write_report(results, session.config.getoption("--report-dir"), "pytest paper_checks", _PARTS)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"theory report: {path}")
