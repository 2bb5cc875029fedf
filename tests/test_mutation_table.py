"""The mutation table (tools/mutation_table.py) stays runnable: each planted bug's text occurs exactly once in
its file and the tests named to catch it exist. (A stale entry plants nothing and reports nothing.)"""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _table():
    spec = importlib.util.spec_from_file_location("mutation_table", ROOT / "tools" / "mutation_table.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("mutation_table", module)
    spec.loader.exec_module(module)
    return module.MUTATIONS


def test_every_mutation_plants_one_edit_and_names_existing_tests():
    problems = []
    for m in _table():
        path = ROOT / m.file
        count = path.read_text().count(m.old) if path.is_file() else -1
        if count != 1:
            problems.append(f"{m.key}: {m.file} holds its text {count} times")
        problems += [f"{m.key}: no {t}" for t in m.tests if not (ROOT / t.split("::")[0]).is_file()]
    assert problems == []
