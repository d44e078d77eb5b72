"""What test cells call: ``check("00.softmax", softmax)``.

``check(task, *objects)`` names a task ("<chapter>.<name>") and passes the
notebook objects it grades, in the order the task lists them: one function,
a forward and a backward (``check("03.mse_backward", mse_forward,
mse_backward)``), or a class (``check("05.sgd", SGD)``).

In the student's kernel, :func:`check` forks, runs the task's cases on the
live objects in the child (with time and memory limits), compares the
results with the :mod:`course` reference and prints a report. It never raises
for a wrong answer, so Run All always reaches the end of the notebook; the
report of a check that fails a case goes to stderr instead of stdout, which is
how nbgrader's Validate (and nbgrader's scoring of a cell run in a kernel) tells
a failing cell from a passing one. The returned :class:`Result` shows nothing
more in the notebook (no second ``Out[n]`` line under the report).

Hidden cases are drawn from the course's secret, which only the grader has
(see :mod:`autograder.secret`): in a student's kernel ``suite="hidden"``
prints a note instead, and ``suite="all"`` runs the visible cases.

When nbgrader autogrades (``NBGRADER_EXECUTION=autograde``), the call only
prints a note: the score is computed outside the kernel, by the
:class:`autograder.nbgrader_ext.JudgeTasks` preprocessor, from the notebook's
own cells, so nothing the notebook does can change it.
"""

from __future__ import annotations

import os
import sys

from .judge import Verdict, _count, judge_live
from .sandbox import Limits

__all__ = ["check", "Result"]


class Result:
    """The report of one check, shown as text in the notebook."""

    def __init__(self, verdict: Verdict | None, note: str = ""):
        self.verdict = verdict
        self.note = note

    @property
    def passed(self) -> bool:
        return self.verdict is not None and self.verdict.fraction == 1.0

    def __repr__(self) -> str:
        if self.verdict is None:
            return self.note
        v = self.verdict
        status = "all passed" if self.passed else "some failed (see above)"
        return f"{v.task}: {_count(v.passed)}/{v.total} cases, {status}"

    def _ipython_display_(self) -> None:
        """The report is printed already: as a cell's last value a Result adds no ``Out[n]``."""


class _Zero:
    def __repr__(self) -> str:
        return "0"


def check(task: str, *objects, suite: str = "visible", seconds: float | None = None,
          memory_mb: int | None = None):
    """Run task ``task``'s ``suite`` of cases ("visible", "hidden" or "all") on ``objects`` and report."""
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        # the JudgeTasks step replaces this cell's output with the real score; should
        # a cell ever escape it, "0" (read by nbgrader as 0 points) is the safe default
        print(f"{task}: graded by the autograder outside the notebook")
        return _Zero()
    from .tasks import HiddenCasesUnavailable, get_task

    spec = get_task(task)
    short = spec.name
    if len(objects) != len(spec.uses):  # the test cell is the course's: its mistake must show, loudly
        raise TypeError(f"check({task!r}, ...) needs {len(spec.uses)} object(s) ({', '.join(spec.uses)}), "
                        f"got {len(objects)}")
    for name, obj in zip(spec.uses, objects):
        if not callable(obj):
            print(f"{short}: expected {name} to be a function or class, got {type(obj).__name__}",
                  file=sys.stderr)
            return Result(None, f"{short}: nothing to check")
    if suite in ("hidden", "all"):
        try:
            spec.cases("hidden")
        except HiddenCasesUnavailable:  # a student's kernel: no course secret
            if suite == "hidden":
                print(f"{short}: the hidden cases are run by the grader only (they are drawn from data this "
                      "kernel does not have)")
                return Result(None, f"{short}: hidden cases are run by the grader")
            print(f"{short}: the hidden cases are run by the grader only; running the visible cases")
            suite = "visible"
    verdict = judge_live(task, objects, suite, Limits(seconds, memory_mb))
    result = Result(verdict)
    # a failing check writes to stderr: nbgrader's Validate then reports this cell (and the
    # task's name, the report's first word) as failing, and Run All still goes on
    print(verdict.report(), file=sys.stdout if result.passed else sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    return result
