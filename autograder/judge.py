"""Compare a student's results with the reference and write the verdict.

The judge runs in a process that never executed student code. For each case
it computes the reference result itself, compares, and explains failures in
terms that teach without giving the answer away: what was checked, the
shapes, max absolute and relative error, the first wrong position and a hint
for the usual mistake. Hidden inputs and expected values are never printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .sandbox import CaseResult, Limits, run_live, run_sources
from .tasks import Case, Task, expected_device, get_task

__all__ = ["Verdict", "judge", "judge_live", "judge_sources", "TOLERANCE"]

TOLERANCE = {"float64": dict(rtol=1e-7, atol=1e-10), "float32": dict(rtol=1e-4, atol=1e-6)}


@dataclass
class Verdict:
    """The outcome of one task: cases passed, messages, and the score."""

    task: str
    passed: int = 0
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
        head = f"{self.task}: {self.passed}/{self.total} cases passed"
        if self.forbidden:
            head += " - but the task must be written from scratch, so it scores 0"
        return "\n".join([head] + ["  " + line for line in self.lines])


def _reference(task: Task, case: Case):
    args = [a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in case.args]
    return task.reference(*args, **case.kwargs)


def _shape(x):
    return tuple(np.shape(x))


def _compare_array(case: Case, res: CaseResult, expected) -> str:
    """'' when right, else a short explanation (no expected values)."""
    want_kind = "torch" if case.backend == "torch" else "numpy"
    got = res.output
    if not isinstance(got, np.ndarray):
        return f"returned {res.kind or type(got).__name__}, expected a {want_kind} array"
    expected = np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape:
        return f"output shape {got.shape}, expected {expected.shape}"
    if res.kind != want_kind:
        return f"returned a {res.kind} array for {want_kind} input (return the input's kind of array)"
    if case.backend == "torch" and res.device and case.args and res.device != expected_device():
        return f"returned a tensor on {res.device}, expected it on the input's device {expected_device()}"
    if res.dtype and res.dtype != case.dtype and case.dtype in ("float32", "float64") and got.dtype.kind == "f":
        return f"output dtype {res.dtype}, expected {case.dtype} (keep the input's dtype)"
    got64 = got.astype(np.float64)
    tol = TOLERANCE.get(case.dtype, TOLERANCE["float64"])
    finite = np.isfinite(got64)
    close = finite & (np.abs(got64 - expected) <= tol["atol"] + tol["rtol"] * np.abs(expected))
    if close.all():
        return ""
    bad = tuple(int(i) for i in np.argwhere(~close)[0])
    if not finite.all():
        n_bad = int((~finite).sum())
        return f"{n_bad} of {got.size} values are nan or inf (first at index {bad})"
    abs_err = np.abs(got64 - expected)
    rel_err = abs_err / np.maximum(np.abs(expected), 1e-12)
    return (f"shape {got.shape}: max abs error {abs_err.max():.3g}, max rel error {rel_err.max():.3g}, "
            f"first wrong value at index {bad}")


def _compare_exact(case: Case, res: CaseResult, expected) -> str:
    got = res.output
    if got != expected or res.kind != type(expected).__name__:
        shown = f"{got!r}" if case.suite == "visible" else f"a {res.kind}"
        want = f"{expected!r}" if case.suite == "visible" else "another value"
        return f"returned {shown}, expected {want}"
    return ""


def judge(task: Task, results: list, ending: str = "") -> Verdict:
    """Score ``results`` (one :class:`CaseResult` per case) against the reference."""
    verdict = Verdict(task.name, total=len(results))
    failed_tags = []
    if ending == "missing":
        verdict.lines.append(f"no function named {task.function!r} was found - define it in the answer cell")
        return verdict
    for res in results:
        case = res.case
        label = f"[{case.suite}] {case.name}"
        if res.forbidden:
            verdict.forbidden.extend(n for n in res.forbidden if n not in verdict.forbidden)
        expected_exc = case.raises
        problem = ""
        if res.status == "ok":
            if expected_exc is not None:
                problem = f"returned a value; expected it to raise {expected_exc.__name__}"
            else:
                expected = _reference(task, case)
                problem = (_compare_exact if task.compare == "exact" else _compare_array)(case, res, expected)
        elif res.status == "raised":
            if expected_exc is not None and res.kind == expected_exc.__name__:
                problem = ""
            elif expected_exc is not None:
                problem = f"raised {res.kind}; expected {expected_exc.__name__}"
            else:
                problem = f"raised {res.error}"
        elif res.status == "timeout":
            problem = "not finished: " + (res.error or "time limit")
        else:
            problem = res.error or "not run"
        if problem:
            failed_tags.extend(case.tags)
            if res.warnings:
                problem += f" (warnings: {'; '.join(res.warnings[:2])})"
            verdict.lines.append(f"FAIL {label}: {problem}")
        else:
            verdict.passed += 1
            verdict.lines.append(f"ok   {label}")
    if ending and ending != "missing":
        verdict.lines.append(ending)
    hints = [task.hints[t] for t in dict.fromkeys(failed_tags) if t in task.hints]
    for hint in hints:
        verdict.lines.append(f"hint: {hint}")
    if verdict.forbidden:
        verdict.lines.append(f"your code called {', '.join(verdict.forbidden)}: {task.name} must be written "
                             "from scratch, without the library routine or the course reference")
    return verdict


def static_forbidden(task: Task, sources: list) -> list:
    """What the student's answer code imports that would do the task for it.

    Any import of ``course`` (the reference) or ``autograder`` counts, and so
    does importing a forbidden routine by name (``from scipy.special import
    softmax``). Calls through attributes (``torch.softmax``) are caught at run
    time by the sandbox's tripwires.
    """
    import ast

    if not task.from_scratch:
        return []
    by_module = {}
    for dotted in task.forbidden:
        module, _, name = dotted.rpartition(".")
        by_module.setdefault(module, set()).add(name)
    found = []
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.extend(f"import {a.name}" for a in node.names
                             if a.name.split(".")[0] in ("course", "autograder"))
            elif isinstance(node, ast.ImportFrom) and node.module:
                if node.module.split(".")[0] in ("course", "autograder"):
                    found.append(f"from {node.module} import ...")
                else:
                    banned = by_module.get(node.module, set())
                    found.extend(f"from {node.module} import {a.name}" for a in node.names if a.name in banned)
    return sorted(set(found))


def judge_sources(task_name: str, plan, answer_sources, suite: str = "all", limits: Limits | None = None,
                  function: str | None = None) -> Verdict:
    task = get_task(task_name)
    results, ending = run_sources(task, plan, suite, limits, function)
    verdict = judge(task, results, ending)
    mentioned = static_forbidden(task, answer_sources)
    if mentioned:
        verdict.forbidden.extend(m for m in mentioned if m not in verdict.forbidden)
        verdict.lines.append(f"your answer uses {', '.join(mentioned)}: {task.name} must be written from "
                             "scratch, without the library routine or the course reference")
    return verdict


def judge_live(task_name: str, fn, suite: str = "visible", limits: Limits | None = None) -> Verdict:
    task = get_task(task_name)
    results, ending = run_live(task, fn, suite, limits)
    return judge(task, results, ending)
