"""The autograder's checks, sandbox and judge, without nbgrader (fast)."""

import numpy as np
import pytest
import torch

from autograder import check
from autograder.judge import judge_live, judge_sources, static_forbidden
from autograder.nbgrader_ext import MathToMathML, parse_checks
from autograder.sandbox import Limits, definitions_only, python_source
from autograder.tasks import TASKS, get_task

pytestmark = pytest.mark.autograder

FAST = Limits(seconds=10, memory_mb=512)


def good_softmax(x, axis=-1):
    if isinstance(x, np.ndarray):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)
    e = (x - x.amax(dim=axis, keepdim=True)).exp()
    return e / e.sum(dim=axis, keepdim=True)


def naive_softmax(x, axis=-1):
    if isinstance(x, np.ndarray):
        e = np.exp(x)
        return e / e.sum(axis=axis, keepdims=True)
    e = x.exp()
    return e / e.sum(dim=axis, keepdim=True)


def test_correct_function_passes_every_case():
    v = judge_live("softmax", good_softmax, "all", FAST)
    assert v.passed == v.total == len(TASKS["softmax"].cases())
    assert v.score(4) == 4.0


def test_partial_credit_and_teaching_message():
    v = judge_live("softmax", naive_softmax, "all", FAST)
    large = [c for c in TASKS["softmax"].cases() if "large" in c.tags]
    assert v.total - v.passed == len(large)
    assert v.score(4) == pytest.approx(np.floor(4 * v.passed / v.total * 100) / 100)
    report = v.report()
    assert "hint: values overflow for large inputs: subtract the maximum" in report
    assert "nan or inf" in report and "first at index" in report


def test_hidden_values_are_never_printed():
    def off_by_a_bit(x, axis=-1):
        return good_softmax(x, axis) * 1.01

    v = judge_live("softmax", off_by_a_bit, "all", FAST)
    report = v.report()
    assert "max abs error" in report and "max rel error" in report and "first wrong value at index" in report
    for case in TASKS["softmax"].cases("hidden"):
        expected = np.asarray(good_softmax(case.args[0], **case.kwargs))
        for value in expected.ravel()[:5]:
            assert f"{value:.6f}" not in report


def test_wrong_kind_dtype_and_shape_are_explained():
    def returns_numpy_float64(x, axis=-1):
        x = x.detach().cpu().numpy() if torch.is_tensor(x) else x
        return good_softmax(x.astype(np.float64), axis)

    report = judge_live("softmax", returns_numpy_float64, "hidden", FAST).report()
    assert "returned a numpy array for torch input" in report
    assert "output dtype float64, expected float32" in report

    def flattens(x, axis=-1):
        return good_softmax(x, axis).reshape(-1)

    assert "output shape" in judge_live("softmax", flattens, "visible", FAST).report()


def test_exceptions_expected_and_unexpected():
    def no_checks(preference="auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"

    v = judge_live("device", no_checks, "all", FAST)
    assert "returned a value; expected it to raise ValueError" in v.report()

    def crashes(preference="auto"):
        raise ZeroDivisionError("oops")

    report = judge_live("device", crashes, "visible", FAST).report()
    assert "raised ZeroDivisionError: oops" in report


def test_infinite_loop_is_stopped_and_finished_cases_count():
    def loops_on_large(x, axis=-1):
        if np.abs(np.asarray(x if isinstance(x, np.ndarray) else x.cpu())).max() > 100:
            while True:
                pass
        return good_softmax(x, axis)

    v = judge_live("softmax", loops_on_large, "visible", Limits(seconds=3, memory_mb=512))
    assert v.passed == 3 and v.total == 4
    assert "time limit of 3 s" in v.report()


def test_os_exit_and_memory_bomb_cost_only_their_cases():
    def exits(x, axis=-1):
        import os
        os._exit(3)

    v = judge_live("softmax", exits, "visible", FAST)
    assert v.passed == 0 and "ended the process (exit code 3)" in v.report()

    def hoards(x, axis=-1):
        keep = []
        while True:
            keep.append(np.ones(10 ** 7))

    v = judge_live("softmax", hoards, "visible", Limits(seconds=20, memory_mb=300))
    assert v.passed == 0 and "MemoryError" in v.report()


def test_patching_numpy_or_course_in_the_student_process_changes_nothing():
    def cheats(x, axis=-1):
        import course.activations
        np.allclose = lambda *a, **k: True
        np.testing.assert_allclose = lambda *a, **k: None
        course.activations.softmax = lambda x, axis=-1: x  # the reference, patched in the child only
        return x * 0 + 0.5

    v = judge_live("softmax", cheats, "all", FAST)
    assert v.passed == 0
    assert np.allclose is not None and np.allclose(1.0, 2.0) is False  # the parent is untouched


def test_library_routines_are_forbidden_in_from_scratch_tasks():
    def uses_torch(x, axis=-1):
        t = torch.as_tensor(x)
        out = torch.softmax(t, dim=axis)
        return out.numpy() if isinstance(x, np.ndarray) else out

    v = judge_live("softmax", uses_torch, "all", FAST)
    assert v.score(4) == 0.0 and "torch.softmax" in v.report() and "from scratch" in v.report()

    def uses_reference(x, axis=-1):
        from course.activations import softmax
        return softmax(x, axis=axis)

    assert judge_live("softmax", uses_reference, "all", FAST).score(4) == 0.0


def test_grading_from_sources_runs_answer_cells_in_a_fresh_process():
    setup = "%matplotlib inline\nimport numpy as np\nimport torch\nprint('demo')\nresult = heavy_training()"
    answer = ("def softmax(x, axis=-1):\n    e = np.exp(x - x.max(axis=axis, keepdims=True))\n"
              "    return e / e.sum(axis=axis, keepdims=True)\n")
    plan = [(0, definitions_only(setup)), (1, answer)]
    v = judge_sources("softmax", plan, [answer], "visible", FAST)
    assert v.passed == v.total
    assert judge_sources("softmax", [(0, "x = 1")], [], "visible", FAST).report().count("no function named") == 1
    with_magic = python_source("%who\n!ls\n" + answer)  # IPython syntax fails alone, not the whole cell
    assert judge_sources("softmax", [(0, definitions_only(setup)), (1, with_magic)], [answer], "visible",
                         FAST).passed == 4


def test_static_checks_and_cell_parsing():
    task = get_task("softmax")
    assert static_forbidden(task, ["from scipy.special import softmax"]) == ["from scipy.special import softmax"]
    assert static_forbidden(task, ["import course.activations as A"]) == ["import course.activations"]
    assert static_forbidden(task, ["import numpy as np"]) == []
    assert static_forbidden(get_task("device"), ["import course"]) == []  # not a from-scratch task
    src = '"""doc"""\ncheck("softmax", softmax)\n### BEGIN HIDDEN TESTS\ncheck("softmax", softmax, suite="hidden")\n'
    assert parse_checks(src) == [("softmax", "softmax", "visible"), ("softmax", "softmax", "hidden")]
    assert parse_checks("4") == [] and parse_checks("def (") == []
    kept = definitions_only("import numpy as np\nX = np.ones(3)\nK = 3 * 2\nfor i in range(9): pass\n"
                            "def f():\n    return K\nplt.show()")
    assert "import numpy" in kept and "K = 3 * 2" in kept and "def f" in kept
    assert "np.ones" not in kept and "for i" not in kept and "plt.show" not in kept


def test_check_in_a_kernel_prints_a_report_and_never_raises(capsys, monkeypatch):
    res = check("softmax", naive_softmax)
    out = capsys.readouterr().out
    assert "softmax: 3/4 cases passed" in out and not res.passed
    assert "3/4" in repr(res)
    assert check("softmax", good_softmax).passed
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert repr(check("softmax", naive_softmax)) == "0"  # nbgrader reads 0 points unless JudgeTasks scores it
    assert "graded by the autograder" in capsys.readouterr().out
    with pytest.raises(KeyError, match="unknown task 'softmx'"):
        get_task("softmx")


def test_limits_validation():
    with pytest.raises(ValueError, match="limits must be positive"):
        Limits(seconds=0)


def test_feedback_math_becomes_mathml():
    from nbformat.v4 import new_markdown_cell

    cell = new_markdown_cell("Inline $z = w \\cdot x + b$ and $$\\sigma(z) = \\frac{1}{1+e^{-z}}$$, "
                             "but not `$HOME` or 5 dollars.")
    out, _ = MathToMathML().preprocess_cell(cell, {}, 0)
    assert out.source.count("<math") == 2 and "`$HOME`" in out.source and 'display="block"' in out.source
