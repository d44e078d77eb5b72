"""Every graded task of the chapter assignments, judged as grading judges it.

For each task of chapters 01-04: the model answer earns every point; each plausible
wrong version in ``tests/chapters/chNN.py`` (at least three per graded function) loses
points; each correct answer written differently (at least one per function) keeps every
point. The answers run through :func:`autograder.judge.judge_sources`, the step a grade
run uses for each test cell (sandboxed, visible and hidden cases, the fixed test secret).
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.judge import judge_sources
from autograder.sandbox import Limits
from autograder.tasks import all_tasks, get_task

pytestmark = pytest.mark.autograder

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
CHAPTERS = ["ch01", "ch02", "ch03", "ch04"]
MODULES = {name: importlib.import_module(f"chapters.{name}") for name in CHAPTERS
           if (REPO / "tests" / "chapters" / f"{name}.py").exists()}


def source_notebook(mod):
    return nbformat.read(REPO / "solutions" / mod.NOTEBOOK / f"{mod.NOTEBOOK}.ipynb", as_version=4)


def model_answer(nb, grade_id: str) -> str:
    """The answer cell's source with the solution markers removed (the model answer)."""
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return re.sub(r"[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", "", cell.source)
    raise KeyError(grade_id)


def setup_source(nb) -> str:
    return next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")


def credit(mod, task: str, extra: str = "") -> tuple:
    """Percent of the task's points the model answers (plus ``extra`` in the task's answer
    cell) earn over all cases, and the report. Like a grade run, the set-up cell contributes its
    definitions and the earlier answer cells run watched, so a task may use earlier parts."""
    nb = source_notebook(mod)
    answer_id = mod.CELLS[task][0]
    plan = [(0, setup_source(nb), "course")]
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("solution"):
            continue
        if meta["grade_id"] == answer_id:
            plan.append((index, model_answer(nb, answer_id) + "\n\n" + extra.strip("\n") + "\n"))
            break
        plan.append((index, model_answer(nb, meta["grade_id"]), "other"))
    verdict = judge_sources(f"{mod.NOTEBOOK[:2]}.{task}", plan, None, "all", Limits(60, 2048))
    return verdict.score(100), verdict.report()


def _params(kind):
    out = []
    for name, mod in MODULES.items():
        table = getattr(mod, kind)
        for task, versions in table.items():
            for label in versions:
                out.append(pytest.param(name, task, label, id=f"{mod.NOTEBOOK[:2]}.{task}-{label}"))
    return out


@pytest.mark.parametrize("chapter", sorted(MODULES))
def test_every_task_of_the_chapter_has_its_wrong_and_right_versions(chapter):
    mod = MODULES[chapter]
    prefix = mod.NOTEBOOK[:2] + "."
    tasks = {q[len(prefix):]: t for q, t in all_tasks().items() if q.startswith(prefix)}
    assert set(mod.CELLS) == set(mod.WRONG) == set(mod.RIGHT) == set(tasks)
    for name, task in tasks.items():
        for fn in task.uses:
            wrong = [k for k in mod.WRONG[name] if k.split(":")[0] == fn]
            right = [k for k in mod.RIGHT[name] if k.split(":")[0] == fn]
            assert len(wrong) >= 3, f"{prefix}{name}: {fn} has {len(wrong)} wrong versions, needs 3"
            assert right, f"{prefix}{name}: {fn} has no differently written right version"
        for label in list(mod.WRONG[name]) + list(mod.RIGHT[name]):
            assert label.split(":")[0] in task.uses, f"{prefix}{name}: {label!r} names no function the task grades"


@pytest.mark.parametrize("chapter,task", [(c, t) for c, m in MODULES.items() for t in m.CELLS])
def test_the_model_answer_earns_every_point(chapter, task):
    score, report = credit(MODULES[chapter], task)
    assert score == 100, report


@pytest.mark.parametrize("chapter,task,label", _params("WRONG"))
def test_each_wrong_version_loses_points(chapter, task, label):
    mod = MODULES[chapter]
    score, report = credit(mod, task, mod.WRONG[task][label])
    assert score < 100, f"{label} kept every point:\n{report}"


@pytest.mark.parametrize("chapter,task,label", _params("RIGHT"))
def test_each_differently_written_right_answer_keeps_every_point(chapter, task, label):
    mod = MODULES[chapter]
    score, report = credit(mod, task, mod.RIGHT[task][label])
    assert score == 100, f"{label} lost points:\n{report}"


def test_the_task_names_are_the_chapters():
    for mod in MODULES.values():
        for task in mod.CELLS:
            assert get_task(f"{mod.NOTEBOOK[:2]}.{task}").chapter == mod.NOTEBOOK[:2]
