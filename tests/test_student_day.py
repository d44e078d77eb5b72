"""The student's day without a browser: what Validate says, Run All, the workspace, backups.

The browser tests (tests/test_browser.py) drive the same things through JupyterLab;
these run the same checks through nbgrader's Validator and nbclient directly, so a
failure here points at the notebook or the grader, not at the browser.
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.autograder

REPO = Path(__file__).resolve().parents[1]
A = "00-setup"
MODEL = nbformat.read(REPO / "solutions" / A / f"{A}.ipynb", as_version=4)


def cli(root, *args, check=True):
    proc = subprocess.run([sys.executable, "-m", "autograder", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=600)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(REPO / "solutions", root / "solutions")
    shutil.copy(REPO / "nbgrader_config.py", root)
    cli(root, "generate", A)
    return root


def model_answer(grade_id: str) -> str:
    for cell in MODEL.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            body = re.sub(r"[ \t]*### BEGIN SOLUTION\n", "", cell.source)
            return re.sub(r"[ \t]*### END SOLUTION\n?", "", body)
    raise KeyError(grade_id)


def student_copy(course, tmp_path, answers: dict, name="work.ipynb") -> Path:
    """The release notebook with ``answers`` (grade_id -> source; "model" = the model answer)."""
    nb = nbformat.read(course / "release" / A / f"{A}.ipynb", as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = model_answer(gid) if answers[gid] == "model" else answers[gid]
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def validate(path: Path) -> dict:
    from nbgrader.validator import Validator

    return Validator().validate(str(path))


def failed_tasks(result: dict) -> set:
    """The tasks named in the cells Validate reports as failing ("written" for the written answer)."""
    names = set()
    for cell in result.get("failed", []):
        found = re.findall(r'check\("([\w.]+)"', cell["source"])
        names |= set(found) if found else {"written"}
    return names


WRONG_NEURON = "def neuron(x, w, b):\n    return np.maximum(0, x @ w + b)  # ReLU, not the sigmoid\n"
RAISING_NEURON = "def neuron(x, w, b):\n    raise ValueError('shapes do not match')\n"
WRITTEN = "The factor $e^{-m}$ cancels; 1000 overflows to inf, and -1000 underflows to 0/0."


def test_validate_flags_the_untouched_release_on_every_part(course, tmp_path):
    result = validate(student_copy(course, tmp_path, {}))
    assert failed_tasks(result) == {"00.device", "00.neuron", "00.softmax", "written"}
    for cell in result["failed"]:
        if "check(" in cell["source"]:
            assert "not written yet" in cell["error"], cell["error"]


def test_validate_names_exactly_the_failing_part(course, tmp_path):
    answers = {"choose-device": "model", "neuron": WRONG_NEURON, "softmax": "model",
               "written-softmax-shift": WRITTEN}
    result = validate(student_copy(course, tmp_path, answers))
    assert failed_tasks(result) == {"00.neuron"}
    (failed,) = result["failed"]
    assert failed["error"].startswith("neuron: 0/2 cases passed"), failed["error"]


def test_validate_passes_a_correct_notebook(course, tmp_path):
    answers = {"choose-device": "model", "neuron": "model", "softmax": "model", "written-softmax-shift": WRITTEN}
    result = validate(student_copy(course, tmp_path, answers))
    assert not result.get("failed") and not result.get("changed"), result


def run_all(path: Path):
    """Run every cell like JupyterLab's Run All: stop at the first cell that raises."""
    from conftest import execute_notebook

    return execute_notebook(nbformat.read(path, as_version=4), path.parent)


@pytest.mark.parametrize("neuron", [WRONG_NEURON, RAISING_NEURON, "def neuron(x, w, b):\n    return 1 / 0\n"])
def test_run_all_reaches_the_end_whatever_the_answer_raises(course, tmp_path, neuron):
    answers = {"choose-device": "def choose_device(preference='auto'):\n    raise KeyError(preference)\n",
               "neuron": neuron, "softmax": "def softmax(x, axis=-1):\n    return x.nope()\n"}
    nb = run_all(student_copy(course, tmp_path, answers))  # raises CellExecutionError otherwise
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "Run All stopped before the end"
    text = {c.metadata["nbgrader"]["grade_id"]: "".join(o.get("text", "") for o in c.outputs) for c in code}
    assert "fix Part A" in text["env-report"]
    assert "fix Part C" in text["experiment"]
    if "raise" in neuron or "1 / 0" in neuron:
        assert "fix Part B" in text["neuron-plot"]


def test_a_check_prints_once_failures_on_stderr(course, tmp_path):
    answers = {"choose-device": "model", "neuron": WRONG_NEURON, "softmax": "model"}
    nb = run_all(student_copy(course, tmp_path, answers))
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        kinds = [(o.output_type, o.get("name")) for o in cell.outputs]
        # one report, no "Out[n]" line repeating it
        assert ("execute_result", None) not in kinds, cell.outputs
        stream = "stderr" if meta["grade_id"] == "test-neuron" else "stdout"
        assert kinds == [("stream", stream)], (meta["grade_id"], kinds)


# --------------------------------------------------------------------------------------
# the workspace, generate and backups
# --------------------------------------------------------------------------------------

def test_workspace_is_filled_once_and_never_overwritten(course):
    from autograder.doors import MARKER, fill_workspace

    ws, copied = fill_workspace(course, course / "ws-test")
    mine = ws / A / f"{A}.ipynb"
    assert copied == [mine] and (ws / MARKER).exists()
    mine.write_text(mine.read_text().replace("YOUR ANSWER HERE", "my work in progress"))
    before = mine.read_bytes()
    cli(course, "generate", A)  # an instructor regenerates the release
    _, copied = fill_workspace(course, course / "ws-test")
    assert copied == [] and mine.read_bytes() == before


def test_generate_refuses_a_workspace_and_keeps_a_backup_of_a_changed_release(course):
    from autograder.doors import MARKER

    release = course / "release" / A / f"{A}.ipynb"
    release.write_text(release.read_text().replace("YOUR ANSWER HERE", "edited in place"))
    proc = cli(course, "generate", A)
    kept = re.search(r"kept in (\S+)", proc.stdout)
    assert kept, proc.stdout
    saved = Path(kept.group(1)) / f"{A}.ipynb"
    assert "edited in place" in saved.read_text() and "edited in place" not in release.read_text()
    # an unchanged release is regenerated without a backup
    assert "kept in" not in cli(course, "generate", A).stdout
    (course / "release" / A / MARKER).write_text("")
    proc = cli(course, "generate", A, check=False)
    assert proc.returncode == 2 and "student's workspace" in proc.stderr
    (course / "release" / A / MARKER).unlink()


def test_collect_keeps_the_submission_it_replaces(course, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    first = student_copy(course, inbox, {"neuron": WRONG_NEURON}, name="bo.ipynb")
    cli(course, "collect", A, str(inbox))
    student_copy(course, inbox, {"neuron": "model"}, name="bo.ipynb")
    proc = cli(course, "collect", A, str(inbox))
    kept = re.search(r"old one is kept in (\S+)", proc.stdout)
    assert kept, proc.stdout
    assert "np.maximum(0" in (course / kept.group(1)).read_text()
    assert "np.maximum(0" not in (course / "submitted" / "bo" / A / f"{A}.ipynb").read_text()
    del first


def test_student_door_shows_only_the_workspace(course):
    from autograder.doors import STUDENT_OFF, door_command

    argv, env, cwd = door_command(course, "student", port=8999, browser=False)
    assert cwd == course / "workspace"
    assert f"--ServerApp.root_dir={cwd}" in argv and "--no-browser" in argv
    conf = Path(env["JUPYTER_CONFIG_DIR"])
    page = json.loads((conf / "labconfig" / "page_config.json").read_text())
    assert set(page["disabledExtensions"]) == set(STUDENT_OFF["plugins"])
    assert "@jupyter/nbgrader:formgrader" in page["disabledExtensions"]
    server = json.loads((conf / "jupyter_server_config.json").read_text())
    assert server["ServerApp"]["jpserver_extensions"]["nbgrader.server_extensions.formgrader"] is False
    assert "nbgrader.server_extensions.validate_assignment" not in server["ServerApp"]["jpserver_extensions"]


# --------------------------------------------------------------------------------------
# hints match the cases they are shown for
# --------------------------------------------------------------------------------------

def _arrays(case):
    """The case's array arguments in order; a list of arrays (a network's weights) gives each."""
    import numpy as np

    out = []
    for a in case.args:
        if isinstance(a, np.ndarray):
            out.append(a)
        elif isinstance(a, (list, tuple)):
            try:
                out.append(np.asarray(a, dtype=float))
            except (ValueError, TypeError):  # arrays of different shapes
                out.extend(np.asarray(x) for x in a if isinstance(x, np.ndarray))
    return out


def _largest(case):
    return max((float(abs(a).max()) for a in _arrays(case) if a.size and a.dtype.kind == "f"), default=0.0)


def _first_ndim(case):
    arrays = _arrays(case)
    return arrays[0].ndim if arrays else 0


#: what a tag promises about its case; a new tag needs its property here
TAG_PROPERTIES = {
    "dtype": ("a dtype other than float64", lambda c: c.dtype != "float64"),
    "torch": ("torch tensors", lambda c: c.backend == "torch"),
    "large": ("inputs of magnitude 100 or more", lambda c: _largest(c) >= 100),
    "batch": ("a batch: a 2-D or larger first input", lambda c: _first_ndim(c) >= 2),
    "axis": ("an input with an axis to choose", lambda c: _first_ndim(c) >= 2),
    "cpu": ("the preference 'cpu'", lambda c: c.args == ("cpu",)),
    "auto": ("the preference 'auto' or the default", lambda c: c.args in ((), ("auto",))),
    "cuda": ("the preference 'cuda'", lambda c: c.args == ("cuda",)),
    "unknown": ("a preference that does not exist", lambda c: c.args and c.args[0] not in ("cpu", "cuda", "auto")),
}
#: a case with this property must carry the tag, so a failure gets the hint that addresses it
REQUIRED = {"dtype": lambda c: c.dtype != "float64", "torch": lambda c: c.backend == "torch"}


def _course_tasks():
    from autograder.tasks import all_tasks

    return {name: t for name, t in all_tasks().items() if "tests" not in Path(t.origin).parts}


@pytest.mark.parametrize("name", sorted(_course_tasks()))
def test_every_case_tag_names_a_hint_about_that_case(name):
    task = _course_tasks()[name]
    for case in task.cases("visible") + task.cases("hidden"):
        for tag in case.tags:
            assert tag in task.hints, f"{name}, case {case.name!r}: tag {tag!r} has no hint"
            assert tag in TAG_PROPERTIES, f"{name}: tag {tag!r} is new: say in TAG_PROPERTIES what it promises"
            what, holds = TAG_PROPERTIES[tag]
            assert holds(case), f"{name}, case {case.name!r}: tagged {tag!r}, but it is not {what}"
        for tag, has in REQUIRED.items():
            if has(case):
                assert tag in case.tags, f"{name}, case {case.name!r}: has the {tag} property but not the tag, " \
                                         f"so its failure would get another part's hint"


def test_the_dtype_hint_is_given_for_a_dtype_mistake():
    import numpy as np

    from autograder.judge import judge_live

    def neuron_float64(x, w, b):  # right values, but float64 even for a float32 batch
        z = x @ w + b
        if not isinstance(z, (np.ndarray, np.generic, float)):
            return z.sigmoid()  # a tensor: right
        e = np.exp(-np.abs(np.asarray(z, dtype=np.float64)))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))

    verdict = judge_live("00.neuron", [neuron_float64], "all")
    text = verdict.report()
    assert "FAIL [hidden] float32 batch" in text and "keep the input's dtype" in text, text
    assert "compute X @ w" not in text, text


# --------------------------------------------------------------------------------------
# the instructor's output: exact grades, pending hand grading, readable feedback
# --------------------------------------------------------------------------------------

@pytest.mark.grading
def test_pending_hand_grading_is_marked_until_graded(course, tmp_path):
    import csv

    from nbgrader.api import Gradebook

    from autograder.config import COURSE_ID

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    student_copy(course, inbox, {"choose-device": "model", "neuron": WRONG_NEURON, "softmax": "model",
                                 "written-softmax-shift": WRITTEN}, name="cy.ipynb")
    cli(course, "collect", A, str(inbox))
    graded = cli(course, "grade", A, "--student", "cy", "--jobs", "1", "--no-progress")
    assert "SAWarning" not in graded.stdout + graded.stderr
    log = re.search(r"library warnings of this run: (\S+)", graded.stdout)
    assert log and Path(log.group(1)).exists(), graded.stdout
    assert "wait for hand grading (written-softmax-shift)" in graded.stdout

    def row():
        cli(course, "export", "--to", str(tmp_path / "g.csv"))
        return {r["student_id"]: r for r in csv.DictReader((tmp_path / "g.csv").open())}["cy"]

    assert row()["status"] == "pending manual grading" and row()["pending"] == "written-softmax-shift"
    held = cli(course, "feedback", A, "--student", "cy", "--only-complete")
    assert "held back for 1 student(s)" in held.stdout and "cy: written-softmax-shift" in held.stdout
    page = course / "feedback" / "cy" / A / f"{A}.html"
    assert not page.exists()
    cli(course, "feedback", A, "--student", "cy")
    html = page.read_text()
    assert "Test cell" not in html
    assert "Part B: an artificial neuron - 00.neuron" in html and "Part D: why the shift is safe - written answer" in html
    assert '<span class="pending">pending</span> / 2' in html and "Score so far" in html
    assert "white-space: pre-wrap" in html
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?://", html)

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gb:
        grade = gb.find_grade("written-softmax-shift", A, A, "cy")
        grade.manual_score = 1.5
        grade.needs_manual_grade = False  # what the Formgrader does when a score is saved
        comment = gb.find_comment("written-softmax-shift", A, A, "cy")
        comment.manual_comment = "Good: name the underflow case too."
        gb.db.commit()
    assert row()["status"] == "final" and row()["score"] == "6.5"  # 1 + 0 + 4 + 1.5, no float noise
    cli(course, "feedback", A, "--student", "cy", "--only-complete")
    html = page.read_text()
    assert 'class="pending"' not in html and "1.5 / 2" in html and "Score so far" not in html
    assert "Good: name the underflow case too." in html


def test_points_are_written_without_float_noise():
    from autograder.cli import _points

    assert [_points(x) for x in (7.140000000000001, 8.0, 0.0, 2.545, None, -0.0)] == \
        ["7.14", "8", "0", "2.54" if round(2.545, 2) == 2.54 else "2.55", "0", "0"]


def test_feedback_labels_and_warning_clean_up():
    from autograder.feedback import part_labels, strip_warnings

    labels = part_labels([dict(c) for c in MODEL.cells])
    assert labels["test-softmax"] == "Part C: a softmax that never overflows - 00.softmax"
    assert labels["written-softmax-shift"] == "Part D: why the shift is safe - written answer"
    assert labels["neuron"] == "Part B: an artificial neuron - your answer"
    text = ("/x/numpy/lib/_x.py:12: DeprecationWarning: `trapz` is deprecated\n  return np.trapz(y)\n"
            "neuron: 0/2 cases passed\n")
    assert strip_warnings(text) == "neuron: 0/2 cases passed\n"


@pytest.mark.grading
def test_export_keeps_the_csv_it_replaces(course, tmp_path):
    dest = tmp_path / "grades.csv"
    dest.write_text("my own notes\n")
    proc = cli(course, "export", "--to", str(dest))
    kept = re.search(r"it is kept in (\S+)", proc.stdout)
    assert kept and Path(kept.group(1)).read_text() == "my own notes\n", proc.stdout
    assert "kept in" not in cli(course, "export", "--to", str(dest)).stdout  # unchanged: no copy
