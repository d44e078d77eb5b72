"""The autograder's checks, sandbox and judge, without nbgrader (fast)."""

import numpy as np
import pytest
import torch

from autograder import check
from autograder.judge import judge_live, judge_sources
from autograder.nbgrader_ext import MathToMathML, parse_checks
from autograder.sandbox import Limits, definitions_only, python_source
from autograder.tasks import get_task

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
    v = judge_live("00.softmax", good_softmax, "all", FAST)
    assert v.passed == v.total == len(get_task("00.softmax").cases())
    assert v.score(4) == 4.0


def test_partial_credit_and_teaching_message():
    v = judge_live("00.softmax", naive_softmax, "all", FAST)
    large = [c for c in get_task("00.softmax").cases() if "large" in c.tags]
    assert v.total - v.passed == len(large)
    assert v.score(4) == pytest.approx(np.floor(4 * v.passed / v.total * 100) / 100)
    report = v.report()
    assert "hint: values overflow for large inputs: subtract the maximum" in report
    assert "nan or inf" in report and "first wrong value at (" in report


def test_hidden_values_are_never_printed():
    def off_by_a_bit(x, axis=-1):
        return good_softmax(x, axis) * 1.01

    v = judge_live("00.softmax", off_by_a_bit, "all", FAST)
    report = v.report()
    assert "max rel error" in report and "first wrong value at (" in report
    hidden_lines = [ln for ln in report.splitlines() if "[hidden]" in ln]
    assert hidden_lines and not any("abs error" in ln for ln in hidden_lines)  # could reveal expected values
    for case in get_task("00.softmax").cases("hidden"):
        expected = np.asarray(good_softmax(case.args[0], **case.kwargs))
        for value in expected.ravel()[:5]:
            assert f"{value:.6f}" not in report


def test_wrong_kind_dtype_and_shape_are_explained():
    def returns_numpy_float64(x, axis=-1):
        x = x.detach().cpu().numpy() if torch.is_tensor(x) else x
        return good_softmax(x.astype(np.float64), axis)

    report = judge_live("00.softmax", returns_numpy_float64, "hidden", FAST).report()
    assert "returned a NumPy array for torch input" in report
    assert "output dtype float64, expected float32" in report

    def flattens(x, axis=-1):
        return good_softmax(x, axis).reshape(-1)

    assert "output shape" in judge_live("00.softmax", flattens, "visible", FAST).report()


def test_exceptions_expected_and_unexpected():
    def no_checks(preference="auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"

    v = judge_live("00.device", no_checks, "all", FAST)
    assert "returned a value; expected it to raise ValueError" in v.report()

    def stub(preference="auto"):
        raise NotImplementedError()  # a RuntimeError, but never the answer to "raise RuntimeError"

    assert judge_live("00.device", stub, "all", FAST).passed == 0

    class UnknownDevice(ValueError):
        pass

    def subclass(preference="auto"):
        if preference not in ("cpu", "cuda", "auto"):
            raise UnknownDevice(preference)
        return no_checks(preference)

    assert judge_live("00.device", subclass, "all", FAST).passed == len(get_task("00.device").cases()) - \
        (0 if torch.cuda.is_available() else 1)  # 'cuda' without CUDA must raise RuntimeError

    def crashes(preference="auto"):
        raise ZeroDivisionError("oops")

    report = judge_live("00.device", crashes, "visible", FAST).report()
    assert "raised ZeroDivisionError: oops" in report


def test_infinite_loop_is_stopped_and_finished_cases_count():
    def loops_on_large(x, axis=-1):
        if np.abs(np.asarray(x if isinstance(x, np.ndarray) else x.cpu())).max() > 100:
            while True:
                pass
        return good_softmax(x, axis)

    v = judge_live("00.softmax", loops_on_large, "visible", Limits(seconds=3, memory_mb=512))
    assert v.passed == 3 and v.total == 4
    assert "time limit of 3 s" in v.report()


def test_os_exit_and_memory_bomb_cost_only_their_cases():
    def exits(x, axis=-1):
        import os
        os._exit(3)

    v = judge_live("00.softmax", exits, "visible", FAST)
    assert v.passed == 0 and "ended the process (exit code 3)" in v.report()

    def hoards(x, axis=-1):
        keep = []
        while True:
            keep.append(np.ones(10 ** 7))

    v = judge_live("00.softmax", hoards, "visible", Limits(seconds=20, memory_mb=300))
    assert v.passed == 0 and "MemoryError" in v.report()


def test_patching_numpy_or_course_in_the_student_process_changes_nothing():
    def cheats(x, axis=-1):
        import course.activations
        np.allclose = lambda *a, **k: True
        np.testing.assert_allclose = lambda *a, **k: None
        course.activations.softmax = lambda x, axis=-1: x  # the reference, patched in the child only
        return x * 0 + 0.5

    v = judge_live("00.softmax", cheats, "all", FAST)
    assert v.passed == 0
    assert np.allclose is not None and np.allclose(1.0, 2.0) is False  # the parent is untouched


def test_library_routines_are_forbidden_in_from_scratch_tasks():
    def uses_torch(x, axis=-1):
        t = torch.as_tensor(x)
        out = torch.softmax(t, dim=axis)
        return out.numpy() if isinstance(x, np.ndarray) else out

    v = judge_live("00.softmax", uses_torch, "all", FAST)
    assert v.score(4) == 0.0 and "torch.softmax" in v.report() and "from scratch" in v.report()

    def uses_reference(x, axis=-1):
        from course.activations import softmax
        return softmax(x, axis=axis)

    assert judge_live("00.softmax", uses_reference, "all", FAST).score(4) == 0.0


def test_grading_from_sources_runs_answer_cells_in_a_fresh_process():
    setup = "%matplotlib inline\nimport numpy as np\nimport torch\nprint('demo')\nresult = heavy_training()"
    answer = ("def softmax(x, axis=-1):\n    e = np.exp(x - x.max(axis=axis, keepdims=True))\n"
              "    return e / e.sum(axis=axis, keepdims=True)\n")
    plan = [(0, definitions_only(setup)), (1, answer)]
    v = judge_sources("00.softmax", plan, None, "visible", FAST)
    assert v.passed == v.total
    assert "no softmax was found" in judge_sources("00.softmax", [(0, "x = 1")], None, "visible", FAST).report()
    with_magic = python_source("%who\n!ls\n" + answer)  # IPython syntax fails alone, not the whole cell
    assert judge_sources("00.softmax", [(0, definitions_only(setup)), (1, with_magic)], None, "visible",
                         FAST).passed == 4
    # the object the test cell names is looked up, whatever the task calls it
    renamed = answer.replace("def softmax", "def my_softmax")
    assert judge_sources("00.softmax", [(0, "import numpy as np"), (1, renamed)], ("my_softmax",), "visible",
                         FAST).passed == 4


def test_importing_course_elsewhere_is_not_using_it():
    """The from-scratch rule watches what the graded function runs, not which cells import what."""
    answer = ("import numpy as np\nfrom course.plots import plot_activations\nimport course.activations as A\n"
              "def softmax(x, axis=-1):\n    e = np.exp(x - x.max(axis=axis, keepdims=True))\n"
              "    return e / e.sum(axis=axis, keepdims=True)\n")
    assert judge_sources("00.softmax", [(0, answer)], None, "visible", FAST).score(4) == 4.0
    cheat = answer + "def softmax(x, axis=-1):\n    return A.softmax(x, axis=axis)\n"
    v = judge_sources("00.softmax", [(0, cheat)], None, "visible", FAST)
    assert v.score(4) == 0.0 and "course.activations.softmax" in v.report()


def test_cell_parsing_and_definitions():
    src = ('"""doc"""\ncheck("00.softmax", softmax)\n### BEGIN HIDDEN TESTS\n'
           'check("00.softmax", softmax, suite="hidden")\ncheck("03.pair", fwd, bwd)\n')
    assert parse_checks(src) == [("00.softmax", ("softmax",), "visible"), ("00.softmax", ("softmax",), "hidden"),
                                 ("03.pair", ("fwd", "bwd"), "visible")]
    assert parse_checks("4") == [] and parse_checks("def (") == [] and parse_checks('check("x", 3)') == []
    kept = definitions_only("import numpy as np\nX = np.ones(3)\nK = 3 * 2\nfor i in range(9): pass\n"
                            "def f():\n    return K\nplt.show()\nimport autograder\nautograder.check = f\n"
                            "np.allclose = f\nD = {}\nD['k'] = f\nA, B = 1, 2\nsig = lambda z: 1 / (1 + np.exp(-z))\n"
                            "h = lambda z=np.zeros(2): z\ntry:\n    import scipy\n    heavy()\n"
                            "except ImportError:\n    scipy = None\n")
    assert "import numpy" in kept and "K = 3 * 2" in kept and "def f" in kept and "A, B = (1, 2)" in kept
    assert "sig = lambda z:" in kept and "import scipy" in kept and "scipy = None" in kept
    for gone in ("np.ones", "for i", "plt.show", "autograder.check =", "np.allclose =", "D['k']", "h = lambda",
                 "heavy()"):
        assert gone not in kept, gone


def test_check_in_a_kernel_prints_a_report_and_never_raises(capsys, monkeypatch):
    res = check("00.softmax", naive_softmax)
    printed = capsys.readouterr()
    # a failing check reports on stderr (Validate flags the cell), a passing one on stdout
    assert "softmax: 3/4 cases passed" in printed.err and not printed.out and not res.passed
    assert "3/4" in repr(res)
    assert check("00.softmax", good_softmax).passed
    printed = capsys.readouterr()
    assert "softmax: 4/4 cases passed" in printed.out and not printed.err
    with pytest.raises(TypeError, match=r"needs 1 object\(s\) \(softmax\), got 2"):
        check("00.softmax", good_softmax, naive_softmax)
    with pytest.raises(KeyError, match="unknown task 'softmax'; did you mean '00.softmax'"):
        get_task("softmax")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert repr(check("00.softmax", naive_softmax)) == "0"  # nbgrader reads 0 points unless JudgeTasks scores it
    assert "graded by the autograder" in capsys.readouterr().out



def test_limits_validation():
    with pytest.raises(ValueError, match="limits must be positive"):
        Limits(seconds=0)


def test_feedback_math_becomes_mathml():
    from nbformat.v4 import new_markdown_cell

    cell = new_markdown_cell("Inline $z = w \\cdot x + b$ and $$\\sigma(z) = \\frac{1}{1+e^{-z}}$$, "
                             "but not `$HOME` or 5 dollars.")
    out, _ = MathToMathML().preprocess_cell(cell, {}, 0)
    assert out.source.count("<math") == 2 and "`$HOME`" in out.source and 'display="block"' in out.source
