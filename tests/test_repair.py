"""Submissions with duplicated, renamed or extra nbgrader cells are repaired and graded.

Unit tests run :func:`autograder.repair.repair_notebook` (and the whole
sanitize stage) on in-memory copies of ``00-setup``; the end-to-end test grades
a small class (an honest student and three broken ones) through the CLI and
through plain ``nbgrader autograde``.
"""

import copy
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

from autograder.config import COURSE_ID
from autograder.demo import ASSIGNMENT, make_submission
from autograder.repair import (NOTE_MARK, RepairCells, repair_notebook, sanitize_preprocessors,
                               source_cells_from_notebook)
from autograder.secret import write_secret
from autograder.tasks import secret

pytestmark = pytest.mark.autograder

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
CELLS = ["test-choose-device", "test-neuron", "test-softmax"]
OWN_CODE = "# my own check\nprint('my own check', neuron(np.ones(2), np.ones(2), 0.0))"


# ---------------------------------------------------------------------------
# building broken notebooks
# ---------------------------------------------------------------------------

def gid(cell):
    return (cell.metadata.get("nbgrader") or {}).get("grade_id")


def index(nb, grade_id):
    return next(i for i, c in enumerate(nb.cells) if gid(c) == grade_id)


def new_id(cell):
    cell = copy.deepcopy(cell)
    cell["id"] = nbformat.corpus.words.generate_corpus_id()  # as JupyterLab gives a pasted cell
    return cell


def duplicated(nb, grade_id, at=None, source=None):
    """A copy of cell ``grade_id`` pasted at ``at`` (default: just after it), optionally edited."""
    nb = copy.deepcopy(nb)
    i = index(nb, grade_id)
    cell = new_id(nb.cells[i])
    if source is not None:
        cell.source = source
    nb.cells.insert(i + 1 if at is None else at, cell)
    return nb


def renamed(nb, grade_id, new, move_to_end=False):
    nb = copy.deepcopy(nb)
    i = index(nb, grade_id)
    nb.cells[i].metadata["nbgrader"]["grade_id"] = new
    if move_to_end:
        nb.cells.append(nb.cells.pop(i))
    return nb


def with_extra(nb, after, source=OWN_CODE, grade_id="my-check", points=5):
    """An extra cell the student marked as an autograded test cell worth ``points``."""
    nb = copy.deepcopy(nb)
    meta = {"nbgrader": {"grade": True, "grade_id": grade_id, "locked": False, "points": points,
                         "schema_version": 3, "solution": False, "task": False}}
    nb.cells.insert(index(nb, after) + 1, nbformat.v4.new_code_cell(source, metadata=meta))
    return nb


@pytest.fixture(scope="module")
def course_nbs():
    """(source cells as the gradebook holds them, release notebook, honest submission)."""
    source = nbformat.read(SOURCE, as_version=4)
    stored, _ = ClearSolutions().preprocess(copy.deepcopy(source), {})  # nbgrader saves cells after this
    release, _ = ClearHiddenTests().preprocess(copy.deepcopy(stored), {})
    return source_cells_from_notebook(stored), release, make_submission(release, source)


def graded_ids(nb):
    return [gid(c) for c in nb.cells if (c.metadata.get("nbgrader") or {}).get("grade")]


def assert_valid(nb, sources):
    """nbgrader's own checks pass: one cell per id, schema up to date, the source's grade cells all there."""
    MetadataValidator().validate_nb(nb)  # raises on duplicates, missing ids, old schema
    ids = [gid(c) for c in nb.cells if c.metadata.get("nbgrader")]
    assert len(ids) == len(set(ids))
    assert set(ids) <= {s.name for s in sources}
    assert sorted(graded_ids(nb)) == sorted(s.name for s in sources if s.grade)


def note_of(nb):
    assert nb.cells[0].metadata.get("autograder") == NOTE_MARK, "a note cell comes first"
    return nb.cells[0].source


# ---------------------------------------------------------------------------
# unit tests
# ---------------------------------------------------------------------------

def test_an_intact_notebook_is_left_alone(course_nbs):
    sources, release, honest = course_nbs
    for nb in (release, honest):
        nb2 = copy.deepcopy(nb)
        assert repair_notebook(nb2, sources) == []
        assert nb2 == nb


def test_a_pasted_copy_of_a_test_cell_is_removed(course_nbs):
    sources, _, honest = course_nbs
    nb = duplicated(honest, "test-neuron")
    notes = repair_notebook(nb, sources)
    assert len(notes) == 1 and "'test-neuron' appeared 2 times" in notes[0] and "removed" in notes[0]
    assert_valid(nb, sources)
    assert nb.cells[1:] == honest.cells  # exactly the honest notebook, after the note
    assert "test-neuron" in note_of(nb)


@pytest.mark.parametrize("where", ["top", "end"])
def test_the_copy_in_the_right_place_is_kept(course_nbs, where):
    sources, _, honest = course_nbs
    at = 0 if where == "top" else len(honest.cells)
    nb = duplicated(honest, "test-softmax", at=at, source="assert True  # edited")
    repair_notebook(nb, sources)
    assert_valid(nb, sources)
    assert nb.cells[1:] == honest.cells  # the copy out of place went, edited or not: test cells are the course's


def test_an_edited_copy_of_an_answer_cell_is_kept_as_ordinary_code(course_nbs):
    sources, _, honest = course_nbs
    mine = "def neuron(x, w, b):\n    return 0.5  # my first try"
    nb = duplicated(honest, "neuron", source=mine)
    notes = repair_notebook(nb, sources)
    assert_valid(nb, sources)
    i = index(nb, "neuron")
    assert nb.cells[i].source == honest.cells[index(honest, "neuron")].source  # the graded answer: the one in place
    assert nb.cells[i + 1].source == mine and "nbgrader" not in nb.cells[i + 1].metadata  # kept, not graded
    assert "kept as ordinary" in notes[0]


def test_an_identical_copy_of_an_answer_cell_is_removed(course_nbs):
    sources, _, honest = course_nbs
    nb = duplicated(honest, "softmax")
    repair_notebook(nb, sources)
    assert nb.cells[1:] == honest.cells


def test_the_copy_holding_the_students_work_wins_over_a_blank_one(course_nbs):
    sources, release, honest = course_nbs
    nb = copy.deepcopy(honest)
    blank = new_id(release.cells[index(release, "softmax")])
    nb.cells.insert(index(nb, "softmax"), blank)  # the untouched stub first, then the answer
    repair_notebook(nb, sources)
    assert_valid(nb, sources)
    assert nb.cells[index(nb, "softmax")].source == honest.cells[index(honest, "softmax")].source


def test_a_renamed_test_cell_gets_its_id_back(course_nbs):
    sources, _, honest = course_nbs
    nb = renamed(honest, "test-softmax", "test-softmax-mine")
    notes = repair_notebook(nb, sources)
    assert notes == [notes[0]] and "'test-softmax-mine'" in notes[0] and "set back to 'test-softmax'" in notes[0]
    assert_valid(nb, sources)
    assert nb.cells[1:] == honest.cells


def test_a_renamed_answer_cell_gets_its_id_back(course_nbs):
    sources, _, honest = course_nbs
    nb = renamed(honest, "neuron", "neuron-v2")
    repair_notebook(nb, sources)
    assert_valid(nb, sources)
    assert nb.cells[1:] == honest.cells


def test_a_renamed_test_cell_moved_elsewhere_is_replaced_by_the_source(course_nbs):
    sources, _, honest = course_nbs
    nb = renamed(honest, "test-neuron", "moved", move_to_end=True)
    notes = repair_notebook(nb, sources)
    assert_valid(nb, sources)
    assert any("'moved' is a copy of a test cell" in n for n in notes)
    assert any("'test-neuron' was missing" in n for n in notes)
    i = index(nb, "test-neuron")
    assert gid(nb.cells[i - 1]) == "neuron"  # put back in its place
    assert 'check("00.neuron", neuron, suite="hidden")' in nb.cells[i].source  # from the source: hidden tests too


def test_an_extra_graded_cell_is_kept_as_ordinary_code(course_nbs):
    sources, _, honest = course_nbs
    nb = with_extra(honest, "neuron")
    notes = repair_notebook(nb, sources)
    assert_valid(nb, sources)
    assert len(notes) == 1 and "'my-check'" in notes[0] and "not graded" in notes[0]
    i = index(nb, "neuron") + 1
    assert nb.cells[i].source == OWN_CODE and "nbgrader" not in nb.cells[i].metadata
    assert len(nb.cells) == len(honest.cells) + 2  # the note and the student's cell


def test_an_extra_copy_of_a_test_cell_under_a_new_id_is_removed(course_nbs):
    sources, _, honest = course_nbs
    test = honest.cells[index(honest, "test-neuron")].source
    nb = with_extra(honest, "test-neuron", source=test, grade_id="test-neuron-2", points=3)
    repair_notebook(nb, sources)
    assert_valid(nb, sources)
    assert nb.cells[1:] == honest.cells


def test_an_extra_cell_without_an_id_or_with_empty_metadata(course_nbs):
    sources, _, honest = course_nbs
    nb = copy.deepcopy(honest)
    nb.cells.insert(3, nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {}}))  # what DeduplicateIds leaves
    nb.cells.insert(3, nbformat.v4.new_code_cell("y = 2", metadata={"nbgrader": {"solution": True, "grade": False,
                                                                                 "locked": False}}))
    notes = repair_notebook(nb, sources)
    assert_valid(nb, sources)
    assert [c.source for c in nb.cells[4:6]] == ["y = 2", "x = 1"]
    assert len(notes) == 1 and "'(no id)'" in notes[0]


def test_a_deleted_grade_cell_is_put_back_after_its_source_neighbour(course_nbs):
    # nbgrader's own OverwriteCells.add_missing_cells fails here: the cell before it is a read-only text cell
    sources, _, honest = course_nbs
    nb = copy.deepcopy(honest)
    del nb.cells[index(nb, "written-softmax-shift")]
    notes = repair_notebook(nb, sources)
    assert_valid(nb, sources)
    assert notes == [notes[0]] and "'written-softmax-shift' was missing" in notes[0]
    i = index(nb, "written-softmax-shift")
    assert gid(nb.cells[i - 1]) == "part-d-text"
    assert nb.cells[i].metadata.nbgrader["points"] == 2 and nb.cells[i].metadata.nbgrader["solution"]


def test_a_test_cell_turned_into_an_answer_cell_is_a_test_again(course_nbs):
    sources, _, honest = course_nbs
    nb = copy.deepcopy(honest)
    meta = nb.cells[index(nb, "test-softmax")].metadata.nbgrader
    meta["solution"], meta["locked"], meta["schema_version"] = True, False, 1
    notes = repair_notebook(nb, sources)
    assert_valid(nb, sources)
    assert "role changed" in notes[0]
    assert nb.cells[1:] == honest.cells


def test_all_at_once(course_nbs):
    sources, _, honest = course_nbs
    nb = with_extra(renamed(duplicated(duplicated(honest, "test-neuron"), "test-choose-device", at=0),
                            "test-softmax", "t"), "softmax")
    notes = repair_notebook(nb, sources)
    assert len(notes) == 4
    assert_valid(nb, sources)


def test_the_sanitize_stage_repairs_with_the_gradebook(course_nbs, tmp_path, monkeypatch):
    """RepairCells reads the gradebook, then nbgrader's own sanitize steps accept the notebook."""
    from nbconvert.exporters.exporter import ResourcesDict
    from nbgrader.preprocessors import ComputeChecksums, SaveCells

    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    sources, release, honest = course_nbs
    stored, _ = ClearSolutions().preprocess(copy.deepcopy(nbformat.read(SOURCE, as_version=4)), {})
    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    from nbgrader.api import Gradebook

    with Gradebook(db) as gb:
        gb.add_assignment("a")
    res = ResourcesDict(nbgrader=dict(db_url=db, assignment="a", notebook="nb"))
    SaveCells().preprocess(ComputeChecksums().preprocess(stored, res)[0], res)  # what generate_assignment stores
    steps = sanitize_preprocessors()
    assert steps[0] is RepairCells
    deleted = copy.deepcopy(honest)
    del deleted.cells[index(deleted, "test-neuron")]
    cases = {"duplicated": duplicated(honest, "test-neuron"), "renamed": renamed(honest, "test-softmax", "x"),
             "extra": with_extra(honest, "neuron"), "deleted": deleted}
    for name, nb in cases.items():
        resources = ResourcesDict(nbgrader=dict(db_url=db, assignment="a", notebook="nb"))
        for step in steps:
            nb, resources = step().preprocess(nb, resources)  # nbgrader's steps raise if anything is left
        assert len(resources["autograder"]["repairs"]) == 1, name
        assert nb.cells[0].metadata["autograder"] == NOTE_MARK
        assert sorted(graded_ids(nb)) == sorted(s.name for s in sources if s.grade)


def test_the_course_configuration_runs_it_before_nbgraders_own_steps():
    from nbgrader.converters import Autograde
    from traitlets.config import Config

    from autograder.config import configure

    c = Config()
    configure(c, REPO)
    defaults = Autograde.class_traits()["sanitize_preprocessors"].default()
    assert c.Autograde.sanitize_preprocessors == [RepairCells] + list(defaults)


# ---------------------------------------------------------------------------
# end to end
# ---------------------------------------------------------------------------

# what each base answer earns unbroken (the same variants, and scores, as in tests/test_grading_e2e.py)
CLASS = {
    "honest": (None, [1, 3, 4]),
    "duplicated": ("neuron_relu", [1, 0, 4]),
    "renamed": ("softmax_no_shift", [1, 3, 2.54]),
    "extra": ("neuron_no_bias", [1, 0.85, 4]),
}
ENV = dict(os.environ, AUTOGRADER_CELL_TIMEOUT="15", AUTOGRADER_TIME_LIMIT="10", PYTHONUNBUFFERED="1",
           PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))


def _scores(root):
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE_ID) as gb:
        for student in gb.students:
            grades = {g.name: g.score for nb in gb.find_submission(ASSIGNMENT, student.id).notebooks
                      for g in nb.grades}
            out[student.id] = [grades[c] for c in CELLS]
    return out


@pytest.fixture(scope="module")
def broken_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("repair-course")
    shutil.copytree(REPO / "solutions", root / "solutions")
    write_secret(root, secret())  # the tests' fixed secret (tests/conftest.py): a course's own random one
    # would draw other hidden cases, on which a wrong answer may pass one by chance (neuron_relu does
    # when every large weighted sum comes out negative)
    subprocess.run([sys.executable, "-m", "autograder", "--root", str(root), "generate", ASSIGNMENT], env=ENV,
                   check=True, capture_output=True, timeout=300)
    release = nbformat.read(root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    source = nbformat.read(root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    base = {s: make_submission(release, source, variant) for s, (variant, _) in CLASS.items()}
    nbs = {"honest": base["honest"], "duplicated": duplicated(base["duplicated"], "test-neuron"),
           "renamed": renamed(base["renamed"], "test-softmax", "test-softmax-mine"),
           "extra": with_extra(base["extra"], "neuron")}
    for student, nb in nbs.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
    return root


@pytest.mark.grading
def test_broken_submissions_are_repaired_and_graded_by_the_cli_and_by_plain_nbgrader(broken_class, tmp_path):
    root = broken_class
    want = {s: expected for s, (_, expected) in CLASS.items()}
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "autograder", "--root", str(root), "grade", ASSIGNMENT,
                           "--jobs", "2", "--no-progress"], env=ENV, capture_output=True, text=True, timeout=900)
    cli_s = time.monotonic() - t0
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert "graded 4 of 4" in proc.stdout
    cli_scores = _scores(root)
    assert set(cli_scores) == set(want)
    wrong = {s: cli_scores[s] for s in want if cli_scores[s] != pytest.approx(want[s], abs=1e-9)}
    assert not wrong, f"scores {wrong}, expected {want}"

    for student in want:  # every graded notebook says what was repaired; the honest one has nothing to say
        nb = nbformat.read(root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
        noted = nb.cells[0].metadata.get("autograder") == NOTE_MARK
        assert noted == (student != "honest"), student
        if student == "extra":
            mine = [c for c in nb.cells if c.source == OWN_CODE]
            assert len(mine) == 1 and "nbgrader" not in mine[0].metadata  # the student's code is still there
            assert "my own check" in "".join(o.get("text", "") for o in mine[0].outputs)

    # plain nbgrader, in a fresh course folder that has the course's nbgrader_config.py
    plain = tmp_path / "plain"
    plain.mkdir()
    for part in ("solutions", "submitted"):
        shutil.copytree(root / part, plain / part)
    shutil.copy(REPO / "nbgrader_config.py", plain / "nbgrader_config.py")
    write_secret(plain, secret())  # the same hidden cases as the CLI's course
    env = dict(ENV, COURSE_ROOT=str(plain), AUTOGRADER_FAST_KERNELS="1")  # warm kernels: a shorter run
    t0 = time.monotonic()
    for cmd in (["generate_assignment", ASSIGNMENT], ["autograde", ASSIGNMENT]):
        proc = subprocess.run([sys.executable, "-m", "nbgrader", *cmd], cwd=plain, env=env, capture_output=True,
                              text=True, timeout=900)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]  # no abort, no failed student
    plain_s = time.monotonic() - t0
    log = proc.stdout + proc.stderr
    assert "[AutogradeApp | ERROR]" not in log
    assert log.count("Repaired notebook:") == 3
    for student in want:
        assert (plain / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").exists(), student
    assert _scores(plain) == cli_scores
    print(f"grading 4 notebooks: CLI --jobs 2 {cli_s:.1f} s, plain nbgrader {plain_s:.1f} s")
