"""The chapter assignments graded end to end, as an instructor grades them.

One course folder with every chapter of ``tests/chapters`` (01-04): each is generated with
the CLI, and four students hand in each notebook: the model answers, the untouched release
version, every differently written right answer (``RIGHT``), and one plausible wrong answer
per task (the first of ``WRONG``). They are collected and graded with ``grade --jobs 2``
(the jail, the warm kernels, the secret's hidden cases). Then: the model answers and the
differently written ones earn every autograded point, the release earns 0 on every task,
each wrong answer loses points on its task, and the feedback shows no solution and no
hidden test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.config import COURSE_ID
from autograder.secret import write_secret
from autograder.tasks import secret

pytestmark = [pytest.mark.grading, pytest.mark.autograder]

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from test_chapters import MODULES, model_answer  # noqa: E402

STUDENTS = ("model", "release", "right", "wrong")
ENV = dict(os.environ, PYTHONUNBUFFERED="1",
           PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))


def cli(root, *args):
    proc = subprocess.run([sys.executable, "-m", "autograder", "--root", str(root), *args], env=ENV,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, f"autograder {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def submission(mod, release, source, student):
    """The release notebook as ``student`` hands it in."""
    nb = nbformat.from_dict(nbformat.reads(nbformat.writes(release), as_version=4))
    extra = {}
    if student in ("right", "wrong"):
        for task, (answer_id, _) in mod.CELLS.items():
            table = mod.RIGHT[task] if student == "right" else dict(list(mod.WRONG[task].items())[:1])
            extra[answer_id] = extra.get(answer_id, "") + "".join("\n\n" + code.strip("\n") + "\n"
                                                                  for code in table.values())
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution") and student != "release":
            cell.source = model_answer(source, meta["grade_id"]) + extra.get(meta["grade_id"], "")
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("chapters")
    shutil.copytree(REPO / "solutions", root / "solutions")
    write_secret(root, secret())  # the tests' fixed secret: the same hidden cases as tests/test_chapters.py
    graded = {}
    for mod in MODULES.values():
        a = mod.NOTEBOOK
        cli(root, "generate", a)
        release = nbformat.read(root / "release" / a / f"{a}.ipynb", as_version=4)
        source = nbformat.read(REPO / "solutions" / a / f"{a}.ipynb", as_version=4)
        inbox = root / "inbox" / a
        for student in STUDENTS:
            (inbox / student).mkdir(parents=True)
            nbformat.write(submission(mod, release, source, student), inbox / student / f"{a}.ipynb")
        cli(root, "collect", a, str(inbox))
        graded[a] = cli(root, "grade", a, "--jobs", "2", "--no-progress")
    return {"root": root, "grade": graded}


def scores(root, assignment):
    """student -> {test cell grade_id: (score, max)} for the autograded cells."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE_ID) as gb:
        for student in STUDENTS:
            sub = gb.find_submission(assignment, student)
            out[student] = {g.name: (g.score, g.max_score) for nb in sub.notebooks for g in nb.grades
                            if g.cell.cell_type == "code"}
    return out


@pytest.mark.parametrize("chapter", sorted(MODULES))
def test_every_graded_task_of_the_chapter_is_scored_as_it_should(course, chapter):
    mod = MODULES[chapter]
    got = scores(course["root"], mod.NOTEBOOK)
    cells = {test_id for _, test_id in mod.CELLS.values()}
    assert set(got["model"]) == cells, "every autograded cell of the notebook is a task of tests/chapters"
    problems = []
    for cell in sorted(cells):
        full = got["model"][cell][1]
        if got["model"][cell][0] != full:
            problems.append(f"model answers: {cell} {got['model'][cell]}")
        if got["right"][cell][0] != full:
            problems.append(f"differently written right answers: {cell} {got['right'][cell]}")
        if got["release"][cell][0] != 0:
            problems.append(f"the untouched release: {cell} {got['release'][cell]}")
        if got["wrong"][cell][0] >= full:
            problems.append(f"a wrong answer kept every point: {cell} {got['wrong'][cell]}")
    assert not problems, "\n".join(problems)
    assert f"graded {len(STUDENTS)} of {len(STUDENTS)}" in course["grade"][mod.NOTEBOOK]


@pytest.mark.parametrize("chapter", sorted(MODULES))
def test_feedback_shows_no_solution_and_no_hidden_test(course, chapter):
    mod = MODULES[chapter]
    root, a = course["root"], mod.NOTEBOOK
    cli(root, "feedback", a, "--student", "wrong")
    source = nbformat.read(REPO / "solutions" / a / f"{a}.ipynb", as_version=4)
    secret_lines = set()
    for cell in source.cells:
        if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution"):
            secret_lines |= {line.strip() for line in cell.source.splitlines() if len(line.strip()) > 20}
    for student in ("wrong",):
        html = (root / "feedback" / student / a / f"{a}.html").read_text()
        assert "BEGIN HIDDEN TESTS" not in html and "suite=&quot;hidden" not in html and 'suite="hidden"' not in html
        assert "Model answer" not in html and "Rubric" not in html
        assert not [line for line in secret_lines if line in html], "a model answer line is in the feedback"
