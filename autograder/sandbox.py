"""Run a task's cases on a student's code in a separate, limited process.

The student's code never runs in the process that judges it. A child process
runs the task's ``run`` on the student's objects, case by case, and sends back
only plain data (see :mod:`autograder.wire`). The parent compares those with
the reference. So the child can patch anything it likes (``numpy.allclose``,
``autograder``, ``course``), loop forever, allocate without end or call
``os._exit``: the parent only ever sees its outputs, stops it at the time
limit, and scores the cases it finished.

The parent sends the child only the cases' inputs; what only the judge may
know (expected values, an outcome's labels) stays in the parent.

Two ways to get the student's objects into the child:

* :func:`run_sources` (grading): a fresh child (forked from a clean server
  process that has only imported NumPy, torch and ``course``) executes the
  notebook's code cells from their source, then looks the objects up;
* :func:`run_live` (in the student's kernel): the kernel forks and the child
  uses the live objects.

In the child, the task's forbidden routines (``torch.softmax`` for a
from-scratch softmax, the ``course`` reference...) are replaced by tripwires
that, while the student's code runs a case, record the call and raise.
"""

from __future__ import annotations

import ast
import contextlib
import os
import re
import resource
import signal
import sys
import time

import numpy as np

from .tasks import Case, Task, case_seed, check_case_data, expected_device, get_task
from .wire import MAX_MESSAGE_BYTES, describe_exception, make_packer, unpack

__all__ = ["CaseResult", "run_live", "run_sources", "Limits", "definitions_only", "python_source"]


class Limits:
    """Per-task limits: wall time for all cases of a task, and memory beyond the baseline."""

    def __init__(self, seconds: float | None = None, memory_mb: int | None = None):
        self.seconds = float(seconds if seconds is not None else os.environ.get("AUTOGRADER_TIME_LIMIT", 20))
        self.memory_mb = int(memory_mb if memory_mb is not None else os.environ.get("AUTOGRADER_MEMORY_MB", 2048))
        if self.seconds <= 0 or self.memory_mb <= 0:
            raise ValueError(f"limits must be positive, got {self.seconds} s and {self.memory_mb} MB")

    def for_task(self, task: Task) -> "Limits":
        """These limits, with the task's own time or memory limit where it sets one."""
        return Limits(task.time_limit if task.time_limit is not None else self.seconds,
                      task.memory_mb if task.memory_mb is not None else self.memory_mb)

    def __repr__(self):
        return f"Limits(seconds={self.seconds:g}, memory_mb={self.memory_mb})"


class CaseResult:
    """What the child reported for one case (plain data only)."""

    def __init__(self, case: Case, status: str, value=None, error: str = "", exc_types=(), warnings_seen=(),
                 forbidden=()):
        self.case = case
        self.status = status  # "ok", "raised", "timeout", "crashed", "missing", "not run"
        self.value = value
        self.error = error
        self.exc_types = list(exc_types)
        self.warnings = list(warnings_seen)
        self.forbidden = list(forbidden)


# ---------------------------------------------------------------------------
# the child side
# ---------------------------------------------------------------------------

class ForbiddenCall(Exception):
    """Raised inside the student's code when it calls a routine that does the task."""


def _resolve(dotted: str):
    """(owner object, attribute name) for an importable dotted name, or None."""
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:-1]:
                owner = getattr(owner, attr)
            getattr(owner, parts[-1])
        except AttributeError:
            return None
        return owner, parts[-1]
    return None


def _make_caller_check(task: Task):
    """``called_by_student()``: whether the nearest caller that is not library code
    (the course reference, NumPy, torch, the standard library) is the student's code
    rather than the grader's (the autograder, the task's module). So the task's own
    driver may call the reference (to build a cache, say) while the student may not,
    directly or through another library function."""
    import course

    def folder(path):
        return os.path.join(os.path.dirname(os.path.abspath(path)), "")

    grader = (folder(__file__),)
    if task.origin.endswith(".py"):
        grader += (os.path.abspath(task.origin),)
    course_folders = {os.path.join(os.path.abspath(p), "") for p in getattr(course, "__path__", [])}
    library = tuple(course_folders | {os.path.join(sys.prefix, ""), os.path.join(sys.base_prefix, ""),
                                      folder(os.__file__)})
    getframe = sys._getframe

    def called_by_student() -> bool:
        frame = getframe(2)
        while frame is not None:
            name = frame.f_code.co_filename
            if name.startswith(grader):
                return False
            if not (name.startswith(library) or name.startswith("<frozen")):
                return True
            frame = frame.f_back
        return False

    return called_by_student


def _install_tripwires(task: Task, state: dict) -> None:
    """Replace the task's forbidden routines. They pass through unless a case is running
    and the call comes, directly or not, from the student's code."""
    called_by_student = _make_caller_check(task)
    for dotted in task.forbidden:
        found = _resolve(dotted)
        if found is None:
            continue
        owner, attr = found
        original = getattr(owner, attr)

        def tripwire(*args, _name=dotted, _original=original, **kwargs):
            if not state["active"] or not called_by_student():
                return _original(*args, **kwargs)
            state["calls"].append(_name)
            raise ForbiddenCall(f"{_name} does the task for you: {task.name} must be written from scratch")

        try:
            setattr(owner, attr, tripwire)
        except (AttributeError, TypeError):  # some C types refuse new attributes
            pass


def _limit_memory(memory_mb: int) -> None:
    """Cap the data segment at its current size plus ``memory_mb``.

    RLIMIT_DATA counts the heap and private writable mappings (NumPy and torch
    buffers) but not the address space CUDA reserves, so it works on a GPU
    machine where RLIMIT_AS would break CUDA's start-up.
    """
    try:
        with open("/proc/self/status") as fh:
            used = next(int(line.split()[1]) for line in fh if line.startswith("VmData:")) * 1024
    except (OSError, StopIteration):
        used = 0
    limit = used + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def _child_setup(memory_mb: int) -> None:
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)  # fork-safety: the parent may have run torch ops
    _limit_memory(memory_mb)
    devnull = open(os.devnull, "w")
    sys.stdout = sys.stderr = devnull  # the student's prints do not reach the grader
    os.dup2(devnull.fileno(), 1)
    os.dup2(devnull.fileno(), 2)


def _make_case_loop(conn, task: Task, state: dict, device: str):
    """The child's case loop, with every helper bound now, before any student code runs:
    replacing functions of ``autograder`` (or of ``json``) from a cell cannot break it."""
    import random
    import warnings

    pack = make_packer()
    send_bytes = conn.send_bytes
    runner = task.run
    catch, simplefilter = warnings.catch_warnings, warnings.simplefilter
    describe_exc = describe_exception
    ndarray = np.ndarray
    np_seed, py_seed = np.random.seed, random.seed
    torch = sys.modules.get("torch")
    as_tensor = torch.as_tensor if torch is not None else None
    manual_seed = torch.manual_seed if torch is not None else None

    def to_backend(value, backend, dtype):
        if isinstance(value, ndarray):
            if value.dtype.kind == "f":
                value = value.astype(dtype)
            if backend == "torch":
                return as_tensor(value, device=device)
            return value.copy()
        if isinstance(value, tuple):
            return tuple(to_backend(v, backend, dtype) for v in value)
        if isinstance(value, list):
            return [to_backend(v, backend, dtype) for v in value]
        if isinstance(value, dict):
            return {k: to_backend(v, backend, dtype) for k, v in value.items()}
        return value

    def send(meta, *value):
        send_bytes(pack(meta, *value))

    def loop(objs, inputs):
        calls = state["calls"]
        for i, inp in enumerate(inputs):
            with catch(record=True) as caught:
                simplefilter("always")
                before = len(calls)
                try:
                    np_seed(inp["seed"])
                    py_seed(inp["seed"])
                    if manual_seed is not None:
                        manual_seed(inp["seed"])
                    args = to_backend(inp["args"], inp["backend"], inp["dtype"])
                    kwargs = to_backend(inp["kwargs"], inp["backend"], inp["dtype"])
                    state["active"] = True
                    try:
                        out = runner(objs, *args, **kwargs)
                    finally:
                        state["active"] = False
                    seen = sorted({str(w.message)[:120] for w in caught})
                    send({"i": i, "status": "ok", "warnings": seen, "forbidden": calls[before:]}, out)
                except BaseException as exc:  # noqa: BLE001 - the student's code may raise anything
                    state["active"] = False
                    seen = sorted({str(w.message)[:120] for w in caught})
                    kinds = [k.__name__ for k in type(exc).__mro__]
                    send({"i": i, "status": "raised", "error": describe_exc(exc), "exc_types": kinds,
                          "warnings": seen, "forbidden": calls[before:]})
        send({"i": -1, "status": "done"})

    return send, loop


def _live_child(conn, task_name, origin, objs, inputs, device, memory_mb):
    try:
        _child_setup(memory_mb)
        task = get_task(task_name, origin)
        state = {"active": False, "calls": []}
        _install_tripwires(task, state)
        _, loop = _make_case_loop(conn, task, state, device)
        loop(objs, inputs)
    finally:
        os._exit(0)


#: cell magics whose body is ordinary Python that the magic only times or captures
_TRANSPARENT_CELL_MAGICS = ("time", "timeit", "capture", "prun")


def python_source(source: str) -> str:
    """A notebook cell as plain Python. IPython syntax (``%magic``, ``!shell``)
    becomes ``get_ipython()`` calls, which do nothing at grading time instead of
    making the whole cell unreadable; a cell that starts with ``%%time`` (or
    ``%%timeit``, ``%%capture``, ``%%prun``) is its body; a line ``%time stmt`` is ``stmt``."""
    lines = source.lstrip("\n").splitlines()
    if lines and lines[0].startswith("%%"):
        magic = lines[0][2:].split(None, 1)[0] if lines[0][2:].strip() else ""
        if magic in _TRANSPARENT_CELL_MAGICS:
            source = "\n".join(lines[1:])
    source = re.sub(r"^(\s*)%(?:time|timeit|prun)[ \t]+(?=[^-\s])", r"\1", source, flags=re.M)
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - fall back to the cell as written
        return source


def _defines_names_only(node) -> bool:
    """An assignment whose targets are plain names (not ``module.attr = ...`` or ``x[i] = ...``)."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]

    def plain(t):
        if isinstance(t, ast.Name):
            return True
        if isinstance(t, (ast.Tuple, ast.List)):
            return all(plain(e) for e in t.elts)
        return False

    return all(plain(t) for t in targets)


def _runs_code(expr) -> bool:
    """Whether evaluating ``expr`` would call or await anything. A lambda's body runs
    later, not now, so only its default values count."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Call, ast.Await, ast.NamedExpr, ast.Yield, ast.YieldFrom)):
            return True
        if isinstance(node, ast.Lambda):
            stack.extend(node.args.defaults + [d for d in node.args.kw_defaults if d is not None])
            continue
        stack.extend(ast.iter_child_nodes(node))
    return False


def _definitions(body: list) -> list:
    keep = []
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            keep.append(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None \
                and _defines_names_only(node) and not _runs_code(node.value):
            keep.append(node)
        elif isinstance(node, ast.Try) and not node.finalbody:  # try: import x / except ImportError: ...
            node.body = _definitions(node.body) or [ast.Pass()]
            for handler in node.handlers:
                handler.body = _definitions(handler.body) or [ast.Pass()]
            node.orelse = _definitions(node.orelse)
            keep.append(node)
    return keep


def definitions_only(source: str) -> str:
    """The statements of ``source`` that only define things: imports, functions,
    classes, assignments to plain names that call nothing (lambdas included), and
    ``try`` blocks around such statements. Experiments, loops, plots and changes to
    other objects (``module.f = ...``) are left out, so a cell other than the
    task's own answer costs nothing and changes nothing at grading time."""
    try:
        tree = ast.parse(python_source(source))
    except SyntaxError:
        return ""
    keep = _definitions(tree.body)
    return ast.unparse(ast.Module(body=keep, type_ignores=[])) if keep else ""


_ABSENT = object()

#: seconds one statement of another cell may take while it is tried out (see :func:`_run_plan`)
STATEMENT_BUDGET = 2.0


def _statements(plan) -> list:
    """[(key, code, own)] for the plan's cells: ``key`` is (cell index, statement number).

    A plan entry is ``(index, source)`` (the task's own code) or ``(index, source, mode)``
    with mode "own" or "other". Cells that do not parse are left out.
    """
    out = []
    for entry in plan:
        index, source = entry[0], entry[1]
        own = (entry[2] if len(entry) > 2 else "own") == "own"
        try:
            tree = ast.parse(source, filename=f"<cell {index}>")
        except SyntaxError:
            continue
        for k, node in enumerate(tree.body):
            try:
                code = compile(ast.Module(body=[node], type_ignores=[]), f"<cell {index}>", "exec")
            except (SyntaxError, ValueError):
                continue
            out.append(((index, k), code, own))
    return out


def _exec(code, namespace) -> None:
    try:
        exec(code, namespace)
    except BaseException:  # noqa: BLE001 - student code, even SystemExit or KeyboardInterrupt: skip it
        pass


def _try_out(codes, namespace, budget: float, run=_exec) -> tuple[int, bool]:
    """Run ``codes`` in a throwaway fork of this process: (how many finished, whether the
    next one ended the process, crashed or ran past ``budget`` seconds)."""
    import select

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the trial: nothing it does reaches this process
        os.close(r)
        try:
            for code in codes:
                run(code, namespace)
                os.write(w, b".")
        finally:
            os._exit(0)
    os.close(w)
    done, fatal = 0, False
    deadline = time.monotonic() + budget
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([r], [], [], left)[0]:
                fatal = True  # too slow (or stopped): this statement is skipped
                break
            data = os.read(r, 4096)
            if not data:  # the trial ended: normally, or by exit or crash at statement `done`
                fatal = done < len(codes)
                break
            done += len(data)
            deadline = time.monotonic() + budget  # each statement gets the whole budget
    finally:
        os.close(r)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
    return min(done, len(codes)), fatal


#: modules whose functions other cells may not replace for this task (see :class:`_ModuleGuard`)
GUARDED_MODULES = ("builtins", "math", "random", "json", "os", "numpy", "numpy.random", "numpy.linalg",
                   "torch", "torch.nn.functional", "scipy.special")


class _ModuleGuard:
    """Puts back what another cell replaced in the grader's modules, the reference's and
    the common libraries (``autograder.drivers.Param = ...``, ``np.stack = None``), so a
    patch made in one task's cell reaches no other task. Names a cell *adds* are kept."""

    def __init__(self):
        names = [n for n in list(sys.modules) if n.split(".")[0] in ("autograder", "course")
                 or n.startswith("autograder_tasks_") or n in GUARDED_MODULES]
        self.saved = [(vars(sys.modules[n]), dict(vars(sys.modules[n]))) for n in names
                      if hasattr(sys.modules.get(n), "__dict__")]

    def restore(self) -> None:
        for live, saved in self.saved:
            for key, value in saved.items():
                if live.get(key, _ABSENT) is not value:
                    live[key] = value


def _run_plan(plan, namespace: dict, skip=(), phase=lambda name: None, budget: float = STATEMENT_BUDGET) -> list:
    """Execute the plan's cells statement by statement, in notebook order.

    The task's own statements run as they are: what they cost is the task's. Every
    other statement is first tried out in a throwaway fork (:func:`_try_out`); one that
    ends the process, crashes or takes more than ``budget`` seconds there is skipped, so
    another cell's ``exit()``, endless loop or slow experiment costs this task nothing.
    ``skip`` lists statements known to be bad already; ``phase("own" / "other")`` tells
    the parent which clock runs. Returns the keys of the statements skipped.
    """
    import builtins

    run, try_out = _exec, _try_out  # bound now: the cells may replace this module's functions
    restore = _ModuleGuard().restore
    namespace.setdefault("__builtins__", builtins)
    statements = [s for s in _statements(plan) if s[0] not in set(skip)]
    skipped = []
    i = 0
    while i < len(statements):
        key, code, own = statements[i]
        if own:
            phase("own")
            run(code, namespace)
            i += 1
            continue
        j = i
        while j < len(statements) and not statements[j][2]:
            j += 1
        phase("other")
        done, fatal = try_out([c for _, c, _ in statements[i:j]], namespace, budget, run)
        for _, c, _ in statements[i:i + done]:
            run(c, namespace)
        restore()
        if fatal:
            skipped.append(statements[i + done][0])
            i += done + 1
        else:
            i = j
    phase("own")
    return skipped


def _source_child(conn, task_name, origin, plan, names, inputs, device, memory_mb, skip):
    try:
        _child_setup(memory_mb)
        task = get_task(task_name, origin)
        state = {"active": False, "calls": []}
        _install_tripwires(task, state)
        send, loop = _make_case_loop(conn, task, state, device)
        namespace = {"__name__": "__main__", "get_ipython": _NoIPython}
        run_plan = _run_plan
        skipped = run_plan(plan, namespace, [tuple(k) for k in skip],
                           phase=lambda name: send({"i": -1, "status": "phase", "phase": name}))
        send({"i": -1, "status": "skipped", "keys": [list(k) for k in skipped]})
        objs = [namespace.get(n, _ABSENT) for n in names]
        missing = [n for n, o in zip(names, objs) if o is _ABSENT]
        if missing:
            send({"i": -1, "status": "missing", "names": missing})
        else:
            loop(objs, inputs)
    finally:
        os._exit(0)


class _NoIPython:
    """What ``get_ipython()`` gives at grading time: magics (``%matplotlib inline``,
    ``!ls``) do nothing, instead of failing their statement."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


# ---------------------------------------------------------------------------
# the parent side
# ---------------------------------------------------------------------------

def _inputs(task: Task, cases: list) -> list:
    """What the child gets for each case: inputs, backend, dtype and seed; never ``secret``."""
    out = []
    for case in cases:
        check_case_data(case.args, f"task {task.qualname}, case {case.name!r}: args")
        check_case_data(case.kwargs, f"task {task.qualname}, case {case.name!r}: kwargs")
        out.append({"args": tuple(case.args), "kwargs": dict(case.kwargs), "backend": case.backend,
                    "dtype": case.dtype, "seed": case_seed(task.qualname, case.name)})
    return out


def _collect(proc, conn, cases, limits: Limits, other_allowance: float = 0.0,
             skipped: set | None = None) -> tuple[list, str]:
    """Read case results until done, the time limit, or the child's death.

    Two clocks run: the task's own (its own cells and its cases, up to the time
    limit) and, while the child tries out the notebook's other cells, an allowance
    for those (``other_allowance``), so a slow or broken cell elsewhere never uses up
    this task's time. Statements the child had to skip are added to ``skipped``.
    """
    results: dict[int, CaseResult] = {}
    used = {"own": 0.0, "other": 0.0}
    phase, since = "own", time.monotonic()
    ending = ""
    while True:
        now = time.monotonic()
        spent = used[phase] + (now - since)
        budget = limits.seconds if phase == "own" else other_allowance
        left = budget - spent
        if left <= 0:
            ending = (f"timeout: stopped after the time limit of {limits.seconds:g} s (an endless loop?)"
                      if phase == "own" else "timeout: the notebook's other cells took too long to run")
            break
        try:
            ready = conn.poll(min(left, 0.5))
        except (EOFError, OSError):
            ready = True
        if not ready:
            if not proc.is_alive() and not conn.poll(0):
                ending = _death(proc, limits)
                break
            continue
        try:
            blob = conn.recv_bytes(MAX_MESSAGE_BYTES + (1 << 20))
        except OSError as exc:
            ending = ("crashed: the result was too large to grade" if "message length" in str(exc)
                      else _death(proc, limits))
            break
        except EOFError:
            ending = _death(proc, limits)
            break
        try:
            meta, value = unpack(blob)
        except Exception:  # noqa: BLE001 - malformed data from the child counts as a crash
            ending = "crashed: the process sent data the grader could not read"
            break
        status = meta.get("status")
        if status == "phase":
            now = time.monotonic()
            used[phase] += now - since
            phase, since = ("other" if meta.get("phase") == "other" else "own"), now
            continue
        if status == "skipped":
            if skipped is not None:
                skipped.update(tuple(k) for k in meta.get("keys", []) if isinstance(k, list) and len(k) == 2)
            continue
        if status == "done":
            break
        if status == "missing":
            names = [str(n) for n in meta.get("names", [])][:5]
            ending = f"missing:{','.join(names)}"
            break
        i = meta.get("i")
        if not isinstance(i, int) or not 0 <= i < len(cases) or status not in ("ok", "raised"):
            continue
        results[i] = CaseResult(cases[i], status, value, str(meta.get("error", "")),
                                [str(k) for k in meta.get("exc_types", [])], meta.get("warnings", ()),
                                meta.get("forbidden", ()))
    if proc.is_alive():
        proc.kill()
    proc.join(5)
    conn.close()
    out = []
    for i, case in enumerate(cases):
        if i in results:
            out.append(results[i])
        else:
            status = "missing" if ending.startswith("missing") else \
                ("timeout" if ending.startswith("timeout") else "crashed")
            out.append(CaseResult(case, status, error=ending))
    return out, ending


def _death(proc, limits: Limits) -> str:
    proc.join(2)
    code = proc.exitcode
    if code is not None and code < 0:
        sig = signal.Signals(-code).name
        if -code in (signal.SIGKILL, signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS):
            return (f"crashed: the process was killed by {sig} (over the memory limit of "
                    f"{limits.memory_mb} MB, a runaway recursion, or another crash)")
        return f"crashed: the process was killed by {sig}"
    return f"crashed: the code ended the process (exit code {code}) - do not call exit() or os._exit()"


_FORKSERVER = None


@contextlib.contextmanager
def _main_hidden():
    """Start children without re-importing ``__main__`` in them.

    multiprocessing re-runs the parent's main script in every forkserver child
    (for nbgrader that means importing all of nbgrader, about a second each).
    Our children need nothing from it, so it is hidden while a child starts.
    """
    main = sys.modules.get("__main__")
    saved = {k: getattr(main, k) for k in ("__file__", "__spec__") if main is not None and hasattr(main, k)}
    try:
        if main is not None:
            for k in saved:
                if k == "__spec__":
                    main.__spec__ = None
                else:
                    delattr(main, k)
        yield
    finally:
        for k, v in saved.items():
            setattr(main, k, v)


def _forkserver_context():
    global _FORKSERVER
    if _FORKSERVER is None:
        import multiprocessing as mp

        os.environ.setdefault("MPLBACKEND", "Agg")  # children never open windows
        ctx = mp.get_context("forkserver")
        # what notebooks import, loaded once in the server so each child starts warm
        ctx.set_forkserver_preload(["numpy", "scipy.special", "torch", "matplotlib.pyplot", "course",
                                    "autograder.tasks", "autograder.sandbox", "autograder._preload"])
        _FORKSERVER = ctx
    return _FORKSERVER


def run_sources(task: Task, plan, names=None, suite: str = "all", limits: Limits | None = None,
                skipped: set | None = None) -> tuple[list, str]:
    """Execute notebook cells ``plan`` in a fresh child, look up the objects ``names``
    (default: the task's ``uses``) and run the task's cases.

    ``plan`` lists ``(index, source)`` (the task's own code) or ``(index, source, mode)``
    with mode "own" or "other" (tried out first, see :func:`_run_plan`). ``skipped``
    (a set, shared by the tasks of one notebook) holds statements known to be bad; the
    child adds those it finds, so each costs its budget once per notebook.
    """
    limits = limits or Limits()
    names = tuple(names or task.uses)
    plan = list(plan)
    skipped = skipped if skipped is not None else set()
    others = sum(1 for key, _, own in _statements(plan) if not own and key not in skipped)
    allowance = 5.0 + others * (STATEMENT_BUDGET + 1.0)
    ctx = _forkserver_context()
    parent, child = ctx.Pipe(duplex=False)
    cases = task.cases(suite)
    proc = ctx.Process(target=_source_child,
                       args=(child, task.qualname, task.origin, plan, names, _inputs(task, cases),
                             expected_device(), limits.memory_mb, sorted(skipped)), daemon=True)
    with _main_hidden():
        proc.start()
    child.close()
    return _collect(proc, parent, cases, limits, allowance, skipped)


def run_live(task: Task, objs, suite: str = "visible", limits: Limits | None = None) -> tuple[list, str]:
    """Fork the current process (a student's kernel) and run the cases on the live objects."""
    import multiprocessing as mp

    limits = limits or Limits()
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    cases = task.cases(suite)
    proc = ctx.Process(target=_live_child, args=(child, task.qualname, task.origin, list(objs),
                                                 _inputs(task, cases), expected_device(), limits.memory_mb),
                       daemon=True)
    proc.start()
    child.close()
    return _collect(proc, parent, cases, limits)

