"""Dependencies point down only: core imports neither half, and empirics does not import theory (what both
use lives in core). Read from the source's import statements, so a lazy import inside a function counts."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"core": {"theory", "empirics"}, "empirics": {"theory"}, "theory": {"empirics"}}


def imported_packages(path: Path) -> set[str]:
    """The top-level package of every absolute import in a file."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_nothing_above_it(package):
    wrong = {
        str(f.relative_to(ROOT)): sorted(imported_packages(f) & FORBIDDEN[package])
        for f in sorted((ROOT / package).rglob("*.py"))
    }
    assert {f: w for f, w in wrong.items() if w} == {}


def test_the_reader_sees_lazy_and_dotted_imports(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("import os.path\n\ndef g():\n    from theory.bounds import c1\n    from . import x\n")
    assert imported_packages(f) == {"os", "theory"}
