"""Turn what the sandbox reported into a verdict: credit per case, messages, a score.

The judge runs in a process that never executed student code. For each case
it computes the reference result itself and asks the task's comparison for
the credit and an explanation that teaches without giving the answer away:
what was checked, the shapes, the error, the first wrong position and a hint
for the usual mistake. Hidden inputs and expected values are never printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .sandbox import CaseResult, Limits, run_live, run_sources
from .tasks import Task, get_task

__all__ = ["Verdict", "judge", "judge_live", "judge_sources"]


@dataclass
class Verdict:
    """The outcome of one task: credit earned over its cases, messages, and the score."""

    task: str
    passed: float = 0.0
    total: int = 0
    lines: list = field(default_factory=list)
    forbidden: list = field(default_factory=list)

    @property
    def fraction(self) -> float:
        if self.forbidden:
            return 0.0
        return self.passed / self.total if self.total else 0.0

    def score(self, points: float) -> float:
        """Points earned: ``points`` times the fraction of cases passed, to 2 decimals (floored)."""
        return float(np.floor(points * self.fraction * 100 + 1e-9) / 100)

    def report(self) -> str:
        head = f"{self.task}: {_count(self.passed)}/{self.total} cases passed"
        if self.forbidden:
            head += " - but the task must be written from scratch, so it scores 0"
        return "\n".join([head] + ["  " + line for line in self.lines])


def _count(x: float) -> str:
    return f"{x:g}" if float(x).is_integer() else f"{x:.2f}"


def _problem(task: Task, res: CaseResult) -> tuple[float, str]:
    """(credit, message) for one case."""
    case = res.case
    want_exc = case.raises
    if res.status == "ok":
        if want_exc is not None:
            return 0.0, f"returned a value; expected it to raise {want_exc.__name__}"
        expected = task.expected(case) if task.compare.needs_reference else None
        return task.compare.judge(case, res.value, expected)
    if res.status == "raised":
        if want_exc is not None:
            # a subclass of the expected error counts, but not the stub's NotImplementedError
            # (a RuntimeError): an unwritten function has not raised anything on purpose
            stub = res.exc_types[:1] == ["NotImplementedError"] and want_exc is not NotImplementedError
            if want_exc.__name__ in res.exc_types and not stub:
                return 1.0, ""
            return 0.0, f"raised {res.exc_types[0] if res.exc_types else 'an error'}; expected {want_exc.__name__}"
        if case.suite != "visible":  # its message could carry the hidden inputs out in the feedback
            return 0.0, f"raised {res.exc_types[0] if res.exc_types else 'an error'} (the message of an error on a " \
                        "hidden case is not shown)"
        return 0.0, f"raised {res.error}"
    if res.status == "timeout":
        return 0.0, "not finished: " + (res.error or "time limit")
    return 0.0, res.error or "not run"


def judge(task: Task, results: list, ending: str = "") -> Verdict:
    """Score ``results`` (one :class:`CaseResult` per case) against the reference."""
    verdict = Verdict(task.name, total=len(results))
    if ending.startswith("missing"):
        names = ending.partition(":")[2] or ", ".join(task.uses)
        verdict.lines.append(f"no {names} was found - define it in the answer cell (run the cell first)")
        return verdict
    outcomes = []  # (tags, failed) per case, to choose the hints
    for res in results:
        case = res.case
        label = f"[{case.suite}] {case.name}"
        for name in res.forbidden:
            if name not in verdict.forbidden:
                verdict.forbidden.append(name)
        credit, problem = _problem(task, res)
        credit = min(1.0, max(0.0, float(credit)))
        verdict.passed += credit
        outcomes.append((case.tags, credit < 1.0))
        if credit == 1.0:
            verdict.lines.append(f"ok   {label}" + (f" ({problem})" if problem else ""))
            continue
        if res.warnings and case.suite == "visible":  # a warning's text could carry hidden inputs out
            problem += f" (warnings: {'; '.join(res.warnings[:2])})"
        verdict.lines.append(f"{'PART' if credit > 0 else 'FAIL'} {label}: {problem}"
                             + (f" [{_count(credit * 100)}% credit]" if credit > 0 else ""))
    if ending:
        verdict.lines.append(ending)
    for tag in _hinted_tags(outcomes):
        if tag in task.hints:
            verdict.lines.append(f"hint: {task.hints[tag]}")
    if verdict.forbidden:
        verdict.lines.append(f"your code called {', '.join(verdict.forbidden)}: {task.name} must be written "
                             "from scratch, without the library routine or the course reference")
    return verdict


def _hinted_tags(outcomes) -> list:
    """Tags whose cases fail mostly while the other cases mostly pass: their hint is about
    this mistake. When nearly everything fails, a tag's hint would mislead, so none is shown."""
    tags = dict.fromkeys(t for case_tags, failed in outcomes if failed for t in case_tags)
    chosen = []
    for tag in tags:
        inside = [failed for case_tags, failed in outcomes if tag in case_tags]
        outside = [failed for case_tags, failed in outcomes if tag not in case_tags]
        if sum(inside) / len(inside) >= 0.5 and (not outside or sum(outside) / len(outside) <= 0.5):
            chosen.append(tag)
    return chosen


def judge_sources(task_name: str, plan, names=None, suite: str = "all", limits: Limits | None = None,
                  skipped: dict | None = None, cwd: str | None = None, cap: bool = False) -> Verdict:
    """Run the task on the objects ``names`` defined by the notebook cells ``plan``; judge.
    ``skipped`` and ``cwd``: see :func:`autograder.sandbox.run_sources`. ``cap``: ``limits``
    is what is left of the notebook's time, and caps even a task's own longer limit."""
    task = get_task(task_name)
    skipped = skipped if skipped is not None else {}
    limits = limits or Limits()
    own = limits.for_task(task)
    if cap:
        own = Limits(min(own.seconds, limits.seconds), own.memory_mb)
    results, ending = run_sources(task, plan, names, suite, own, skipped, cwd, total_seconds=limits.seconds * 2
                                  if cap else None)
    verdict = judge(task, results, ending)
    verdict.lines.extend(_left_out(plan, skipped))
    return verdict


def _left_out(plan, skipped: dict, most: int = 3) -> list:
    """Notes on the statements of other cells that grading had to leave out."""
    import ast

    sources = {entry[0]: entry[1] for entry in plan}
    notes = []
    for (index, k), why in sorted(skipped.items())[:most]:
        text = "a statement"
        try:
            node = ast.parse(sources[index]).body[k]
            code = (ast.get_source_segment(sources[index], node) or "").strip().splitlines()[0]
            text = f"`{code[:60]}`"
        except Exception:  # noqa: BLE001 - the note is a courtesy; the cell may not parse here
            pass
        notes.append(f"note: {text} in another cell was left out while grading: {why}")
    if len(skipped) > most:
        notes.append(f"note: {len(skipped) - most} more statement(s) of other cells were left out")
    return notes


def judge_live(task_name: str, objs, suite: str = "visible", limits: Limits | None = None) -> Verdict:
    """Run the task on live objects (the student's kernel); judge."""
    task = get_task(task_name)
    if not isinstance(objs, (list, tuple)):
        objs = (objs,)
    results, ending = run_live(task, objs, suite, (limits or Limits()).for_task(task))
    return judge(task, results, ending)
