"""paper_checks: every claim of the paper as a test that computes both sides.

Each test records its :class:`theory.checks.CheckResult`; at the end of the session the theory report
(Markdown, JSON, tightness plot) is written to --report-dir from what the tests actually computed, and
test_figure1 regenerates Figure 1 there.
"""

from pathlib import Path

import pytest

_RECORDED = []


def pytest_addoption(parser):
    parser.addoption("--report-dir", default=str(Path("results") / "theory"),
                     help="where paper_checks write the theory report and Figure 1 (default results/theory)")


@pytest.fixture(scope="session")
def report_dir(request) -> Path:
    path = Path(request.config.getoption("--report-dir"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def record():
    """Call record(result) with each CheckResult a test computed; it goes into the theory report."""
    return _RECORDED.append


def pytest_sessionfinish(session, exitstatus):
    if not _RECORDED:
        return
    from theory.report import write_report

    order = {"identity": 0, "binary": 1, "lemma1": 2, "theorem1": 3, "figure1": 4}
    results = sorted(_RECORDED, key=lambda r: order.get(r.key.split("_")[0], 0 if r.key[0] in "IR" else 9))
    path = write_report(results, session.config.getoption("--report-dir"), "pytest paper_checks")
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"theory report: {path}")
