"""What test cells call: ``check("softmax", softmax)``.

In the student's kernel, :func:`check` forks, runs the live function on the
task's cases in the child (with time and memory limits), compares the results
with the :mod:`course` reference and prints a report. It never raises for a
wrong answer, so a notebook always runs to the end.

When nbgrader autogrades (``NBGRADER_EXECUTION=autograde``), the call only
prints a note: the score is computed outside the kernel, by the
:class:`autograder.nbgrader_ext.JudgeTasks` preprocessor, from the notebook's
own cells, so nothing the notebook does can change it.
"""

from __future__ import annotations

import os

from .judge import Verdict, judge_live
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
        return f"{v.task}: {v.passed}/{v.total} cases, {status}"


class _Zero:
    def __repr__(self) -> str:
        return "0"


def check(task: str, fn, suite: str = "visible", seconds: float | None = None, memory_mb: int | None = None):
    """Run task ``task``'s ``suite`` of cases ("visible", "hidden" or "all") on ``fn`` and report."""
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        # the JudgeTasks step replaces this cell's output with the real score; should
        # a cell ever escape it, "0" (read by nbgrader as 0 points) is the safe default
        print(f"{task}: graded by the autograder outside the notebook")
        return _Zero()
    if not callable(fn):
        print(f"{task}: expected a function, got {type(fn).__name__}")
        return Result(None, f"{task}: nothing to check")
    verdict = judge_live(task, fn, suite, Limits(seconds, memory_mb))
    print(verdict.report())
    return Result(verdict)
