"""End to end: a demo class graded through the CLI and through plain nbgrader.

Builds a course folder in a temporary directory, generates the student version
of ``00-setup``, writes submissions (the solution, the blank release copy,
plausible wrong answers, adversarial ones and malformed files), collects them
from a zip file, grades them with ``grade --jobs 2``, and checks every score
exactly. Then: grading again gives the same scores, plain ``nbgrader
autograde`` gives the same gradebook, manual grades survive a re-grade, an
interrupted run resumes, feedback shows scores and messages but no hidden
test, and the CSV export matches the gradebook.
"""

import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
import torch

from autograder.config import COURSE_ID
from autograder.demo import ASSIGNMENT, VARIANTS, build_class
from autograder.secret import write_secret
from autograder.tasks import secret

pytestmark = [pytest.mark.grading, pytest.mark.autograder]

REPO = Path(__file__).resolve().parents[1]
CELLS = ["test-choose-device", "test-neuron", "test-softmax"]

# auto-graded points per test cell (device 1, neuron 3, softmax 4) on a machine without CUDA
EXPECTED = {
    "solution": [1, 3, 4],
    "blank": [0, 0, 0],
    "device_always_cpu": [0.6, 3, 4],  # no error for 'cuda' or 'gpu': 3 of 5 cases
    "device_no_validation": [0.6, 3, 4],
    "device_wrong_exception": [0.8, 3, 4],  # KeyError instead of ValueError: 4 of 5
    "neuron_no_bias": [1, 0.85, 4],  # right only where b = 0
    "neuron_numpy_only": [1, 2.57, 4],  # fails the torch case (its NumPy scalar for one input is a number)
    "neuron_relu": [1, 0, 4],
    "neuron_wrong_orientation": [1, 0.42, 4],  # w . x is right for one input only; batches break
    "softmax_no_shift": [1, 3, 2.54],  # fails the four large-value cases of 11
    "softmax_max_added": [1, 3, 2.54],
    "softmax_wrong_axis": [1, 3, 0.72],
    "softmax_no_keepdims": [1, 3, 0.72],
    "adv_infinite_loop": [1, 3, 0],
    "adv_os_exit": [1, 3, 0],
    "adv_memory_bomb": [1, 3, 0],
    "adv_patched_autograder": [1, 3, 2.54],  # the patch changes nothing: graded as no_shift
    "adv_patched_allclose": [1, 3, 2.54],  # the patch changes nothing: graded as no_shift
    "adv_calls_reference": [1, 3, 0],
    "adv_calls_torch_softmax": [1, 3, 0],
    "adv_tampered_test_cell": [1, 3, 2.54],  # the test cell is restored: graded as no_shift
    "renamed": [1, 3, 4],
    "deleted_cells": [1, 3, 4],
    "other_kernel": [1, 3, 4],
}

ENV = dict(os.environ, AUTOGRADER_CELL_TIMEOUT="15", AUTOGRADER_TIME_LIMIT="10", PYTHONUNBUFFERED="1",
           PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))


def cli(root, *args, check=True):
    proc = subprocess.run([sys.executable, "-m", "autograder", "--root", str(root), *args], env=ENV,
                          capture_output=True, text=True, timeout=1200)
    if check and proc.returncode != 0:
        raise AssertionError(f"autograder {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def scores(root):
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE_ID) as gb:
        for student in gb.students:
            sub = gb.find_submission(ASSIGNMENT, student.id)
            grades = {g.name: g for nb in sub.notebooks for g in nb.grades}
            out[student.id] = [grades[c].score for c in CELLS]
    return out


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(REPO / "solutions", root / "solutions")
    write_secret(root, secret())  # the tests' fixed secret (tests/conftest.py): exact scores
    cli(root, "generate", ASSIGNMENT)
    inbox = root / "inbox"
    build_class(root, inbox)
    release = nbformat.read(root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    full = nbformat.read(inbox / "solution.ipynb", as_version=4)
    # malformed submissions
    (inbox / "broken_json.ipynb").write_text('{"cells": [ this is not json')
    deleted = nbformat.from_dict(json.loads(json.dumps(full)))
    deleted.cells = [c for c in deleted.cells
                     if c.metadata.get("nbgrader", {}).get("grade_id") not in ("test-neuron", "env-report")]
    nbformat.write(deleted, inbox / "deleted_cells.ipynb")
    other = nbformat.from_dict(json.loads(json.dumps(full)))
    other.metadata["kernelspec"] = {"name": "julia-1.9", "display_name": "Julia", "language": "julia"}
    nbformat.write(other, inbox / "other_kernel.ipynb")
    zpath = root / "inbox.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for nb in sorted(inbox.glob("*.ipynb")):
            zf.write(nb, f"submissions/{nb.name}")
    # a student who submits a folder with a renamed notebook
    folder = root / "inbox2" / "renamed"
    folder.mkdir(parents=True)
    shutil.copy(inbox / "solution.ipynb", folder / "Copy of 00-setup (1).ipynb")
    first = cli(root, "collect", ASSIGNMENT, str(zpath)).stdout
    second = cli(root, "collect", ASSIGNMENT, str(root / "inbox2")).stdout
    graded = cli(root, "grade", ASSIGNMENT, "--jobs", "2", "--no-progress")
    return {"root": root, "collect": first + second, "grade": graded.stdout, "release": release}


def test_collect_reports_bad_input_and_loses_nothing(course):
    root, out = course["root"], course["collect"]
    assert "broken_json: NOT COLLECTED" in out and "is not a valid notebook" in out
    kept = root / "rejected" / ASSIGNMENT / "broken_json" / "broken_json.ipynb"
    assert kept.read_text() == '{"cells": [ this is not json'
    assert not (root / "submitted" / "broken_json").exists()
    assert "Copy of 00-setup (1).ipynb renamed to 00-setup.ipynb" in out
    assert "cell 'test-neuron' was missing; put back from the release version" in out
    assert "kernel spec 'julia-1.9' replaced by the course's 'python3'" in out


def test_every_score_is_exact(course):
    got = scores(course["root"])
    assert set(got) == set(EXPECTED), "every collected student is graded"
    assert set(VARIANTS) <= set(got)
    cuda = torch.cuda.is_available()
    wrong = []
    for student, want in EXPECTED.items():
        have = got[student]
        if cuda and student.startswith("device"):
            have, want = have[1:], want[1:]  # with a GPU, 'auto' and 'cuda' expect other answers
        if have != pytest.approx(want, abs=1e-9):
            wrong.append(f"{student}: got {have}, expected {want}")
    assert not wrong, "\n".join(wrong)
    assert "graded 24 of 24" in course["grade"]


def test_grading_again_gives_identical_scores_and_keeps_manual_grades(course):
    from nbgrader.api import Gradebook

    root = course["root"]
    before = scores(root)
    db = f"sqlite:///{root / 'gradebook.db'}"
    with Gradebook(db, COURSE_ID) as gb:
        grade = gb.find_grade("written-softmax-shift", ASSIGNMENT, ASSIGNMENT, "solution")
        grade.manual_score = 1.5
        comment = gb.find_comment("written-softmax-shift", ASSIGNMENT, ASSIGNMENT, "solution")
        comment.manual_comment = "Good invariance argument; mention underflow too."
        gb.db.commit()
    cli(root, "grade", ASSIGNMENT, "--jobs", "2", "--force", "--no-progress")
    assert scores(root) == before
    with Gradebook(db, COURSE_ID) as gb:
        assert gb.find_grade("written-softmax-shift", ASSIGNMENT, ASSIGNMENT, "solution").manual_score == 1.5
        assert "underflow" in gb.find_comment("written-softmax-shift", ASSIGNMENT, ASSIGNMENT,
                                              "solution").manual_comment


def test_an_interrupted_run_resumes(course):
    root = course["root"]
    state_file = root / "autograded" / f".{ASSIGNMENT}.graded.json"
    state = json.loads(state_file.read_text())
    assert set(state) == set(EXPECTED)
    stamp = {s: (root / "autograded" / s / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").stat().st_mtime_ns for s in state}
    del state["neuron_relu"]  # as if the run had stopped before this student
    state_file.write_text(json.dumps(state))
    out = cli(root, "grade", ASSIGNMENT, "--jobs", "2", "--no-progress").stdout
    assert "graded 24 of 24" in out
    after = {s: (root / "autograded" / s / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").stat().st_mtime_ns for s in stamp}
    changed = {s for s in stamp if stamp[s] != after[s]}
    assert changed == {"neuron_relu"}


def test_plain_nbgrader_autograde_agrees(course, tmp_path):
    root = course["root"]
    plain = tmp_path / "plain"
    plain.mkdir()
    shutil.copytree(root / "solutions", plain / "solutions")
    shutil.copytree(root / "submitted", plain / "submitted")
    shutil.copytree(root / ".autograder", plain / ".autograder")  # the course's secret: the same hidden cases
    (plain / "nbgrader_config.py").write_text("from autograder.config import configure\nconfigure(get_config())\n")
    for cmd in (["generate_assignment", ASSIGNMENT], ["autograde", ASSIGNMENT]):
        proc = subprocess.run([sys.executable, "-m", "nbgrader", *cmd], cwd=plain, env=ENV, capture_output=True,
                              text=True, timeout=1800)
        assert proc.returncode == 0, proc.stderr[-3000:]
    assert scores(plain) == scores(root)


def test_feedback_has_scores_and_messages_but_no_hidden_tests(course):
    root = course["root"]
    cli(root, "feedback", ASSIGNMENT)
    pages = sorted((root / "feedback").glob(f"*/{ASSIGNMENT}/{ASSIGNMENT}.html"))
    assert len(pages) == len(EXPECTED)
    for page in pages:
        html = page.read_text()
        assert "BEGIN HIDDEN TESTS" not in html and 'suite="hidden"' not in html and "suite=&quot;hidden" not in html
        assert "Model answer" not in html and "Rubric" not in html
        assert "<math" in html  # formulas render as MathML: no MathJax download needed
    blank = (root / "feedback" / "blank" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "x - x.max(axis=axis, keepdims=True)" not in blank  # no solution code
    assert "NotImplementedError" in blank and "score: 0 of 4 points" in blank
    no_shift = (root / "feedback" / "softmax_no_shift" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "subtract the maximum along the axis first" in no_shift
    assert "score: 2.54 of 4 points" in no_shift


def test_export_matches_the_gradebook(course, tmp_path):
    root = course["root"]
    dest = tmp_path / "grades.csv"
    cli(root, "export", "--to", str(dest))
    rows = {r["student_id"]: r for r in csv.DictReader(dest.open())}
    assert set(rows) == set(EXPECTED)
    totals = scores(root)
    for student, row in rows.items():
        manual = 1.5 if student == "solution" else 0.0
        assert float(row["score"]) == pytest.approx(sum(totals[student]) + manual)
        assert float(row["max_score"]) == 10.0


def test_cli_errors_are_clear(course, tmp_path):
    root = course["root"]
    proc = cli(root, "grade", "99-nope", check=False)
    assert proc.returncode == 2 and "no assignment '99-nope'" in proc.stderr
    proc = cli(tmp_path, "generate", ASSIGNMENT, check=False)
    assert proc.returncode == 2 and "has no solutions/ folder" in proc.stderr
    proc = cli(root, "collect", ASSIGNMENT, str(tmp_path / "missing.zip"), check=False)
    assert proc.returncode == 2 and "does not exist" in proc.stderr
