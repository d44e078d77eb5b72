"""Every kind of task, without nbgrader: the comparisons, the wire, the registry,
and the test assignment 99-kinds judged from its cells (right, wrong, differently
right and broken answers), through the same JudgeTasks step that grading uses."""

import os
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from autograder import compare as C
from autograder.nbgrader_ext import JudgeTasks
from autograder.tasks import Case, Task, all_tasks, check_case_data, get_task
from autograder.wire import Arr, Opaque, Raised, make_packer, unpack

sys.path.insert(0, str(Path(__file__).resolve().parent / "kinds"))
import variants as V  # noqa: E402

pytestmark = pytest.mark.autograder


# ---------------------------------------------------------------------------
# what the sandbox sends, as the judge receives it
# ---------------------------------------------------------------------------

def sent(value):
    """``value`` as it reaches the judge from a sandbox process."""
    return unpack(make_packer()({"i": 0, "status": "ok"}, value))[1]


def test_the_wire_keeps_kinds_dtypes_shapes_and_structure():
    got = sent({"a": (np.arange(6.0).reshape(2, 3).T, torch.ones(2, dtype=torch.float32)), "n": np.float32(2.5),
                "zero": np.array(3.0), "t0": torch.tensor(1.0), "f": 1.5, "s": "x", "none": None,
                "fn": len, "err": Raised("ValueError", "bad")})
    a, t = got["a"]
    assert isinstance(a, Arr) and a.kind == "numpy" and a.shape == (3, 2) and a.value[2, 1] == 5.0
    assert t.kind == "torch" and t.dtype == "float32" and t.device == "cpu"
    assert got["n"].kind == "numpy-scalar" and got["n"].shape == () and got["n"].dtype == "float32"
    assert got["zero"].shape == () and got["t0"].shape == ()  # 0-d stays 0-d
    assert got["f"] == 1.5 and got["s"] == "x" and got["none"] is None
    assert isinstance(got["fn"], Opaque) and got["fn"].type_name == "builtin_function_or_method"
    assert isinstance(got["err"], Raised) and got["err"].message == "bad"


def test_the_wire_refuses_what_is_too_big_or_too_deep():
    nested = []
    for _ in range(40):
        nested = [nested]
    assert "too large or too deeply nested" in str(sent(nested)).replace("Opaque", "") or \
        any(isinstance(x, Opaque) for x in _flatten(sent(nested)))
    big = sent(np.zeros(10 ** 7))  # 80 MB: more than one result may carry
    assert isinstance(big, Opaque) and "too large" in big.note
    with pytest.raises(ValueError):
        unpack(b"\x00\x00\x00\x00\x00\x00\x00\x05{}")


def _flatten(v):
    while isinstance(v, list) and v:
        v = v[0]
    return [v]


# ---------------------------------------------------------------------------
# the comparisons
# ---------------------------------------------------------------------------

NUMPY = Case("c", backend="numpy")
TORCH = Case("c", backend="torch")
HIDDEN = Case("c", suite="hidden")


@pytest.mark.parametrize("answer", [2.5, np.float64(2.5), np.float32(2.5), np.array(2.5), torch.tensor(2.5),
                                    torch.tensor(2.5, dtype=torch.float32), 5 / 2])
def test_a_number_may_come_in_any_scalar_form(answer):
    credit, problem = C.Number().judge(NUMPY, sent(answer), np.array(2.5))
    assert (credit, problem) == (1.0, "")


@pytest.mark.parametrize("answer,message", [
    (np.array([2.5]), "expected a single number"), (torch.ones(3), "expected a single number"),
    (None, "did you forget `return`"), ("2.5", "expected a number"), (True, "expected a number"),
    (float("nan"), "expected a finite number"), (2.6, "returned 2.6, expected 2.5")])
def test_a_number_rejects_what_is_not_one(answer, message):
    credit, problem = C.Number().judge(NUMPY, sent(answer), 2.5)
    assert credit == 0.0 and message in problem


def test_a_hidden_number_never_shows_the_expected_value():
    credit, problem = C.Number().judge(HIDDEN, sent(2.0), 2.5)
    assert credit == 0.0 and "2.5" not in problem and "rel error" in problem


def test_an_array_checks_kind_device_dtype_shape_and_values():
    want = np.arange(6.0).reshape(2, 3)
    assert C.Array().judge(NUMPY, sent(want.copy()), want) == (1.0, "")
    assert "for numpy input" in C.Array().judge(NUMPY, sent(torch.tensor(want)), want)[1]
    assert "for torch input" in C.Array().judge(TORCH, sent(want.copy()), want)[1]
    assert C.Array(check_kind=False).judge(TORCH, sent(want.copy()), want)[0] == 1.0
    f32 = Case("c", dtype="float32")
    assert "output dtype float64, expected float32" in C.Array().judge(f32, sent(want.copy()), want)[1]
    assert "output shape (3, 2)" in C.Array().judge(NUMPY, sent(want.T.copy()), want)[1]
    wrong = want.copy()
    wrong[1, 2] = 50
    credit, problem = C.Array().judge(NUMPY, sent(wrong), want)
    assert credit == 0.0 and "first wrong value at (1, 2)" in problem
    nan = want.copy()
    nan[0, 1] = np.nan
    assert "1 of 6 values are nan or inf" in C.Array().judge(NUMPY, sent(nan), want)[1]
    loose = C.Array(tol={"float64": (1e-2, 0)})
    assert loose.judge(NUMPY, sent(want * 1.005), want)[0] == 1.0
    with pytest.raises(ValueError):
        C.Array(tol={"float16": (1, 1)})


def test_an_exact_answer_treats_tuples_and_lists_alike():
    want = [((4, 3), (4,)), ((1, 4), (1,))]
    assert C.Exact().judge(NUMPY, sent([[[4, 3], [4]], [[1, 4], [1]]]), want)[0] == 1.0
    assert C.Exact().judge(NUMPY, sent(np.int64(16)), 16)[0] == 1.0
    credit, problem = C.Exact().judge(NUMPY, sent([((3, 4), (4,))]), want)
    assert credit == 0.0 and "expected [[[4, 3], [4]]" in problem
    assert "which is not the expected answer" in C.Exact().judge(HIDDEN, sent(3), 4)[1]
    credit, problem = C.Exact().judge(NUMPY, sent([((4.0, 3.0), (4.0,)), ((1.0, 4.0), (1.0,))]), want)
    assert credit == 0.0 and "whole numbers are expected" in problem
    assert C.Exact().judge(NUMPY, sent(0.5), 0.5)[0] == 1.0 and C.Exact().judge(NUMPY, sent(True), 1)[0] == 0.0


def test_several_arrays_are_compared_part_by_part():
    x = np.ones((3, 2))
    want = (x, 2 * x, np.zeros(2))
    parts = C.Parts(("dx", "dW", "db"))
    assert parts.judge(NUMPY, sent(tuple(w.copy() for w in want)), want) == (1.0, "")
    assert parts.judge(NUMPY, sent([w.copy() for w in want]), want)[0] == 1.0  # a list is fine too
    bad = (x.copy(), 2 * x.copy(), np.ones(2))
    credit, problem = parts.judge(NUMPY, sent(bad), want)
    assert credit == pytest.approx(2 / 3) and problem.startswith("db: ") and "first wrong value at (0,)" in problem
    assert "expected a tuple of 3 (dx, dW, db)" in parts.judge(NUMPY, sent((x, x)), want)[1]
    assert C.Parts(("dx", "dW", "db"), all_or_nothing=True).judge(NUMPY, sent(bad), want)[0] == 0.0
    as_dict = C.Parts(("mean", "var"), container="dict")
    credit, problem = as_dict.judge(NUMPY, sent({"mean": x.copy()}), {"mean": x, "var": x})
    assert credit == 0.5 and "var: missing" in problem
    # a part the reference gives as None (a bias that is absent) must be None
    assert parts.judge(NUMPY, sent((x.copy(), 2 * x.copy(), None)), (x, 2 * x, None))[0] == 1.0


def test_a_backward_is_judged_on_its_own_forward_cache():
    out, grads = np.ones(3), (np.ones(2), np.zeros(2))
    pair = C.Pair(grads=C.Parts(("dx", "dW")))
    expected = {"out": out, "grads": grads}
    right = sent((np.ones(2), np.zeros(2)))
    wrong = sent((np.ones(2), np.ones(2)))
    broke = Raised("ValueError", "ValueError: not enough values to unpack")
    assert pair.judge(NUMPY, {"out": sent(out.copy()), "own": right, "ref": right}, expected) == (1.0, "")
    # right only with the reference's cache although the forward is right: the forward forgot something
    credit, problem = pair.judge(NUMPY, {"out": sent(out.copy()), "own": broke, "ref": right}, expected)
    assert credit == 0.0 and "your forward does not keep everything the backward needs" in problem
    # the forward is broken (its own task pays): the backward is judged on the reference's cache
    credit, problem = pair.judge(NUMPY, {"out": Raised("NotImplementedError", "x"), "own": None, "ref": right},
                                 expected)
    assert credit == 1.0 and "reference forward's cache" in problem
    assert pair.judge(NUMPY, {"out": sent(2 * out), "own": wrong, "ref": right}, expected)[0] == 1.0
    assert pair.judge(NUMPY, {"out": sent(out.copy()), "own": wrong, "ref": wrong}, expected)[0] == 0.5


def test_a_trajectory_names_the_first_step_that_differs():
    want = (np.cumsum(np.ones((5, 2)), axis=0),)
    got = want[0].copy()
    got[3:] += 1
    credit, problem = C.Trajectory().judge(NUMPY, sent((got,)), want)
    assert credit == 0.0 and problem.startswith("step 4 of 5: parameter differs")
    assert C.Trajectory().judge(NUMPY, sent((want[0].copy(),)), want) == (1.0, "")


def test_an_outcome_is_judged_by_its_thresholds_on_secret_data():
    case = Case("c", secret=np.array([1, 0, 1, 1]))
    accuracy = C.Outcome({"accuracy": (lambda s, y: np.mean((s > 0) == (y == 1)), ">=", 0.75),
                          "count": (lambda s, y: len(s), "<=", 3)})
    credit, problem = accuracy.judge(case, sent(np.array([1.0, -1.0, 2.0, -3.0])), None)
    assert credit == 0.5 and "count 4 (needs at most 3)" in problem
    credit, problem = accuracy.judge(case, sent("not scores"), None)
    assert credit == 0.0 and "could not be computed" in problem
    with pytest.raises(ValueError):
        C.Outcome({"m": (len, ">", 1)})


def test_properties_give_credit_per_property():
    check = C.Check(lambda case, v: [(v > 0, "positive"), (v < 1, "below one"), (v == 0.5, "a half")])
    assert check.judge(NUMPY, sent(0.7), None) == (pytest.approx(2 / 3), "a half")


# ---------------------------------------------------------------------------
# the registry
# ---------------------------------------------------------------------------

def test_every_task_is_named_by_its_chapter_and_its_cases_are_data():
    tasks = all_tasks()
    assert {"00.softmax", "99.mse", "99.value", "99.linear_backward"} <= set(tasks)
    for name, task in tasks.items():
        assert name == f"{task.chapter}.{task.name}" and task.origin
        cases = task.cases()
        assert cases and task.cases("visible"), f"{name} has no visible case"
        assert len({c.name for c in cases}) == len(cases), f"{name}: case names must be unique"
        for case in cases:
            check_case_data(case.args)
            check_case_data(case.kwargs)
            if task.compare.needs_reference and case.raises is None:
                task.expected(case)  # the reference handles every case


def test_case_data_and_task_definitions_are_validated():
    with pytest.raises(TypeError, match="pass a function by name"):
        check_case_data((np.ones(2), lambda x: x))
    with pytest.raises(ValueError, match="uses must name"):
        Task(name="t", uses=("not a name",), make_cases=list)
    with pytest.raises(TypeError, match="compare must be"):
        Task(name="t", uses=("f",), make_cases=list, compare="array")


@pytest.fixture
def registry():
    """The task registry, restored after the test (tasks it loads do not leak into other tests)."""
    from autograder import tasks

    saved, loaded, broken = dict(tasks._REGISTRY), set(tasks._LOADED), dict(tasks._BROKEN)
    yield tasks
    for live, kept in ((tasks._REGISTRY, saved), (tasks._LOADED, loaded), (tasks._BROKEN, broken)):
        live.clear()
        live.update(kept)


def test_task_modules_are_found_and_checked(tmp_path, monkeypatch, registry):
    one = tmp_path / "one.py"
    one.write_text("from autograder.tasks import Task\nCHAPTER = '77'\n"
                   "TASKS = [Task(name='f', uses=('f',), make_cases=lambda: [])]\n")
    registry.load_file(str(one))
    assert get_task("77.f").origin == str(one)
    clash = tmp_path / "clash.py"
    clash.write_text(one.read_text())
    with pytest.raises(ValueError, match="defined twice"):
        registry.load_file(str(clash))
    bad = tmp_path / "bad.py"
    bad.write_text("TASKS = []\n")
    with pytest.raises(ValueError, match="must set CHAPTER"):
        registry.load_file(str(bad))
    twice = tmp_path / "twice.py"
    twice.write_text("from autograder.tasks import Task\nCHAPTER = '76'\n"
                     "TASKS = [Task(name='f', uses=('f',), make_cases=list), Task(name='f', uses=('g',), "
                     "make_cases=list)]\n")
    with pytest.raises(ValueError, match="names f more than once"):
        registry.load_file(str(twice))
    # a broken module costs its own tasks: the others are still found, and the error is named
    monkeypatch.setenv("AUTOGRADER_TASKS", os.pathsep.join([str(tmp_path / "missing.py"), str(bad),
                                                            os.environ["AUTOGRADER_TASKS"]]))
    with pytest.raises(ImportError, match="named in AUTOGRADER_TASKS.*must set CHAPTER|must set CHAPTER.*named in"):
        all_tasks()
    assert get_task("99.mse").name == "mse" and get_task("00.softmax").name == "softmax"
    with pytest.raises(KeyError, match="cannot be loaded: .*bad.py: ValueError"):
        get_task("55.nothing")


# ---------------------------------------------------------------------------
# the test assignment, judged from its cells as grading does (without a kernel)
# ---------------------------------------------------------------------------

SOURCE = nbformat.read(V.SOURCE, as_version=4)


def judged(fills: dict, tasks=None) -> dict:
    """test cell grade_id -> score, for the source notebook with ``fills`` in its answer cells."""
    nb = V.submission(SOURCE, fills)
    cells = {V.CELLS[t][0] for t in tasks} if tasks else None
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cells is not None and meta.get("grade") and not meta.get("solution") and meta["grade_id"] not in cells:
            cell.source = ""  # not checked here
    nb, _ = JudgeTasks(time_limit=5, memory_limit_mb=1024).preprocess(nb, {})
    return {c.metadata.nbgrader["grade_id"]: float(c.outputs[-1]["data"]["text/plain"]) for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade") and c.outputs}


def test_the_solution_and_a_differently_written_answer_keep_every_point():
    full = V.expected_scores("solution")
    assert judged({}) == full
    assert judged(V.alternative_submission()) == full


@pytest.mark.parametrize("task,k", [(t, k) for t, scores in V.WRONG_SCORES.items() for k in range(len(scores))])
def test_each_wrong_version_loses_exactly_its_points(task, k):
    cell, points = V.CELLS[task]
    score = judged(V.WRONG[task][k], tasks=[task])[cell]
    assert score == pytest.approx(V.WRONG_SCORES[task][k]) and score < points


@pytest.mark.parametrize("name", sorted(V.ISOLATION))
def test_a_broken_task_costs_that_task_only(name):
    assert judged(V.ISOLATION[name]) == V.expected_scores(name)


@pytest.mark.parametrize("name", sorted(V.DEFINITION_TIME))
def test_code_that_runs_while_a_cell_is_defined_costs_that_cells_task_only(name):
    fills, loses = V.DEFINITION_TIME[name]
    want = V.expected_scores("solution")
    want.update({V.CELLS[task][0]: 0.0 for task in loses})
    assert judged(fills) == want


@pytest.mark.parametrize("name", sorted(V.OTHER_CELL_HOSTILE))
def test_what_another_cell_leaves_behind_costs_later_tasks_nothing(name):
    checked = ["mse", "fit_logistic"]
    assert judged(V.OTHER_CELL_HOSTILE[name], tasks=checked) == {
        V.CELLS[t][0]: V.CELLS[t][1] for t in checked}


@pytest.mark.parametrize("name", sorted(V.UNUSUAL_RIGHT))
def test_unusual_but_right_answers_keep_every_point(name):
    assert judged(V.UNUSUAL_RIGHT[name]) == V.expected_scores("solution")


def test_every_task_has_three_wrong_versions_and_a_different_right_one():
    tasks = {t.name for q, t in all_tasks().items() if q.startswith("99.")}
    assert set(V.WRONG) == set(V.WRONG_SCORES) == set(V.ALTERNATIVE) == set(V.CELLS) == tasks
    assert all(len(V.WRONG[t]) >= 3 and len(V.WRONG[t]) == len(V.WRONG_SCORES[t]) for t in tasks)


def test_the_outcome_is_reproducible_under_the_graders_seed():
    """A training function that uses the global random state gets the same data every run."""
    fills = {"fit-logistic": ("def fit_logistic(X, y):\n    w = np.random.normal(size=X.shape[1])\n"
                              "    return w, float(np.random.normal())\n")}
    reports = []
    for _ in range(2):
        nb = V.submission(SOURCE, fills)
        nb, _ = JudgeTasks(time_limit=5).preprocess(nb, {})
        reports.append(next(c.outputs[0]["text"] for c in nb.cells
                            if c.metadata.get("nbgrader", {}).get("grade_id") == "test-fit-logistic"))
    assert reports[0] == reports[1] and "test accuracy" in reports[0]


def test_kernel_output_is_shown_and_never_scored():
    nb = V.submission(SOURCE, {})
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test-mse")
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text="Traceback: boom\n"),
                    nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="oops", traceback=[])]
    JudgeTasks(time_limit=5).preprocess(nb, {})
    text = cell.outputs[0]["text"]
    assert [o["output_type"] for o in cell.outputs] == ["stream", "execute_result"]
    assert cell.outputs[0]["name"] == "stdout" and cell.outputs[-1]["data"]["text/plain"] == "2"
    assert "shown, not scored" in text and "ZeroDivisionError: oops" in text and "boom" in text
    # a kernel that prints its own test cell shows nothing of the hidden tests
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=cell.source)]
    JudgeTasks(time_limit=5).preprocess(nb, {})
    assert "HIDDEN" not in cell.outputs[0]["text"] and 'suite="hidden"' not in cell.outputs[0]["text"]


def test_odd_text_from_student_code_never_stops_a_notebook():
    fills = {"mse": "def mse(pred, target):\n    raise ValueError('bad \\ud800 value')\n"}
    nb = V.submission(SOURCE, fills)
    nb, _ = JudgeTasks(time_limit=5).preprocess(nb, {})
    nbformat.writes(nb)  # a lone surrogate in the report would make this raise
    report = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test-mse").outputs[0]
    assert "bad \\ud800 value" in report["text"]


def test_a_test_cell_naming_no_task_stops_grading_with_a_clear_error():
    nb = V.submission(SOURCE, {})
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test-mse")
    cell.source = 'check("99.msee", mse)'
    with pytest.raises(RuntimeError, match="did you mean '99.mse'"):
        JudgeTasks(time_limit=5).preprocess(nb, {})
    cell.source = 'check("99.linear_backward", linear_backward)'
    with pytest.raises(RuntimeError, match="needs 2: linear_forward, linear_backward"):
        JudgeTasks(time_limit=5).preprocess(nb, {})
    cell.source = 'import types\ncheck("99.mse", types.SimpleNamespace(f=mse).f)'
    with pytest.raises(RuntimeError, match="calls check\\(\\) in a form the grader cannot read"):
        JudgeTasks(time_limit=5).preprocess(nb, {})


def test_a_notebook_that_cannot_be_graded_says_why():
    """What `grade` prints for a failed notebook: the exception, not nbgrader's generic lines."""
    from autograder.worker import _failure

    log = ("[AutogradeApp | ERROR] There was an error processing assignment: /c/submitted/x\n"
           "[AutogradeApp | ERROR] Traceback (most recent call last):\n  File ...\n"
           "    RuntimeError: a test cell checks unknown task '57.doubel'; did you mean '57.double'?\n"
           "[AutogradeApp | ERROR] Please see the the above traceback for details\n")
    assert _failure({"log": log}).startswith("RuntimeError: a test cell checks unknown task '57.doubel'")
    assert "ERROR" in _failure({"log": "[X | ERROR] something odd"})


def test_the_environment_names_the_test_tasks():
    assert os.environ["AUTOGRADER_TASKS"].split(os.pathsep)[0].endswith(os.path.join("kinds", "tasks.py"))


def test_a_result_too_large_to_send_costs_its_task_only():
    from autograder.judge import judge_sources
    from autograder.sandbox import Limits

    huge = "def mse(pred, target):\n    return ['x' * (1 << 19)] * 400\n"  # 200 MB of strings
    v = judge_sources("99.mse", [(0, huge)], None, "visible", Limits(10, 1024))
    assert v.passed == 0 and "too large" in v.report()
    long_text = "def mse(pred, target):\n    return 'y' * (3 << 20)\n"
    v = judge_sources("99.mse", [(0, long_text)], None, "visible", Limits(10, 1024))
    assert v.passed == 0 and "a string too long to grade" in v.report()


def test_a_driver_may_call_a_forbidden_reference_the_student_may_not(registry, tmp_path):
    """A from-scratch backward whose documented cache comes from the course forward: the
    driver's call is the grader's, the student's call is a forbidden one."""
    module = tmp_path / "pair.py"
    module.write_text('''
import numpy as np
import course.activations
from autograder.compare import Array, Pair
from autograder.drivers import forward_backward, pair_reference
from autograder.tasks import Case, Task

CHAPTER = "78"

def cases():
    rng = np.random.default_rng(0)
    return [Case("rows (3, 4)", (rng.normal(size=(3, 4)), rng.normal(size=(3, 4))))]

TASKS = [Task(name="softmax_backward", uses=("softmax_forward", "softmax_backward"), make_cases=cases,
              run=forward_backward(lambda x: course.activations.softmax_forward(x)[1]),
              reference=pair_reference(course.activations.softmax_forward, course.activations.softmax_backward),
              compare=Pair(grads=Array()), from_scratch=True,
              forbidden=("course.activations.softmax_forward", "course.activations.softmax_backward"))]
''')
    registry.load_file(str(module))
    from autograder.judge import judge_sources
    from autograder.sandbox import Limits

    own = ("import numpy as np\ndef softmax_forward(x):\n    e = np.exp(x - x.max(-1, keepdims=True))\n"
           "    s = e / e.sum(-1, keepdims=True)\n    return s, (s, -1)\n"
           "def softmax_backward(dout, cache):\n    s, axis = cache\n"
           "    return s * (dout - (dout * s).sum(axis, keepdims=True))\n")
    assert judge_sources("78.softmax_backward", [(0, own)], None, "all", Limits(10, 1024)).score(1) == 1.0
    cheat = own + ("import course.activations as A\ndef softmax_backward(dout, cache):\n"
                   "    return A.softmax_backward(dout, cache)\n")
    v = judge_sources("78.softmax_backward", [(0, cheat)], None, "all", Limits(10, 1024))
    assert v.score(1) == 0.0 and "course.activations.softmax_backward" in v.report()


def test_the_sandbox_runs_in_the_notebooks_folder(tmp_path):
    """Files the notebook wrote next to itself (a %%writefile helper module) are found."""
    (tmp_path / "helper_mod.py").write_text("def sq(x):\n    return x * x\n")
    fills = {"+layer-shapes": "%%writefile helper_mod.py\ndef sq(x):\n    return x * x\n",
             "mse": "from helper_mod import sq\n\ndef mse(pred, target):\n    return sq(pred - target).mean()\n"}
    nb = V.submission(SOURCE, fills)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade") and cell.metadata.nbgrader["grade_id"] != "test-mse":
            cell.source = ""
    nb, _ = JudgeTasks(time_limit=5).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test-mse")
    assert cell.outputs[-1]["data"]["text/plain"] == "2"
