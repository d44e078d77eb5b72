"""Hidden cases come from the course's secret: a student's kernel, without it, runs the visible
cases only and cannot compute the hidden inputs; feedback on hidden cases gives no magnitudes."""

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder import compare as C
from autograder import tasks as T
from autograder.judge import judge_live
from autograder.sandbox import Limits
from autograder.secret import ENV, read_secret, secret_path, write_secret
from autograder.tasks import Case, HiddenCasesUnavailable, Task, get_task
from autograder.wire import make_packer, unpack

pytestmark = pytest.mark.autograder

REPO = Path(__file__).resolve().parents[1]
FAST = Limits(seconds=10, memory_mb=1024)


@pytest.fixture
def secret_kept(monkeypatch):
    """Tests may change the process's secret: the tests' own comes back afterwards."""
    saved = T._SECRET
    monkeypatch.setenv(ENV, os.environ.get(ENV, ""))
    yield
    T.set_secret(saved)


@pytest.fixture
def no_secret(secret_kept, monkeypatch):
    """A process without the course's secret, as a student's kernel is."""
    T.set_secret(None)
    monkeypatch.delenv(ENV)


def _data(cases) -> list:
    """The numbers of the cases' inputs, as bytes (to compare two draws)."""
    out = []

    def walk(v):
        if isinstance(v, np.ndarray):
            out.append(np.ascontiguousarray(v).tobytes())
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for k in sorted(v):
                walk(v[k])
        elif isinstance(v, (int, float)):
            out.append(repr(v).encode())

    for case in cases:
        out.append(case.name.encode())
        walk(case.args)
        walk(case.kwargs)
        walk(case.secret)
    return out


def _randomly_hidden() -> list:
    return [t for q, t in sorted(T.all_tasks().items()) if t.make_hidden is not None]


# ---------------------------------------------------------------------------
# without the secret
# ---------------------------------------------------------------------------

def test_without_the_secret_hidden_cases_are_unavailable_and_visible_ones_work(no_secret):
    assert T.secret() is None
    for task in _randomly_hidden():
        visible = task.cases("visible")
        assert visible and all(c.suite == "visible" for c in visible), task.qualname
        for suite in ("hidden", "all"):
            with pytest.raises(HiddenCasesUnavailable, match="hidden cases are only run by the grader"):
                task.cases(suite)
    assert issubclass(HiddenCasesUnavailable, RuntimeError)
    assert {"00.neuron", "00.softmax", "99.mse", "99.value", "99.fit_logistic"} <= \
        {t.qualname for t in _randomly_hidden()}


def test_a_task_whose_hidden_cases_hold_nothing_to_compute_needs_no_secret(no_secret):
    fixed = Task(name="t", uses=("f",), make_cases=lambda: [Case("a"), Case("b", raises=ValueError, suite="hidden")])
    assert [c.name for c in fixed.cases("hidden")] == ["b"] and len(fixed.cases()) == 2
    assert [c.name for c in get_task("00.device").cases("hidden")]  # the device task's are fixed too


def test_an_unreadable_secret_file_says_so(secret_kept, monkeypatch, tmp_path):
    T.set_secret(None)
    monkeypatch.setenv(ENV, str(tmp_path / "missing"))
    with pytest.raises(HiddenCasesUnavailable, match="cannot be read from .*missing"):
        get_task("00.softmax").cases("hidden")
    (tmp_path / "bad").write_text("not hex\n")
    monkeypatch.setenv(ENV, str(tmp_path / "bad"))
    with pytest.raises(HiddenCasesUnavailable, match="does not hold a course secret"):
        get_task("00.softmax").cases("all")


# ---------------------------------------------------------------------------
# with a secret
# ---------------------------------------------------------------------------

def test_hidden_inputs_depend_on_the_secret_and_only_on_it(secret_kept, monkeypatch, tmp_path):
    tasks = _randomly_hidden()

    def draw(key):
        T.set_secret(key)
        return {t.qualname: (_data(t.cases("visible")), _data(t.cases("hidden"))) for t in tasks}

    a, b = draw(b"\x01" * 32), draw(b"\x02" * 32)
    for name in a:
        assert a[name][0] == b[name][0], f"{name}: visible cases must not depend on the secret"
        assert a[name][1] != b[name][1], f"{name}: hidden inputs must change with the secret"
    assert draw(b"\x01" * 32) == a  # the same secret: the same cases, every time
    # read from the file AUTOGRADER_SECRET_FILE names, as grading processes do
    T.set_secret(None)
    monkeypatch.setenv(ENV, str(write_secret(tmp_path, b"\x02" * 32)))
    assert {t.qualname: (_data(t.cases("visible")), _data(t.cases("hidden"))) for t in tasks} == b
    # two tasks sharing a case builder still get different hidden data (the task's name is in the seed)
    assert _data(get_task("99.linear_forward").cases("hidden")) != _data(get_task("99.linear_backward").cases("hidden"))


def test_make_hidden_cases_are_hidden_and_follow_the_listed_ones(secret_kept):
    T.set_secret(b"k" * 32)
    task = Task(name="t", uses=("f",), make_cases=lambda: [Case("a"), Case("e", raises=ValueError, suite="hidden")],
                make_hidden=lambda rng: [Case("r", (rng.normal(size=3),))])
    assert [(c.name, c.suite) for c in task.cases()] == [("a", "visible"), ("e", "hidden"), ("r", "hidden")]
    assert [c.name for c in task.cases("hidden")] == ["e", "r"] and [c.name for c in task.cases("visible")] == ["a"]
    bad = Task(name="u", uses=("f",), make_cases=list, make_hidden=lambda rng: [("not", "a case")])
    with pytest.raises(TypeError, match="make_hidden returned a tuple"):
        bad.cases("hidden")


CHILD_SOFTMAX = """
import os
import sys
import numpy as np


def softmax(x, axis=-1):
    tasks = sys.modules.get("autograder.tasks")  # (a from-scratch task's child may hide it altogether)
    if (tasks is not None and tasks.secret() is not None) or os.environ.get("AUTOGRADER_SECRET_FILE"):
        raise ValueError("the child has the secret")
    if isinstance(x, np.ndarray):
        e = np.exp(x - x.max(axis, keepdims=True))
        return e / e.sum(axis, keepdims=True)
    e = (x - x.amax(axis, keepdim=True)).exp()
    return e / e.sum(axis, keepdim=True)
"""

JUDGE_IN_MEMORY = """
import sys
from autograder.judge import judge_sources
from autograder.sandbox import Limits
from autograder.tasks import set_secret

set_secret(bytes(range(32)))
v = judge_sources("00.softmax", [(0, sys.argv[1])], None, "all", Limits(20, 1024))
print(v.report())
print("PASSED", v.passed, v.total)
"""


def test_the_grading_child_never_needs_the_secret():
    """A judge whose secret lives only in its own memory grades every case: the sandbox child
    (forked from a server that never had the secret) gets the inputs and nothing else."""
    env = {k: v for k, v in os.environ.items() if k != ENV}
    proc = subprocess.run([sys.executable, "-c", JUDGE_IN_MEMORY, CHILD_SOFTMAX], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "PASSED 11.0 11" in proc.stdout, proc.stdout


# ---------------------------------------------------------------------------
# the course's secret file
# ---------------------------------------------------------------------------

def test_generate_makes_a_private_secret_that_release_never_holds(tmp_path):
    root = tmp_path / "course"
    (root / "solutions").mkdir(parents=True)
    import shutil

    shutil.copytree(REPO / "solutions" / "00-setup", root / "solutions" / "00-setup")
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    env.pop(ENV, None)

    def generate():
        proc = subprocess.run([sys.executable, "-m", "autograder", "--root", str(root), "generate", "00-setup"],
                              env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]

    generate()
    path = secret_path(root)
    assert path == root.resolve() / ".autograder" / "secret" and path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    key = read_secret(path)
    assert len(key) == 32
    generate()  # a second generate keeps the course's secret
    assert read_secret(path) == key
    release = root / "release"
    files = [p for p in release.rglob("*") if p.is_file()]
    assert files and not any(".autograder" in p.parts for p in release.rglob("*"))
    for p in files:
        data = p.read_bytes()
        assert key.hex().encode() not in data and key not in data, f"{p} holds the course's secret"


def test_configure_names_the_courses_secret_for_the_grader(tmp_path, monkeypatch):
    from traitlets.config import Config

    from autograder.config import configure

    monkeypatch.setenv(ENV, os.environ.get(ENV, ""))  # put back afterwards
    monkeypatch.setenv("PATH", os.environ.get("PATH", ""))
    configure(Config(), tmp_path)
    assert os.environ[ENV] == str(tmp_path.resolve() / ".autograder" / "secret")
    assert len(read_secret(os.environ[ENV])) == 32
    with pytest.raises(ValueError):
        write_secret(tmp_path, b"")


# ---------------------------------------------------------------------------
# in a student's kernel
# ---------------------------------------------------------------------------

def test_check_in_a_kernel_without_the_secret_runs_the_visible_cases_only():
    code = (
        "import numpy as np\n"
        "from autograder import check\n"
        "def softmax(x, axis=-1):\n"
        "    e = np.exp(x - x.max(axis, keepdims=True)) if isinstance(x, np.ndarray) else "
        "(x - x.amax(axis, keepdim=True)).exp()\n"
        "    return e / e.sum(axis, keepdims=True) if isinstance(x, np.ndarray) else e / e.sum(axis, keepdim=True)\n"
        "print('RESULT', repr(check('00.softmax', softmax, suite='hidden')))\n"
        "print('RESULT', repr(check('00.softmax', softmax, suite='all')))\n"
        "print('RESULT', repr(check('00.device', lambda preference='auto': 'cpu', suite='hidden')))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in (ENV, "NBGRADER_EXECUTION")}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "softmax: the hidden cases are run by the grader only (they are drawn from data" in out
    assert "RESULT softmax: hidden cases are run by the grader" in out
    assert "softmax: the hidden cases are run by the grader only; running the visible cases" in out
    assert "RESULT softmax: 4/4 cases, all passed" in out
    assert "[hidden]" not in out.split("RESULT softmax: 4/4")[0].split("running the visible cases")[1]
    # fixed hidden cases (nothing to compute in them) still run in the kernel
    assert "device: " in proc.stderr and "[hidden] unknown preference 'gpu'" in proc.stderr  # it fails: stderr


# ---------------------------------------------------------------------------
# feedback on hidden cases: relative errors and where, never magnitudes
# ---------------------------------------------------------------------------

def _numbers(text: str) -> list:
    return [float(m) for m in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text)]


def _reveals(text: str, value: float) -> bool:
    """Whether ``text`` shows ``value`` (to the 3 significant digits messages use)."""
    return any(np.isclose(n, value, rtol=5e-3) or np.isclose(n, -value, rtol=5e-3) for n in _numbers(text))


def sent(value):
    return unpack(make_packer()({"i": 0, "status": "ok"}, value))[1]


def test_an_all_zero_answer_to_a_hidden_case_shows_no_expected_magnitude():
    want = np.array([[812.5, -3.25], [17.0, 0.5]])
    hidden, visible = Case("c", suite="hidden"), Case("c")
    credit, problem = C.Array().judge(hidden, sent(np.zeros((2, 2))), want)
    assert credit == 0.0 and "max rel error 1" in problem and "first wrong value at (0, 0)" in problem
    assert not _reveals(problem, 812.5) and "abs error" not in problem
    assert "max abs error 812" in C.Array().judge(visible, sent(np.zeros((2, 2))), want)[1]  # visible: shown
    for compare, got, expected in [
        (C.Number(), 0.0, 812.5),
        (C.Parts(("a", "b")), (np.zeros((2, 2)), np.zeros(2)), (want, np.array([812.5, 1.0]))),
        (C.Trajectory(), (np.zeros((3, 2)),), (np.array([[1.0, 2.0], [3.0, 812.5], [5.0, 6.0]]),)),
        (C.Pair(grads=C.Array()), {"out": np.zeros((2, 2)), "own": np.zeros((2, 2)), "ref": np.zeros((2, 2))},
         {"out": want, "grads": want}),
        (C.Exact(), [[812, 3]], [[812, 4]]),
    ]:
        credit, problem = compare.judge(hidden, sent(got), expected)
        assert credit < 1.0 and problem and not _reveals(problem, 812.5) and "812" not in problem, (compare, problem)


def test_a_hidden_array_task_graded_live_shows_no_expected_magnitude(secret_kept):
    T.set_secret(b"\x07" * 32)

    def zeros(x, W, b):
        return (x @ W.T) * 0, (x, W, b)

    task = get_task("99.linear_forward")
    report = judge_live("99.linear_forward", zeros, "hidden", FAST).report()
    cases = task.cases("hidden")
    assert report.count("FAIL [hidden]") == len(cases), report
    for case, line in zip(cases, [ln for ln in report.splitlines() if "[hidden]" in ln]):
        x, W, b, _ = case.args
        largest = float(np.abs(x @ W.T + b).max())
        assert not _reveals(line, largest), line
        assert "abs error" not in line


def test_a_hidden_outcome_shows_its_measures_coarsely():
    outcome = C.Outcome({"mean score": (lambda s, y: float(np.mean(s)), ">=", 0.9)})
    _, problem = outcome.judge(Case("c", secret=None), sent(np.array([0.8734])), None)
    assert problem == "mean score 0.8734 (needs at least 0.9)"
    _, problem = outcome.judge(Case("c", suite="hidden", secret=None), sent(np.array([0.8734])), None)
    assert problem == "mean score 0.87 (needs at least 0.9)"
    _, problem = outcome.judge(Case("c", suite="hidden", secret=None), sent(np.array([0.8977])), None)
    assert problem == "mean score just below 0.9 (needs at least 0.9)"  # never "0.9", which would pass
