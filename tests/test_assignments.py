"""The assignments' student versions: no solutions or hidden tests, and a blank
copy that runs with no error but the stubs' NotImplementedError."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.autograder

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENTS = sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir())
#: every source notebook whose checks must name tasks: the course's and the test assignment's
SOURCE_NOTEBOOKS = sorted((REPO / "solutions").glob("*/*.ipynb")) + [REPO / "tests/kinds/99-kinds/99-kinds.ipynb"]


def test_every_check_names_a_task_and_every_task_is_checked():
    """A check() in a source notebook that names no task fails here, not at grading time;
    so does a task that no notebook checks, or one checked without its hidden cases."""
    from autograder.nbgrader_ext import parse_checks
    from autograder.tasks import all_tasks, get_task

    checked = {}
    for path in SOURCE_NOTEBOOKS:
        chapter = path.parent.name.split("-")[0]
        for cell in nbformat.read(path, as_version=4).cells:
            calls = parse_checks(cell.source) if cell.cell_type == "code" else []
            meta = cell.metadata.get("nbgrader", {})
            if "check(" in cell.source and cell.cell_type == "code" and meta.get("grade"):
                assert calls, f"{path.name}: a test cell calls check() in a form the grader cannot read"
            for task, names, suite in calls:
                assert meta.get("grade") and not meta.get("solution"), f"{path.name}: check({task!r}) outside a test cell"
                spec = get_task(task)  # KeyError names the unknown task
                assert spec.chapter == chapter, f"{path.name} checks {task}, a task of chapter {spec.chapter}"
                assert len(names) == len(spec.uses), f"{path.name}: check({task!r}) passes {names}, needs {spec.uses}"
                checked.setdefault(task, set()).add(suite)
    tasks = all_tasks()
    never = sorted(set(tasks) - set(checked))
    assert not never, f"tasks no notebook checks: {never}"
    for name, suites in checked.items():
        has_hidden = bool(tasks[name].cases("hidden"))
        assert "visible" in suites and ("hidden" in suites or "all" in suites or not has_hidden), (name, suites)


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    root = tmp_path_factory.mktemp("release")
    shutil.copytree(REPO / "solutions", root / "solutions")
    for a in ASSIGNMENTS:
        proc = subprocess.run([sys.executable, "-m", "autograder", "--root", str(root), "generate", a],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    return root


def _solution_lines(nb):
    """Substantial lines that sit inside solution or hidden-test regions of the source."""
    lines = set()
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            if re.search(r"### BEGIN (SOLUTION|HIDDEN TESTS)", line):
                inside = True
                continue
            if re.search(r"### END (SOLUTION|HIDDEN TESTS)", line):
                inside = False
                continue
            if inside and len(line.strip()) > 12:
                lines.add(line.strip())
    return lines


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_holds_no_solution_and_no_hidden_test(released, assignment):
    source = nbformat.read(REPO / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    release_path = released / "release" / assignment / f"{assignment}.ipynb"
    text = release_path.read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", 'suite=\\"hidden\\"', "Rubric"):
        assert marker not in text, marker
    secret = _solution_lines(source)
    assert secret, "the source notebook should have solutions to hide"
    release = nbformat.read(release_path, as_version=4)
    shown = {line.strip() for cell in release.cells for line in cell.source.splitlines()}
    leaked = sorted(secret & shown)
    assert not leaked, f"solution lines in the student version: {leaked[:3]}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_blank_release_runs_with_only_the_stubs_errors(released, assignment):
    from conftest import execute_notebook

    path = released / "release" / assignment / f"{assignment}.ipynb"
    nb = execute_notebook(nbformat.read(path, as_version=4), path.parent, allow_errors=True)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.output_type == "error"]
    assert all(e.ename == "NotImplementedError" for e in errors), [e.ename for e in errors]
    # stderr holds the failing checks' reports (what makes Validate flag them), nothing else
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        stderr = "".join(o.get("text", "") for o in cell.get("outputs", [])
                         if o.output_type == "stream" and o.name == "stderr")
        if cell.metadata.get("nbgrader", {}).get("grade"):
            assert re.match(r"\w+: 0/\d+ cases passed", stderr), stderr[:300]
        else:
            assert not stderr, stderr[:300]
    reports = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", [])
                      if o.output_type == "stream")
    assert "NotImplementedError" in reports and "cases passed" in reports


def _readme_review_rows():
    """(assignment, graded name, points) for each entry of the README's review-question table."""
    text = (REPO / "README.md").read_text()
    start = text.index("| review question | assignment | part | graded | points |")
    rows = []
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        _, _, assignment, _, graded, points, _ = [c.strip() for c in line.split("|")]
        names = re.findall(r"`([\w.-]+)`", graded)
        values = [float(p) for p in points.split("+")]
        assert len(names) == len(values), line
        rows += [(assignment.strip("`"), n, v) for n, v in zip(names, values)]
    return rows


def test_the_readme_maps_every_review_question_task_to_its_notebook_and_points():
    """Every graded part of chapters 01-04 is in the README's table with its notebook's points,
    and every entry of the table is a graded part of that notebook."""
    from autograder.nbgrader_ext import parse_checks

    graded = {}
    for path in (REPO / "solutions").glob("*/*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if not meta.get("grade"):
                continue
            calls = parse_checks(cell.source) if cell.cell_type == "code" else []
            name = calls[0][0] if calls else meta["grade_id"]
            graded[(path.parent.name, name)] = float(meta["points"])
    rows = _readme_review_rows()
    table = {(a, n): p for a, n, p in rows}
    for (assignment, name), points in table.items():
        assert graded.get((assignment, name)) == points, f"README: {assignment} {name} {points} points"
    chapters = {a for a, _ in graded if a[:2] in ("01", "02", "03", "04")}
    assert len(chapters) == 4
    missing = sorted(k for k in graded if k[0] in chapters and k not in table)
    assert not missing, f"graded parts missing from the README's table: {missing}"


def test_every_written_answer_has_a_rubric_the_grading_guide_prints(tmp_path):
    """Hand-graded cells hold a model answer and a rubric (inside the solution region, which the
    release drops: see test_release_holds_no_solution_and_no_hidden_test); `rubrics` prints them."""
    written = []
    for path in sorted((REPO / "solutions").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and cell.cell_type == "markdown":
                body = cell.source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
                assert "Model answer" in body and f"Rubric ({meta['points']:g} points)" in body, meta["grade_id"]
                written.append((path.parent.name, meta["grade_id"]))
    assert len(written) >= 5
    out = tmp_path / "guide.md"
    proc = subprocess.run([sys.executable, "-m", "autograder", "--root", str(REPO), "rubrics", "--to", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    guide = out.read_text()
    for assignment, grade_id in written:
        assert f"## {assignment}" in guide and f"`{grade_id}`" in guide
    assert guide.count("Rubric (") == len(written) and "BEGIN SOLUTION" not in guide
    proc = subprocess.run([sys.executable, "-m", "autograder", "--root", str(REPO), "rubrics", "07-nope"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "no assignment '07-nope'" in proc.stderr
