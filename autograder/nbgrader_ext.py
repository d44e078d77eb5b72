"""nbgrader preprocessors: judge test cells outside the kernel; render feedback math.

:class:`JudgeTasks` runs in the nbgrader process after the notebook has
executed. For every autograded test cell that calls
``check("<task>", <function>, ...)`` it re-runs the task from the notebook's
own cells in a fresh sandbox process (see :mod:`autograder.sandbox`) and
replaces the cell's outputs with the report and the score. What the kernel
printed or raised in the cell is shown below the report and never scored, so
patching ``autograder``, ``numpy`` or ``course`` inside the notebook cannot
change a score.

For each task the sandbox runs the task's own answer cells (the solution
cells after the previous test cell) as they are, runs the student's other
cells statement by statement under watch (a statement that exits, crashes,
hangs or starts a thread is left out and the task started again without it;
what a statement replaces in shared modules is put back), and takes only the
definitions from the course's cells, so a cell that sleeps, exits, crashes or
patches things costs its own task and no other.

:class:`MathToMathML` turns ``$...$`` and ``$$...$$`` in markdown cells into
MathML, which browsers render without MathJax or any network access.
"""

from __future__ import annotations

import ast
import os
import re
import time

from nbgrader.preprocessors import NbGraderPreprocessor as Preprocessor  # enabled by default
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute, SaveAutoGrades
from traitlets import Float, Integer

from .judge import Verdict, judge_sources
from .sandbox import Limits, definitions_only, python_source

__all__ = ["JudgeTasks", "MathToMathML", "SafeExecute", "SaveAutoGradesAndReview", "parse_checks"]


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _is_test_cell(cell) -> bool:
    m = _meta(cell)
    return cell.cell_type == "code" and m.get("grade", False) and not m.get("solution", False)


def parse_checks(source: str) -> list[tuple[str, tuple, str]]:
    """``(task, object names, suite)`` for every ``check("task", obj, ..., suite=...)`` call."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name != "check" or len(node.args) < 2:
            continue
        task, objects = node.args[0], node.args[1:]
        if not (isinstance(task, ast.Constant) and isinstance(task.value, str)
                and all(isinstance(o, ast.Name) for o in objects)):
            continue
        suite = "visible"
        for kw in node.keywords:
            if kw.arg == "suite" and isinstance(kw.value, ast.Constant):
                suite = kw.value.value
        found.append((task.value, tuple(o.id for o in objects), suite))
    return found


def _calls_check(source: str) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    return any(isinstance(n, ast.Call) and (getattr(n.func, "id", None) == "check"
                                            or getattr(n.func, "attr", None) == "check") for n in ast.walk(tree))


def _combine_suites(suites) -> str:
    suites = set(suites)
    if "all" in suites or {"visible", "hidden"} <= suites:
        return "all"
    return suites.pop()


_OWN_NOTE = re.compile(r"^[^\n]*: graded by the autograder outside the notebook\n?", re.M)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _kernel_output(outputs, limit: int = 2000) -> str:
    """What the kernel itself printed or raised in a test cell, as text (never scored)."""
    def text_of(value) -> str:  # nbformat allows a string or a list of strings
        if isinstance(value, list):
            return "".join(v for v in value if isinstance(v, str))
        return value if isinstance(value, str) else ""

    texts = []
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream":
            texts.append(_OWN_NOTE.sub("", text_of(out.get("text", ""))))
        elif kind == "error":
            texts.append(f"{text_of(out.get('ename', 'Error'))}: {text_of(out.get('evalue', ''))}\n")
        elif kind in ("execute_result", "display_data"):
            text = text_of(out.get("data", {}).get("text/plain", ""))
            if not (kind == "execute_result" and text == "0"):  # check()'s placeholder
                texts.append(text + "\n")
    text = _ANSI.sub("", "".join(texts)).strip()
    if len(text) > limit:
        text = text[:limit] + f"... ({len(text) - limit} more characters)"
    return text


def _without_hidden_tests(text: str, source: str) -> str:
    """``text`` without any line that repeats the cell's hidden tests (feedback never shows them)."""
    hidden, inside = [], False
    for line in source.splitlines():
        if "BEGIN HIDDEN TESTS" in line or "END HIDDEN TESTS" in line:
            inside = "BEGIN" in line
            hidden.append(line.strip())
        elif inside and line.strip():
            hidden.append(line.strip())
    if not hidden:
        return text
    kept = [ln for ln in text.splitlines() if not any(h in ln for h in hidden)]
    return "\n".join(kept).strip()


def _plans(cells, index: int):
    """The cells the sandbox runs for the test cell at ``index``, as (index, source, mode).

    The student's cells run whole: the answer cells after the previous test cell are
    the task's own ("own"); earlier answer cells and cells the student added are
    watched statement by statement ("other", see :func:`autograder.sandbox._collect`).
    The course's own cells (set-up, plots, experiments) contribute their definitions
    only.
    """
    previous_test = max((j for j in range(index) if _is_test_cell(cells[j])), default=-1)
    plan = []
    for j in range(index):
        cell = cells[j]
        if cell.cell_type != "code" or _is_test_cell(cell):
            continue
        if _meta(cell).get("solution", False):
            plan.append((j, python_source(cell.source), "own" if j > previous_test else "other"))
        elif not _meta(cell):  # a cell the student added: scratch work, watched like another task's
            plan.append((j, python_source(cell.source), "other"))
        else:
            defs = definitions_only(cell.source)
            if defs:
                plan.append((j, defs, "course"))
    return plan


class JudgeTasks(Preprocessor):
    """Score autograded test cells from the notebook's cells, outside the kernel."""

    time_limit = Float(20.0, help="seconds one task's cases may take, in all (a task may set its own)"
                       ).tag(config=True)
    memory_limit_mb = Integer(2048, help="memory (MB) one task may use beyond the baseline").tag(config=True)
    notebook_seconds = Float(120.0, help="seconds one notebook may take to grade in all (when SafeExecute "
                             "did not set the budget)").tag(config=True)

    def preprocess(self, nb, resources):
        limits = Limits(self.time_limit, self.memory_limit_mb)
        skipped: dict = {}  # statements of other cells that exit, crash or hang: left out for every task
        cwd = (resources.get("metadata") or {}).get("path") or None
        budget = float(resources.get("autograder_seconds") or self.notebook_seconds)
        self._deadline = float(resources.get("autograder_started") or time.monotonic()) + budget
        self._budget = budget
        cells = nb.cells
        for index, cell in enumerate(cells):
            if not _is_test_cell(cell):
                continue
            calls = parse_checks(cell.source)
            if not calls:
                if _calls_check(cell.source):  # the course's mistake: never a silent 0 for everybody
                    raise RuntimeError(f"test cell {_meta(cell).get('grade_id')!r} calls check() in a form the "
                                       "grader cannot read - help: check(\"<chapter>.<task>\", name, ...) with "
                                       "the task as a string and the graded objects as plain names")
                continue  # a test cell of another kind: nbgrader grades it from the kernel's output
            plan = _plans(cells, index)
            points = float(_meta(cell).get("points", 0))
            by_task: dict = {}
            for task, names, suite in calls:
                by_task.setdefault((task, names), []).append(suite)
            verdicts = [self._judge(task, names, plan, _combine_suites(suites), limits, skipped, cwd)
                        for (task, names), suites in by_task.items()]
            review = [reason for (task, names) in by_task for reason in _review_reasons(task, plan)]
            cell_verdict = Verdict(_meta(cell).get("grade_id", "cell"),
                                   passed=sum(v.passed for v in verdicts if not v.forbidden),
                                   total=sum(v.total for v in verdicts))
            score = cell_verdict.score(points)
            report = "\n".join(v.report() for v in verdicts)
            report += f"\nscore: {score:g} of {points:g} points"
            if review:
                report += ("\nflagged for manual review (the task must be written from scratch, and the answer "
                           "uses reflection): " + "; ".join(review[:5]))
                cell.metadata.setdefault("autograder", {})["review"] = review[:20]
            shown = _without_hidden_tests(_kernel_output(cell.get("outputs", [])), cell.source)
            if shown:
                report += "\n\nthe notebook's own output in this cell (shown, not scored):\n" + shown
            report = report.encode("utf-8", "backslashreplace").decode("utf-8")  # no lone surrogates
            cell.outputs = [
                NotebookNode(output_type="stream", name="stdout", text=report + "\n"),
                NotebookNode(output_type="execute_result", execution_count=cell.get("execution_count"),
                             metadata={}, data={"text/plain": f"{score:g}"}),
            ]
        return nb, resources

    def _judge(self, task: str, names: tuple, plan, suite: str, limits: Limits, skipped: dict,
               cwd: str | None) -> Verdict:
        # a test cell that names no task, or passes the wrong objects, is the course's mistake,
        # not the student's: stop with a clear error rather than give anybody 0 points
        from .tasks import get_task

        try:
            spec = get_task(task)
        except KeyError as exc:
            raise RuntimeError(f"a test cell checks {exc.args[0]} - help: add the task to the chapter's task "
                               "module, or name its file in AUTOGRADER_TASKS") from None
        if len(names) != len(spec.uses):
            raise RuntimeError(f"a test cell passes {len(names)} object(s) to check({task!r}, ...); the task "
                               f"needs {len(spec.uses)}: {', '.join(spec.uses)}")
        left = self._deadline - time.monotonic()
        if left < 1:
            verdict = Verdict(task, total=len(spec.cases(suite)))
            verdict.lines.append(f"not graded: the notebook used up its grading time ({self._budget:g} s for "
                                 "executing and judging together) - make slow cells faster")
            return verdict
        if left < limits.for_task(spec).seconds:
            limits = Limits(left, limits.memory_mb)
            return judge_sources(task, plan, names, suite, limits, skipped, cwd, cap=True)
        return judge_sources(task, plan, names, suite, limits, skipped, cwd)


def _review_reasons(task: str, plan) -> list:
    """Why a from-scratch task's own answer cells need a person's look (reflection that could
    reach a library routine or the reference unseen), or []."""
    from .tasks import get_task

    try:
        spec = get_task(task)
        if not spec.from_scratch:
            return []
        from .scratch import reflection_reasons
    except (KeyError, ImportError):
        return []
    reasons = []
    for entry in plan:
        if len(entry) < 3 or entry[2] == "own":
            reasons += [f"{task}: {r}" for r in reflection_reasons(entry[1], spec.forbidden)]
    return reasons


class SaveAutoGradesAndReview(SaveAutoGrades):
    """nbgrader's SaveAutoGrades; a test cell the judge flagged for review (see
    :func:`_review_reasons`) is marked "needs manual grade" in the gradebook, and the
    reason is in the cell's report."""

    def _add_score(self, cell, resources) -> None:
        super()._add_score(cell, resources)
        if cell.get("metadata", {}).get("autograder", {}).get("review"):
            grade = self.gradebook.find_grade(cell.metadata["nbgrader"]["grade_id"], self.notebook_id,
                                              self.assignment_id, self.student_id)
            grade.needs_manual_grade = True
            self.gradebook.db.commit()


class SafeExecute(Execute):
    """nbgrader's Execute, hardened: the kernel gets a memory limit, and a cell
    that kills the kernel (``os._exit``, a crash, running out of memory) gets
    an error output instead of aborting the whole notebook; the kernel is
    restarted and the remaining cells run. Scores do not depend on the
    kernel's state (see :class:`JudgeTasks`), so the rest of the notebook is
    still graded.
    """

    kernel_memory_mb = Integer(4096, help="data-segment limit of the kernel (MB); 0 for none").tag(config=True)
    notebook_seconds = Float(120.0, help="seconds one notebook may take to grade, executing and judging "
                             "together; executing stops at half of it").tag(config=True)
    max_output_chars = Integer(100_000, help="characters of output kept per cell (the rest is left out, "
                               "with a note)").tag(config=True)
    max_notebook_output_chars = Integer(2_000_000, help="characters of output kept per notebook"
                                        ).tag(config=True)

    def __init__(self, *args, **kwargs):
        from .fastkernel import JailedKernelManager

        kwargs.setdefault("kernel_manager_class", JailedKernelManager)  # every kernel starts in the jail
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources=None, km=None):
        from .jail import get_jail

        resources = resources if resources is not None else {}
        resources["autograder_started"] = time.monotonic()
        resources["autograder_seconds"] = self.notebook_seconds
        path = (resources.get("metadata") or {}).get("path") or None
        jail = get_jail()  # raises, saying how to install bubblewrap, when there is no jail
        jail.enter(path)  # the student's notebook folder, alone in the jail
        jail.current = path
        self._started = resources["autograder_started"]
        os.environ["AUTOGRADER_KERNEL_MEMORY_MB"] = str(self.kernel_memory_mb)
        self._configured_timeout = self.timeout
        self._cell_chars: dict = {}
        self._truncated: set = set()
        self._total_chars = 0
        try:
            return super().preprocess(nb, resources, km)
        finally:
            self.timeout = self._configured_timeout
            jail.sweep(keep_kernels=False)  # nothing the notebook started outlives its execution

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        left = self.notebook_seconds / 2 - (time.monotonic() - getattr(self, "_started", time.monotonic()))
        if cell.cell_type == "code" and cell.source.strip() and left <= 0:
            cell.outputs = [NotebookNode(
                output_type="stream", name="stdout",
                text=f"(not run: executing the notebook took more than {self.notebook_seconds / 2:g} s, its "
                     "share of the notebook's time budget. Scores do not depend on it: the grader runs your "
                     "answer cells again for every task.)\n")]
            return cell
        if self.timeout is not None and left > 0:
            self.timeout = max(1, int(min(getattr(self, "_configured_timeout", self.timeout) or left, left + 1)))
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except DeadKernelError:
            why = "the kernel died while running this cell (exit(), a crash, or out of memory)"
        except CellTimeoutError:
            why = (f"the cell did not finish within {self.timeout} s and did not stop when interrupted "
                   "(an endless loop that ignores interrupts, or a stopped kernel)")
        cell.outputs.append(NotebookNode(
            output_type="error", ename="KernelRestarted", evalue=why,
            traceback=[f"KernelRestarted: {why}. The kernel was restarted for the rest of the notebook; later "
                       "cells start from an empty kernel. Scores do not depend on it: the grader runs your "
                       "answer cells again for every task."]))
        await self._async_restart_kernel()
        return cell

    execute_cell = run_sync(async_execute_cell)  # nbconvert calls the sync wrapper

    def output(self, outs, msg, display_id, cell_index):
        """Record an output, within the size limits (past them, one note says what was left out);
        one that is not valid notebook output (``display({"text/plain": 5}, raw=True)``) becomes a
        note instead of stopping the whole notebook."""
        size = _output_size(msg.get("content", {}))
        if hasattr(self, "_cell_chars"):
            used = self._cell_chars.get(cell_index, 0)
            room = min(self.max_output_chars - used, self.max_notebook_output_chars - self._total_chars)
            if size > room:
                content = msg.get("content", {})
                keep = None
                if msg.get("msg_type") == "stream" and room > 0 and isinstance(content.get("text"), str):
                    content["text"] = content["text"][:room]  # the beginning of a long print is kept
                    size = room
                    keep = True
                if cell_index not in self._truncated:
                    self._truncated.add(cell_index)
                    note = NotebookNode(output_type="stream", name="stdout",
                                        text=f"\n... output truncated: the grader keeps "
                                             f"{self.max_output_chars:,} characters per cell and "
                                             f"{self.max_notebook_output_chars:,} per notebook; the rest was "
                                             "left out\n")
                    if keep:
                        try:
                            super().output(outs, msg, display_id, cell_index)
                        except Exception:  # noqa: BLE001 - see below
                            pass
                    outs.append(note)
                return None
            self._cell_chars[cell_index] = used + size
            self._total_chars += size
        try:
            return super().output(outs, msg, display_id, cell_index)
        except Exception as exc:  # noqa: BLE001 - the notebook is the student's: never fail on it
            note = NotebookNode(output_type="stream", name="stdout",
                                text=f"(an output the grader cannot store was left out: {type(exc).__name__})\n")
            outs.append(note)
            return note

    def _update_display_id(self, display_id, msg):
        try:
            super()._update_display_id(display_id, msg)
        except Exception:  # noqa: BLE001 - as in output(): an update that is not valid is dropped
            pass

    async def _async_restart_kernel(self) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
        await ensure_async(self.km.restart_kernel(now=True))
        await self.async_start_new_kernel_client()


def _output_size(content: dict) -> int:
    """About how many characters an output message adds to the notebook."""
    total = 0
    for key in ("text", "evalue", "ename"):
        value = content.get(key)
        if isinstance(value, str):
            total += len(value)
    for item in content.get("traceback") or []:
        total += len(item) if isinstance(item, str) else 0
    for value in (content.get("data") or {}).values():
        total += len(value) if isinstance(value, str) else len(str(value))
    return total


_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE = re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<![\\$])\$(?!\$)")
_CODE = re.compile(r"(```.*?```|`[^`]*`)", re.S)


def _to_mathml(tex: str, display: bool) -> str:
    from latex2mathml.converter import convert

    try:
        return convert(tex.strip(), display="block" if display else "inline")
    except Exception:  # noqa: BLE001 - leave what cannot be converted as it was
        return f"<code>{tex}</code>"


class MathToMathML(Preprocessor):
    """Render ``$...$`` / ``$$...$$`` in markdown cells as MathML (no MathJax, no network)."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown" and "$" in cell.source:
            parts = _CODE.split(cell.source)
            for i in range(0, len(parts), 2):  # even parts are outside code spans
                text = _DISPLAY.sub(lambda m: _to_mathml(m.group(1), True), parts[i])
                parts[i] = _INLINE.sub(lambda m: _to_mathml(m.group(1), False), text)
            cell.source = "".join(parts)
        return cell, resources
