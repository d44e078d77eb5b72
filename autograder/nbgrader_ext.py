"""nbgrader preprocessors: judge test cells outside the kernel; render feedback math.

:class:`JudgeTasks` runs in the nbgrader process after the notebook has
executed. For every autograded test cell that calls
``check("<task>", <function>, ...)`` it re-runs the task from the notebook's
own cells in a fresh sandbox process (see :mod:`autograder.sandbox`) and
replaces the cell's outputs with the report and the score. The kernel's
outputs for those cells are ignored, so patching ``autograder``, ``numpy`` or
``course`` inside the notebook cannot change a score.

:class:`MathToMathML` turns ``$...$`` and ``$$...$$`` in markdown cells into
MathML, which browsers render without MathJax or any network access.
"""

from __future__ import annotations

import ast
import re

from nbgrader.preprocessors import NbGraderPreprocessor as Preprocessor  # enabled by default
from nbclient.exceptions import DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Float, Integer

from .judge import Verdict, judge_sources
from .sandbox import Limits, definitions_only, python_source

__all__ = ["JudgeTasks", "MathToMathML", "SafeExecute", "parse_checks"]


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _is_test_cell(cell) -> bool:
    m = _meta(cell)
    return cell.cell_type == "code" and m.get("grade", False) and not m.get("solution", False)


def parse_checks(source: str) -> list[tuple[str, str, str]]:
    """``(task, function name, suite)`` for every ``check("task", fn, suite=...)`` call."""
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
        task, fn = node.args[0], node.args[1]
        if not (isinstance(task, ast.Constant) and isinstance(task.value, str) and isinstance(fn, ast.Name)):
            continue
        suite = "visible"
        if len(node.args) > 2 and isinstance(node.args[2], ast.Constant):
            suite = node.args[2].value
        for kw in node.keywords:
            if kw.arg == "suite" and isinstance(kw.value, ast.Constant):
                suite = kw.value.value
        found.append((task.value, fn.id, suite))
    return found


def _combine_suites(suites) -> str:
    suites = set(suites)
    if "all" in suites or {"visible", "hidden"} <= suites:
        return "all"
    return suites.pop()


class JudgeTasks(Preprocessor):
    """Score autograded test cells from the notebook's cells, outside the kernel."""

    time_limit = Float(20.0, help="seconds one task's cases may take, in all").tag(config=True)
    memory_limit_mb = Integer(2048, help="memory (MB) one task may use beyond the baseline").tag(config=True)

    def preprocess(self, nb, resources):
        limits = Limits(self.time_limit, self.memory_limit_mb)
        cells = nb.cells
        for index, cell in enumerate(cells):
            if not _is_test_cell(cell):
                continue
            calls = parse_checks(cell.source)
            if not calls:
                continue  # a test cell of another kind: nbgrader grades it from the kernel's output
            plan, answers = [], []
            for j in range(index):
                prev = cells[j]
                if prev.cell_type != "code" or _is_test_cell(prev):
                    continue
                if _meta(prev).get("solution", False) or not _meta(prev):
                    answers.append(prev.source)
                if _meta(prev).get("solution", False):
                    plan.append((j, python_source(prev.source)))  # the student's answer: run it whole
                else:
                    defs = definitions_only(prev.source)
                    if defs:
                        plan.append((j, defs))
            points = float(_meta(cell).get("points", 0))
            by_task: dict = {}
            for task, fn, suite in calls:
                by_task.setdefault((task, fn), []).append(suite)
            verdicts = [judge_sources(task, plan, answers, _combine_suites(suites), limits, function=fn)
                        for (task, fn), suites in by_task.items()]
            cell_verdict = Verdict(cell.metadata.get("nbgrader", {}).get("grade_id", "cell"),
                                   passed=sum(v.passed for v in verdicts if not v.forbidden),
                                   total=sum(v.total for v in verdicts))
            score = cell_verdict.score(points)
            report = "\n".join(v.report() for v in verdicts)
            report += f"\nscore: {score:g} of {points:g} points"
            cell.outputs = [
                NotebookNode(output_type="stream", name="stdout", text=report + "\n"),
                NotebookNode(output_type="execute_result", execution_count=cell.get("execution_count"),
                             metadata={}, data={"text/plain": f"{score:g}"}),
            ]
        return nb, resources


class SafeExecute(Execute):
    """nbgrader's Execute, hardened: the kernel gets a memory limit, and a cell
    that kills the kernel (``os._exit``, a crash, running out of memory) gets
    an error output instead of aborting the whole notebook; the kernel is
    restarted and the remaining cells run. Scores do not depend on the
    kernel's state (see :class:`JudgeTasks`), so the rest of the notebook is
    still graded.
    """

    kernel_memory_mb = Integer(4096, help="data-segment limit of the kernel (MB); 0 for none").tag(config=True)

    def __init__(self, *args, **kwargs):
        from . import fastkernel

        if fastkernel.enabled():  # grading workers: kernels forked from a warm process
            kwargs.setdefault("kernel_manager_class", fastkernel.FastKernelManager)
        super().__init__(*args, **kwargs)

    def _limit_kernel(self) -> None:
        import resource

        pid = getattr(getattr(self.km, "provisioner", None), "pid", None)
        if pid and self.kernel_memory_mb:
            limit = self.kernel_memory_mb * 1024 * 1024
            try:
                resource.prlimit(pid, resource.RLIMIT_DATA, (limit, limit))
            except (OSError, ValueError):  # pragma: no cover - not Linux, or not permitted
                self.log.warning("could not limit the kernel's memory")

    async def async_start_new_kernel(self, **kwargs):
        await super().async_start_new_kernel(**kwargs)
        self._limit_kernel()

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except DeadKernelError:
            cell.outputs.append(NotebookNode(
                output_type="error", ename="DeadKernelError",
                evalue="the kernel died while running this cell",
                traceback=["DeadKernelError: the kernel died while running this cell (exit(), a crash, or out "
                           "of memory). It was restarted for the rest of the notebook; later cells start "
                           "from an empty kernel."]))
            await self._async_restart_kernel()
            return cell

    execute_cell = run_sync(async_execute_cell)  # nbconvert calls the sync wrapper

    async def _async_restart_kernel(self) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
        await ensure_async(self.km.restart_kernel(now=True))
        self._limit_kernel()
        await self.async_start_new_kernel_client()


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
