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

* :func:`run_sources` (grading): a fresh child, forked by the server of the
  grading jail (see :mod:`autograder.jail`: a process that has only imported
  NumPy, torch and ``course``, inside bubblewrap), executes the notebook's
  code cells from their source, then looks the objects up;
* :func:`run_live` (in the student's kernel): the kernel forks and the child
  uses the live objects.

In the child, the task's forbidden routines (``torch.softmax`` for a
from-scratch softmax, the ``course`` reference...) are replaced by tripwires
that, while the student's code runs a case, record the call and raise.
"""

from __future__ import annotations

import ast
import os
import re
import resource
import signal
import sys
import time

import numpy as np

from .tasks import Case, Task, case_seed, check_case_data, expected_device, get_task
from .jail import MessageTooLarge
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
    from .scratch import _resolve as resolve

    return resolve(dotted, load=True)


def _install_tripwires(task: Task, state: dict) -> None:
    """Replace the task's forbidden routines. They pass through unless a case is running
    and the student's code is on the call stack (directly, or through library or grader
    code). Then, for a from-scratch task, the dispatcher watch, hidden imports and the
    audit hook of :mod:`autograder.scratch`; ``state["watch"]`` gets the ``(on, off)`` pair
    the case loop calls around each case."""
    from . import scratch

    called_by_student = scratch.student_check(task)
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
        scratch.patch_aliases(original, tripwire)  # scipy.special._logsumexp.softmax is scipy.special.softmax
    scratch.install(task, state, ForbiddenCall)


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
    getpid, exit_now, pid = os.getpid, os._exit, os.getpid()

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
                    watch_on, watch_off = state.get("watch") or (lambda: None,) * 2  # see scratch.install
                    state["active"] = True
                    watch_on()
                    try:
                        out = runner(objs, *args, **kwargs)
                    finally:
                        state["active"] = False
                        watch_off()
                        if getpid() != pid:  # a copy made by os.fork() in the student's code
                            exit_now(0)
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


def _task_in_child(task_name: str, origin):
    """The task, in a child that may not see its module's file (``origin`` is then
    ``(path, source)``, see :func:`_origin`)."""
    if isinstance(origin, tuple):
        path, source = origin
        if not os.path.isfile(path):
            from .tasks import load_file

            load_file(path, source)
        origin = path
    return get_task(task_name, origin)


def _origin(task: Task):
    """What a child needs to find ``task``: its module's name, or its file's path and text."""
    origin = task.origin
    if origin and origin.endswith(".py") and os.path.isfile(origin):
        try:
            with open(origin, encoding="utf-8") as fh:
                return (origin, fh.read())
        except OSError:
            pass
    return origin


def _live_child(fd, task_name, origin, objs, inputs, device, memory_mb):
    from .jail import FdConnection

    try:
        _child_setup(memory_mb)
        task = _task_in_child(task_name, origin)
        state = {"active": False, "calls": []}
        _install_tripwires(task, state)
        _, loop = _make_case_loop(FdConnection(fd), task, state, device)
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

#: seconds one statement of another cell may run before it is left out (see :func:`_run_plan`)
STATEMENT_BUDGET = 5.0
#: seconds the other cells may take for one task before each further statement gets SLOW_STATEMENT only
OTHER_CELLS_TIME = 5.0
SLOW_STATEMENT = 0.25
#: the judge's backstop, for statements that do not let themselves be interrupted
STATEMENT_DEADLINE = STATEMENT_BUDGET + 3.0
OTHER_CELLS_BUDGET = 60.0


def _future_flags(tree) -> int:
    import __future__

    flags = 0
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            for alias in node.names:
                feature = getattr(__future__, alias.name, None)
                flags |= getattr(feature, "compiler_flag", 0)
    return flags


def _statements(plan) -> list:
    """[(key, code, own)] for the plan's cells: ``key`` is (cell index, statement number).

    A plan entry is ``(index, source)`` (the task's own code) or ``(index, source, mode)``
    with mode "own", "other" (the student's other cells) or "course" (the course's
    cells, definitions only); "other" and "course" statements are watched. Each statement is compiled on its own, with the cell's
    ``from __future__`` imports and none of the grader's. Cells that do not parse (or
    are too deeply nested to) are left out.
    """
    out = []
    for entry in plan:
        index, source = entry[0], entry[1]
        own = (entry[2] if len(entry) > 2 else "own") == "own"  # "other" and "course" are watched
        try:
            tree = ast.parse(source, filename=f"<cell {index}>")
            flags = _future_flags(tree)
        except Exception:  # noqa: BLE001 - SyntaxError, or RecursionError/MemoryError on huge expressions
            continue
        for k, node in enumerate(tree.body):
            try:
                code = compile(ast.Module(body=[node], type_ignores=[]), f"<cell {index}>", "exec",
                               flags=flags, dont_inherit=True)
            except Exception:  # noqa: BLE001 - as above
                continue
            out.append(((index, k), code, own))
    return out


def _exec(code, namespace) -> None:
    try:
        exec(code, namespace)
    except BaseException:  # noqa: BLE001 - student code, even SystemExit or KeyboardInterrupt: skip it
        pass


#: modules whose functions other cells may not replace for this task (see :class:`_Hygiene`)
GUARDED_MODULES = ("builtins", "math", "random", "json", "os", "sys", "numpy", "numpy.random", "numpy.linalg",
                   "torch", "torch.nn.functional", "scipy.special")
_SIGNALS = tuple(getattr(signal, n) for n in ("SIGALRM", "SIGCHLD", "SIGINT", "SIGTERM", "SIGUSR1", "SIGUSR2",
                                               "SIGPIPE", "SIGVTALRM", "SIGPROF") if hasattr(signal, n))
_TIMERS = tuple(getattr(signal, n) for n in ("ITIMER_REAL", "ITIMER_VIRTUAL", "ITIMER_PROF") if hasattr(signal, n))


class _Hygiene:
    """What a statement of another cell may not leave behind for this task, put back after it.

    Functions it replaced in the grader's modules, the reference's and the common
    libraries (``autograder.drivers.Param = ...``, ``np.stack = None``,
    ``torch.Tensor.mean = ...``, ``sys.modules["numpy"] = None``; names a cell *adds* to
    a module are kept, to ``torch.Tensor`` removed), the namespace's builtins, the
    recursion limit, signal handlers and armed timers. A copy of
    this process made by ``os.fork()`` ends at once. ``new_threads()`` tells whether
    the statement left a thread running.
    """

    def __init__(self, namespace: dict):
        import builtins
        import threading

        self.namespace, self.builtins, self.pid = namespace, builtins, os.getpid()
        self.threads = threading.active_count
        self.getpid, self.exit, self.setattr, self.signal = os.getpid, os._exit, setattr, signal.signal
        self.getsignal, self.getitimer, self.setitimer = signal.getsignal, signal.getitimer, signal.setitimer
        self.snapshot()

    def snapshot(self) -> None:
        """Take the state to put back: now, and again after each of the task's own statements
        (what the task's own cell changes is its own business)."""
        names = [n for n in list(sys.modules) if n.split(".")[0] in ("autograder", "course")
                 or n.startswith("autograder_tasks_") or n in GUARDED_MODULES]
        self.modules = {n: sys.modules[n] for n in names}
        self.saved = [(vars(m), dict(vars(m))) for m in self.modules.values() if hasattr(m, "__dict__")]
        torch = sys.modules.get("torch")
        self.classes = [(cls, dict(vars(cls))) for cls in ([torch.Tensor] if torch is not None else [])]
        self.handlers = {sig: self.getsignal(sig) for sig in _SIGNALS}
        self.thread_count = self.threads()
        self.recursion = sys.getrecursionlimit()

    def restore(self) -> None:
        if self.getpid() != self.pid:  # a fork made by the cell: only the original goes on
            self.exit(0)
        for name, module in self.modules.items():
            if sys.modules.get(name) is not module:
                sys.modules[name] = module
        for live, saved in self.saved:
            for key, value in saved.items():
                if live.get(key, _ABSENT) is not value:
                    live[key] = value
        for cls, saved in self.classes:  # on a class, an added name shadows the base class's: remove it
            for key in [k for k in cls.__dict__ if k not in saved]:
                try:
                    delattr(cls, key)
                except (AttributeError, TypeError):
                    pass
            for key, value in saved.items():
                if cls.__dict__.get(key, _ABSENT) is not value:
                    try:
                        self.setattr(cls, key, value)
                    except (AttributeError, TypeError):
                        pass
        self.namespace["__builtins__"] = self.builtins
        if sys.getrecursionlimit() != self.recursion:
            sys.setrecursionlimit(self.recursion)
        for sig, handler in self.handlers.items():
            if self.getsignal(sig) is not handler and handler is not None:
                self.signal(sig, handler)
        for timer in _TIMERS:
            if self.getitimer(timer)[0]:
                self.setitimer(timer, 0)

    def new_threads(self) -> bool:
        return self.threads() > self.thread_count


class _Overrun(BaseException):
    """Raised into a statement of another cell that runs past its time (see :func:`_run_plan`)."""


def _run_plan(plan, namespace: dict, skip=(), report=lambda meta: None) -> None:
    """Execute the plan's cells statement by statement, in notebook order.

    The task's own statements run as they are: what they cost is the task's. A
    statement of another cell runs under a timer: :data:`STATEMENT_BUDGET` seconds,
    or :data:`SLOW_STATEMENT` once the other cells have used :data:`OTHER_CELLS_TIME`
    for this task; one that runs past it is interrupted and reported ("skip"), so the
    notebook's later tasks leave it out. Before each such statement the child says
    which it is ("stmt"), so the judge can stop one that does not let itself be
    interrupted, or ends the process, and start the task again without it (see
    :func:`_collect`). After it, :class:`_Hygiene` puts back what it must not leave
    behind; one that leaves a thread running is reported "bad" and left out the same
    way. ``skip`` lists statements already left out.
    """
    run = _exec  # bound now: the cells may replace this module's functions
    hygiene = _Hygiene(namespace)
    restore, new_threads, snapshot = hygiene.restore, hygiene.new_threads, hygiene.snapshot
    setitimer, set_handler, clock = signal.setitimer, signal.signal, time.monotonic
    state = {"timed": False, "overrun": False}

    def on_alarm(signum, frame):
        if state["timed"]:
            state["overrun"] = True
            raise _Overrun()

    skip = set(skip)
    phase, other_time = "own", 0.0
    for key, code, own in _statements(plan):
        if key in skip:
            continue
        if own:
            if phase != "own":
                report({"i": -1, "status": "phase", "phase": "own"})
                phase = "own"
            run(code, namespace)
            if hygiene.getpid() != hygiene.pid:  # a fork made by the task's own cell
                hygiene.exit(0)
            snapshot()
            continue
        phase = "other"
        report({"i": -1, "status": "stmt", "key": list(key)})
        limit = STATEMENT_BUDGET if other_time < OTHER_CELLS_TIME else SLOW_STATEMENT
        previous = set_handler(signal.SIGALRM, on_alarm)
        state.update(timed=True, overrun=False)
        start = clock()
        setitimer(signal.ITIMER_REAL, limit)
        try:
            run(code, namespace)
        except _Overrun:  # raised after the statement's own handlers were left
            pass
        finally:
            state["timed"] = False
            setitimer(signal.ITIMER_REAL, 0)
            set_handler(signal.SIGALRM, previous)
        other_time += clock() - start
        restore()
        if state["overrun"]:
            report({"i": -1, "status": "skip", "key": list(key), "why": f"it ran longer than {limit:g} s"})
        if new_threads():
            report({"i": -1, "status": "bad", "key": list(key), "why": "it left a thread running"})
            hygiene.exit(0)
    report({"i": -1, "status": "phase", "phase": "own"})


def _source_child(fd, task_name, origin, plan, names, inputs, device, memory_mb, skip, cwd):
    """A sandbox child (forked by the jail's server): run the notebook's cells, then the cases,
    writing every result to ``fd``."""
    from .jail import FdConnection

    conn = FdConnection(fd)
    try:
        _child_setup(memory_mb)
        if cwd and os.path.isdir(cwd):  # where the notebook's kernel ran: its files are there
            os.chdir(cwd)
            sys.path.insert(0, cwd)
        try:
            task = _task_in_child(task_name, origin)
            state = {"active": False, "calls": []}
            _install_tripwires(task, state)
            send, loop = _make_case_loop(conn, task, state, device)
        except Exception as exc:  # noqa: BLE001 - the grader's own problem: say so, do not blame the student
            conn.send_bytes(make_packer()({"i": -1, "status": "setup", "error": f"{type(exc).__name__}: {exc}"[:300]}))
            raise
        import types

        main = types.ModuleType("__main__")  # the notebook's namespace, as IPython makes it
        namespace = main.__dict__
        namespace.update(get_ipython=_NoIPython(), display=_display)
        sys.modules["__main__"] = main
        run_plan = _run_plan
        run_plan(plan, namespace, [tuple(k) for k in skip], report=send)
        objs = [namespace.get(n, _ABSENT) for n in names]
        missing = [n for n, o in zip(names, objs) if o is _ABSENT]
        if missing:
            send({"i": -1, "status": "missing", "names": missing})
        else:
            loop(objs, inputs)
    finally:
        os._exit(0)


def _display(*objs, **kwargs) -> None:
    """IPython's ``display`` at grading time: shows nothing."""


class _NoIPython:
    """What ``get_ipython()`` gives at grading time: magics (``%matplotlib inline``,
    ``!ls``) do nothing, instead of failing their statement."""

    def __call__(self):
        return self

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


class _Retry(Exception):
    """The child must start again without some statements of other cells."""

    def __init__(self, keys, why: str):
        super().__init__(why)
        self.keys, self.why = list(keys), why


def _collect(proc, reader, cases, limits: Limits, skipped: dict | None = None,
             bound: int = MAX_MESSAGE_BYTES) -> tuple[list, str]:
    """Read case results until done, the time limit, or the child's death.

    Two clocks run. The task's own (its own cells and its cases) stops the task at the
    time limit. While the child runs a statement of another cell (it says which), that
    statement's clock runs instead: past :data:`STATEMENT_DEADLINE`, or if the child dies
    or reports it "bad", :class:`_Retry` asks for a new start without it; past
    :data:`OTHER_CELLS_BUDGET` for all of them, without the slow ones. Statements the
    child interrupted itself are added to ``skipped``.
    """
    results: dict[int, CaseResult] = {}
    durations: dict = {}  # other statements run so far: how long each took
    own_used, other_used = 0.0, 0.0
    current, since = None, time.monotonic()  # the other cell's statement running, if any
    ending = ""
    messages = 0

    last_other = None  # the last statement of another cell that ran (to blame if the server is lost)

    def close_statement(now):
        nonlocal other_used, current, last_other
        if current is not None:
            last_other = current
            durations[current] = now - since
            other_used += now - since
            current = None

    def stop(retry=None):
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        reader.close()
        if retry is not None:
            raise retry

    def too_slow_together():
        slow = [k for k, d in durations.items() if d >= SLOW_STATEMENT]
        return _Retry(slow + ([current] if current is not None else []),
                      "the other cells took too long together")

    while True:
        now = time.monotonic()
        if current is not None:
            if now - since > STATEMENT_DEADLINE:
                stop(_Retry([current], f"it ran longer than {STATEMENT_BUDGET:g} s"))
            if other_used + (now - since) > OTHER_CELLS_BUDGET:
                stop(too_slow_together())
            left = min(STATEMENT_DEADLINE - (now - since), OTHER_CELLS_BUDGET - other_used - (now - since))
        else:
            left = limits.seconds - (own_used + now - since)
            if left <= 0:
                ending = f"timeout: stopped after the time limit of {limits.seconds:g} s (an endless loop?)"
                break
        try:
            blob = reader.recv(max(0.0, min(left, 0.5)), bound)
            if blob is None and not proc.is_alive():
                blob = reader.recv(0.05, bound)  # what it sent before it ended
                if blob is None:
                    raise EOFError
        except MessageTooLarge:
            if current is not None:
                stop(_Retry([current], "it sent more data than the grader accepts"))
            ending = f"crashed: the result was too large to grade (more than {bound >> 20} MB)"
            break
        except EOFError:
            if current is not None:
                stop(_Retry([current], "it ended the process"))
            lost = getattr(proc, "server_lost", lambda: False)
            if last_other is not None and lost():  # another cell ended the grading server: not the task's fault
                stop(_Retry([last_other], "it ended the grading process"))
            ending = _death(proc, limits)
            break
        if blob is None:
            continue
        messages += 1
        if messages > MAX_MESSAGES:
            ending = "crashed: the process sent too many messages"
            break
        try:
            meta, value = unpack(blob)
        except Exception:  # noqa: BLE001 - malformed data from the child counts as a crash
            ending = "crashed: the process sent data the grader could not read"
            break
        status = meta.get("status")
        key = meta.get("key")
        key = tuple(key) if isinstance(key, list) and len(key) == 2 else None
        if status == "skip" and key is not None:
            if skipped is not None:
                skipped.setdefault(key, str(meta.get("why", "it ran too long"))[:200])
            continue
        if status in ("stmt", "phase", "bad"):
            now = time.monotonic()
            if current is None:
                own_used += now - since
            close_statement(now)
            since = now
            if status == "stmt" and key is not None:
                current = key
            elif status == "bad" and key is not None:
                stop(_Retry([key], str(meta.get("why", "it misbehaved"))[:200]))
            continue
        if status == "done":
            break
        if status == "setup" and messages == 1:  # only the grader's code runs before the first message
            stop(RuntimeError("the grader could not set up the task in its sandbox: "
                              f"{str(meta.get('error', ''))[:300]}"))
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
    stop()
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


#: at most this many messages from one child (statements reported, cases)
MAX_MESSAGES = 100_000


def _nbytes(value) -> int:
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (list, tuple)):
        return sum(_nbytes(v) for v in value)
    if isinstance(value, dict):
        return sum(_nbytes(v) for v in value.values())
    return 64


def result_bound(task: Task, inputs: list) -> int:
    """The largest message accepted from a task's child, in bytes: 4 MB plus 16 times its
    largest case's inputs (a task may set ``max_result_mb``), never above the wire's cap."""
    own = getattr(task, "max_result_mb", None)
    if own:
        return min(int(own) << 20, MAX_MESSAGE_BYTES)
    largest = max((_nbytes(inp["args"]) + _nbytes(inp["kwargs"]) for inp in inputs), default=0)
    return min((4 << 20) + 16 * largest, MAX_MESSAGE_BYTES)


def _start_child(target: str, args: tuple, cwd: str | None):
    """Fork ``target`` with a fresh pipe: in the jail (grading), or here when grading runs
    without one. Returns (process, reader, the working folder the child sees)."""
    from .jail import Reader, get_jail

    jail = get_jail()
    inside = cwd
    if cwd is not None:
        if getattr(jail, "current", None) != cwd:
            jail.enter(cwd)
            jail.current = cwd
        inside = jail.home
    read_fd, write_fd = os.pipe()
    os.set_inheritable(write_fd, False)
    proc = jail.spawn(target, tuple(args[:-1]) + (inside,), fds=(write_fd,))
    os.close(write_fd)
    return proc, Reader(read_fd), jail


#: new starts of one task without misbehaving statements of other cells (and the seconds they may
#: take together) before the student's other cells are left out altogether
MAX_RESTARTS = 100
RESTARTS_TIME = 120.0


def run_sources(task: Task, plan, names=None, suite: str = "all", limits: Limits | None = None,
                skipped: dict | None = None, cwd: str | None = None,
                total_seconds: float | None = None) -> tuple[list, str]:
    """Execute notebook cells ``plan`` in a fresh child, look up the objects ``names``
    (default: the task's ``uses``) and run the task's cases.

    ``plan`` lists ``(index, source)`` (the task's own code) or ``(index, source, mode)``
    with mode "own" or "other" (watched statement by statement, see :func:`_collect`).
    ``skipped`` (a dict shared by the tasks of one notebook) maps statements left out to
    why; the child starts again without each one that misbehaves, so each costs its
    budget once per notebook. After :data:`MAX_RESTARTS` new starts, every statement of
    the other cells is left out. ``cwd``: the notebook's folder. ``total_seconds``: at most this long
    for all the new starts together (what is left of the notebook's budget).
    """
    limits = limits or Limits()
    names = tuple(names or task.uses)
    plan = list(plan)
    skipped = skipped if skipped is not None else {}
    cases = task.cases(suite)
    inputs = _inputs(task, cases)
    began, restarts, last = time.monotonic(), 0, False
    bound = result_bound(task, inputs)
    while True:
        if restarts > MAX_RESTARTS or time.monotonic() - began > min(RESTARTS_TIME, total_seconds or RESTARTS_TIME):
            # still misbehaving: the task's own cells and the course's definitions only
            plan = [entry for entry in plan if len(entry) < 3 or entry[2] in ("own", "course")]
            last = True
        proc, reader, jail = _start_child("autograder.sandbox:_source_child",
                                          (task.qualname, _origin(task), plan, names, inputs, expected_device(),
                                           limits.memory_mb, sorted(skipped), cwd), cwd)
        try:
            return _collect(proc, reader, cases, limits, skipped, bound)
        except _Retry as retry:
            for key in retry.keys:
                skipped.setdefault(key, retry.why)
            if last:  # pragma: no cover - only the course's own definitions could get here
                return [CaseResult(c, "crashed", error=f"crashed: {retry.why}") for c in cases], retry.why
            restarts += 1
        finally:
            jail.sweep()  # whatever the child started ends with it


class _Forked:
    """A child forked here (the student's kernel): ``is_alive``, ``kill``, ``join``, ``exitcode``."""

    def __init__(self, pid: int):
        self.pid, self.exitcode = pid, None

    def _poll(self, flags=os.WNOHANG):
        if self.exitcode is None:
            try:
                pid, status = os.waitpid(self.pid, flags)
            except ChildProcessError:
                self.exitcode = -signal.SIGKILL
                return
            if pid:
                self.exitcode = os.waitstatus_to_exitcode(status)

    def is_alive(self) -> bool:
        self._poll()
        return self.exitcode is None

    def kill(self) -> None:
        for target in (-self.pid, self.pid):
            try:
                os.kill(target, signal.SIGKILL)
            except OSError:
                pass

    def join(self, timeout=None) -> None:
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
        while self.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)


def run_live(task: Task, objs, suite: str = "visible", limits: Limits | None = None) -> tuple[list, str]:
    """Fork the current process (a student's kernel) and run the cases on the live objects."""
    from .jail import Reader

    limits = limits or Limits()
    cases = task.cases(suite)
    inputs = _inputs(task, cases)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_fd)
            os.setpgid(0, 0)
        finally:
            _live_child(write_fd, task.qualname, task.origin, list(objs), inputs, expected_device(),
                        limits.memory_mb)
    os.close(write_fd)
    return _collect(_Forked(pid), Reader(read_fd), cases, limits, None, result_bound(task, inputs))
