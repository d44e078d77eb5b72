"""The student's day with every chapter, without a browser (tests/test_browser.py drives
the same in JupyterLab): Validate reports exactly the parts whose visible checks fail, and
Run All reaches the end whatever the answers raise. (That Validate flags every part of an
untouched release follows from tests/test_assignments.py: there each test cell of the blank
release reports its failure on stderr, which is what Validate looks for.)
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from test_chapters import MODULES, model_answer  # noqa: E402
from test_student_day import failed_tasks, run_all, validate  # noqa: E402

pytestmark = pytest.mark.autograder

WRITTEN = "A short answer in my own words: the reason, and what changes it."


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(REPO / "solutions", root / "solutions")
    for mod in MODULES.values():
        proc = subprocess.run([sys.executable, "-m", "autograder", "--root", str(root), "generate", mod.NOTEBOOK],
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return root


def student(course, mod, tmp_path, fill) -> Path:
    """The release notebook of ``mod`` with each answer cell set by ``fill(grade_id, model) -> source``."""
    a = mod.NOTEBOOK
    source = nbformat.read(REPO / "solutions" / a / f"{a}.ipynb", as_version=4)
    nb = nbformat.read(course / "release" / a / f"{a}.ipynb", as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = WRITTEN if cell.cell_type == "markdown" else fill(meta["grade_id"],
                                                                            model_answer(source, meta["grade_id"]))
    path = tmp_path / f"{a}.ipynb"
    nbformat.write(nb, path)
    return path


def raising(model: str) -> str:
    """Every function and class of ``model`` redefined to raise ValueError when called."""
    lines = []
    for node in ast.parse(model).body:
        if isinstance(node, ast.FunctionDef):
            lines.append(f"def {node.name}(*args, **kwargs):\n    raise ValueError('the shapes do not fit')\n")
        elif isinstance(node, ast.ClassDef):
            lines.append(f"class {node.name}:\n    def __init__(self, *args, **kwargs):\n"
                         f"        raise ValueError('the shapes do not fit')\n")
    return "\n".join(lines)


def tasks_of(mod):
    return {f"{mod.NOTEBOOK[:2]}.{t}" for t in mod.CELLS}


@pytest.mark.parametrize("chapter", sorted(MODULES))
def test_validate_names_exactly_the_failing_part(course, chapter, tmp_path):
    mod = MODULES[chapter]
    task, label = mod.VALIDATE_WRONG
    answer_id = mod.CELLS[task][0]
    path = student(course, mod, tmp_path, lambda gid, model: model + ("\n\n" + mod.WRONG[task][label]
                                                                       if gid == answer_id else ""))
    # exactly one part: every other part's model answer passes its visible checks (no false alarm)
    assert failed_tasks(validate(path)) == {f"{mod.NOTEBOOK[:2]}.{task}"}


@pytest.mark.parametrize("chapter", sorted(MODULES))
def test_run_all_reaches_the_end_when_every_answer_raises(course, chapter, tmp_path):
    mod = MODULES[chapter]
    nb = run_all(student(course, mod, tmp_path, lambda gid, model: raising(model)))  # raises if a cell does
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "Run All stopped before the end"
    for cell in code:
        meta = cell.metadata.get("nbgrader", {})
        text = "".join(o.get("text", "") for o in cell.outputs)
        if meta.get("grade"):
            assert "ValueError" in text and "cases passed" in text, text[:300]
        elif "raised ValueError" in text:
            assert "fix Part" in text, text[:300]  # the cell says which part to fix
