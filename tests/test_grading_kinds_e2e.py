"""End to end: the test assignment 99-kinds, one task of every kind, graded through
the CLI (``grade --jobs 2``) and through plain ``nbgrader autograde``.

The class: the solution, the blank release copy, a correct answer written
differently for every task, one submission per rank of wrong version (the k-th
misconception of every task at once: tasks are graded independently) and the
broken submissions of ``tests/kinds/variants.py`` (a cell that sleeps, exits,
patches the autograder or imports the course; a function that crashes the
interpreter, ignores interrupts or stops its own kernel). Every score of every
test cell is asserted exactly, for both ways of grading.
"""

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

sys.path.insert(0, str(Path(__file__).resolve().parent / "kinds"))
import variants as V  # noqa: E402

pytestmark = [pytest.mark.grading, pytest.mark.autograder]

ASSIGNMENT = V.ASSIGNMENT
CELLS = [cell for cell, _ in V.CELLS.values()]
ENV = dict(os.environ, AUTOGRADER_CELL_TIMEOUT="8", AUTOGRADER_TIME_LIMIT="5", AUTOGRADER_MEMORY_MB="1024",
           PYTHONUNBUFFERED="1", PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))


def cli(root, *args):
    proc = subprocess.run([sys.executable, "-m", "autograder", "--root", str(root), *args], env=ENV,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, f"autograder {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr[-3000:]}"
    return proc.stdout


def scores(root) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE_ID) as gb:
        out = {}
        for student in gb.students:
            grades = {g.name: g.score for nb in gb.find_submission(ASSIGNMENT, student.id).notebooks
                      for g in nb.grades}
            out[student.id] = {cell: grades[cell] for cell in CELLS}
        return out


def expected() -> dict:
    names = ["solution", "blank", "alternative", *(f"wrong-{k}" for k in range(V.WRONG_SUBMISSIONS)),
             *V.ISOLATION]
    return {name: V.expected_scores(name) for name in names}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("kinds")
    shutil.copytree(V.HERE / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    write_secret(root, secret())  # the tests' fixed secret (tests/conftest.py): exact scores
    cli(root, "generate", ASSIGNMENT)
    release = nbformat.read(root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    inbox = root / "inbox"
    inbox.mkdir()
    nbformat.write(release, inbox / "blank.ipynb")
    for name, fills in V.submissions().items():
        nbformat.write(V.submission(release, fills), inbox / f"{name}.ipynb")
    cli(root, "collect", ASSIGNMENT, str(inbox))
    graded = cli(root, "grade", ASSIGNMENT, "--jobs", "2", "--no-progress")
    return {"root": root, "grade": graded}


def test_every_kind_of_task_is_graded_exactly_through_the_cli(course):
    want = expected()
    got = scores(course["root"])
    assert f"graded {len(want)} of {len(want)}" in course["grade"]
    assert set(got) == set(want)
    for student in sorted(want):
        assert got[student] == pytest.approx(want[student], abs=1e-9), student


def test_plain_nbgrader_autograde_gives_the_same_scores(course, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    shutil.copytree(course["root"] / "solutions", plain / "solutions")
    shutil.copytree(course["root"] / "submitted", plain / "submitted")
    shutil.copytree(course["root"] / ".autograder", plain / ".autograder")  # the course's secret: the same hidden cases
    (plain / "nbgrader_config.py").write_text("from autograder.config import configure\nconfigure(get_config())\n")
    for cmd in (["generate_assignment", ASSIGNMENT], ["autograde", ASSIGNMENT]):
        # warm kernels (as grade's workers use them) keep this run short; test_grading_e2e runs plain
        # nbgrader with fresh kernels, to show the kernel never changes a score
        proc = subprocess.run([sys.executable, "-m", "nbgrader", *cmd], cwd=plain,
                              env=dict(ENV, AUTOGRADER_FAST_KERNELS="1"), capture_output=True, text=True, timeout=1800)
        assert proc.returncode == 0, proc.stderr[-3000:]
    want = expected()
    got = scores(plain)
    for student in sorted(want):
        assert got[student] == pytest.approx(want[student], abs=1e-9), student


def test_reports_explain_the_broken_task_and_the_kernel_survives(course):
    graded = course["root"] / "autograded"

    def report(student, cell):
        nb = nbformat.read(graded / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
        return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == cell).outputs[0]["text"]

    assert "time limit of 5 s" in report("iso_sleep", "test-mse")
    assert "do not call exit() or os._exit()" in report("iso_exit", "test-moments")
    assert "killed by SIGSEGV" in report("iso_recursion", "test-moments")
    assert "your forward does not keep everything the backward needs" in report("wrong-3", "test-linear-backward")
    nb = nbformat.read(graded / "iso_ignore_interrupt" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    demo = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "mse-demo")
    assert any(o.get("ename") == "KernelRestarted" for o in demo.outputs)
    later = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "fit-demo")
    assert later.outputs  # the notebook ran to its end in the restarted kernel
