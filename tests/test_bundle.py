"""The student bundle: everything a student gets, and nothing they must not.

Builds the bundle from a copy of the course with a known secret, then reads every
file (the wheel's members too) for model answers, rubrics, hidden tests, hidden
cases and the secret; and installs it into a fresh virtualenv, where the release
notebook's visible checks run on the model answers and pass.
"""

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.autograder

REPO = Path(__file__).resolve().parents[1]
A = "00-setup"
SECRET = bytes(range(7, 39))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    from autograder.bundle import build_bundle
    from autograder.secret import write_secret

    root = tmp_path_factory.mktemp("course")
    shutil.copytree(REPO / "solutions", root / "solutions")
    shutil.copy(REPO / "nbgrader_config.py", root)
    write_secret(root, SECRET)
    return root, build_bundle(root)


def every_file(folder: Path):
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            yield str(path.relative_to(folder)), data
            if path.suffix in (".whl", ".zip"):
                with zipfile.ZipFile(path) as zf:
                    for member in zf.namelist():
                        yield f"{path.name}!{member}", zf.read(member)


def model_lines():
    """Substantial lines inside the solution regions of the source notebooks."""
    lines = set()
    for path in (REPO / "solutions").glob("*/*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            inside = False
            for line in cell.source.splitlines():
                if "### BEGIN SOLUTION" in line:
                    inside = True
                elif "### END SOLUTION" in line:
                    inside = False
                elif inside and len(line.strip()) > 15:
                    lines.add(line.strip())
    return lines


def test_the_bundle_holds_the_notebooks_the_packages_and_a_readme(bundle):
    root, dest = bundle
    notebook = dest / "notebooks" / A / f"{A}.ipynb"
    assert notebook.is_file() and (dest / "README.md").is_file()
    (wheel,) = (dest / "wheels").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "autograder/checks.py" in names and "course/activations.py" in names
    assert "autograder/tasks/ch00_setup.py" in names
    text = notebook.read_text()
    assert 'check(\\"00.softmax\\", softmax)' in text  # the visible checks stay
    assert (root / "student-bundle.zip").is_file()
    assert not (root / "release").exists()  # made in a scratch course: the course's release/ is untouched


def test_nothing_secret_in_any_file(bundle):
    from autograder.bundle import audit_bundle, hidden_case_names

    root, dest = bundle
    assert audit_bundle(dest, root / ".autograder" / "secret") == []
    hidden = hidden_case_names(sorted((REPO / "autograder" / "tasks").glob("ch*.py")))
    assert {"float32 batch", "unknown preference 'gpu'", "very negative values (-1e4)"} <= hidden
    answers = model_lines()
    assert any("x.max(axis=axis, keepdims=True)" in line for line in answers)
    for name, data in every_file(dest):
        text = data.decode("utf-8", errors="replace")
        for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "Rubric (2 points)", "Model answer"):
            assert marker not in text, (name, marker)
        assert SECRET.hex() not in text and SECRET not in data, name
        if name.endswith((".py", ".ipynb")):
            for case in hidden:
                assert case not in text, (name, case)
        if name.endswith(".ipynb"):  # (the course library is the public reference: its code is no leak)
            leaked = [line for line in answers if line in text]
            assert not leaked, (name, leaked[:3])
        if name.endswith(".ipynb") or "autograder/tasks/ch" in name:
            assert 'suite="hidden"' not in text and 'suite=\\"hidden\\"' not in text, name
            assert "make_hidden=" not in text, name


def test_the_stripper_removes_both_kinds_of_hidden_cases():
    from autograder.bundle import strip_hidden_cases

    source = '''
from autograder.tasks import Case, Task

def _cases():
    return [
        Case("visible one", (1,)),
        Case("fixed hidden", (2,), suite="hidden", raises=ValueError),
    ]

def _hidden(rng):
    return [Case("drawn hidden", (rng.normal(),))]

TASKS = [Task(name="t", uses=("f",), make_cases=_cases, make_hidden=_hidden, reference=abs)]
'''
    out = strip_hidden_cases(source)
    assert "visible one" in out
    for gone in ("fixed hidden", "drawn hidden", "_hidden", "make_hidden", "suite"):
        assert gone not in out, gone
    namespace = {}
    exec(compile(out, "<stripped>", "exec"), namespace)  # still a valid task module
    (task,) = namespace["TASKS"]
    assert [c.name for c in task.cases("visible")] == ["visible one"] and task.make_hidden is None


def test_the_stripper_removes_a_factory_and_the_helpers_only_hidden_cases_used():
    from autograder.bundle import strip_hidden_cases

    source = '''
from autograder.tasks import Case, Task

def _shared(name, x):
    return Case(name, (x,))

def _only_hidden(rng, label):
    return _shared("drawn " + label, rng.normal())

def _factory(label):
    def hidden(rng):
        return [_only_hidden(rng, label)]
    return hidden

def _cases():
    return [_shared("visible one", 1.0)]

TASKS = [Task(name="t", uses=("f",), make_cases=_cases, make_hidden=_factory("hidden one"), reference=abs)]
'''
    out = strip_hidden_cases(source)
    assert "_shared" in out and "visible one" in out  # the visible cases still use it
    for gone in ("_only_hidden", "_factory", "hidden one", "drawn", "make_hidden"):
        assert gone not in out, gone
    namespace = {}
    exec(compile(out, "<stripped>", "exec"), namespace)
    assert namespace["TASKS"][0].make_hidden is None


@pytest.mark.parametrize("source, why", [
    ('from autograder.tasks import Case\nHIDDEN = Case("h", (1,), suite="hidden")\n', "cannot remove"),
    ('from autograder.tasks import Task\nTASKS = [Task(name="t", uses=("f",), make_cases=list, '
     'make_hidden=lambda rng: [])]\n', "module-level function"),
    ('def _h(rng):\n    return []\nTASKS = [Task(name="t", make_hidden=_h)]\nAGAIN = _h\n', "used elsewhere"),
    ('def _h(rng):\n    return []\ndef _task(hidden):\n    return Task(name="t", make_hidden=hidden)\n'
     'TASKS = [_task(_h)]\n', "names no module-level function"),
])
def test_the_stripper_refuses_a_hidden_case_it_cannot_remove(source, why):
    from autograder.bundle import BundleError, strip_hidden_cases

    with pytest.raises(BundleError, match=why):
        strip_hidden_cases(source, "ch99_demo.py")


def test_bundle_command_and_refusals(bundle, tmp_path):
    root, _ = bundle
    proc = subprocess.run([sys.executable, "-m", "autograder", "--root", str(root), "bundle", "--to",
                           str(tmp_path / "out"), A], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "student bundle written to" in proc.stdout and (tmp_path / "out" / "notebooks" / A).is_dir()
    proc = subprocess.run([sys.executable, "-m", "autograder", "--root", str(root), "bundle", "99-nope"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "no assignment '99-nope'" in proc.stderr


def _model_answer(grade_id):
    nb = nbformat.read(REPO / "solutions" / A / f"{A}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return re.sub(r"[ \t]*### (BEGIN|END) SOLUTION\n?", "", cell.source)
    raise KeyError(grade_id)


@pytest.mark.grading
def test_the_bundle_installs_in_a_fresh_virtualenv_and_its_checks_run(bundle, tmp_path):
    _, dest = bundle
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "AUTOGRADER_SECRET_FILE",
                                                            "AUTOGRADER_TASKS")}
    for args in (["torch==2.13.0"], [str(next((dest / "wheels").glob("*.whl")))]):
        proc = subprocess.run(pip + args, capture_output=True, text=True, timeout=900, env=env)
        assert proc.returncode == 0, f"pip install {args} failed (a package registry is needed):\n{proc.stderr[-2000:]}"
    work = tmp_path / "student"
    shutil.copytree(dest / "notebooks", work)
    path = work / A / f"{A}.ipynb"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in ("choose-device", "neuron", "softmax"):
            cell.source = _model_answer(gid)
    nbformat.write(nb, path)
    python = str(venv / "bin" / "python")
    run = subprocess.run([python, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--stdout",
                          "--ExecutePreprocessor.kernel_name=python3", str(path)],
                         capture_output=True, text=True, timeout=600, cwd=work, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    done = nbformat.reads(run.stdout, as_version=4)
    reports = {c.metadata["nbgrader"]["grade_id"]: c.outputs for c in done.cells
               if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}
    for gid in ("test-choose-device", "test-neuron", "test-softmax"):
        text = "".join(o.get("text", "") for o in reports[gid])
        assert re.search(r"(\d+)/\1 cases passed", text), (gid, text)
        assert all(o.get("name") != "stderr" for o in reports[gid]), (gid, reports[gid])
    probe = ("import inspect, autograder.tasks as t, autograder.tasks.ch00_setup as m\n"
             "assert 'make_hidden=' not in inspect.getsource(m)\n"
             "assert t.get_task('00.neuron').make_hidden is None\n"
             "assert [c.name for c in t.get_task('00.device').cases('all')] == "
             "[c.name for c in t.get_task('00.device').cases('visible')]\n"
             "import autograder, course; print(autograder.__file__)\n")
    proc = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=120, cwd=work, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert str(venv) in proc.stdout  # the bundle's package, not the repository's
    # an instructor's command in the student's installation says what it is, without a traceback
    proc = subprocess.run([python, "-m", "autograder", "--root", str(work), "similarity", A],
                          capture_output=True, text=True, timeout=120, cwd=work, env=env)
    assert proc.returncode == 2 and "instructor's command" in proc.stderr and "Traceback" not in proc.stderr, \
        proc.stderr[-2000:]
