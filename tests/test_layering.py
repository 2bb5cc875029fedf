"""Dependencies point down only: core imports neither half, and empirics does not import theory (what both
use lives in core). Read from the source's import statements, so a lazy import inside a function counts."""

import ast
import subprocess
import sys
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


# empirics: packages by job, each importing only those before it; logs and processes are leaves
EMPIRICS_ORDER = ["logs", "processes", "registries", "inputs", "plans", "readers", "training", "runs", "cli"]
TORCH_FREE = ["registries", "plans", "readers"]


def empirics_layer(path: Path) -> str:
    rel = path.relative_to(ROOT / "empirics")
    return rel.parts[0] if len(rel.parts) > 1 else {"__init__": "cli"}.get(rel.stem, rel.stem)


def empirics_imports(path: Path) -> set[str]:
    """The empirics layers a module imports (relative imports, resolved from its own place)."""
    own = path.relative_to(ROOT).parent.parts  # ("empirics",) or ("empirics", "inputs")
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(own[: len(own) - node.level + 1]) + (node.module.split(".") if node.module else [])
            names = [base] if node.module else [base + [a.name] for a in node.names]
            for parts in names:
                if len(parts) > 1 and parts[0] == "empirics":
                    out.add(parts[1] if len(parts) > 1 else "cli")
    return {
        empirics_layer(ROOT / "empirics" / f"{p}.py") if (ROOT / "empirics" / f"{p}.py").is_file() else p
        for p in out
    }


def test_empirics_packages_import_only_those_below():
    rank = {name: i for i, name in enumerate(EMPIRICS_ORDER)}
    upward = {}
    for f in sorted((ROOT / "empirics").rglob("*.py")):
        layer = empirics_layer(f)
        wrong = sorted(t for t in empirics_imports(f) if rank[t] > rank[layer])
        if wrong:
            upward[str(f.relative_to(ROOT))] = wrong
    assert upward == {}
    assert {empirics_layer(f) for f in (ROOT / "empirics").rglob("*.py")} == set(EMPIRICS_ORDER)


def test_the_layer_reader_resolves_relative_imports(tmp_path, monkeypatch):
    pkg = tmp_path / "empirics" / "readers"
    pkg.mkdir(parents=True)
    f = pkg / "m.py"
    f.write_text("from ..training import heads\nfrom .claims import x\nfrom ..processes import y\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "empirics" / "processes.py").write_text("")
    assert empirics_imports(f) == {"training", "readers", "processes"}


def test_registries_plans_and_readers_never_load_torch():
    """Reading a results folder, planning a sweep and the CLI's parser load no torch (it takes seconds)."""
    modules = [
        f"empirics.{pkg}.{f.stem}"
        for pkg in TORCH_FREE
        for f in sorted((ROOT / "empirics" / pkg).glob("*.py"))
        if f.stem != "__init__"
    ] + ["empirics.cli", "empirics.runs.validate"]
    code = (
        f"import sys, {', '.join(modules)}; print([m for m in sys.modules if m.split('.')[0] == 'torch'][:3])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
